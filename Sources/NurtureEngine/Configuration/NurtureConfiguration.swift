public import Foundation
public import NurtureDSL
import TOMLKit

/// `nurture.toml`: channels, endpoints, sending limits and where links point. Secrets are never
/// in the file, only the names of the environment variables that hold them.
///
/// ```toml
/// [channels.email]
/// kind = "webhook"                       # "preview" (default) | "webhook"
/// url = "https://mail.example.com/send"
/// secret_env = "NURTURE_EMAIL_SECRET"    # base64, "whsec_" prefix allowed
/// timeout_seconds = 10
/// concurrency = 16
/// [alerts.sales]
/// kind = "slack"                         # "preview" (default) | "slack" | "webhook"
/// url = "https://hooks.slack.com/services/…"
/// [database]
/// busy_timeout_seconds = 30              # wait this long for another connection's lock
/// [costs]                                # per message, for cost and ROI in stats
/// email = 0.0008
/// sms = 0.0079
/// [auto_pause]                           # the deliverability watch; these are the defaults
/// complaint_percent = 0.1                # pause a campaign above 0.1% complaints …
/// hard_bounce_percent = 2                # … or above 2% hard bounces of its sent email
/// minimum_sends = 1000                   # over at least this many sends
/// window_days = 7                        # in the last 7 UTC days
/// [sending]
/// email_per_lead_per_day = 1
/// sms_per_lead_per_3_days = 1
/// public_url = "https://nurture.example.com"
/// default_timezone = "Europe/Lisbon"    # for leads with no zone, country or phone to infer one from
/// ```
public struct NurtureConfiguration: Sendable {
    public struct Channel: Sendable, Hashable {
        public enum Kind: String, Sendable, Hashable {
            case preview, webhook
            /// Sales alerts only: a Slack-compatible incoming webhook.
            case slack
            /// Email providers' own APIs.
            case postmark, sendgrid, mailgun, ses
            /// SMS providers' own APIs.
            case twilio, telnyx

            static let email: [Kind] = [.preview, .webhook, .postmark, .sendgrid, .mailgun, .ses]
            static let sms: [Kind] = [.preview, .webhook, .twilio, .telnyx]

            var isProvider: Bool { ![.preview, .webhook, .slack].contains(self) }
        }

        public var kind: Kind = .preview
        public var url: URL?
        /// The signing secret, decoded from the variable `secret_env` names.
        public var secret: Data?
        public var timeout: Duration = .seconds(10)
        public var concurrency = 8
        public var transport: TransportKind = .default
        /// A provider preset's settings; nil for preview, webhook and Slack channels.
        public var provider: ProviderSettings?

        /// The preview channel: messages stay in the local outbox.
        public init() {}
    }

    /// The HTTP client webhook channels use; BENCHMARKS.md says why the default is the default.
    public enum TransportKind: String, Sendable, Hashable {
        case asyncHTTPClient = "async-http-client"
        case urlSession = "urlsession"
        public static let `default` = TransportKind.asyncHTTPClient

        /// A client of this kind with one pool of `maximumConnectionsPerHost` connections.
        public func make(maximumConnectionsPerHost: Int) -> any HTTPTransport {
            switch self {
            case .asyncHTTPClient: AsyncHTTPClientTransport(maximumConnectionsPerHost: maximumConnectionsPerHost)
            case .urlSession: URLSessionTransport(maximumConnectionsPerHost: maximumConnectionsPerHost)
            }
        }
    }

