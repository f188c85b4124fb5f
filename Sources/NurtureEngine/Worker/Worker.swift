public import Foundation
public import Logging
public import ServiceLifecycle
import Synchronization
import NurtureStorage

/// `nurture worker`: advances due enrollments and dispatches the outbox until SIGTERM or
/// SIGINT, then stops claiming, lets the batch in hand finish, and returns.
public struct Worker: Service {
    public let engine: Engine
    public let dispatcher: Dispatcher
    public var pollInterval: Duration = .milliseconds(500)
    /// Beaten on every round, for `/healthz`.
    public var heartbeat: Heartbeat?
    /// The longest pause between failed scheduling rounds.
    public var maximumBackoff: Duration = .seconds(30)
    /// How long one scheduling pass runs before the next begins at a fresh instant.
    static let longestPass: Duration = .seconds(60)
    /// When the deliverability watch pauses a campaign.
    public var autoPause = AutoPausePolicy()
    /// How often the results are looked at (auto-pause, auto winners, pause notices).
    public var watchInterval: Duration = .seconds(60)
    let now: @Sendable () -> Date
    let logger: Logger

    public init(engine: Engine, dispatcher: Dispatcher, logger: Logger = Logger(label: "nurture.worker"), now: @escaping @Sendable () -> Date = { Date() }) {
        self.engine = engine
        self.dispatcher = dispatcher
        self.logger = logger
        self.now = now
    }

