public import Foundation
public import Logging
import NurtureDSL
public import NurtureStorage

/// Sends what the outbox holds. Each channel keeps its own `concurrency` requests in flight and
/// claims more as each one finishes, so a slow or hung request holds one slot, never its
/// neighbours nor the other channels; results are recorded in batches as they arrive, only while
/// the worker still owns the message's lease.
public struct Dispatcher: Sendable {
    public let store: any OutboxQueue
    public let channels: [OutgoingMessage.Channel: any DeliveryChannel]
    public let retry: RetryPolicy
    /// This worker's name in leases: `host:pid:random`.
    public let owner: String
    /// Longer than any channel's timeout, so a live worker never loses a message it is sending.
    public let lease: Duration
    /// The checks a message passes again each time it is claimed (windows, quiet hours, caps).
    public var rules: @Sendable (ClaimCandidate, Date) -> ClaimDecision = { _, _ in .send }
    /// Each campaign's kind, for suppressions that stop some kinds only (the preferences page's opt-outs).
    public var campaignKinds: [String: String] = [:]
    /// Hears each address a provider refused for good, as a `<channel>.rejected` event, before
    /// the message is recorded dead: the suppression is committed first, so a crash in between
    /// leaves a message whose next claim finds the address suppressed.
    public var rejected: @Sendable (IncomingEvent) async -> Bool = { _ in true }
    let now: @Sendable () -> Date
    let logger: Logger
    public var metrics = NurtureMetrics()

    public init(
        store: any OutboxQueue, channels: [OutgoingMessage.Channel: any DeliveryChannel], retry: RetryPolicy,
        lease: Duration = .seconds(120), owner: String = Dispatcher.defaultOwner(), logger: Logger = Logger(label: "nurture.dispatch"),
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.store = store
        self.channels = channels
        self.retry = retry
        self.lease = lease
        self.owner = owner
        self.logger = logger
        self.now = now
    }

    /// The same, with the engine's rules applied at every claim.
    public init(
        engine: Engine, channels: [OutgoingMessage.Channel: any DeliveryChannel], retry: RetryPolicy,
        lease: Duration = .seconds(120), owner: String = Dispatcher.defaultOwner(), logger: Logger = Logger(label: "nurture.dispatch"),
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.init(store: engine.store, channels: channels, retry: retry, lease: lease, owner: owner, logger: logger, now: now)
        let processor = engine.processor
        rules = { candidate, instant in processor.claimDecision(candidate, now: instant) }
        campaignKinds = Dictionary(processor.playbook.campaigns.map { ($0.id, $0.kind.name) }) { first, _ in first }
        let logger = self.logger
        rejected = { event in
            do {
                _ = try await engine.track(event, now: event.at)
                return true
            } catch {
                logger.error("Could not suppress an address the provider refused.", metadata: ["error": "\(error)"])
                return false
            }
        }
    }

    public static func defaultOwner() -> String {
        "\(ProcessInfo.processInfo.hostName):\(ProcessInfo.processInfo.processIdentifier):\(UUID().uuidString.prefix(8))"
    }

    /// The most attempts recorded per transaction.
    static let recordBatch = 256
    /// The longest a finished attempt waits to be recorded with others.
    static let recordDelay: Duration = .milliseconds(200)
    static let allChannels: [OutgoingMessage.Channel] = [.email, .sms, .sales]

    public struct Pass: Sendable, Hashable {
        public init() {}
        public var attempted = 0
        public var sent = 0
        public var retried = 0
        public var dead = 0

        mutating func add(_ other: Pass) {
            attempted += other.attempted
            sent += other.sent
            retried += other.retried
            dead += other.dead
        }
    }

    /// One pass for `run-due` and tests: attempts every message due when it starts (each once,
    /// `limit` at most per channel), all channels at once, and returns when all are recorded.
    public func dispatchDue(limit: Int = 512) async throws -> Pass {
        let start = now()
        return try await withThrowingTaskGroup(of: Pass.self) { group in
            for channel in Self.allChannels {
                group.addTask { try await pump(channel, mode: .pass(dueAt: start, limit: limit)) }
            }
            var total = Pass()
            for try await pass in group { total.add(pass) }
            return total
        }
    }