    public var email = Channel()
    public var sms = Channel()
    /// Where sales alerts go (`[alerts.sales]`): the preview outbox unless configured.
    public var salesAlerts = Channel()
    public var policy = SendingPolicy.standard
    /// When the deliverability watch pauses a campaign (`[auto_pause]`).
    public var autoPause = AutoPausePolicy()
    /// What one message costs per channel (`[costs]`), for cost and ROI in `stats`.
    public var costs = MessageCosts()
    public var publicURL = "http://localhost:8080"
    /// How long a failing message keeps being retried before it becomes a dead letter.
    public var retryHorizon: Duration = .seconds(3 * 86_400)
    /// How long a claimed message is reserved for the worker sending it; nil derives it from the
    /// channels' timeouts. Must be more than twice the longest timeout.
    public var lease: Duration?
    /// Where the file came from, for messages; nil when the defaults are in use.
    public var path: String?
    /// Secrets that inbound provider webhooks are signed with (`[inbound.email]`, `[inbound.sms]`);
    /// an endpoint without one refuses everything.
    public var inboundEmailSecret: Data?
    public var inboundSMSSecret: Data?
    /// What each provider's own inbound webhooks are verified with (`[inbound.postmark]`, …).
    public var inboundProviders = InboundProviders()
    /// Replies to STOP, START and HELP (`[sms] stop_reply`, …); nil uses the brand's defaults.
    public var smsStopReply: String?
    public var smsStartReply: String?
    public var smsHelpReply: String?
    /// The largest request body the server reads (`[server] max_body_bytes`).
    public var maxBodyBytes = 1 << 20
    /// How long a write waits for another connection's lock (`[database] busy_timeout_seconds`)
    /// before the worker backs off and the API answers 503; nil keeps the store's default.
    public var busyTimeout: TimeInterval?

    public init() {}

    public func channel(_ channel: OutgoingMessage.Channel) -> Channel {
        switch channel {
        case .email: email
        case .sms: sms
        case .sales: salesAlerts
        }
    }

    public struct Problem: Error, CustomStringConvertible {
        public let description: String

        /// `path: error: 'channels.email.token_env' …` as `path:LINE: error: …`, the line of that
        /// key in its section (or of the section, for a key that is missing), as `validate` reports.
        func located(in text: String, path: String) -> Problem {
            let prefix = "\(path): error: '"
            guard description.hasPrefix(prefix), let end = description.dropFirst(prefix.count).firstIndex(of: "'") else { return self }
            var key = String(description[description.index(description.startIndex, offsetBy: prefix.count)..<end])
            if key.hasPrefix("[") { key = String(key.dropFirst().prefix { $0 != "]" }) }
            var parts = key.split(separator: ".").map(String.init)
            guard !parts.isEmpty else { return self }
            // The longest prefix of the key that names a section; the rest is a key inside it.
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            var found: Int?
            while !parts.isEmpty {
                let section = parts.joined(separator: ".")
                if let header = lines.firstIndex(where: { $0.hasPrefix("[\(section)]") }) {
                    found = header
                    if parts.count < key.split(separator: ".").count {
                        let name = key.split(separator: ".")[parts.count]
                        let inside = lines[(header + 1)...].prefix { !$0.hasPrefix("[") }
                        if let line = inside.firstIndex(where: { $0.hasPrefix("\(name) ") || $0.hasPrefix("\(name)=") }) { found = line }
                    }
                    break
                }
                parts.removeLast()
            }
            guard let found else { return self }
            return Problem(description: "\(path):\(found + 1): error: " + description.dropFirst("\(path): error: ".count))
        }
    }

