import Foundation
import NurtureEngine
import NurtureStore
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
    func configure(sink: WebhookSink, leadCount: Int) throws -> [String] {
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
        let imported = try NurtureBinary.run(["leads", "import", file.path] + common, environment: ["NURTURE_TEST_SECRET": secret])
        #expect(imported.status == 0, "\(imported.stderr)")
        #expect(imported.stdout.hasPrefix("imported \(leadCount),"))
        return common
    }

    @Test func killingTheWorkerRepeatedlyLosesNothingAndDuplicatesNothing() async throws {
        let sink = try await WebhookSink.start()
        let leads = 600
        // A little latency per request keeps sends in flight when the kill lands.
        sink.script([], then: .hang(.milliseconds(8)))
        let common = try configure(sink: sink, leadCount: leads)
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
        // And a last run finishes the job once the dead workers' leases have expired
        sink.script([], then: .accept)
        try await Task.sleep(for: .seconds(3.5))
        let finish = try NurtureBinary.run(["run-due"] + common, environment: environment)
        #expect(finish.status == 0, "\(finish.stderr)")

        // Then every lead got its welcome once, under one id, and the receiver saw every id
        let store = try SQLiteStore(path: database)
        let messages = try await store.messages(status: nil, limit: 10_000)
        #expect(messages.count == leads)
        let perStep = Dictionary(grouping: messages) { "\($0.leadID)|\($0.campaignID)|\($0.stepID)" }
        #expect(perStep.count == leads, "a lead was given the same step under two ids")
        #expect(messages.allSatisfy { $0.status == .sent })
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
        let common = try configure(sink: sink, leadCount: 80)
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
