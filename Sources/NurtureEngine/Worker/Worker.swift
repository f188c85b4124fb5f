public import Foundation
public import Logging
public import ServiceLifecycle
import Synchronization

/// `nurture worker`: advances due enrollments and dispatches the outbox until SIGTERM or
/// SIGINT, then stops claiming, lets the batch in hand finish, and returns.
public struct Worker: Service {
    public let engine: Engine
    public let dispatcher: Dispatcher
    public var pollInterval: Duration = .milliseconds(500)
    /// Beaten on every round, for `/healthz`.
    public var heartbeat: Heartbeat?
    let now: @Sendable () -> Date
    let logger: Logger

    public init(engine: Engine, dispatcher: Dispatcher, logger: Logger = Logger(label: "nurture.worker"), now: @escaping @Sendable () -> Date = { Date() }) {
        self.engine = engine
        self.dispatcher = dispatcher
        self.logger = logger
        self.now = now
    }

    /// The longest pause between failed rounds.
    public var maximumBackoff: Duration = .seconds(30)

    public func run() async throws {
        let stopping = Atomic(false)
        logger.info("Worker started.", metadata: ["worker.id": "\(dispatcher.owner)"])
        try await withGracefulShutdownHandler {
            var failures = 0
            while !stopping.load(ordering: .relaxed) {
                var pause = Duration.zero
                do {
                    if try await !runOnce() { pause = pollInterval }
                    if failures > 0 {
                        logger.notice("Worker recovered.", metadata: ["failed.rounds": "\(failures)"])
                        heartbeat?.recovered()
                    }
                    failures = 0
                } catch {
                    // A locked or unreachable database is a reason to wait, never to stop: the
                    // round's transaction rolled back, so nothing is lost and the next one retries.
                    failures += 1
                    let busy = error is StorageBusy
                    engine.metrics.workerFailure(kind: busy ? "database_busy" : "storage")
                    heartbeat?.failed("\(error)")
                    pause = min(maximumBackoff, .milliseconds(500) * (1 << min(failures - 1, 10)))
                    logger.error("Worker round failed; retrying.", metadata: [
                        "error": "\(error)", "failed.rounds": "\(failures)", "retry.in": "\(pause)",
                    ])
                }
                // Sleep in short slices so a shutdown is noticed promptly.
                var slept = Duration.zero
                while slept < pause, !stopping.load(ordering: .relaxed) {
                    try? await Task.sleep(for: .milliseconds(50))
                    slept += .milliseconds(50)
                }
            }
        } onGracefulShutdown: {
            stopping.store(true, ordering: .relaxed)
        }
        logger.info("Worker stopped after finishing its batch.")
    }

    /// One round of due steps and due messages; true when there was anything to do.
    public func runOnce() async throws -> Bool {
        heartbeat?.beat()
        let steps = try await engine.runDue(now: now())
        heartbeat?.beat()
        let sends = try await dispatcher.dispatchDue()
        heartbeat?.beat()
        if steps.leads > 0 || sends.attempted > 0 {
            logger.info("Worked a batch.", metadata: [
                "steps.leads": "\(steps.leads)", "steps.messages": "\(steps.messages)",
                "sends.sent": "\(sends.sent)", "sends.retried": "\(sends.retried)", "sends.dead": "\(sends.dead)",
            ])
        }
        return steps.leads > 0 || sends.attempted > 0
    }
}
