import ArgumentParser
import Campaigns
import Foundation
import GRDB
import NurtureDeployment
import NurtureDSL
import NurtureEngine
import NurtureSQLite
import NurtureTesting

/// Benchmarks of the durable engine. Run them on a release build with `scripts/bench.sh`, which
/// also measures each ceiling in the same run; results go in BENCHMARKS.md.
@main
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nurture-bench",
        subcommands: [
            SQLiteCeiling.self, ImportCeiling.self, ScheduleCeiling.self, Scheduler.self, MakeCSV.self, Import.self, Sink.self, Dispatch.self, Transport.self, ScoreIngest.self, ScoreRanking.self,
            WaitSent.self, Backlog.self, StatsRead.self, ControlsRead.self,
        ])
}

func elapsed(_ work: () async throws -> Void) async rethrows -> Double {
    let start = ContinuousClock.now
    try await work()
    let duration = ContinuousClock.now - start
    return Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

/// CPU seconds this process has used, on every thread: steadier than wall time on a shared
/// machine, and what a pass costs the cores it shares with the database.
func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
}

func peakRSSMegabytes() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_maxrss) / 1024   // kilobytes on Linux
}

func scratchDatabase(_ name: String) -> String {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("nurture-bench-\(UUID().uuidString)")
    try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    return directory.appendingPathComponent(name).path
}

func engine(store: any LeadStore, policy: SendingPolicy = .standard) throws -> Engine {
    var configuration = NurtureConfiguration()
    configuration.policy = policy
    return Deployment(store: store, playbook: Campaigns.playbook, templates: try TemplateLibrary.load(from: "Campaigns/Templates"),
                      configuration: configuration, links: LinkSigner(secret: Data("bench".utf8), publicURL: "https://nurture.example")).engine
}

func report(_ name: String, _ figures: [(String, String)]) {
    print(([name] + figures.map { "\($0.0)=\($0.1)" }).joined(separator: " "))
}

/// The ceiling for the scheduler and import: plain batched inserts into one table with GRDB,
/// same file settings as the store (WAL, synchronous=FULL), 10,000 rows per transaction.
struct SQLiteCeiling: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "sqlite-ceiling")
    @Option var rows = 1_000_000

    func run() async throws {
        SQLiteStore.processSettings
        var configuration = Configuration()
        configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
        let pool = try DatabasePool(path: scratchDatabase("ceiling.sqlite"), configuration: configuration)
        try await pool.write { db in
            try db.execute(sql: "CREATE TABLE row (id INTEGER PRIMARY KEY, email TEXT NOT NULL, name TEXT, created_at REAL NOT NULL)")
        }
        let batch = 10_000
        let seconds = try await elapsed {
            for start in stride(from: 0, to: rows, by: batch) {
                try await pool.write { db in
                    let statement = try db.cachedStatement(sql: "INSERT INTO row (email, name, created_at) VALUES (?, ?, ?)")
                    for n in start..<min(start + batch, rows) {
                        try statement.execute(arguments: ["lead\(n)@example.com", "Lead \(n)", Double(n)])
                    }
                }
            }
        }
        report("sqlite-ceiling", [("rows", "\(rows)"), ("seconds", String(format: "%.2f", seconds)), ("rows_per_s", String(format: "%.0f", Double(rows) / seconds))])
    }
}

/// A bare GRDB pool on a store's file, with the store's own settings for its writer, for the
/// ceilings that write the store's rows without the store.
func writerPool(_ path: String) throws -> DatabasePool {
    var configuration = Configuration()
    configuration.prepareDatabase { db in
        try db.execute(sql: "PRAGMA synchronous = FULL")
        try db.execute(sql: "PRAGMA temp_store = MEMORY")
        try db.execute(sql: "PRAGMA cache_size = -32768")
    }
    return try DatabasePool(path: path, configuration: configuration)
}