    /// Reads `path`, or `nurture.toml` in the working directory if it exists, or the defaults.
    public static func load(path: String?, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> NurtureConfiguration {
        let file = path ?? (FileManager.default.fileExists(atPath: "nurture.toml") ? "nurture.toml" : nil)
        guard let file else { return NurtureConfiguration() }
        guard let data = FileManager.default.contents(atPath: file), let text = String(data: data, encoding: .utf8) else {
            throw Problem(description: "\(file): error: cannot read the configuration file")
        }
        return try parse(text, path: file, environment: environment)
    }

    public static func parse(_ text: String, path: String, environment: [String: String]) throws -> NurtureConfiguration {
        do {
            return try parseKeys(text, path: path, environment: environment)
        } catch let problem as Problem {
            throw problem.located(in: text, path: path)
        }
    }

    private static func parseKeys(_ text: String, path: String, environment: [String: String]) throws -> NurtureConfiguration {
        let raw: Raw
        do {
            let table = try TOMLTable(string: text)
            raw = try TOMLDecoder().decode(Raw.self, from: table)
        } catch let error as TOMLParseError {
            throw Problem(description: "\(path):\(error.source.begin.line): error: \(error.description)")
        } catch let DecodingError.typeMismatch(_, context) {
            throw Problem(description: "\(path): error: '\(context.codingPath.map(\.stringValue).joined(separator: "."))' has the wrong type")
        } catch let DecodingError.keyNotFound(key, context) {
            // Every key is optional, so TOMLKit's "not found" means present with the wrong type.
            let keys = context.codingPath.last?.stringValue == key.stringValue ? context.codingPath : context.codingPath + [key]
            throw Problem(description: "\(path): error: '\(keys.map(\.stringValue).joined(separator: "."))' has the wrong type")
        } catch {
            throw Problem(description: "\(path): error: \(error)")
        }
        var configuration = NurtureConfiguration()
        configuration.path = path
        configuration.email = try channel(raw.channels?.email, name: "email", path: path, environment: environment)
        configuration.sms = try channel(raw.channels?.sms, name: "sms", path: path, environment: environment)
        configuration.salesAlerts = try channel(raw.alerts?.sales, key: "alerts.sales", kinds: [.preview, .webhook, .slack], path: path, environment: environment)
        if let sending = raw.sending {
            if let n = sending.email_per_lead_per_day {
                configuration.policy.emailCap = n > 0 ? SendingPolicy.Cap(n, per: .hours(24)) : nil
            }
            if let n = sending.sms_per_lead_per_3_days {
                configuration.policy.smsCap = n > 0 ? SendingPolicy.Cap(n, per: .hours(72)) : nil
            }
            if let url = sending.public_url {
                guard let parsed = URL(string: url), ["http", "https"].contains(parsed.scheme ?? "") else {
                    throw Problem(description: "\(path): error: 'sending.public_url' must be an http(s) URL, not '\(url)'")
                }
                configuration.publicURL = url
            }
            if let seconds = sending.lease_seconds?.value {
                guard seconds > 0 else { throw Problem(description: "\(path): error: 'sending.lease_seconds' must be positive") }
                configuration.lease = .milliseconds(Int(seconds * 1000))
            }
            if let hours = sending.retry_hours {
                guard hours > 0 else { throw Problem(description: "\(path): error: 'sending.retry_hours' must be positive") }
                configuration.retryHorizon = .seconds(hours * 3600)
            }
            if let zone = sending.default_timezone {
                guard TimeZoneNames.isKnown(zone) else {
                    throw Problem(description: "\(path): error: 'sending.default_timezone' must be an IANA time zone (such as America/Chicago), not '\(zone)'")
                }
                configuration.policy.defaultTimeZone = zone
            }
        }
        configuration.inboundEmailSecret = try secret(named: raw.inbound?.email?.secret_env, key: "inbound.email", path: path, environment: environment)
        configuration.inboundSMSSecret = try secret(named: raw.inbound?.sms?.secret_env, key: "inbound.sms", path: path, environment: environment)
        configuration.inboundProviders = try InboundProviders(raw.inbound, path: path, environment: environment)
        if let sms = raw.sms {
            for (key, value) in [("stop_reply", sms.stop_reply), ("start_reply", sms.start_reply), ("help_reply", sms.help_reply)] {
                if let value, value.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
                    throw Problem(description: "\(path): error: 'sms.\(key)' is empty; leave it out to use the default")
                }
            }
            configuration.smsStopReply = sms.stop_reply
            configuration.smsStartReply = sms.start_reply
            configuration.smsHelpReply = sms.help_reply
        }
        if let watch = raw.auto_pause {
            if let enabled = watch.enabled { configuration.autoPause.enabled = enabled }
            for (key, value, range) in [("complaint_percent", watch.complaint_percent?.value, 0.0...100), ("hard_bounce_percent", watch.hard_bounce_percent?.value, 0.0...100)] {
                guard let value else { continue }
                guard range.contains(value) else { throw Problem(description: "\(path): error: 'auto_pause.\(key)' must be a percentage between 0 and 100, not \(value)") }
                if key == "complaint_percent" { configuration.autoPause.complaintPercent = value } else { configuration.autoPause.hardBouncePercent = value }
            }
            if let n = watch.minimum_sends {
                guard n >= 1 else { throw Problem(description: "\(path): error: 'auto_pause.minimum_sends' must be at least 1") }
                configuration.autoPause.minimumSends = n
            }
            if let days = watch.window_days {
                guard (1...90).contains(days) else { throw Problem(description: "\(path): error: 'auto_pause.window_days' must be between 1 and 90") }
                configuration.autoPause.windowDays = days
            }
        }
        if let costs = raw.costs {
            for (key, value) in [("email", costs.email?.value), ("sms", costs.sms?.value)] {
                guard let value else { continue }
                guard value >= 0, value.isFinite else { throw Problem(description: "\(path): error: 'costs.\(key)' must be a cost per message of 0 or more, not \(value)") }
                if key == "email" { configuration.costs.email = value } else { configuration.costs.sms = value }
            }
        }
        if let bytes = raw.server?.max_body_bytes {
            guard (1024...(64 << 20)).contains(bytes) else {
                throw Problem(description: "\(path): error: 'server.max_body_bytes' must be between 1024 and 67108864")
            }
            configuration.maxBodyBytes = bytes
        }
        if let seconds = raw.database?.busy_timeout_seconds?.value {
            guard (0.05...600).contains(seconds) else {
                throw Problem(description: "\(path): error: 'database.busy_timeout_seconds' must be between 0.05 and 600")
            }
            configuration.busyTimeout = seconds
        }
        // A finished attempt may wait for the next one before it is recorded, so a lease must
        // outlive two timeouts.
        if let lease = configuration.lease, lease <= configuration.longestTimeout * 2 {
            throw Problem(description: "\(path): error: 'sending.lease_seconds' must be more than twice every webhook's timeout_seconds")
        }
        return configuration
    }

