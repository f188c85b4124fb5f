import ArgumentParser
import Foundation
import Logging
import NurtureEngine
import ServiceLifecycle

struct RunDue: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run-due", abstract: "One pass over all due steps and messages, then exit (cron-friendly).")

    @OptionGroup var runtime: RuntimeOptions
    @Option(help: "Run as if it were this time (ISO 8601). Default: now.") var now: String?
    @Flag(help: "On a non-terminal (cron, CI, a pipe), print progress once a minute.") var progress = false

    func run() async throws {
        let instant = try now.map { try parseInstant($0, option: "--now") } ?? Date()
        let live = try await runtime.makeRuntime(role: "run-due", announcing: true)
        let line = ProgressLine(noun: "leads advanced", forced: progress)
        try await live.announced(as: "run-due") {
            // Quiet leads first, so the ones that enter a campaign take its first step in this pass.
            let quiet = try await live.engine.enterQuietLeads(now: instant, limit: .max)
            if quiet > 0 { print("\(quiet) lead\(quiet == 1 ? "" : "s") went quiet long enough for an inactivity entry") }
            let steps = try await live.engine.runDue(now: instant, progress: { pass in line.update(done: Double(pass.leads)) })
            line.finish()
            var sends = Dispatcher.Pass()
            let dispatcher = live.dispatcher(now: { instant })
            while true {
                let pass = try await dispatcher.dispatchDue()
                if pass.attempted == 0 { break }
                sends.attempted += pass.attempted
                sends.sent += pass.sent
                sends.retried += pass.retried
                sends.dead += pass.dead
            }
            print("advanced \(steps.leads) lead\(steps.leads == 1 ? "" : "s"), queued \(steps.messages) message\(steps.messages == 1 ? "" : "s"); "
                + "sent \(sends.sent), will retry \(sends.retried), dead \(sends.dead)")
            let watched = try await live.engine.watchResults(policy: live.configuration.autoPause, now: instant)
            for pause in watched.paused { print("paused campaign \(pause.campaignID): \(pause.reason)") }
            for decision in watched.decided { print("decided \(decision.campaignID) \(decision.stepID): variant \(decision.variant) wins") }
            if let alerts = dispatcher.channels[.sales] { _ = try await live.engine.deliverPauseNotices(via: alerts, now: Date()) }
        }
    }
}

struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker", abstract: "Advance leads and send messages until SIGTERM/SIGINT, then finish the batch in hand and exit.")

    @OptionGroup var runtime: RuntimeOptions
    @Option(name: .customLong("poll-ms"), help: "How often to look for due work when idle, in milliseconds.") var pollMilliseconds = 500

    func run() async throws {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .info
            return handler
        }
        let live = try await runtime.makeRuntime(role: "worker", announcing: true)
        var worker = Worker(engine: live.engine, dispatcher: live.dispatcher())
        worker.pollInterval = .milliseconds(pollMilliseconds)
        worker.autoPause = live.configuration.autoPause
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: worker)], gracefulShutdownSignals: [.sigterm, .sigint], logger: Logger(label: "nurture")))
        try await live.announced(as: "worker", superseded: {
            Logger(label: "nurture").critical("Another build was deployed on this database while this worker's heartbeats were failing: stopping.")
            Task { await group.triggerGracefulShutdown() }
        }) { try await group.run() }
    }
}
