import Foundation
import NurtureTesting
import Testing

/// Runs the real `nurture` executable that `swift build` produced, as a user would.
struct NurtureBinary {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// Next to the test bundle when SwiftPM runs the tests; `.build/debug` otherwise.
    static let executable: URL = {
        let candidates = [
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("nurture"),
            Bundle.main.bundleURL.appendingPathComponent("nurture"),
            Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent("nurture"),
            repositoryRoot.appendingPathComponent(".build/debug/nurture"),
        ]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) } ?? candidates.last!
    }()

    static func run(_ arguments: [String], in directory: URL = repositoryRoot, environment: [String: String] = [:]) throws -> Result {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("nurture-e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let logs = scratch.appendingPathComponent("run")
        let process = try spawn(arguments, in: directory, environment: environment, logs: logs)
        process.waitUntilExit()
        return Result(status: process.terminationStatus,
                      stdout: try String(contentsOf: logs.appendingPathExtension("out"), encoding: .utf8),
                      stderr: try String(contentsOf: logs.appendingPathExtension("err"), encoding: .utf8))
    }

    /// The same from async tests: waits for the exit without blocking a thread of the shared
    /// concurrency pool, which in-process receivers (WebhookSink) need to answer the binary.
    static func run(_ arguments: [String], in directory: URL = repositoryRoot, environment: [String: String] = [:]) async throws -> Result {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("nurture-e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let logs = scratch.appendingPathComponent("run")
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            do {
                _ = try spawn(arguments, in: directory, environment: environment, logs: logs) { continuation.resume(returning: $0.terminationStatus) }
            } catch {
                continuation.resume(throwing: error)
            }
        }
        return Result(status: status,
                      stdout: try String(contentsOf: logs.appendingPathExtension("out"), encoding: .utf8),
                      stderr: try String(contentsOf: logs.appendingPathExtension("err"), encoding: .utf8))
    }

    /// Starts the binary without waiting for it; output goes to `logs.out` and `logs.err`
    /// (files, not pipes: a chatty command can never block on a full pipe).
    static func spawn(
        _ arguments: [String], in directory: URL = repositoryRoot, environment: [String: String] = [:], logs: URL,
        onExit: (@Sendable (Process) -> Void)? = nil
    ) throws -> Process {
        let process = Process()
        process.terminationHandler = onExit
        process.executableURL = executable
        process.arguments = arguments
        process.currentDirectoryURL = directory
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let out = logs.appendingPathExtension("out"), err = logs.appendingPathExtension("err")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        _ = FileManager.default.createFile(atPath: err.path, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = try FileHandle(forWritingTo: err)
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// The line of `Campaigns/FILE` that contains `text`, as validate would report it.
    static func line(of text: String, in file: String) throws -> Int {
        let source = try String(contentsOf: repositoryRoot.appendingPathComponent("Campaigns/\(file)"), encoding: .utf8)
        let lines = source.split(separator: "\n", omittingEmptySubsequences: false)
        return try #require(lines.firstIndex { $0.contains(text) }) + 1
    }
}

extension NurtureBinary {
    /// A webhook configuration pointing at the sink (short lease, so tests need not wait) and
    /// `leadCount` new leads imported into `database` through the CLI; returns the options that
    /// reach that deployment.
    static func importedDeployment(database: String, in directory: URL, sink: WebhookSink, leadCount: Int, secret: String) async throws -> [String] {
        let config = directory.appendingPathComponent("nurture.toml")
        try """
            [channels.email]
            kind = "webhook"
            url = "\(sink.url.absoluteString)"
            secret_env = "NURTURE_TEST_SECRET"
            timeout_seconds = 1
            concurrency = 8
            [sending]
            lease_seconds = 3
            """.write(to: config, atomically: true, encoding: .utf8)
        var csv = "email,first_name,timezone\n"
        for n in 0..<leadCount { csv += "lead\(n)@example.com,Lead \(n),Europe/Lisbon\n" }
        let file = directory.appendingPathComponent("leads.csv")
        try csv.write(to: file, atomically: true, encoding: .utf8)
        let common = ["--database", database, "--config", config.path]
        let imported = try await run(["leads", "import", file.path] + common, environment: ["NURTURE_TEST_SECRET": secret])
        #expect(imported.status == 0, "\(imported.stderr)")
        #expect(imported.stdout.hasPrefix("imported \(leadCount),"), "\(imported.stdout)")
        return common
    }
}