/// The ceiling for `leads import` on the store's own schema: what SQLite alone needs to write a
/// new lead as the importer does (the lead with its indexes, its `lead.created` event, its
/// welcome enrollment and the counters' triggers), from values prepared beforehand, one
/// transaction per 2,000 rows like the importer. What the import does above this is our code.
struct ImportCeiling: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "import-ceiling")
    @Option var rows = 1_000_000

    func run() async throws {
        let path = scratchDatabase("import-ceiling.sqlite")
        _ = try SQLiteStore(path: path)
        let pool = try writerPool(path)
        let batch = 2_000
        let now = Date().timeIntervalSince1970
        let seconds = try await elapsed {
            for start in stride(from: 0, to: rows, by: batch) {
                let ids = (start..<min(start + batch, rows)).map { n in (n, "ld_1a2355af" + String(format: "%019llx", 0x0100_0000_0000_0000 + UInt64(n))) }
                try await pool.write { db in
                    let lead = try db.cachedStatement(sql: """
                        INSERT INTO lead (email, phone, first_name, last_name, company, job_title, industry, company_size, country,
                            timezone, source, stage, score, tags, attributes, email_consent, sms_consent, owner,
                            score_fixed, score_gains, score_losses, score_rank, scored_at, last_activity_at, score_version, score_thresholds,
                            updated_at, created_at, id)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """)
                    let event = try db.cachedStatement(sql: "INSERT INTO event (lead_id, type, at, properties, client_id) VALUES (?, ?, ?, '{}', NULL)")
                    let enrollment = try db.cachedStatement(sql: """
                        INSERT INTO enrollment (lead_id, campaign_id, sequence, status, step_id, phase, wake_at, enrolled_at, ended_at,
                            end_reason, variants, trigger, messages_produced)
                        VALUES (?, 'welcome', 1, 'active', 'welcome-1', 'ready', ?, ?, NULL, NULL, '{}', '{}', 0)
                        """)
                    for (n, id) in ids {
                        try lead.execute(arguments: [
                            "lead\(n)@example\(n % 997).com", "+4477009\(String(format: "%05d", n % 100_000))", "First\(n)", "Last\(n)",
                            "Company \(n % 5_000), Ltd", "Head of Marketing", "SaaS", 10 + n % 5_000, "GB", "Europe/London", "website", 0, 25.0,
                            "[]", #"{"plan":"trial"}"#, true, n % 4 == 0, nil, 25.0, 0.0, 0.0, nil, now, now, "2026-11-b", "[]", now, now, id,
                        ])
                        try event.execute(arguments: [id, "lead.created", now])
                        try enrollment.execute(arguments: [id, now, now])
                    }
                }
            }
        }
        report("import-ceiling", [("rows", "\(rows)"), ("seconds", String(format: "%.2f", seconds)), ("rows_per_s", String(format: "%.0f", Double(rows) / seconds))])
    }
}

/// `run-due` over N leads whose welcome series is due: each advance renders and queues a
/// message and writes the enrollment back, in batches of 256 leads per transaction.
/// Opens a scratch store; without the results' counting triggers when asked, so a run can show
/// what counting costs beside one that counts, on the same binary.
func benchStore(_ name: String, counting: Bool) throws -> SQLiteStore {
    let path = scratchDatabase(name)
    let store = try SQLiteStore(path: path)
    if !counting {
        let queue = try DatabaseQueue(path: path)
        try queue.write { db in
            for trigger in try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'trigger'") {
                try db.execute(sql: "DROP TRIGGER \"\(trigger)\"")
            }
        }
    }
    return store
}

/// The instant the scheduling benchmarks create their leads and run them.
let schedulingStart = Date(timeIntervalSince1970: 1_795_000_000)

/// New leads whose welcome series is due at `schedulingStart`, created through the engine.
func addLeadsDueForWelcome(_ count: Int, engine: Engine) async throws {
    for first in stride(from: 0, to: count, by: 5_000) {
        let patches = (first..<min(first + 5_000, count)).map { n -> LeadPatch in
            var patch = LeadPatch(email: "lead\(n)@example.com")
            patch.firstName = "Lead \(n)"
            patch.timeZone = ["Europe/Lisbon", "America/New_York", "Asia/Tokyo"][n % 3]
            return patch
        }
        _ = try await engine.upsert(patches, now: schedulingStart)
    }
}

struct Scheduler: AsyncParsableCommand {
    @Option var leads = 100_000
    @Flag(inversion: .prefixedNo, help: "Keep the results' counters (--no-counting drops their triggers).") var counting = true