    /// The lease a dispatcher uses: as configured, or three timeouts plus half a minute.
    public var effectiveLease: Duration {
        lease ?? longestTimeout * 3 + .seconds(30)
    }

    /// The longest time a webhook channel may wait for an answer.
    var longestTimeout: Duration {
        [email, sms, salesAlerts].filter { $0.kind != .preview }.map(\.timeout).max() ?? .zero
    }

    private static func channel(_ raw: Raw.Channel?, name: String, path: String, environment: [String: String]) throws -> Channel {
        try channel(raw, key: "channels.\(name)", kinds: name == "email" ? Channel.Kind.email : Channel.Kind.sms, path: path, environment: environment)
    }

    private static func channel(_ raw: Raw.Channel?, key: String, kinds: [Channel.Kind], path: String, environment: [String: String]) throws -> Channel {
        var channel = Channel()
        guard let raw else { return channel }
        if let kind = raw.kind {
            guard let parsed = Channel.Kind(rawValue: kind), kinds.contains(parsed) else {
                let choices = kinds.map { "\"\($0.rawValue)\"" }
                throw Problem(description: "\(path): error: '\(key).kind' is '\(kind)'; use " + choices.dropLast().joined(separator: ", ") + " or " + choices.last!)
            }
            channel.kind = parsed
        }
        if let timeout = raw.timeout_seconds?.value {
            guard timeout > 0 else { throw Problem(description: "\(path): error: '\(key).timeout_seconds' must be positive") }
            channel.timeout = .milliseconds(Int(timeout * 1000))
        }
        if let concurrency = raw.concurrency {
            guard (1...1024).contains(concurrency) else { throw Problem(description: "\(path): error: '\(key).concurrency' must be between 1 and 1024") }
            channel.concurrency = concurrency
        }
        if let transport = raw.transport {
            guard let parsed = TransportKind(rawValue: transport) else {
                throw Problem(description: "\(path): error: '\(key).transport' is '\(transport)'; use \"async-http-client\" or \"urlsession\"")
            }
            channel.transport = parsed
        }
        guard channel.kind != .preview else { return channel }
        if channel.kind.isProvider {
            channel.provider = try ProviderSettings(raw, kind: channel.kind, key: key, path: path, environment: environment)
            return channel
        }
        guard let url = raw.url, let parsed = URL(string: url), ["http", "https"].contains(parsed.scheme ?? ""), parsed.host != nil else {
            throw Problem(description: "\(path): error: '\(key).url' must be the http(s) URL of the webhook")
        }
        channel.url = parsed
        channel.secret = try secret(named: raw.secret_env, key: key, path: path, environment: environment)
        return channel
    }

