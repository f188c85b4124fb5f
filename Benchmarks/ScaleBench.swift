import ArgumentParser
import Foundation
import NurtureDeployment
import NurtureEngine

/// For `scripts/bench-scale.sh`: waits until the outbox of a database holds `messages` sent
/// messages, polling its counts, and prints the rate from the moment it started (when the
/// workers were started) with the CPU the given processes used meanwhile.
struct WaitSent: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "wait-sent")
    @Option var database: String
    @Option var messages: Int
    /// The workers, started just before this: their whole CPU time is the run's.
    @Option(parsing: .upToNextOption) var pids: [Int32] = []
    /// The user the PostgreSQL server runs as: its processes' CPU during the run counts too.
    @Option var serverUser: String?
    @Option var label = "run-due"
    @Option var timeout: Double = 3_600

    func run() async throws {
        let store = try await Deployment.openStore(database)
        let started = ContinuousClock.now
        let serverBefore = serverUser.map { cpuSeconds(processes(of: $0)) } ?? 0
        var sent = 0
        while sent < messages {
            try await Task.sleep(for: .milliseconds(200))
            sent = try await store.outboxCounts()["sent"] ?? 0
            if (ContinuousClock.now - started).seconds > timeout { throw ValidationError("only \(sent) of \(messages) sent after \(timeout) s") }
        }
        let seconds = (ContinuousClock.now - started).seconds
        let server = serverUser.map { cpuSeconds(processes(of: $0)) - serverBefore } ?? 0
        let cpu = cpuSeconds(pids) + server
        report(label, [("messages", "\(sent)"), ("seconds", String(format: "%.1f", seconds)), ("msgs_per_s", String(format: "%.0f", Double(sent) / seconds)),
                       ("cores_used", String(format: "%.2f", cpu / seconds)), ("server_cores", String(format: "%.2f", server / seconds))])
        await Deployment.close(store)
    }
}

/// utime + stime of the processes (and, for a PostgreSQL server, of its backends: pass the
/// postmaster's children), from /proc.
func cpuSeconds(_ pids: [Int32]) -> Double {
    let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
    var total = 0.0
    for pid in pids {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { continue }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // After the command: state is field 3, utime 14 and stime 15 (1-based over the whole line).
        if fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) { total += (user + system) / ticks }
    }
    return total
}

/// Pids of the processes a user runs, from /proc.
func processes(of user: String) -> [Int32] {
    guard let entry = getpwnam(user) else { return [] }
    let uid = entry.pointee.pw_uid
    let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return names.compactMap(Int32.init).filter { pid in
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Uid:") }) else { return false }
        return line.split(whereSeparator: { $0 == "\t" || $0 == " " }).dropFirst().first.flatMap { UInt32($0) } == uid
    }
}