    func run() async throws {
        let store = try benchStore("scheduler.sqlite", counting: counting)
        let engine = try engine(store: store)
        let start = schedulingStart
        let setup = try await elapsed { try await addLeadsDueForWelcome(leads, engine: engine) }
        var pass = Engine.Pass()
        let cpuBefore = cpuSeconds()
        let seconds = try await elapsed { pass = try await engine.runDue(now: start) }
        let cpu = cpuSeconds() - cpuBefore
        report("scheduler", [
            ("leads", "\(leads)"), ("counting", "\(counting)"), ("setup_s", String(format: "%.2f", setup)), ("advanced", "\(pass.leads)"),
            ("messages", "\(pass.messages)"), ("seconds", String(format: "%.2f", seconds)),
            ("steps_per_s", String(format: "%.0f", Double(pass.leads) / seconds)),
            ("cpu_us_per_step", String(format: "%.0f", cpu * 1e6 / Double(max(pass.leads, 1)))), ("cores", String(format: "%.2f", cpu / seconds)),
        ])
    }
}

/// The ceiling for scheduling on the store's own schema: what SQLite alone needs to do a due
/// welcome step's writes, with the same transactions as `run-due` (one claim of 256 due leads,
/// then one commit of their changes: the lead's version and lease, the enrollment moved to its
/// wait, the outbox message and its content), from values prepared beforehand: a real rendered
/// welcome email, produced once by the engine. No snapshot is read and nothing is computed, so
/// this is the writer's floor: what the scheduler does above it is reading and computing. Then
/// the dispatcher's writes for the same messages (`dispatchWrites`), for `run-due`'s floor.
struct ScheduleCeiling: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "schedule-ceiling")
    @Option var leads = 100_000

    func run() async throws {
        let start = schedulingStart
        // One real message, rendered by the engine, whose content every lead's message carries.
        let sample = try SQLiteStore(path: scratchDatabase("schedule-sample.sqlite"))
        let sampler = try engine(store: sample)
        var patch = LeadPatch(email: "sample@example.com")
        patch.firstName = "Lead 0"
        _ = try await sampler.upsert([patch], now: start)
        _ = try await sampler.runDue(now: start)
        guard let message = try await sample.messages(status: nil, limit: 1).first else { throw ValidationError("the sample produced no message") }

        let path = scratchDatabase("schedule-ceiling.sqlite")
        let store = try SQLiteStore(path: path)
        try await addLeadsDueForWelcome(leads, engine: try engine(store: store))
        let pool = try writerPool(path)
        let moment = start.timeIntervalSince1970
        var written = 0
        let seconds = try await elapsed {
            while true {
                let claimed = try await pool.write { db -> [(id: String, version: Int, token: Int)] in
                    let ids = try String.fetchAll(db.cachedStatement(sql: """
                        SELECT e.lead_id FROM enrollment e INDEXED BY enrollment_due JOIN lead l ON l.id = e.lead_id
                        WHERE e.status = 'active' AND e.wake_at <= ? AND (l.lease_until IS NULL OR l.lease_until < ? OR l.lease_owner = ?)
                        ORDER BY e.wake_at LIMIT 256
                        """), arguments: [moment, moment, "bench"])
                    let lease = try db.cachedStatement(sql: """
                        UPDATE lead SET lease_owner = ?, lease_until = ?, lease_token = lease_token + 1 WHERE id = ? RETURNING lease_token, version
                        """)
                    return try ids.map { id in
                        let row = try Row.fetchOne(lease, arguments: ["bench", moment + 300, id])!
                        return (id, row[1], row[0])
                    }
                }
                guard !claimed.isEmpty else { break }
                let first = written
                try await pool.write { db in
                    let version = try db.cachedStatement(sql: """
                        UPDATE lead SET version = version + 1, lease_owner = NULL, lease_until = NULL
                        WHERE id = ? AND version = ? AND lease_token = ? AND lease_owner = ? AND lease_until >= ?
                        """)
                    let enrollment = try db.cachedStatement(sql: """
                        INSERT INTO enrollment (lead_id, campaign_id, sequence, status, step_id, phase, wake_at, enrolled_at, ended_at,
                            end_reason, variants, trigger, messages_produced)
                        VALUES (?, 'welcome', 1, 'active', 'wait-2d', 'waiting', ?, ?, NULL, NULL, '{}', '{}', 1)
                        ON CONFLICT (lead_id, campaign_id, sequence) DO UPDATE SET status = excluded.status, step_id = excluded.step_id,
                            phase = excluded.phase, wake_at = excluded.wake_at, ended_at = excluded.ended_at, end_reason = excluded.end_reason,
                            variants = excluded.variants, messages_produced = excluded.messages_produced
                        """)
                    let outbox = try db.cachedStatement(sql: """
                        INSERT INTO outbox_message (id, lead_id, campaign_id, step_id, channel, address, variant, transactional, created_at,
                            status, attempts, next_attempt_at)
                        VALUES (?, ?, ?, ?, 'email', ?, NULL, 0, ?, 'pending', 0, ?)
                        ON CONFLICT (id) DO NOTHING
                        """)
                    let content = try db.cachedStatement(sql: "INSERT INTO outbox_content (id, subject, preview, payload) VALUES (?, ?, ?, ?)")
                    for (n, lead) in claimed.enumerated() {
                        try version.execute(arguments: [lead.id, lead.version, lead.token, "bench", moment])
                        try enrollment.execute(arguments: [lead.id, moment + 2 * 86_400, moment])
                        let id = "msg_" + String(first + n, radix: 16)
                        try outbox.execute(arguments: [id, lead.id, message.campaignID, message.stepID, message.address, moment, moment])
                        try content.execute(arguments: [id, message.subject, message.preview, message.payload])
                    }
                }
                written += claimed.count
            }
        }
        let (sent, dispatchSeconds) = try await dispatchWrites(pool, at: moment)
        report("schedule-ceiling", [
            ("leads", "\(written)"), ("payload_bytes", "\(message.payload.utf8.count)"), ("preview_bytes", "\(message.preview.utf8.count)"),
            ("seconds", String(format: "%.2f", seconds)), ("steps_per_s", String(format: "%.0f", Double(written) / seconds)),
            ("dispatch_writes_per_s", String(format: "%.0f", Double(sent) / dispatchSeconds)),
            ("end_to_end_floor_msgs_per_s", String(format: "%.0f", Double(sent) / (seconds + dispatchSeconds))),
        ])
    }

    /// The dispatcher's side of the same floor: each queued message claimed with its content
    /// (128 a transaction, as a channel of 32 slots claims), then recorded as sent with its
    /// `email.sent` history event (256 a transaction), with the store's own statements and the
    /// counting triggers. No HTTP and no checks: what SQLite alone needs for a message to leave.
    /// Added to the scheduling time, it is the writer's floor for `run-due` end to end, since
    /// one writer commits every one of these transactions.
    func dispatchWrites(_ pool: DatabasePool, at moment: Double) async throws -> (sent: Int, seconds: Double) {
        var sent = 0
        var unrecorded: [(id: String, leadID: String)] = []
        func record() async throws {
            let batch = unrecorded
            unrecorded.removeAll()
            try await pool.write { db in
                let finish = try db.cachedStatement(sql: """
                    UPDATE outbox_message SET status = 'sent', sent_at = ?, last_error = NULL, lease_owner = NULL, lease_until = NULL
                    WHERE id = ? AND status = 'sending' AND lease_owner = ? AND attempts = ?
                    """)
                let event = try db.cachedStatement(sql: "INSERT INTO event (lead_id, type, at, properties, client_id) VALUES (?, 'email.sent', ?, ?, NULL)")
                for (id, leadID) in batch {
                    try finish.execute(arguments: [moment + 1, id, "bench", 1])
                    try event.execute(arguments: [leadID, moment + 1, #"{"campaign":"welcome","message":"\#(id)","step":"welcome-1"}"#])
                }
            }
            sent += batch.count
        }
        let seconds = try await elapsed {
            while true {
                let claimed = try await pool.write { db -> [(id: String, leadID: String)] in
                    let rows = try Row.fetchAll(db.cachedStatement(sql: """
                        SELECT m.*, c.subject, c.preview, c.payload, l.timezone AS lead_timezone FROM (
                            SELECT id FROM outbox_message INDEXED BY outbox_due_channel WHERE status = 'pending' AND channel = 'email' AND next_attempt_at <= ?
                            ORDER BY next_attempt_at LIMIT 128
                        ) due JOIN outbox_message m ON m.id = due.id JOIN outbox_content c ON c.id = m.id JOIN lead l ON l.id = m.lead_id
                        """), arguments: [moment + 1])
                    let lease = try db.cachedStatement(sql: "UPDATE outbox_message SET status = 'sending', attempts = ?, lease_owner = ?, lease_until = ? WHERE id = ?")
                    return try rows.map { row in
                        let id: String = row["id"]
                        let payload: String = row["payload"]
                        precondition(!payload.isEmpty)
                        try lease.execute(arguments: [1, "bench", moment + 120, id])
                        return (id, row["lead_id"])
                    }
                }
                guard !claimed.isEmpty else { break }
                unrecorded += claimed
                if unrecorded.count >= 256 { try await record() }
            }
            if !unrecorded.isEmpty { try await record() }
        }
        return (sent, seconds)
    }
}

/// Writes a realistic import file (streamed, so generating it costs no memory).
struct MakeCSV: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "make-csv")
    @Option var rows = 1_000_000
    @Option var output = "bench-leads.csv"

    func run() async throws {
        let writer = try CSVWriter(path: output, defusesFormulas: false)
        try writer.write(["email", "first_name", "last_name", "company", "job_title", "industry", "company_size", "country", "timezone", "source", "phone", "sms_consent", "plan"])
        let zones = ["Europe/Lisbon", "Europe/London", "America/New_York", "Asia/Tokyo", "Australia/Sydney"]
        let sources = ["referral", "website", "social media", "advertising", "trade show", "webinar"]
        for n in 0..<rows {
            try writer.write([
                "lead\(n)@example\(n % 997).com", "First\(n)", "Last\(n)", "Company \(n % 5_000), Ltd", "Head of Marketing", "SaaS",
                "\(10 + n % 5_000)", "GB", zones[n % zones.count], sources[n % sources.count], "+4477009\(String(format: "%05d", n % 100_000))",
                n % 4 == 0 ? "yes" : "no", n % 3 == 0 ? "trial" : "growth",
            ])
        }
        try writer.close()
        print("wrote \(rows) rows to \(output)")
    }
}

