import ArgumentParser
import Foundation
import NurtureDSL
import NurtureEngine
import NurtureSQLite

/// Options of every command that touches the database: where it is and how to send.
struct RuntimeOptions: ParsableArguments {
    @OptionGroup var playbookOptions: PlaybookOptions

    @Option(help: "A SQLite path, sqlite:PATH, or postgres://… (env NURTURE_DATABASE_URL). Default: nurture.sqlite.")
    var database: String?

    @Option(help: "Configuration file. Default: nurture.toml in the working directory, if present.")
    var config: String?

    var databaseURL: String {
        database ?? ProcessInfo.processInfo.environment["NURTURE_DATABASE_URL"] ?? "nurture.sqlite"
    }

    func openStore(_ url: String? = nil, busyTimeout: TimeInterval? = nil) throws -> any LeadStore {
        let url = url ?? databaseURL
        if url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") {
            throw ValidationError("the PostgreSQL backend is not part of this build yet; use a SQLite path (the default is nurture.sqlite)")
        }
        let path = url.hasPrefix("sqlite:") ? String(url.dropFirst("sqlite:".count)) : url
        do {
            return try SQLiteStore(path: path, busyTimeout: busyTimeout ?? SQLiteStore.defaultBusyTimeout)
        } catch {
            throw ValidationError("cannot open the database at \(path): \(error)")
        }
    }

    func loadConfiguration() throws -> NurtureConfiguration {
        do {
            return try NurtureConfiguration.load(path: config)
        } catch {
            throw ValidationError("\(error)")
        }
    }

    /// The store, the engine over it, and the configuration, ready for a command.
    func makeRuntime(previewOnly: Bool = false, database: String? = nil) async throws -> Runtime {
        var configuration = try loadConfiguration()
        if previewOnly {
            configuration.email = NurtureConfiguration.Channel()
            configuration.sms = NurtureConfiguration.Channel()
            configuration.salesAlerts = NurtureConfiguration.Channel()
        }
        let store = try openStore(database, busyTimeout: configuration.busyTimeout)
        let templates = try playbookOptions.loadTemplates()
        let secret: Data
        if let fromEnvironment = ProcessInfo.processInfo.environment["NURTURE_LINK_SECRET"], !fromEnvironment.isEmpty {
            secret = Data(fromEnvironment.utf8)
        } else {
            secret = try await store.secret(named: "links")
        }
        let links = LinkSigner(secret: secret, publicURL: configuration.publicURL)
        var processor = LeadProcessor(playbook: playbookOptions.playbook, templates: templates, policy: configuration.policy, links: links)
        processor.smsReplies = configuration.smsReplies(brand: playbookOptions.playbook.brand)
        return Runtime(store: store, engine: Engine(store: store, processor: processor), configuration: configuration)
    }
}

struct Runtime {
    let store: any LeadStore
    let engine: Engine
    let configuration: NurtureConfiguration

    func dispatcher(now: @escaping @Sendable () -> Date = { Date() }) -> Dispatcher {
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
            }
        }
        return Dispatcher(engine: engine, channels: channels, retry: RetryPolicy(horizon: configuration.retryHorizon),
                          lease: configuration.effectiveLease, now: now)
    }
}

/// Reads `--now`/`--at` values: ISO 8601 with a zone, or UTC when none is given.
func parseInstant(_ text: String, option: String) throws -> Date {
    if let date = ISO8601DateFormatter().date(from: text) { return date }
    let formatter = DateFormatter()
    formatter.locale = Locale(identifier: "en_US_POSIX")
    formatter.timeZone = TimeZone(identifier: "UTC")
    for format in ["yyyy-MM-dd'T'HH:mm:ss", "yyyy-MM-dd'T'HH:mm", "yyyy-MM-dd"] {
        formatter.dateFormat = format
        if let date = formatter.date(from: text) { return date }
    }
    throw ValidationError("\(option) '\(text)' is not an ISO 8601 time (e.g. 2026-11-23T09:00:00Z)")
}
