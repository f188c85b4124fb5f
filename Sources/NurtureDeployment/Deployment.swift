public import Foundation
public import NurtureDSL
public import NurtureEngine
import NurturePostgres
import NurtureSQLite

/// The one composition root: opens the database a URL names and builds the engine over it from a
/// playbook, its templates and `nurture.toml`. The CLI (every command, `serve` and `worker`), the
/// tests and the benchmarks all assemble Nurture here, so they run the same parts.
public struct Deployment: Sendable {
    public let store: any LeadStore
    public let engine: Engine
    public let configuration: NurtureConfiguration

    /// Where the database is when nothing says: the embedded default.
    public static let defaultDatabase = "nurture.sqlite"

    public struct CannotOpen: Error, CustomStringConvertible {
        public let description: String
    }

    /// A SQLite path (or `sqlite:PATH`), or `postgres://user:password@host:port/database`;
    /// PostgreSQL databases are migrated to the current schema on opening.
    public static func openStore(_ url: String, busyTimeout: TimeInterval? = nil) async throws -> any LeadStore {
        if PostgresURL.isPostgres(url) {
            do {
                return try await PostgresStore.connect(url: url)
            } catch {
                throw CannotOpen(description: "cannot open the PostgreSQL database at \(PostgresURL.redacted(url)): \(error)")
            }
        }
        if url.contains("://") {
            throw CannotOpen(description: "'\(PostgresURL.redacted(url))' is neither a SQLite path nor a postgres:// URL")
        }
        let path = url.hasPrefix("sqlite:") ? String(url.dropFirst("sqlite:".count)) : url
        do {
            return try SQLiteStore(path: path, busyTimeout: busyTimeout ?? SQLiteStore.defaultBusyTimeout)
        } catch {
            throw CannotOpen(description: "cannot open the database at \(path): \(error)")
        }
    }

    /// Opens the database and assembles the engine. Links are signed with `NURTURE_LINK_SECRET`
    /// when it is set, else with a secret the database keeps.
    public static func open(
        database url: String, playbook: Playbook, templates: TemplateLibrary, configuration: NurtureConfiguration,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) async throws -> Deployment {
        let store = try await openStore(url, busyTimeout: configuration.busyTimeout)
        let secret: Data
        if let fromEnvironment = environment["NURTURE_LINK_SECRET"], !fromEnvironment.isEmpty {
            secret = Data(fromEnvironment.utf8)
        } else {
            secret = try await store.secret(named: "links")
        }
        return Deployment(store: store, playbook: playbook, templates: templates, configuration: configuration,
                          links: LinkSigner(secret: secret, publicURL: configuration.publicURL))
    }

    /// Assembles the engine over a store already open.
    public init(store: any LeadStore, playbook: Playbook, templates: TemplateLibrary, configuration: NurtureConfiguration, links: LinkSigner) {
        var processor = LeadProcessor(playbook: playbook, templates: templates, policy: configuration.policy, links: links)
        processor.smsReplies = configuration.smsReplies(brand: playbook.brand)
        self.store = store
        var engine = Engine(store: store, processor: processor)
        engine.costs = configuration.costs
        self.engine = engine
        self.configuration = configuration
    }

    /// The dispatcher for the configured channels.
    public func dispatcher(now: @escaping @Sendable () -> Date = { Date() }) -> Dispatcher {
        var channels: [OutgoingMessage.Channel: any DeliveryChannel] = [:]
        for channel in [OutgoingMessage.Channel.email, .sms, .sales] {
            let settings = configuration.channel(channel)
            switch settings.kind {
            case .preview:
                channels[channel] = PreviewChannel()
            case .webhook, .slack:
                channels[channel] = WebhookChannel(
                    url: settings.url!, secret: settings.secret, timeout: settings.timeout, concurrency: settings.concurrency,
                    shape: settings.kind == .slack ? .slackText : .payload,
                    transport: settings.transport.make(maximumConnectionsPerHost: settings.concurrency))
            case .postmark, .sendgrid, .mailgun, .ses, .twilio, .telnyx:
                channels[channel] = ProviderChannel(settings, provider: settings.provider!, brand: engine.processor.playbook.brand, configuration: configuration)
            }
        }
        return Dispatcher(engine: engine, channels: channels, retry: RetryPolicy(horizon: configuration.retryHorizon),
                          lease: configuration.effectiveLease, owner: engine.owner, now: now)
    }

    /// Closes the database's connections (PostgreSQL's pool; SQLite closes with the process).
    public func close() async {
        await Self.close(store)
    }

    public static func close(_ store: any LeadStore) async {
        if let postgres = store as? PostgresStore { await postgres.close() }
    }
}