struct Import: AsyncParsableCommand {
    @Option var file = "bench-leads.csv"
    @Option(help: "Rows per transaction (the importer's default when left out).") var batchSize: Int?

    func run() async throws {
        let store = try SQLiteStore(path: scratchDatabase("import.sqlite"))
        let engine = try engine(store: store)
        var result: LeadImporter.Report?
        let seconds = try await elapsed {
            var importer = LeadImporter(engine: engine)
            if let batchSize { importer.batchSize = batchSize }
            result = try await importer.run(path: file, source: nil, defaultCountry: "GB", rejectsPath: nil, now: Date())
        }
        guard let result else { return }
        report("import", [
            ("rows", "\(result.rows)"), ("imported", "\(result.imported)"), ("rejected", "\(result.rejectedCount)"),
            ("seconds", String(format: "%.2f", seconds)), ("rows_per_s", String(format: "%.0f", Double(result.rows) / seconds)),
            ("peak_rss_mb", String(format: "%.0f", peakRSSMegabytes())),
        ])
    }
}

/// The loopback webhook sink on its own, for the load tool and the dispatch benchmark.
struct Sink: AsyncParsableCommand {
    @Option var seconds = 600

    func run() async throws {
        let sink = try await WebhookSink.start(recording: false)
        FileHandle.standardOutput.write(Data("port=\(sink.port)\n".utf8))
        try await Task.sleep(for: .seconds(seconds))
        await sink.stop()
    }
}

