import Campaigns
import Foundation
import Logging
import NurtureDSL
import NurtureEngine
import NurtureSQLite
import NurtureTesting
import ServiceLifecycle
import Synchronization
import Testing

/// The worker as `nurture worker` runs it, against a loopback receiver that hangs, throttles
/// and fails: completions flow as each request ends, and no retry or backlog carries a message
/// out of its hours or past a frequency cap.
@Suite(.serialized)
struct SendingFlowTests {
    /// Queues `count` transactional messages (no caps, no windows: a campaign the playbook does
    /// not have) on `channel`, one lead each.
    func queue(_ fixture: Fixture, _ prefix: String, count: Int, channel: OutgoingMessage.Channel = .email, now: Date) async throws -> [String] {
        let patches = (0..<count).map { n in fixture.lead("\(prefix)\(n)@example.com", smsConsent: true) }
        let ids = try await fixture.engine.upsertLeads(patches, now: now).map(\.leadID)
        var messageIDs: [String] = []
        for (n, leadID) in ids.enumerated() {
            let id = "msg_\(prefix)_\(n)"
            messageIDs.append(id)
            try await fixture.engine.updateLeads(ids: [leadID], now: now) { work in
                work.newMessages = [OutboxMessage(
                    id: id, leadID: leadID, campaignID: "ops", stepID: "notice", channel: channel,
                    address: channel == .email ? "\(prefix)\(n)@example.com" : "+351912345678", variant: nil, subject: "Hi", preview: "Hi",
                    payload: #"{"id":"\#(id)"}"#, isTransactional: true, createdAt: now)]
            }
        }
        return messageIDs
    }

    func webhook(_ sink: WebhookSink, concurrency: Int) -> WebhookChannel {
        WebhookChannel(url: sink.url, secret: nil, timeout: .seconds(10), concurrency: concurrency,
                       transport: AsyncHTTPClientTransport(maximumConnectionsPerHost: concurrency))
    }

    /// Runs the real worker service until `body` returns, then stops it the way SIGTERM does.
    func withWorker(_ worker: Worker, _ body: () async throws -> Void) async throws {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let group = ServiceGroup(configuration: .init(services: [.init(service: worker)], gracefulShutdownSignals: [], logger: logger))
        let running = Task { try await group.run() }
        do {
            try await body()
        } catch {
            await group.triggerGracefulShutdown()
            _ = try? await running.value
            throw error
        }
        await group.triggerGracefulShutdown()
        try await running.value
    }

    func sent(_ fixture: Fixture) async throws -> Set<String> {
        Set(try await fixture.store.messages(status: .sent, limit: 10_000).map(\.id))
    }

    @Test func oneHungRequestHoldsOnlyItsOwnSlotAndNewWorkIsTakenMeanwhile() async throws {
        let fixture = try Fixture()
        let sink = try await WebhookSink.start()
        let now = Date()
        let first = try await queue(fixture, "early", count: 12, now: now)
        let sms = try await queue(fixture, "text", count: 4, channel: .sms, now: now)
        let hung = first[0]
        sink.answer { _, headers in headers["webhook-id"] == hung ? .hang(.seconds(6)) : nil }
        let dispatcher = Dispatcher(engine: fixture.engine, channels: [.email: webhook(sink, concurrency: 4), .sms: webhook(sink, concurrency: 2)],
                                    retry: RetryPolicy(), owner: "worker")
        var worker = Worker(engine: fixture.engine, dispatcher: dispatcher)
        worker.pollInterval = .milliseconds(100)
        try await withWorker(worker) {
            try await Task.sleep(for: .milliseconds(300))
            // Work that becomes due while the hung request is still out is taken at once too.
            let late = try await queue(fixture, "late", count: 6, now: Date())
            let expected = Set(first.dropFirst() + sms + late)
            var done = try await sent(fixture)
            while !expected.isSubset(of: done), !done.contains(hung) {
                try await Task.sleep(for: .milliseconds(50))
                done = try await sent(fixture)
            }
            // Everything else was sent and recorded while the one request still hung.
            #expect(expected.isSubset(of: done), "recorded as sent before the hung request ended: \(expected.intersection(done).count) of \(expected.count)")
            #expect(!done.contains(hung))
            // The hung one is recorded once it answers, still within the worker's run.
            for _ in 0..<200 where !done.contains(hung) {
                try await Task.sleep(for: .milliseconds(50))
                done = try await sent(fixture)
            }
            #expect(done.contains(hung))
        }
        #expect(sink.received.filter { $0.headers["webhook-id"] == hung }.count == 1)
        await sink.stop()
    }

    @Test func aThrottledMessageIsAskedAgainWhenTheReceiverSaid() async throws {
        let fixture = try Fixture()
        let sink = try await WebhookSink.start()
        let id = try await queue(fixture, "throttled", count: 1, now: Date())[0]
        // (The lead's welcome email goes out too; only the queued message is throttled.)
        let once = Once()
        sink.answer { _, headers in headers["webhook-id"] == id && once.first() ? .fail(status: 429, retryAfter: "1") : nil }
        let dispatcher = Dispatcher(engine: fixture.engine, channels: [.email: webhook(sink, concurrency: 2)], retry: RetryPolicy(), owner: "worker")
        var worker = Worker(engine: fixture.engine, dispatcher: dispatcher)
        worker.pollInterval = .milliseconds(100)
        try await withWorker(worker) {
            for _ in 0..<80 where !sink.accepted.contains(where: { $0.headers["webhook-id"] == id }) { try await Task.sleep(for: .milliseconds(50)) }
        }
        let attempts = sink.received.filter { $0.headers["webhook-id"] == id }
        #expect(attempts.map(\.status) == [429, 200])
        if attempts.count == 2 {
            let gap = attempts[1].at.timeIntervalSince(attempts[0].at)
            #expect(gap >= 0.95 && gap < 2.5, "asked again after \(gap) s: \(attempts.map(\.at))")
        }
        await sink.stop()
    }

    /// SIGTERM while one request hangs: that one is finished and recorded, and the messages that
    /// were claimed but only waiting for a slot go back to the queue for another worker at once,
    /// unattempted, instead of holding this worker's exit behind the slow receiver.
    @Test func aStoppingWorkerHandsBackWhatWasOnlyWaitingForASlot() async throws {
        let fixture = try Fixture()
        let sink = try await WebhookSink.start()
        _ = try await queue(fixture, "drain", count: 5, now: Date())
        let first = Once()
        sink.answer { _, _ in first.first() ? .hang(.milliseconds(1500)) : nil }
        let dispatcher = Dispatcher(engine: fixture.engine, channels: [.email: webhook(sink, concurrency: 1)], retry: RetryPolicy(), owner: "worker")
        var worker = Worker(engine: fixture.engine, dispatcher: dispatcher)
        worker.pollInterval = .milliseconds(50)
        try await withWorker(worker) {
            // The hung request is out once the receiver has been asked once.
            for _ in 0..<100 where !first.isDone { try await Task.sleep(for: .milliseconds(20)) }
        }
        #expect(sink.received.count == 1, "only the request in flight went out")
        let messages = try await fixture.store.messages(status: nil, limit: 100)
        #expect(messages.filter { $0.status == .sent }.count == 1)
        let rest = messages.filter { $0.status != .sent }
        #expect(!rest.isEmpty && rest.allSatisfy { $0.status == .pending && $0.attempts == 0 && $0.leaseOwner == nil }, "\(rest.map { ($0.id, $0.status, $0.attempts) })")
        await sink.stop()
    }

    /// Five virtual days: leads across zones enter a business-hours series with an SMS, the
    /// worker is down for ten hours on the first day (a backlog), and the receiver fails every
    /// third request (retries). Every message that left, left inside its window or the SMS
    /// hours, and no lead got two marketing emails within 24 hours of each other's send.
    @Test func windowsQuietHoursAndCapsHoldAtEveryAttemptThroughABacklogAndRetries() async throws {
        let campaign = Campaign("backlog", kind: .nurture, window: .businessHours) {
            Entry(on: "lead.created")
            Email("welcome-2-guide")
            Wait(.hours(2))
            Email("welcome-2-resend")
            SMS("engagement-sms-nudge", window: .anytime)
            Wait(.hours(3))
            Email("welcome-3-value-a")
        }
        let playbook = Playbook(brand: Campaigns.playbook.brand) {} campaigns: { campaign }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("nurture-flow-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let store = try SQLiteStore(path: directory.appendingPathComponent("n.sqlite").path)
        let engine = Engine(store: store, processor: LeadProcessor(playbook: playbook, templates: try Fixture.templates(), policy: .standard, links: Fixture.links))
        let sink = try await WebhookSink.start()
        sink.answer { index, _ in index % 3 == 2 ? .fail(status: 503) : .accept }
        let zones = ["America/New_York", "Europe/Lisbon", "Asia/Kolkata", "Australia/Sydney", "America/Los_Angeles"]
        let monday = instant("2026-11-23 00:00", "UTC")
        var patches: [LeadPatch] = []
        for n in 0..<20 {
            var patch = LeadPatch(email: "lead\(n)@example.com")
            patch.timeZone = zones[n % zones.count]
            patch.phone = "+35191234\(String(format: "%04d", n))"
            patch.smsConsent = true
            patches.append(patch)
        }
        _ = try await engine.upsert(patches, now: monday)
        let channels: [OutgoingMessage.Channel: any DeliveryChannel] = [.email: webhook(sink, concurrency: 8), .sms: webhook(sink, concurrency: 4)]
        var clock = monday
        var deferredSeen = 0
        while clock < monday.addingTimeInterval(5 * 86_400) {
            _ = try await engine.runDue(now: clock)
            let outage = clock >= monday.addingTimeInterval(13 * 3600) && clock < monday.addingTimeInterval(23 * 3600)
            if !outage {
                let now = clock
                _ = try await Dispatcher(engine: engine, channels: channels, retry: RetryPolicy(), owner: "w", now: { now }).dispatchDue()
            }
            deferredSeen += try await store.messages(status: .pending, limit: 1_000).count { $0.lastError?.hasPrefix("deferred:") == true }
            clock = clock.addingTimeInterval(600)
        }
        let sent = try await store.messages(status: .sent, limit: 1_000)
        let counts = try await store.outboxCounts()
        let dead = try await store.messages(status: .dead, limit: 5).map { ($0.stepID, $0.channel, $0.attempts, $0.lastError ?? "") }
        #expect(sent.count == 20 * 4, "every message left in the end: \(counts) \(dead)")
        #expect(deferredSeen > 0, "the backlog and the retries must have met a closed window")
        for message in sent {
            let sentAt = try #require(message.sentAt)
            let lead = try #require(try await store.lead(id: message.leadID))
            let clock = LocalClock(zone: lead.zone)
            let window = message.channel == .sms ? SendWindow.smsQuietHoursAllowed : SendWindow.businessHours
            #expect(clock.isInside(window, at: sentAt), "\(message.stepID) to \(lead.timeZone) left at \(localTime(sentAt, lead.timeZone))")
        }
        for (_, messages) in Dictionary(grouping: sent.filter { $0.channel == .email }, by: \.leadID) {
            let times = messages.compactMap(\.sentAt).sorted()
            for (earlier, later) in zip(times, times.dropFirst()) {
                #expect(later.timeIntervalSince(earlier) >= 86_400 - 1, "two emails \(later.timeIntervalSince(earlier) / 3600) h apart")
            }
        }
        await sink.stop()
    }
}

final class Once: Sendable {
    private let done = Atomic(false)
    /// True the first time only.
    func first() -> Bool { !done.exchange(true, ordering: .relaxed) }
    var isDone: Bool { done.load(ordering: .relaxed) }
}

/// The passes a worker logs, by the leads each advanced.
final class PassLog: LogHandler, @unchecked Sendable {
    private let passes = Mutex<[Int]>([])
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .info
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    var advanced: [Int] { passes.withLock { $0 } }

    func log(level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String, file: String, function: String, line: UInt) {
        guard message.description == "Advanced due leads.", case .string(let leads)? = metadata?["steps.leads"], let count = Int(leads) else { return }
        passes.withLock { $0.append(count) }
    }
}

extension SendingFlowTests {
    /// A million leads due at once would let scheduling take the database's writer from the
    /// sends. While a due message has waited past the lag, each pass takes one batch and then
    /// yields; scheduling still gets through every lead.
    @Test func whileSendingLagsSchedulingTakesOneBatchAtATimeAndStillFinishes() async throws {
        let fixture = try Fixture()
        let sink = try await WebhookSink.start()
        sink.answer { _, _ in .hang(.seconds(2)) }
        // Messages that have waited a minute, to a receiver that does not answer: more than the
        // dispatcher claims ahead (four rounds of its two slots), so some stay waiting in the queue.
        _ = try await queue(fixture, "waiting", count: 20, now: Date().addingTimeInterval(-60))
        _ = try await fixture.engine.upsert((0..<600).map { fixture.lead("due\($0)@example.com") }, now: Date())
        let dispatcher = Dispatcher(engine: fixture.engine, channels: [.email: webhook(sink, concurrency: 2)], retry: RetryPolicy(), owner: "worker")
        let log = PassLog()
        var worker = Worker(engine: fixture.engine, dispatcher: dispatcher, logger: Logger(label: "worker") { _ in log })
        worker.pollInterval = .milliseconds(100)
        try await withWorker(worker) {
            for _ in 0..<200 where log.advanced.reduce(0, +) < 620 { try await Task.sleep(for: .milliseconds(50)) }
        }
        await sink.stop()
        #expect(log.advanced.reduce(0, +) == 620, "every due lead was scheduled: \(log.advanced)")
        #expect(log.advanced.allSatisfy { $0 <= 256 }, "one batch a pass while sending lags: \(log.advanced)")
    }
}
