public import Foundation
public import Logging

/// Sends what the outbox holds: claims due messages under a lease, delivers them with bounded
/// concurrency per channel, and records each attempt only while it still owns the lease.
public struct Dispatcher: Sendable {
    public let store: any LeadStore
    public let channels: [OutgoingMessage.Channel: any DeliveryChannel]
    public let retry: RetryPolicy
    /// This worker's name in leases: `host:pid:random`.
    public let owner: String
    /// Longer than any channel's timeout, so a live worker never loses a message it is sending.
    public let lease: Duration
    let now: @Sendable () -> Date
    let logger: Logger
    public var metrics = NurtureMetrics()

    public init(
        store: any LeadStore, channels: [OutgoingMessage.Channel: any DeliveryChannel], retry: RetryPolicy,
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

    public static func defaultOwner() -> String {
        "\(ProcessInfo.processInfo.hostName):\(ProcessInfo.processInfo.processIdentifier):\(UUID().uuidString.prefix(8))"
    }

    /// The most attempts recorded per transaction.
    static let recordBatch = 256

    public struct Pass: Sendable, Hashable {
        public init() {}
        public var attempted = 0
        public var sent = 0
        public var retried = 0
        public var dead = 0
    }

    /// Claims up to `limit` due messages and attempts each once.
    public func dispatchDue(limit: Int = 512) async throws -> Pass {
        let start = now()
        let claimed = try await store.claimMessages(now: start, limit: limit, owner: owner, leaseUntil: start.addingTimeInterval(lease.seconds))
        guard !claimed.isEmpty else { return Pass() }
        let byChannel = Dictionary(grouping: claimed, by: \.channel)
        return try await withThrowingTaskGroup(of: Pass.self) { group in
            for (channel, messages) in byChannel {
                group.addTask { try await deliver(messages, on: channel) }
            }
            var total = Pass()
            for try await pass in group {
                total.attempted += pass.attempted
                total.sent += pass.sent
                total.retried += pass.retried
                total.dead += pass.dead
            }
            return total
        }
    }

    private func deliver(_ messages: [OutboxMessage], on channel: OutgoingMessage.Channel) async throws -> Pass {
        guard let delivery = channels[channel] else {
            let later = now().addingTimeInterval(300)
            let attempts = messages.map {
                FinishedAttempt(messageID: $0.id, attempt: $0.attempts, result: .retry(at: later, error: "no \(channel.rawValue) channel is configured"))
            }
            let kept = try await store.finish(attempts, owner: owner, now: now())
            var pass = Pass()
            pass.attempted = kept.count { $0 }
            pass.retried = pass.attempted
            return pass
        }
        // Deliveries keep `concurrency` requests in flight while a separate consumer records
        // results in batches (one commit, one fsync each); waiting on a commit never idles sends.
        let (results, resultSink) = AsyncStream<FinishedAttempt>.makeStream()
        async let recorded = record(results, channel: channel)
        do {
            try await withThrowingTaskGroup(of: FinishedAttempt.self) { group in
                var pending = messages[...]
                func startNext() {
                    guard let message = pending.popFirst() else { return }
                    group.addTask {
                        let started = ContinuousClock.now
                        let outcome = await delivery.deliver(message)
                        metrics.sendLatency(channel: channel.rawValue, ContinuousClock.now - started)
                        let result = retry.next(after: message.attempts, of: message, result: outcome, now: now())
                        return FinishedAttempt(messageID: message.id, attempt: message.attempts, result: result)
                    }
                }
                for _ in 0..<max(1, delivery.concurrency) { startNext() }
                while let attempt = try await group.next() {
                    resultSink.yield(attempt)
                    startNext()
                }
            }
        } catch {
            resultSink.finish()
            _ = try? await recorded
            throw error
        }
        resultSink.finish()
        return try await recorded
    }

    /// Records attempts as they arrive, a batch per transaction. A result waits at most for the
    /// next one or the end of the pass, so a lease longer than two timeouts always outlives it.
    private func record(_ results: AsyncStream<FinishedAttempt>, channel: OutgoingMessage.Channel) async throws -> Pass {
        var pass = Pass()
        var batch: [FinishedAttempt] = []
        var oldest = ContinuousClock.now
        func flush() async throws {
            guard !batch.isEmpty else { return }
            let kept = try await store.finish(batch, owner: owner, now: now())
            for (attempt, recorded) in zip(batch, kept) {
                guard recorded else {
                    logger.warning("Lost the lease on a message before recording its attempt.", metadata: ["message.id": "\(attempt.messageID)"])
                    continue
                }
                pass.attempted += 1
                switch attempt.result {
                case .sent:
                    pass.sent += 1
                    metrics.attempt(channel: channel.rawValue, status: "sent")
                case .retry:
                    pass.retried += 1
                    metrics.attempt(channel: channel.rawValue, status: "retry")
                case .dead(let error):
                    pass.dead += 1
                    metrics.attempt(channel: channel.rawValue, status: "dead")
                    logger.error("Message became a dead letter.", metadata: ["message.id": "\(attempt.messageID)", "error": "\(error)"])
                case .suppressed:
                    metrics.attempt(channel: channel.rawValue, status: "suppressed")
                }
            }
            batch.removeAll(keepingCapacity: true)
        }
        for await attempt in results {
            if batch.isEmpty { oldest = .now }
            batch.append(attempt)
            if batch.count >= Self.recordBatch || ContinuousClock.now - oldest >= .milliseconds(200) { try await flush() }
        }
        try await flush()
        return pass
    }
}
