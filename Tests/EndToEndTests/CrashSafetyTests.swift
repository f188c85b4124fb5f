import Foundation
import NurtureEngine
import NurtureSQLite
import NurtureTesting
import Testing

/// A worker that dies at any instant loses no message and never sends a step under two ids.
@Suite(.serialized)
struct CrashSafetyTests {
    let directory: URL
    let database: String
    let secret = "whsec_" + Data((0..<24).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("nurture-crash-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        database = directory.appendingPathComponent("nurture.sqlite").path
    }

    /// A webhook configuration pointing at the sink, with a short lease so the test need not wait.
    func configure(sink: WebhookSink, leadCount: Int) async throws -> [String] {
        try await NurtureBinary.importedDeployment(database: database, in: directory, sink: sink, leadCount: leadCount, secret: secret)
    }

    @Test func killingTheWorkerRepeatedlyLosesNothingAndDuplicatesNothing() async throws {
        let sink = try await WebhookSink.start()
        let leads = 600
        // A little latency per request keeps sends in flight when the kill lands.
        sink.script([], then: .hang(.milliseconds(8)))
        let common = try await configure(sink: sink, leadCount: leads)
        let environment = ["NURTURE_TEST_SECRET": secret]

        // When the worker is killed with SIGKILL at random moments, eight times over
        for round in 0..<8 {
            let worker = try NurtureBinary.spawn(["worker", "--poll-ms", "50"] + common, environment: environment,
                                                 logs: directory.appendingPathComponent("worker-\(round)"))
            try await Task.sleep(for: .milliseconds(Int.random(in: 250...700)))
            kill(worker.processIdentifier, SIGKILL)
            worker.waitUntilExit()
            #expect(worker.terminationReason == .uncaughtSignal)
        }
        // And a last run, an hour later, finishes the job: the dead workers' leases have expired
        // and sends that timed out (a loaded machine can miss the 1 s timeout) are due again
        sink.script([], then: .accept)
        // A send that times out again on a loaded machine is retried under its id at its next
        // attempt, after the pass's instant: each further pass runs an hour later still.
        var finish = try await NurtureBinary.run(["run-due", "--now", ISO8601DateFormatter().string(from: Date().addingTimeInterval(3600))] + common,
                                                 environment: environment)
        #expect(finish.status == 0, "\(finish.stderr)")
        for hours in 2...4 where !finish.stdout.contains("will retry 0,") {
            finish = try await NurtureBinary.run(["run-due", "--now", ISO8601DateFormatter().string(from: Date().addingTimeInterval(Double(hours) * 3600))] + common,
                                                 environment: environment)
            #expect(finish.status == 0, "\(finish.stderr)")
        }

        // Then every lead got its welcome once, under one id, and the receiver saw every id
        let store = try SQLiteStore(path: database)
        let messages = try await store.messages(status: nil, limit: 10_000)
        #expect(messages.count == leads)
        let perStep = Dictionary(grouping: messages) { "\($0.leadID)|\($0.campaignID)|\($0.stepID)" }
        #expect(perStep.count == leads, "a lead was given the same step under two ids")
        #expect(messages.allSatisfy { $0.status == .sent },
                "\(Dictionary(grouping: messages, by: \.status).mapValues(\.count)) \(Set(messages.compactMap(\.lastError)))\n\(finish.stdout)")
        let outboxIDs = Set(messages.map(\.id))
        let delivered = sink.received.compactMap { $0.headers["idempotency-key"] }
        #expect(Set(delivered).isSuperset(of: outboxIDs), "a message was lost")
        #expect(Set(delivered).isSubset(of: outboxIDs), "the receiver saw an id the outbox never had")
        // Re-deliveries after a kill reuse the id, so an idempotency-aware receiver sees each once.
        print("crash test: \(delivered.count) deliveries for \(outboxIDs.count) messages (\(delivered.count - outboxIDs.count) repeats under the same id)")
        await sink.stop()
    }

