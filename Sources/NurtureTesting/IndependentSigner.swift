public import Foundation

/// Runs a Python script (the standard library's `hmac`, the `cryptography` package, botocore) as
/// an implementation independent of Nurture's: it reads `input` on standard input and its
/// standard output is returned. `NURTURE_PYTHON` names another interpreter.
public enum IndependentSigner {
    public struct Failed: Error, CustomStringConvertible {
        public let description: String
    }

    public static func python(_ script: String, input: Data = Data()) throws -> Data {
        let python = ProcessInfo.processInfo.environment["NURTURE_PYTHON"] ?? "python3"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [python, "-c", script]
        let stdin = Pipe(), stdout = Pipe(), stderr = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        stdin.fileHandleForWriting.write(input)
        try stdin.fileHandleForWriting.close()
        let output = stdout.fileHandleForReading.readDataToEndOfFile()
        let complaint = String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failed(description: "\(python) failed (are its packages installed?): \(complaint)")
        }
        return output
    }
}
