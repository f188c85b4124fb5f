import ArgumentParser
import Foundation
import NurtureDeployment
import NurtureDSL
import NurtureEngine
import NurturePostgres
import NurtureSQLite
import NurtureStorage

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
            // Counting a million-row outbox by status every 200 ms took a quarter of a core
            // from the run it measures: count only the sent ones, twice a second.
            try await Task.sleep(for: .milliseconds(500))
            sent = try await sentCount(store)
            if (ContinuousClock.now - started).seconds > timeout { throw ValidationError("only \(sent) of \(messages) sent after \(timeout) s") }
        }
        let seconds = (ContinuousClock.now - started).seconds
        let server = serverUser.map { cpuSeconds(processes(of: $0)) - serverBefore } ?? 0
        let cpu = cpuSeconds(pids) + server
        report(label, [("messages", "\(sent)"), ("seconds", String(format: "%.1f", seconds)), ("msgs_per_s", String(format: "%.0f", Double(sent) / seconds)),
                       ("cores_used", String(format: "%.2f", cpu / seconds)), ("server_cores", String(format: "%.2f", server / seconds)),
                       ("worker_peak_rss_mb", String(format: "%.0f", pids.map(peakRSSMegabytes(of:)).max() ?? 0))])
        await Deployment.close(store)
    }
}

/// Sent messages: on SQLite through the status index alone, not a count of every status.
func sentCount(_ store: any LeadStore) async throws -> Int {
    if let sqlite = store as? SQLiteStore { return try await sqlite.sentMessageCount() }
    if let postgres = store as? PostgresStore { return try await postgres.sentMessageCount() }
    return try await store.outboxCounts()["sent"] ?? 0
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

/// A running process's peak resident set (VmHWM), from /proc.
func peakRSSMegabytes(of pid: Int32) -> Double {
    guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
          let kilobytes = line.split(whereSeparator: { $0 == "\t" || $0 == " " }).dropFirst().first.flatMap({ Double($0) }) else { return 0 }
    return kilobytes / 1024
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

/// Over a backlog filled by Benchmarks/backlog-*.sql: how long a claim of due leads, a claim of
/// messages and a ranking page take, and the plans the database chooses for them, so a run over
/// 10,000 rows and one over 1,000,000 can be set side by side.
struct Backlog: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "backlog")
    @Option var database: String
    @Option var repeats = 7
    @Flag var plans = false

    func run() async throws {
        let store = try await Deployment.openStore(database)
        let due = Date(timeIntervalSince1970: 1_795_003_600)
        func median(_ body: (Int) async throws -> Int) async throws -> (ms: Double, rows: Int) {
            var times: [Double] = []
            var rows = 0
            for round in 0..<repeats {
                let started = ContinuousClock.now
                rows = try await body(round)
                times.append((ContinuousClock.now - started).seconds * 1000)
            }
            return (times.sorted()[times.count / 2], rows)
        }
        let counts = try await store.counts()
        let leads = try await median { round in
            try await store.claimDueLeads(now: due, limit: 256, owner: "bench-\(round)", leaseUntil: due.addingTimeInterval(300)).count
        }
        let messages = try await median { round in
            try await store.claimMessages(now: due, limit: 512, owner: "bench-\(round)", leaseUntil: due.addingTimeInterval(300), channels: [.email],
                                          sendsSince: due.addingTimeInterval(-14 * 86_400)) { _ in .send }.messages.count
        }
        let prospects = RankingFilter(stages: Set(Stage.allCases.filter { $0 != .customer }))
        let ranking = try await median { _ in
            var cursor: RankingCursor?
            var read = 0
            for _ in 0..<4 {
                let page = try await store.rankingPage(by: .fixedPoints, filter: prospects, after: cursor, limit: 512)
                read += page.count
                cursor = page.last.map { RankingCursor(value: $0.scoring.fixedPoints, id: $0.id) }
            }
            return read
        }
        report("backlog", [
            ("leads", "\(counts.leads)"), ("pending", "\(counts.messagesByStatus["pending"] ?? 0)"),
            ("claim_due_leads_ms", String(format: "%.2f", leads.ms)), ("leased", "\(leads.rows)"),
            ("claim_messages_ms", String(format: "%.2f", messages.ms)), ("claimed", "\(messages.rows)"),
            ("ranking_4_pages_ms", String(format: "%.2f", ranking.ms)), ("ranked", "\(ranking.rows)"),
        ])
        if plans {
            let found: [String: [String]] = if let sqlite = store as? SQLiteStore { try await sqlite.queryPlans() }
                else if let postgres = store as? PostgresStore { try await postgres.queryPlans(at: due) } else { [:] }
            for (name, lines) in found.sorted(by: { $0.key < $1.key }) {
                print("plan \(name):")
                for line in lines { print("  \(line)") }
            }
        }
        await Deployment.close(store)
    }
}