/// Dispatches N queued messages to a webhook URL and reports messages per second.
struct Dispatch: AsyncParsableCommand {
    @Option var messages = 50_000
    @Option var url: String
    @Option var transport = "async-http-client"
    @Option var concurrency = 32
    @Flag(inversion: .prefixedNo, help: "Keep the results' counters (--no-counting drops their triggers).") var counting = true

    func run() async throws {
        let store = try benchStore("dispatch.sqlite", counting: counting)
        let engine = try engine(store: store, policy: .unlimited)
        // 1,000 leads with 50 queued welcome-sized messages each.
        let leads = max(1, messages / 50)
        _ = try await engine.upsert((0..<leads).map { LeadPatch(email: "lead\($0)@example.com") }, now: Date())
        let now = Date()
        let payload = String(repeating: "x", count: 3_000)
        let ids = try await (0..<leads).asyncMap { try await store.lead(email: "lead\($0)@example.com")!.id }
        for (index, leadID) in ids.enumerated() {
            try await engine.updateLeads(ids: [leadID], now: now) { work in
                work.newMessages = (0..<50).map { n in
                    OutboxMessage(id: "msg_\(index)_\(n)", leadID: leadID, campaignID: "welcome", stepID: "welcome-1", channel: .email,
                                  address: "lead\(index)@example.com", variant: nil, subject: "Hello", preview: "Hello",
                                  payload: #"{"id":"msg_\#(index)_\#(n)","text":"\#(payload)"}"#, isTransactional: false, createdAt: now)
                }
            }
        }
        let client = try transportKind(transport).make(maximumConnectionsPerHost: concurrency)
        let channel = WebhookChannel(url: URL(string: url)!, secret: Data("bench-secret".utf8), timeout: .seconds(10), concurrency: concurrency, transport: client)
        let dispatcher = Dispatcher(store: store, channels: [.email: channel], retry: RetryPolicy(), owner: "bench")
        var sent = 0
        let seconds = try await elapsed {
            while true {
                let pass = try await dispatcher.dispatchDue(limit: 2_048)
                if pass.attempted == 0 { break }
                sent += pass.sent
            }
        }
        report("dispatch", [
            ("transport", transport), ("counting", "\(counting)"), ("concurrency", "\(concurrency)"), ("messages", "\(sent)"),
            ("seconds", String(format: "%.2f", seconds)), ("messages_per_s", String(format: "%.0f", Double(sent) / seconds)),
        ])
    }
}

/// The HTTP client alone: `concurrency` tasks posting the same body, no database.
struct Transport: AsyncParsableCommand {
    @Option var requests = 50_000
    @Option var url: String
    @Option var transport = "async-http-client"
    @Option var concurrency = 32

