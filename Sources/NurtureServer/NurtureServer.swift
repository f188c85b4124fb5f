public import Foundation
public import Hummingbird
public import NurtureEngine
public import Prometheus
public import Logging

/// The HTTP side of Nurture. Routes translate HTTP into engine calls and back; what an event,
/// an unsubscribe or a bounce means is decided in the engine, in the same transaction as it is
/// stored.
public struct NurtureServer: Sendable {
    public struct Settings: Sendable {
        /// Keys accepted in `Authorization: Bearer KEY` on `/v1`; none means `/v1` refuses all.
        public var apiKeys: [String]
        public var inboundEmailSecret: Data?
        public var inboundSMSSecret: Data?
        public var maxBodyBytes: Int
        /// The most leads or events one request may carry.
        public var maxBatch = 1000
        /// How far an inbound webhook's timestamp may be from now.
        public var signatureTolerance: TimeInterval = 300
        /// `NURTURE_DASHBOARD_PASSWORD`: signs in to the dashboard besides the API keys.
        public var dashboardPassword: String?
        /// The keys providers' own inbound webhooks are verified with.
        public var inboundProviders = InboundProviders()
        /// Where providers reach this server (`[sending] public_url`): Twilio signs the URL it called.
        public var publicURL = "http://localhost:8080"
        /// Fetches an SNS signing certificate or confirms a subscription (a GET of an SNS URL the
        /// route has checked); tests stand in for Amazon here.
        public var fetchSNS: @Sendable (URL) async throws -> Data = SNSFetch.get

        public init(apiKeys: [String], inboundEmailSecret: Data? = nil, inboundSMSSecret: Data? = nil, maxBodyBytes: Int = 1 << 20) {
            self.apiKeys = apiKeys
            self.inboundEmailSecret = inboundEmailSecret
            self.inboundSMSSecret = inboundSMSSecret
            self.maxBodyBytes = maxBodyBytes
        }

        /// `NURTURE_API_KEYS`: comma- or whitespace-separated.
        public static func apiKeys(from environment: [String: String]) -> [String] {
            (environment["NURTURE_API_KEYS"] ?? "").split(whereSeparator: { $0 == "," || $0.isWhitespace }).map(String.init)
        }
    }

    public let engine: Engine
    public let links: LinkSigner
    public let settings: Settings
    public let registry: PrometheusCollectorRegistry
    /// Nil when this node runs no worker (`--no-worker`).
    public let heartbeat: Heartbeat?
    /// Events from concurrent requests share transactions (group commit).
    let ingest: IngestQueue
    let snsCertificates = SNSCertificates()
    let mailgunTokens = SpentTokens()
    let now: @Sendable () -> Date

    public init(
        engine: Engine, settings: Settings, registry: PrometheusCollectorRegistry, heartbeat: Heartbeat?,
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        var engine = engine
        engine.metrics = NurtureMetrics(factory: PrometheusMetricsFactory(registry: registry))
        self.engine = engine
        links = engine.processor.links
        self.settings = settings
        self.registry = registry
        self.heartbeat = heartbeat
        ingest = IngestQueue(engine: engine)
        self.now = now
    }

    /// Every route, behind request ids and logging; `/v1` (but its inbound webhooks, which are
    /// signed instead) behind API keys; the dashboard behind its sign-in.
    public func router() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: RequestLogMiddleware())
        addOperationRoutes(router)
        addLinkRoutes(router)
        addInboundRoutes(router.group("v1/inbound"))
        let api = router.group("v1").add(middleware: APIKeyMiddleware(keys: settings.apiKeys))
        addLeadRoutes(api)
        addEventRoutes(api)
        addStatsRoutes(api)
        addDashboardRoutes(router)
        router.add(middleware: UnmatchedRouteMiddleware(routes: router.routes))
        return router
    }

    /// The application on `host:port`; `onRunning` hears the port actually bound (for port 0).
    public func application(
        host: String, port: Int, logger: Logger, onRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        Application(
            router: router(),
            // A response that says `Connection: close` (a 413 for a body left unread) closes it.
            server: .http1(configuration: .init(additionalChannelHandlers: [ConnectionCloseHandler()])),
            configuration: .init(address: .hostname(host, port: port), serverName: "Nurture"),
            onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? port) },
            logger: logger)
    }
}
