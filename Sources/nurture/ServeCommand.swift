import ArgumentParser
import Foundation
import Logging
import NurtureEngine
import NurtureServer
import Prometheus
import ServiceLifecycle

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the HTTP API, tracking, unsubscribe and inbound webhooks, and the worker, until SIGTERM/SIGINT.",
        discussion: """
            API keys come from NURTURE_API_KEYS (comma-separated); without any, /v1 refuses every request.
            Links are signed with NURTURE_LINK_SECRET, or a secret kept in the database.
            On SIGTERM or SIGINT the server stops accepting, finishes requests in flight, the worker
            finishes its batch, and the process exits 0.
            """)

    @OptionGroup var runtime: RuntimeOptions
    @Option(help: "Address to listen on (0.0.0.0 for every interface).") var host = "127.0.0.1"
    @Option(help: "Port to listen on; 0 picks a free one (printed at start).") var port = 8080
    @Flag(name: .customLong("no-worker"), help: "Serve HTTP only; other processes run the worker.") var noWorker = false
    @Option(name: .customLong("poll-ms"), help: "How often the worker looks for due work when idle, in milliseconds.") var pollMilliseconds = 200

    func validate() throws {
        guard (0...65_535).contains(port) else { throw ValidationError("--port must be between 0 and 65535") }
    }

    func run() async throws {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = ProcessInfo.processInfo.environment["LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
            return handler
        }
        let logger = Logger(label: "nurture")
        let live = try await runtime.makeRuntime(role: noWorker ? "server" : "server and worker", announcing: true)
        let keys = NurtureServer.Settings.apiKeys(from: ProcessInfo.processInfo.environment)
        if keys.isEmpty { logger.warning("NURTURE_API_KEYS is not set: the /v1 API refuses every request.") }
        let registry = PrometheusCollectorRegistry()
        let heartbeat = noWorker ? nil : Heartbeat()
        var settings = NurtureServer.Settings(
            apiKeys: keys, inboundEmailSecret: live.configuration.inboundEmailSecret, inboundSMSSecret: live.configuration.inboundSMSSecret,
            maxBodyBytes: live.configuration.maxBodyBytes)
        settings.dashboardPassword = ProcessInfo.processInfo.environment["NURTURE_DASHBOARD_PASSWORD"].flatMap { $0.isEmpty ? nil : $0 }
        settings.inboundProviders = live.configuration.inboundProviders
        settings.publicURL = live.configuration.publicURL
        let server = NurtureServer(engine: live.engine, settings: settings, registry: registry, heartbeat: heartbeat)
        let host = self.host
        let application = server.application(host: host, port: port, logger: logger) { bound in
            // Written straight to the descriptor: a pipe's buffer would hold it back from whoever waits for it.
            FileHandle.standardOutput.write(Data("Nurture listening on http://\(host):\(bound)\n".utf8))
        }
        // Shut down in reverse order: the server stops taking requests first, then the worker
        // finishes the batch it holds.
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        if let heartbeat {
            var dispatcher = live.dispatcher()
            dispatcher.metrics = server.engine.metrics
            var worker = Worker(engine: server.engine, dispatcher: dispatcher)
            worker.pollInterval = .milliseconds(pollMilliseconds)
            worker.heartbeat = heartbeat
            worker.autoPause = live.configuration.autoPause
            services.append(.init(service: worker))
        }
        services.append(.init(service: application))
        let group = ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await live.announced(as: noWorker ? "server" : "server and worker", superseded: {
            logger.critical("Another build was deployed on this database while this server's heartbeats were failing: stopping.")
            Task { await group.triggerGracefulShutdown() }
        }) { try await group.run() }
    }
}