    func run() async throws {
        let client = try transportKind(transport).make(maximumConnectionsPerHost: concurrency)
        let body = Data(#"{"id":"msg_load","text":"\#(String(repeating: "x", count: 3_000))"}"#.utf8)
        let target = URL(string: url)!
        let perTask = requests / concurrency
        let seconds = try await elapsed {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<concurrency {
                    group.addTask {
                        for _ in 0..<perTask {
                            _ = try await client.post(target, headers: [("Content-Type", "application/json")], body: body, timeout: .seconds(10))
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
        report("transport", [("transport", transport), ("concurrency", "\(concurrency)"), ("requests", "\(perTask * concurrency)"),
                             ("seconds", String(format: "%.2f", seconds)), ("requests_per_s", String(format: "%.0f", Double(perTask * concurrency) / seconds))])
    }
}

func transportKind(_ name: String) throws -> NurtureConfiguration.TransportKind {
    guard let kind = NurtureConfiguration.TransportKind(rawValue: name) else {
        throw ValidationError("unknown transport '\(name)': use async-http-client or urlsession")
    }
    return kind
}

extension Sequence {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var results: [T] = []
        for element in self { results.append(try await transform(element)) }
        return results
    }
}

/// What the campaign controls cost the scheduler: every batch of due leads reads the pauses,
/// decisions and last resumes once, after its snapshots. Times that read (with a pause, a decided
/// split and a journal in the tables) and a scheduling pass over the same file, in one run.
struct ControlsRead: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "controls-read")
    @Option var leads = 20_000
    @Option var reads = 5_000

    func run() async throws {
        let store = try benchStore("controls.sqlite", counting: true)
        let engine = try engine(store: store)
        let start = schedulingStart
        try await addLeadsDueForWelcome(leads, engine: engine)
        _ = try await store.pauseCampaign(CampaignPause(campaignID: "win-back", at: start, reason: "bench", by: "bench"))
        _ = try await store.resumeCampaign(CampaignJournalEntry(campaignID: "win-back", type: "campaign.resumed", at: start))
        _ = try await store.pauseCampaign(CampaignPause(campaignID: "win-back", at: start, reason: "bench", by: "bench"))
        _ = try await store.decideExperiment(ExperimentDecision(campaignID: "welcome", stepID: "welcome-3-value", variant: "B", at: start, by: "bench"))
        let readSeconds = try await elapsed { for _ in 0..<reads { _ = try await store.campaignControls() } }
        var pass = Engine.Pass()
        let passSeconds = try await elapsed { pass = try await engine.runDue(now: start) }
        let batches = (pass.leads + 255) / 256
        let perRead = readSeconds / Double(reads)
        report("controls-read", [
            ("leads", "\(pass.leads)"), ("read_us", String(format: "%.1f", perRead * 1e6)), ("pass_s", String(format: "%.2f", passSeconds)),
            ("batches", "\(batches)"), ("share_of_pass", String(format: "%.3f%%", 100 * perRead * Double(batches) / passSeconds)),
        ])
    }
}