    /// What a worker runs: every channel's pump until `stopping` turns true, then the requests in
    /// flight finish and are recorded. A failing claim or record (a locked database) is reported
    /// to `trouble` and retried after a pause; `progress` hears what each pump recorded.
    public func run(
        pollInterval: Duration, stopping: @escaping @Sendable () -> Bool,
        trouble: @escaping @Sendable (any Error) -> Void = { _ in }, progress: @escaping @Sendable (Pass) -> Void = { _ in }
    ) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for channel in Self.allChannels {
                group.addTask {
                    _ = try await pump(channel, mode: .continuous(poll: pollInterval, stopping: stopping, trouble: trouble, progress: progress))
                }
            }
            try await group.waitForAll()
        }
    }

    enum Mode {
        /// Due at `dueAt`, up to `limit` messages, then stop.
        case pass(dueAt: Date, limit: Int)
        case continuous(poll: Duration, stopping: @Sendable () -> Bool, trouble: @Sendable (any Error) -> Void, progress: @Sendable (Pass) -> Void)
    }

    enum Completion: Sendable {
        /// One request's messages: one, or a provider batch.
        case attempts([FinishedAttempt])
        /// Time to look for newly due messages, and to record what waits; `idle` when nothing
        /// was in flight (the wait may have ended on another process's new work).
        case tick(idle: Bool)
    }

    enum Recorded: Sendable {
        case attempt(FinishedAttempt)
        case flush
    }

    /// One channel: keeps its slots full from the queue, hands each result to the recorder as it
    /// arrives, and wakes on a tick while requests hang so new work and old results keep moving.
    private func pump(_ channel: OutgoingMessage.Channel, mode: Mode) async throws -> Pass {
        let delivery = channels[channel]
        let slots = max(1, delivery?.concurrency ?? 64)
        let batch = max(1, delivery?.batchLimit ?? 1)
        // Claimed ahead of the slots, so a claim (one transaction) serves many sends, yet few
        // enough that a message waiting here for a slot is sent before its lease ends even if
        // every request ahead of it times out: four rounds of timeouts against a lease of three
        // timeouts plus 30 s (the default) holds for any timeout under 30 s.
        var ahead = min(max(512, batch), slots * batch * 4)
        // A paced channel claims no more than it can send in half a lease: a message waiting for
        // its turn must not outlive the lease and go out twice.
        if let rate = delivery?.maxPerSecond { ahead = min(ahead, max(1, Int(rate * lease.seconds / 2))) }
        let (results, sink) = AsyncStream<Recorded>.makeStream()
        async let recorded = record(results, channel: channel, mode: mode)
        var claimedSoFar = 0
        var queueLooksEmpty = false
        var lastLook = ContinuousClock.now
        var troubleUntil = ContinuousClock.now
        var waiting: [OutboxMessage] = []
        var nextWaiting = 0
        do {
            try await withThrowingTaskGroup(of: Completion.self) { group in
                var inFlight = 0
                // Messages in those requests: what a claim must count, a batch being many.
                var inFlightMessages = 0
                var ticking = false
                func startTick(after pause: Duration, idle: Bool) {
                    ticking = true
                    let store = self.store
                    group.addTask {
                        // Idle, another process's commit (an import, an event, a scheduling
                        // round elsewhere) ends the wait where the database can tell.
                        if idle { await store.waitForWork(timeout: pause) } else { try? await Task.sleep(for: pause) }
                        return .tick(idle: idle)
                    }
                }
                while true {
                    let stopping: Bool
                    var poll = Self.recordDelay
                    switch mode {
                    case .pass(_, let limit): stopping = queueLooksEmpty || claimedSoFar >= limit
                    case .continuous(let interval, let isStopping, _, _):
                        stopping = isStopping()
                        poll = interval
                        if queueLooksEmpty, ContinuousClock.now - lastLook >= interval { queueLooksEmpty = false }
                    }
                    let held = waiting.count - nextWaiting + inFlightMessages
                    if !stopping, !queueLooksEmpty, ContinuousClock.now >= troubleUntil, held == 0 || ahead - held >= ahead / 4 {
                        var limit = ahead - held
                        if case .pass(_, let total) = mode { limit = min(limit, total - claimedSoFar) }
                        do {
                            let batch = try await claim(channel, limit: limit, mode: mode)
                            lastLook = .now
                            claimedSoFar += batch.messages.count
                            queueLooksEmpty = batch.examined < limit
                            // Drop what has gone to a slot, so the queue holds only what waits: it
                            // had kept every message claimed since it last ran dry (626 MB of
                            // rendered payloads after 100,000 sends to a fast receiver).
                            waiting.removeFirst(nextWaiting)
                            nextWaiting = 0
                            waiting += batch.messages
                        } catch {
                            guard case .continuous(_, _, let trouble, _) = mode else { throw error }
                            trouble(error)
                            troubleUntil = .now + poll
                        }
                    }
                    // A worker told to stop finishes what is in flight and hands back what was only
                    // waiting for a slot, so another worker sends it now, not after this one drains.
                    if stopping, case .continuous(_, _, let trouble, _) = mode, nextWaiting < waiting.count {
                        let unsent = waiting[nextWaiting...].map { (id: $0.id, attempt: $0.attempts) }
                        do {
                            try await store.release(Array(unsent), owner: owner)
                            waiting.removeAll()
                            nextWaiting = 0
                        } catch {
                            // Then they are sent here after all: still ours, still leased.
                            trouble(error)
                        }
                    }
                    while inFlight < slots, nextWaiting < waiting.count {
                        // A batch takes the next messages that may share a request; one that may
                        // not (too large for the provider's batch) goes alone, in a slot of its own.
                        var end = nextWaiting + 1
                        if batch > 1, let delivery, delivery.fitsBatch(waiting[nextWaiting]) {
                            while end < waiting.count, end - nextWaiting < batch, delivery.fitsBatch(waiting[end]) { end += 1 }
                        }
                        let messages = Array(waiting[nextWaiting..<end])
                        nextWaiting = end
                        inFlight += 1
                        inFlightMessages += messages.count
                        group.addTask { .attempts(await attempt(messages, on: channel, delivery: delivery)) }
                    }
                    if inFlight == 0 {
                        if stopping { break }
                        if case .pass = mode, queueLooksEmpty { break }
                        sink.yield(.flush)
                    }
                    // Wake for the next result, or on a tick to look for newly due work and
                    // record what finished while a slow request holds its slot.
                    if !ticking {
                        let isContinuous = if case .continuous = mode { true } else { false }
                        startTick(after: inFlight == 0 ? poll : min(poll, Self.recordDelay), idle: inFlight == 0 && isContinuous)
                    }
                    guard let next = try await group.next() else { break }
                    switch next {
                    case .attempts(let finished):
                        inFlight -= 1
                        inFlightMessages -= finished.count
                        for attempt in finished { sink.yield(.attempt(attempt)) }
                    case .tick(let idle):
                        ticking = false
                        // Woken while idle: look at the queue now rather than at the next poll.
                        if idle { queueLooksEmpty = false }
                        sink.yield(.flush)
                    }
                }
                group.cancelAll()
            }
        } catch {
            sink.finish()
            _ = try? await recorded
            throw error
        }
        sink.finish()
        return try await recorded
    }

    private func claim(_ channel: OutgoingMessage.Channel, limit: Int, mode: Mode) async throws -> ClaimBatch {
        let instant = now()
        // A pass claims only what was due when it began, so a message retried a second later is
        // left for the next pass instead of keeping this one going.
        let dueAt = if case .pass(let start, _) = mode { start } else { instant }
        let rules = self.rules, kinds = self.campaignKinds
        return try await store.claimMessages(
            now: dueAt, limit: limit, owner: owner, leaseUntil: instant.addingTimeInterval(lease.seconds), channels: [channel],
            sendsSince: dueAt.addingTimeInterval(-Engine.sendWindow)
        ) { candidate in
            // Checked in the claiming transaction: nothing goes out after an unsubscribe has
            // committed. Nurture's own replies (confirming a STOP) go to a number just suppressed.
            if let suppression = candidate.suppression, candidate.message.campaignID != OutboxMessage.systemCampaign,
               suppression.stops(kind: kinds[candidate.message.campaignID], transactional: candidate.message.isTransactional)
            {
                return .suppressed(reason: "suppressed: \(suppression.reason)")
            }
            return rules(candidate, dueAt)
        }
    }

    private func attempt(_ messages: [OutboxMessage], on channel: OutgoingMessage.Channel, delivery: (any DeliveryChannel)?) async -> [FinishedAttempt] {
        guard let delivery else {
            let later = now().addingTimeInterval(300)
            return messages.map { FinishedAttempt(messageID: $0.id, attempt: $0.attempts, result: .retry(at: later, error: "no \(channel.rawValue) channel is configured")) }
        }
        let started = ContinuousClock.now
        let outcomes = messages.count == 1 ? [await delivery.deliver(messages[0])] : await delivery.deliver(messages)
        metrics.sendLatency(channel: channel.rawValue, ContinuousClock.now - started)
        var finished: [FinishedAttempt] = []
        for (message, outcome) in zip(messages, outcomes) {
            var result = retry.next(after: message.attempts, of: message, result: outcome, now: now())
            if case .undeliverable(let reason, let optedOut) = outcome, channel != .sales {
                // One event per message and attempt: a replay of this attempt is a duplicate.
                var properties: [String: Value] = ["reason": .string(reason), "message": .string(message.id)]
                if optedOut { properties["opted_out"] = .bool(true) }
                let recorded = await rejected(IncomingEvent(
                    subject: .id(message.leadID), type: channel == .email ? ComplianceEvent.emailRejected : ComplianceEvent.smsRejected, at: now(),
                    properties: properties, clientID: "rejected:\(message.id):\(message.attempts)"))
                // The message is dead only once the address is suppressed; until then it is tried again.
                if !recorded { result = .retry(at: now().addingTimeInterval(30), error: reason + " (the suppression is not recorded yet)") }
            }
            // A sent email or SMS is part of the lead's history; an alert to sales is not.
            let history = if case .sent = result, message.channel != .sales {
                LeadHistoryEntry(leadID: message.leadID, event: LeadEvent("\(message.channel.rawValue).sent", at: now(), properties: [
                    "campaign": .string(message.campaignID), "step": .string(message.stepID), "message": .string(message.id),
                ]))
            } else { LeadHistoryEntry?.none }
            finished.append(FinishedAttempt(messageID: message.id, attempt: message.attempts, result: result, historyEvent: history))
        }
        return finished
    }

    /// Records attempts as they arrive, a batch per transaction, none waiting longer than
    /// `recordDelay` (the pump's ticks flush), so a lease longer than two timeouts outlives it.
    /// A failed write (a locked database) is retried: the results are still ours to record.
    private func record(_ results: AsyncStream<Recorded>, channel: OutgoingMessage.Channel, mode: Mode) async throws -> Pass {
        var pass = Pass()
        var batch: [FinishedAttempt] = []
        var oldest = ContinuousClock.now
        func flush() async throws {
            guard !batch.isEmpty else { return }
            var kept: [Bool]
            while true {
                do {
                    kept = try await store.finish(batch, owner: owner, now: now())
                    break
                } catch {
                    guard case .continuous(let poll, _, let trouble, _) = mode else { throw error }
                    trouble(error)
                    try? await Task.sleep(for: poll)
                }
            }
            var recorded = Pass()
            for (attempt, stored) in zip(batch, kept) {
                guard stored else {
                    logger.warning("Lost the lease on a message before recording its attempt.", metadata: ["message.id": "\(attempt.messageID)"])
                    continue
                }
                recorded.attempted += 1
                switch attempt.result {
                case .sent:
                    recorded.sent += 1
                    metrics.attempt(channel: channel.rawValue, status: "sent")
                case .retry:
                    recorded.retried += 1
                    metrics.attempt(channel: channel.rawValue, status: "retry")
                case .dead(let error):
                    recorded.dead += 1
                    metrics.attempt(channel: channel.rawValue, status: "dead")
                    logger.error("Message became a dead letter.", metadata: ["message.id": "\(attempt.messageID)", "error": "\(error)"])
                case .suppressed:
                    metrics.attempt(channel: channel.rawValue, status: "suppressed")
                }
            }
            batch.removeAll(keepingCapacity: true)
            pass.add(recorded)
            if case .continuous(_, _, _, let progress) = mode { progress(recorded) }
        }
        for await item in results {
            switch item {
            case .attempt(let attempt):
                if batch.isEmpty { oldest = .now }
                batch.append(attempt)
                if batch.count >= Self.recordBatch || ContinuousClock.now - oldest >= Self.recordDelay { try await flush() }
            case .flush:
                try await flush()
            }
        }
        try await flush()
        return pass
    }
}
