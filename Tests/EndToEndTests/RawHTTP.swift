import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A client on a plain POSIX socket that does what HTTP libraries politely avoid: writes a
/// whole request, however large, before reading a byte of the answer. Every blocking call is
/// bounded by `timeout`, so a server that stops reading or never closes fails the test instead
/// of hanging it. Runs on a thread of its own, never on the shared concurrency pool.
enum RawHTTP {
    struct Exchange: Sendable {
        /// How much of the request went out before a write failed (or all of it).
        var bytesWritten = 0
        var writeError: String?
        /// Everything read until EOF, an error or the timeout.
        var received = Data()
        /// True when the server closed its side (read returned 0) in time.
        var sawEOF = false
        var readError: String?
        var seconds: Double = 0

        var text: String { String(decoding: received, as: UTF8.self) }
        var statusLine: String { text.components(separatedBy: "\r\n").first ?? "" }

        func header(_ name: String) -> String? {
            let head = text.components(separatedBy: "\r\n\r\n").first ?? ""
            for line in head.components(separatedBy: "\r\n").dropFirst() {
                let parts = line.split(separator: ":", maxSplits: 1)
                if parts.count == 2, parts[0].lowercased() == name.lowercased() { return parts[1].trimmingCharacters(in: .whitespaces) }
            }
            return nil
        }
    }

    static func exchange(port: Int, request: Data, timeout: Double) async -> Exchange {
        await withCheckedContinuation { continuation in
            Thread.detachNewThread {
                let started = Date()
                var result = run(port: port, request: request, timeout: timeout, started: started)
                result.seconds = Date().timeIntervalSince(started)
                continuation.resume(returning: result)
            }
        }
    }

    private static func run(port: Int, request: Data, timeout: Double, started: Date) -> Exchange {
        var result = Exchange()
        #if canImport(Glibc)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else {
            result.writeError = "socket: errno \(errno)"
            return result
        }
        defer { close(fd) }
        var limit = timeval(tv_sec: Int(timeout), tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            result.writeError = "connect: errno \(errno)"
            return result
        }
        let deadline = started.addingTimeInterval(timeout * 3)
        request.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) in
            while result.bytesWritten < bytes.count {
                #if canImport(Glibc)
                let sent = send(fd, bytes.baseAddress! + result.bytesWritten, bytes.count - result.bytesWritten, Int32(MSG_NOSIGNAL))
                #else
                let sent = send(fd, bytes.baseAddress! + result.bytesWritten, bytes.count - result.bytesWritten, 0)
                #endif
                if sent > 0 {
                    result.bytesWritten += sent
                } else {
                    let code = errno
                    result.writeError = code == EAGAIN || code == EWOULDBLOCK
                        ? "a write blocked for \(timeout) s: the server stopped reading the body" : "send: errno \(code) (\(String(cString: strerror(code))))"
                    return
                }
                if Date() > deadline {
                    result.writeError = "the request was not written within \(timeout * 3) s"
                    return
                }
            }
        }
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while Date() <= deadline {
            let count = recv(fd, &buffer, buffer.count, 0)
            if count > 0 {
                result.received.append(contentsOf: buffer[0..<count])
            } else if count == 0 {
                result.sawEOF = true
                return result
            } else {
                let code = errno
                result.readError = code == EAGAIN || code == EWOULDBLOCK
                    ? "no EOF within \(timeout) s of the last byte: the server kept the connection open" : "recv: errno \(code) (\(String(cString: strerror(code))))"
                return result
            }
        }
        result.readError = "still reading after \(timeout * 3) s"
        return result
    }
}