    /// The secret in the variable `secret_env` names, decoded; nil when no variable is named.
    private static func secret(named variable: String?, key: String, path: String, environment: [String: String]) throws -> Data? {
        guard let variable else { return nil }
        guard let value = environment[variable], !value.isEmpty else {
            throw Problem(description: "\(path): error: '\(key).secret_env' names \(variable), which is not set")
        }
        guard let secret = WebhookSignature.decodeSecret(value) else {
            throw Problem(description: "\(path): error: \(variable) is not a base64 secret (a \"whsec_\" prefix is allowed)")
        }
        return secret
    }

    /// The replies to SMS keywords: configured ones over the brand's defaults.
    public func smsReplies(brand: Brand) -> SMSReplies {
        var replies = SMSReplies(brand: brand)
        if let smsStopReply { replies.stop = smsStopReply }
        if let smsStartReply { replies.start = smsStartReply }
        if let smsHelpReply { replies.help = smsHelpReply }
        return replies
    }

    // Keys as they are written in the file.
    struct Raw: Decodable {
        struct Channel: Decodable {
            var kind: String?
            var url: String?
            var secret_env: String?
            var timeout_seconds: Number?
            var concurrency: Int?
            var transport: String?
            // Provider presets (see ProviderSettings).
            var base_url: String?
            var region: String?
            var token_env: String?
            var api_key_env: String?
            var message_stream: String?
            var domain: String?
            var access_key_id_env: String?
            var secret_access_key_env: String?
            var session_token_env: String?
            var configuration_set: String?
            var account_sid: String?
            var messaging_service_sid: String?
            var messaging_profile_id: String?
            var from: String?
            var reply_to: String?
            var max_per_second: Number?
            var batch_size: Int?
        }

        struct Channels: Decodable {
            var email: Channel?
            var sms: Channel?
        }

        struct Alerts: Decodable {
            var sales: Channel?
        }

        struct Sending: Decodable {
            var email_per_lead_per_day: Int?
            var sms_per_lead_per_3_days: Int?
            var public_url: String?
            var retry_hours: Int?
            var lease_seconds: Number?
            var default_timezone: String?
        }

        struct Inbound: Decodable {
            var secret_env: String?
            var token_env: String?
            var username_env: String?
            var password_env: String?
            var signing_key_env: String?
            var public_key_env: String?
            var topic_arn: TopicARNs?
        }

        /// One ARN or a list of them.
        struct TopicARNs: Decodable {
            var values: [String]

            init(from decoder: any Decoder) throws {
                let container = try decoder.singleValueContainer()
                if let list = try? container.decode([String].self) { values = list } else { values = [try container.decode(String.self)] }
            }
        }

        struct InboundEndpoints: Decodable {
            var email: Inbound?
            var sms: Inbound?
            var postmark: Inbound?
            var sendgrid: Inbound?
            var mailgun: Inbound?
            var ses: Inbound?
            var twilio: Inbound?
            var telnyx: Inbound?
        }

        struct SMS: Decodable {
            var stop_reply: String?
            var start_reply: String?
            var help_reply: String?
        }

        struct Server: Decodable {
            var max_body_bytes: Int?
        }

        struct DatabaseSettings: Decodable {
            var busy_timeout_seconds: Number?
        }

        struct Costs: Decodable {
            var email: Number?
            var sms: Number?
        }

        struct AutoPause: Decodable {
            var enabled: Bool?
            var complaint_percent: Number?
            var hard_bounce_percent: Number?
            var minimum_sends: Int?
            var window_days: Int?
        }

        var channels: Channels?
        var alerts: Alerts?
        var sending: Sending?
        var inbound: InboundEndpoints?
        var sms: SMS?
        var server: Server?
        var database: DatabaseSettings?
        var auto_pause: AutoPause?
        var costs: Costs?

        /// `2` and `2.5` both mean seconds: TOML integers are not floats, people write either.
        struct Number: Decodable {
            var value: Double

            init(from decoder: any Decoder) throws {
                let container = try decoder.singleValueContainer()
                if let integer = try? container.decode(Int.self) {
                    value = Double(integer)
                } else {
                    value = try container.decode(Double.self)
                }
            }
        }
    }
}
