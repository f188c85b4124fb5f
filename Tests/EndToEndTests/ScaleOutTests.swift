import Foundation
import NurtureDeployment
import NurtureEngine
import NurtureSQLite
import NurtureTesting
import Testing

/// Many `nurture worker` processes on one PostgreSQL database, through the real binary: they
/// share the due work, survive being killed at any instant, drain on SIGTERM, and an embedded
/// deployment moves up to PostgreSQL with everything it had.
@Suite(.serialized)
struct ScaleOutTests {
    let directory: URL
    let secret = "whsec_" + Data((0..<24).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("nurture-scale-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    /// A new PostgreSQL database with `leadCount` leads imported, and the options that reach it.
    func deployment(sink: WebhookSink, leadCount: Int) async throws -> [String] {
        try await NurtureBinary.importedDeployment(database: try await TestPostgres.newDatabase(), in: directory, sink: sink,
                                                   leadCount: leadCount, secret: secret)
    }

    func worker(_ name: String, _ common: [String]) throws -> Process {
        try NurtureBinary.spawn(["worker", "--poll-ms", "50"] + common, environment: ["NURTURE_TEST_SECRET": secret],
                                logs: directory.appendingPathComponent("worker-\(name)"))
    }

    func store(_ common: [String]) async throws -> any LeadStore {
        try await Deployment.openStore(common[1])
    }

    @Test func threeWorkersKilledAtRandomMomentsLoseNothingAndNeverSendAStepUnderTwoIds() async throws {
        let sink = try await WebhookSink.start()
        let leads = 1_500
        // Latency per request keeps sends in flight for the whole run, so kills land mid-send.
        sink.script([], then: .hang(.milliseconds(25)))
        let common = try await deployment(sink: sink, leadCount: leads)

        // Three workers share the database; one at a time is killed with SIGKILL and replaced.
        var workers = try (0..<3).map { try worker("start-\($0)", common) }
        // The kills begin once sends are under way, however slowly a loaded machine starts them.
        for _ in 0..<600 where sink.received.isEmpty { try await Task.sleep(for: .milliseconds(50)) }
        for round in 0..<9 {
            try await Task.sleep(for: .milliseconds(Int.random(in: 150...500)))
            let victim = Int.random(in: 0..<workers.count)
            kill(workers[victim].processIdentifier, SIGKILL)
            workers[victim].waitUntilExit()
            #expect(workers[victim].terminationReason == .uncaughtSignal)
            workers[victim] = try worker("round-\(round)", common)
        }
        for process in workers {
            process.terminate()
            process.waitUntilExit()
        }
        let byWorkers = sink.received.count
        #expect(byWorkers > 0, "the workers sent while they were being killed")
        // An hour later the dead workers' leases on leads and messages have expired; one run
        // finishes whatever they held.
        sink.script([], then: .accept)
        let later = ISO8601DateFormatter().string(from: Date().addingTimeInterval(3600))
        let finish = try await NurtureBinary.run(["run-due", "--now", later] + common, environment: ["NURTURE_TEST_SECRET": secret])
        #expect(finish.status == 0, "\(finish.stderr)")

        let store = try await store(common)
        let messages = try await store.messages(status: nil, limit: 10_000)
        #expect(messages.count == leads)
        let perStep = Dictionary(grouping: messages) { "\($0.leadID)|\($0.campaignID)|\($0.stepID)" }
        #expect(perStep.count == leads, "a lead was given the same step under two ids")
        #expect(messages.allSatisfy { $0.status == .sent }, "\(Dictionary(grouping: messages, by: \.status).mapValues(\.count))")
        let outboxIDs = Set(messages.map(\.id))
        let delivered = sink.received.compactMap { $0.headers["idempotency-key"] }
        #expect(Set(delivered).isSuperset(of: outboxIDs), "a message was lost")
        #expect(Set(delivered).isSubset(of: outboxIDs), "the receiver saw an id the outbox never had")
        #expect(try await store.counts().leads == leads)
        print("scale-out crash test: \(delivered.count) deliveries for \(outboxIDs.count) messages (\(delivered.count - outboxIDs.count) repeats under the same id); \(byWorkers) sent by 3 workers through 9 kills, the rest by the last run")
        await Deployment.close(store)
        await sink.stop()
    }

    @Test func sigtermOnEachOfThreeWorkersFinishesItsSendsAndExitsCleanly() async throws {
        let sink = try await WebhookSink.start()
        sink.script([], then: .hang(.milliseconds(300)))
        let common = try await deployment(sink: sink, leadCount: 120)
        let workers = try (0..<3).map { try worker("term-\($0)", common) }
        for _ in 0..<100 where sink.received.isEmpty { try await Task.sleep(for: .milliseconds(50)) }
        #expect(!sink.received.isEmpty, "sends were in flight")
        for process in workers { process.terminate() }   // SIGTERM to each
        let deadline = Date().addingTimeInterval(20)
        while workers.contains(where: \.isRunning), Date() < deadline { try await Task.sleep(for: .milliseconds(50)) }
        for process in workers {
            #expect(!process.isRunning, "a worker did not stop within 20 s")
            #expect(process.terminationReason == .exit && process.terminationStatus == 0)
        }
        let store = try await store(common)
        let messages = try await store.messages(status: nil, limit: 1_000)
        #expect(messages.filter { $0.status == .sending }.isEmpty, "every claimed message was recorded or handed back")
        #expect(messages.filter { $0.status == .sent }.count == Set(sink.received.compactMap { $0.headers["idempotency-key"] }).count)
        // What the workers had not reached is still due, and goes out at the next run.
        sink.script([], then: .accept)
        let finish = try await NurtureBinary.run(["run-due"] + common, environment: ["NURTURE_TEST_SECRET": secret])
        #expect(finish.status == 0, "\(finish.stderr)")
        let after = try await store.messages(status: nil, limit: 1_000)
        #expect(after.count == 120 && after.allSatisfy { $0.status == .sent }, "\(Dictionary(grouping: after, by: \.status).mapValues(\.count))")
        await Deployment.close(store)
        await sink.stop()
    }

    /// An idle worker on PostgreSQL is woken by the commit that creates work (NOTIFY), not by its
    /// next poll: with a 60-second poll, an imported lead's welcome still leaves within seconds.
    @Test func anIdleWorkerIsWokenByTheCommitThatCreatesWork() async throws {
        let sink = try await WebhookSink.start()
        let common = try await deployment(sink: sink, leadCount: 1)
        let worker = try NurtureBinary.spawn(["worker", "--poll-ms", "60000"] + common, environment: ["NURTURE_TEST_SECRET": secret],
                                             logs: directory.appendingPathComponent("worker-notify"))
        defer { worker.terminate() }
        // Its first round sends the lead imported before it started; then it waits.
        for _ in 0..<200 where sink.received.count < 1 { try await Task.sleep(for: .milliseconds(50)) }
        #expect(sink.received.count == 1)
        try await Task.sleep(for: .seconds(1))
        let file = directory.appendingPathComponent("later.csv")
        try "email,first_name,timezone\nlater@example.com,Later,Europe/Lisbon\n".write(to: file, atomically: true, encoding: .utf8)
        let started = Date()
        let imported = try await NurtureBinary.run(["leads", "import", file.path] + common, environment: ["NURTURE_TEST_SECRET": secret])
        #expect(imported.status == 0, "\(imported.stderr)")
        for _ in 0..<300 where sink.received.count < 2 { try await Task.sleep(for: .milliseconds(50)) }
        #expect(sink.received.count == 2, "the welcome of the lead imported later was sent")
        // The send loop polls every 60 s too, and the scheduling loop, woken, queues the welcome;
        // the send loop's own wait ends on the same notification.
        #expect(Date().timeIntervalSince(started) < 15, "woken at once, not at the next 60 s poll")
        worker.terminate()
        worker.waitUntilExit()
        await sink.stop()
    }

    /// Two API-only servers on two ports and a worker, all on one PostgreSQL database: events
    /// posted to both servers for the leads the worker is advancing are each applied once, and
    /// every lead's welcome goes out once.
    @Test func twoServersAndAWorkerShareTheDatabaseAndEveryEventCountsOnce() async throws {
        let sink = try await WebhookSink.start()
        sink.script([], then: .hang(.milliseconds(5)))
        let leads = 200
        let common = try await deployment(sink: sink, leadCount: leads)
        let environment = ["NURTURE_TEST_SECRET": secret]
        let serve = ServeTests()
        let config = URL(fileURLWithPath: common[3])
        let first = try await serve.start(in: directory, config: config, database: common[1], name: "serve-a", arguments: ["--no-worker"], environment: environment)
        let second = try await serve.start(in: directory, config: config, database: common[1], name: "serve-b", arguments: ["--no-worker"], environment: environment)
        #expect(first.base != second.base, "two ports")
        let worker = try worker("beside-servers", common)
        defer { worker.terminate() }
        // Each lead gets a pricing visit through one server and a case study read through the
        // other, while the worker advances the same leads; every request is sent twice.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (server, path) in [(first, "/pricing"), (second, "/customers/fernhill")] {
                group.addTask {
                    for batch in stride(from: 0, to: leads, by: 20) {
                        let events = (batch..<min(leads, batch + 20)).map { n in
                            #"{"email": "lead\#(n)@example.com", "type": "page.viewed", "properties": {"path": "\#(path)"}, "id": "\#(path)-\#(n)"}"#
                        }
                        for _ in 0..<2 {
                            let response = try await server.request(.POST, "/v1/events", json: "[" + events.joined(separator: ",") + "]")
                            #expect(response.status == 200 || response.status == 202, "\(response.status) \(response.body)")
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        for _ in 0..<600 where sink.received.count < leads { try await Task.sleep(for: .milliseconds(50)) }
        let store = try await store(common)
        let counts = try await store.counts()
        #expect(counts.events >= leads * 3, "lead.created and both visits for every lead: \(counts.events)")
        for n in [0, leads / 2, leads - 1] {
            let lead = try #require(try await store.lead(email: "lead\(n)@example.com"))
            let views = try await store.latestEvents(leadID: lead.id, limit: 50).filter { $0.type == "page.viewed" }
            #expect(views.count == 2, "each visit once for lead\(n), whichever server took it and however often it was sent")
        }
        #expect(try await store.storedEventIDs((0..<leads).flatMap { ["/pricing-\($0)", "/customers/fernhill-\($0)"] }).count == leads * 2)
        let messages = try await store.messages(status: nil, limit: 10_000).filter { $0.campaignID == "welcome" }
        #expect(messages.count == leads, "one welcome per lead")
        #expect(Set(messages.map(\.leadID)).count == leads)
        worker.terminate()
        worker.waitUntilExit()
        await Deployment.close(store)
        await sink.stop()
    }

    @Test func theDemoMovesUpToPostgreSQLAndAnswersTheSameThere() async throws {
        let sqlite = directory.appendingPathComponent("demo.sqlite").path
        let demo = try await NurtureBinary.run(["demo", "--database", sqlite, "--hours-per-second", "0"])
        #expect(demo.status == 0, "\(demo.stderr)")
        // A paused campaign and a decided split move with the data: the paused work would
        // otherwise wait for a resume nobody could ask for.
        #expect(try await NurtureBinary.run(["campaigns", "pause", "nurture", "--reason", "new pricing", "--database", sqlite]).status == 0)
        #expect(try await NurtureBinary.run(["experiments", "decide", "welcome", "welcome-3-value", "B", "--database", sqlite]).status == 0)
        let postgres = try await TestPostgres.newDatabase()

        let copy = try await NurtureBinary.run(["migrate", "--from", "sqlite:" + sqlite, "--to", postgres, "--progress"])
        #expect(copy.status == 0, "\(copy.stderr)")
        #expect(copy.stdout.hasPrefix("copied 10 leads, "), "\(copy.stdout)")
        #expect(copy.stdout.hasSuffix("; the counts match\n"))
        #expect(copy.stderr.contains("messages: 59 of 59 (100%)"), "progress is printed with --progress: \(copy.stderr)")
        #expect(!copy.stdout.contains(postgres) && !copy.stderr.contains(String(postgres.split(separator: "@")[0])), "the password is never printed")

        // The same questions get the same answers on both.
        for question in [["leads", "top", "--now", "2026-12-01T00:00:00Z"], ["outbox", "--limit", "500"], ["dead-letters", "list"],
                         ["leads", "show", "ana.costa@fernhill.example", "--now", "2026-12-01T00:00:00Z"], ["stats", "--format", "json"],
                         ["experiments", "list"], ["campaigns", "show", "nurture"]] {
            let embedded = try await NurtureBinary.run(question + ["--database", sqlite])
            let shared = try await NurtureBinary.run(question + ["--database", postgres])
            #expect(embedded.status == 0 && !embedded.stdout.isEmpty, "\(question): \(embedded.stderr)")
            #expect(embedded.stdout == shared.stdout, "\(question) differs:\n\(embedded.stdout)\n---\n\(shared.stdout)\n\(shared.stderr)")
        }
        // Old unsubscribe links keep working: the link secret moved with the data.
        let from = try SQLiteStore(path: sqlite), to = try await Deployment.openStore(postgres)
        #expect(try await from.secret(named: "links") == (try await to.secret(named: "links")))
        #expect(try await to.campaignControls().pauses["nurture"]?.reason == "new pricing")
        #expect(try await to.campaignJournal(campaignID: nil, limit: 10).map(\.type) == ["experiment.decided", "campaign.paused"])
        let resumed = try await NurtureBinary.run(["campaigns", "resume", "nurture", "--database", postgres])
        #expect(resumed.stdout.contains("resumed nurture"), "\(resumed.stderr)")
        await Deployment.close(to)

        // A second copy into the now non-empty database is refused, unless told to replace.
        let again = try await NurtureBinary.run(["migrate", "--from", "sqlite:" + sqlite, "--to", postgres])
        #expect(again.status != 0)
        #expect(again.stderr.contains("already holds") && again.stderr.contains("--replace"), "\(again.stderr)")
        let replaced = try await NurtureBinary.run(["migrate", "--from", "sqlite:" + sqlite, "--to", postgres, "--replace"])
        #expect(replaced.status == 0, "\(replaced.stderr)")
        let migrated = try await NurtureBinary.run(["migrate", "--database", postgres])
        #expect(migrated.stdout.contains("schema at version 14"), "\(migrated.stdout)\(migrated.stderr)")
    }
}