    @Test func sigtermFinishesTheSendsInFlightAndExitsCleanly() async throws {
        let sink = try await WebhookSink.start()
        sink.script([], then: .hang(.milliseconds(300)))
        let common = try await configure(sink: sink, leadCount: 80)
        let worker = try NurtureBinary.spawn(["worker", "--poll-ms", "50"] + common, environment: ["NURTURE_TEST_SECRET": secret],
                                             logs: directory.appendingPathComponent("worker-term"))
        // Wait until sends are in flight
        for _ in 0..<100 where sink.received.isEmpty { try await Task.sleep(for: .milliseconds(50)) }
        #expect(!sink.received.isEmpty)
        worker.terminate()   // SIGTERM
        let deadline = Date().addingTimeInterval(15)
        while worker.isRunning, Date() < deadline { try await Task.sleep(for: .milliseconds(50)) }
        #expect(!worker.isRunning, "the worker did not stop within 15 s")
        #expect(worker.terminationReason == .exit)
        #expect(worker.terminationStatus == 0)
        // Nothing is left half-sent: every claimed message was recorded before exit
        let store = try SQLiteStore(path: database)
        let messages = try await store.messages(status: nil, limit: 1_000)
        #expect(messages.filter { $0.status == .sending }.isEmpty)
        #expect(messages.count == 80)
        #expect(messages.filter { $0.status == .sent }.count == Set(sink.received.compactMap { $0.headers["idempotency-key"] }).count)
        await sink.stop()
    }
}

/// Events and dead letters through the real binary, delivering over real HTTP.
@Suite(.serialized)
struct EventsAndDeadLettersTests {
    @Test func eventsAreStoredOnceAndDeadLettersCanBeRetriedUnderTheirIds() async throws {
        let sink = try await WebhookSink.start()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("nurture-dead-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let config = directory.appendingPathComponent("nurture.toml")
        try "[channels.email]\nkind = \"webhook\"\nurl = \"\(sink.url.absoluteString)\"\n".write(to: config, atomically: true, encoding: .utf8)
        let leads = directory.appendingPathComponent("leads.csv")
        try "email,first_name,timezone\nana@example.com,Ana,Europe/Lisbon\n".write(to: leads, atomically: true, encoding: .utf8)
        let common = ["--database", directory.appendingPathComponent("n.sqlite").path, "--config", config.path]
        #expect(try await NurtureBinary.run(["leads", "import", leads.path] + common).status == 0)

        // The same client id is stored once; an unknown lead is a clear error
        let first = try await NurtureBinary.run(["events", "track", "ANA@example.com", "page.viewed", "--prop", "path=/blog", "--id", "evt-1"] + common)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout.hasPrefix("stored page.viewed for lead ld_"))
        let again = try await NurtureBinary.run(["events", "track", "ana@example.com", "page.viewed", "--id", "evt-1"] + common)
        #expect(again.stdout == "already stored: an event with id evt-1 was recorded before; nothing changed\n")
        let unknown = try await NurtureBinary.run(["events", "track", "nobody@example.com", "page.viewed"] + common)
        #expect(unknown.status == 1)
        #expect(unknown.stderr == "error: no lead with email nobody@example.com (import or create it first)\n")
        let badProp = try await NurtureBinary.run(["events", "track", "ana@example.com", "page.viewed", "--prop", "oops"] + common)
        #expect(badProp.status != 0)
        #expect(badProp.stderr.contains("--prop 'oops' is not key=value"))

        // A 422 makes the welcome email a dead letter at once
        sink.script([.fail(status: 422)])
        let due = try await NurtureBinary.run(["run-due"] + common)
        let outbox = try await NurtureBinary.run(["outbox"] + common).stdout
        #expect(due.stdout.hasSuffix("sent 0, will retry 0, dead 1\n"), "\(due.stdout)\(due.stderr)\(outbox) \(sink.received.map(\.status))")
        let listed = try await NurtureBinary.run(["dead-letters", "list"] + common)
        #expect(listed.stdout.contains("welcome/welcome-1  dead after 1 attempt\n  last error: HTTP 422\n"))
        let id = try #require(listed.stdout.split(separator: " ").first.map(String.init))

        // Retrying sends it again under the same id
        #expect(try await NurtureBinary.run(["dead-letters", "retry"] + common).status != 0)   // ids or --all
        #expect(try await NurtureBinary.run(["dead-letters", "retry", id] + common).stdout == "queued 1 message again\n")
        let retried = try await NurtureBinary.run(["run-due"] + common)
        #expect(retried.stdout.hasSuffix("sent 1, will retry 0, dead 0\n"))
        #expect(sink.received.map { $0.headers["idempotency-key"] } == [id, id])
        #expect(try await NurtureBinary.run(["dead-letters", "list"] + common).stdout == "no dead letters\n")
        await sink.stop()
    }
}