    public func run() async throws {
        let stopping = StopFlag()
        logger.info("Worker started.", metadata: ["worker.id": "\(dispatcher.owner)"])
        try await withGracefulShutdownHandler {
            // Scheduling and sending run side by side: a send waiting on a slow receiver never
            // holds up due steps, and a long scheduling batch never idles the channels.
            let behind = SendingBehind()
            // Looked at once before the first pass, so a worker starting on a backlog yields from its first batch.
            await lookAtSending(behind)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await watchSending(behind, stopping: { stopping.isSet }) }
                group.addTask { await watchResults(stopping: { stopping.isSet }) }
                group.addTask { await schedule(stopping: { stopping.isSet }, behind: behind) }
                group.addTask { try await send(stopping: { stopping.isSet }) }
                try await group.waitForAll()
            }
        } onGracefulShutdown: {
            stopping.set()
        }
        logger.info("Worker stopped after finishing its batch.")
    }

    /// Due steps until stopped. A locked or unreachable database is a reason to wait, never to
    /// stop: the batch's transaction rolled back, so nothing is lost and the next one retries.
    /// How long a due message may wait before scheduling yields to sending.
    static let sendingLag: TimeInterval = 10

    /// Keeps `behind` true while a due message has waited longer than ``sendingLag``: with a
    /// million leads due at once, scheduling would otherwise take the database's single writer
    /// from the sends for as long as it has leads (2,300 scheduled to 300 sent a second).
    private func watchSending(_ behind: SendingBehind, stopping: @escaping @Sendable () -> Bool) async {
        while !stopping() {
            await sleep(min(pollInterval, .milliseconds(500)), unless: stopping)
            await lookAtSending(behind)
        }
    }

    private func lookAtSending(_ behind: SendingBehind) async {
        let oldest = try? await engine.store.oldestDueMessage(at: now())
        behind.set(oldest.flatMap { $0 }.map { now().timeIntervalSince($0) > Self.sendingLag } ?? false)
    }

    private func watchResults(stopping: @escaping @Sendable () -> Bool) async {
        while !stopping() {
            await lookAtResults()
            await sleep(watchInterval, unless: stopping)
        }
    }

    /// One look: pauses, decided splits, and the notices of pauses not yet delivered. A failure
    /// is logged and the next look tries again.
    func lookAtResults() async {
        do {
            let result = try await engine.watchResults(policy: autoPause, now: now())
            for pause in result.paused {
                logger.warning("Campaign paused automatically.", metadata: ["campaign": "\(pause.campaignID)", "reason": "\(pause.reason)"])
            }
            for decision in result.decided {
                logger.notice("A/B split decided.", metadata: [
                    "campaign": "\(decision.campaignID)", "step": "\(decision.stepID)", "variant": "\(decision.variant)"])
            }
            if let alerts = dispatcher.channels[.sales] { _ = try await engine.deliverPauseNotices(via: alerts, now: now()) }
        } catch {
            logger.error("Looking at campaign results failed; trying again at the next look.", metadata: ["error": "\(error)"])
        }
        do {
            let quiet = try await engine.enterQuietLeads(now: now())
            if quiet > 0 { logger.info("Quiet leads recorded for the inactivity entries.", metadata: ["leads": "\(quiet)"]) }
        } catch {
            logger.error("Looking for quiet leads failed; trying again at the next look.", metadata: ["error": "\(error)"])
        }
    }

    private func schedule(stopping: @escaping @Sendable () -> Bool, behind: SendingBehind) async {
        var failures = 0
        while !stopping() {
            var pause = Duration.zero
            do {
                heartbeat?.beat()
                // A pass works at the instant it began, and so do its leases; ending a pass after
                // a minute keeps them within a minute of the clocks other workers read, well
                // inside the five-minute lease, however large the backlog. While sending lags, a
                // pass takes one batch and then waits as long as that took: the sends get at least
                // half the writer, and scheduling never stops (a channel that is down must not
                // hold up waits, branches and the other channel).
                let began = ContinuousClock.now
                let checks = Atomic(0)
                let steps = try await engine.runDue(now: now()) {
                    let first = checks.add(1, ordering: .relaxed).newValue == 1
                    return stopping() || ContinuousClock.now - began > Self.longestPass || (!first && behind.isSet)
                }
                if behind.isSet, steps.leads > 0 { pause = min(.seconds(1), ContinuousClock.now - began) }
                if steps.leads == 0 {
                    // Idle: an event or an import committed elsewhere wakes us at once where the
                    // database can tell (PostgreSQL); otherwise the next poll finds the work.
                    await engine.store.waitForWork(timeout: pollInterval)
                } else {
                    logger.info("Advanced due leads.", metadata: ["steps.leads": "\(steps.leads)", "steps.messages": "\(steps.messages)"])
                }
                if failures > 0 { recovered(after: failures) }
                failures = 0
            } catch {
                failures += 1
                pause = min(maximumBackoff, .milliseconds(500) * (1 << min(failures - 1, 10)))
                failed(error, rounds: failures, retryIn: pause)
            }
            await sleep(pause, unless: stopping)
        }
    }

    private func send(stopping: @escaping @Sendable () -> Bool) async throws {
        let sendFailures = FailureCount()
        try await dispatcher.run(pollInterval: pollInterval, stopping: stopping) { error in
            let rounds = sendFailures.value.add(1, ordering: .relaxed).newValue
            failed(error, rounds: rounds, retryIn: pollInterval)
        } progress: { pass in
            heartbeat?.beat()
            let rounds = sendFailures.value.exchange(0, ordering: .relaxed)
            if rounds > 0 { recovered(after: rounds) }
            if pass.attempted > 0 {
                logger.info("Recorded sends.", metadata: ["sends.sent": "\(pass.sent)", "sends.retried": "\(pass.retried)", "sends.dead": "\(pass.dead)"])
            }
        }
    }

    private func failed(_ error: any Error, rounds: Int, retryIn pause: Duration) {
        engine.metrics.workerFailure(kind: error is StorageBusy ? "database_busy" : "storage")
        heartbeat?.failed("\(error)")
        logger.error("Worker round failed; retrying.", metadata: ["error": "\(error)", "failed.rounds": "\(rounds)", "retry.in": "\(pause)"])
    }

    private func recovered(after rounds: Int) {
        logger.notice("Worker recovered.", metadata: ["failed.rounds": "\(rounds)"])
        heartbeat?.recovered()
    }

    /// In short slices, so a shutdown is noticed promptly.
    private func sleep(_ pause: Duration, unless stopping: () -> Bool) async {
        var slept = Duration.zero
        while slept < pause, !stopping() {
            try? await Task.sleep(for: .milliseconds(50))
            slept += .milliseconds(50)
        }
    }
}

private final class StopFlag: Sendable {
    private let value = Atomic(false)
    var isSet: Bool { value.load(ordering: .relaxed) }
    func set() { value.store(true, ordering: .relaxed) }
}

private final class FailureCount: Sendable {
    let value = Atomic(0)
}

/// Whether sending lags behind scheduling, as the worker last looked.
final class SendingBehind: Sendable {
    private let value = Atomic(false)
    var isSet: Bool { value.load(ordering: .relaxed) }
    func set(_ behind: Bool) { value.store(behind, ordering: .relaxed) }
}
