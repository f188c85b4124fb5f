import Crypto
public import Foundation

/// A secret read from the environment: compared and used, never printed.
public struct SecretValue: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible {
    public let value: String

    public init(_ value: String) { self.value = value }

    public var description: String { "(secret)" }
    public var debugDescription: String { "(secret)" }
}

/// What a provider preset channel needs (`[channels.email] kind = "postmark"`, …). Each preset
/// has its documented public API as the default `base_url`; a region, a proxy or a test server
/// replaces it. Secrets come from the environment variables the file names.
///
/// ```toml
/// [channels.email]
/// kind = "postmark"                  # postmark | sendgrid | mailgun | ses
/// token_env = "POSTMARK_SERVER_TOKEN"
/// message_stream = "broadcast"
/// from = "Maya from Larkspur <maya@larkspur.example>"   # default: the brand's sender and support address
/// max_per_second = 14
/// [channels.sms]
/// kind = "twilio"                    # twilio | telnyx
/// account_sid = "AC…"
/// token_env = "TWILIO_AUTH_TOKEN"
/// from = "+441615550100"             # or messaging_service_sid = "MG…"
/// ```
public struct ProviderSettings: Sendable, Hashable {
    public var baseURL: URL
    /// Postmark's server token, Twilio's auth token.
    public var token: SecretValue?
    /// SendGrid's, Mailgun's and Telnyx's API key.
    public var apiKey: SecretValue?
    public var messageStream = "outbound"
    public var domain: String?
    public var region: String?
    public var accessKeyID: SecretValue?
    public var secretAccessKey: SecretValue?
    public var sessionToken: SecretValue?
    public var configurationSet: String?
    public var accountSID: String?
    public var messagingServiceSID: String?
    public var messagingProfileID: String?
    /// An email's From (default: the brand's sender name and support address), or an SMS sender number.
    public var from: String?
    public var replyTo: String?
    public var maxPerSecond: Double?
    /// Messages per request where the provider batches (Postmark up to 500, SendGrid 1,000).
    public var batchSize = 1

    typealias Problem = NurtureConfiguration.Problem

    init(_ raw: NurtureConfiguration.Raw.Channel, kind: NurtureConfiguration.Channel.Kind, key: String, path: String, environment: [String: String]) throws {
        func fail(_ text: String) -> Problem { Problem(description: "\(path): error: '\(key)\(text)") }
        func required<T>(_ value: T?, _ name: String, _ why: String) throws -> T {
            guard let value else { throw fail(".\(name)' is required for kind \"\(kind.rawValue)\": \(why)") }
            return value
        }
        let region = raw.region?.trimmingCharacters(in: .whitespaces).lowercased()
        let defaultBase: String
        switch kind {
        case .postmark: defaultBase = "https://api.postmarkapp.com"
        case .sendgrid: defaultBase = region == "eu" ? "https://api.eu.sendgrid.com" : "https://api.sendgrid.com"
        case .mailgun: defaultBase = region == "eu" ? "https://api.eu.mailgun.net" : "https://api.mailgun.net"
        case .ses:
            let region = try required(region, "region", "the AWS region SES sends from, e.g. \"eu-west-1\"")
            guard region.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" }) else { throw fail(".region' is not an AWS region: '\(region)'") }
            defaultBase = "https://email.\(region).amazonaws.com"
        case .twilio: defaultBase = "https://api.twilio.com"
        case .telnyx: defaultBase = "https://api.telnyx.com"
        case .preview, .webhook, .slack: defaultBase = ""
        }
        let base = raw.base_url ?? defaultBase
        guard let url = URL(string: base), ["http", "https"].contains(url.scheme ?? ""), url.host != nil else {
            throw fail(".base_url' must be an http(s) URL, not '\(base)'")
        }
        baseURL = url
        self.region = region
        from = raw.from
        replyTo = raw.reply_to
        if let rate = raw.max_per_second?.value {
            guard rate > 0, rate.isFinite else { throw fail(".max_per_second' must be a positive number of requests a second") }
            maxPerSecond = rate
        }
        if let size = raw.batch_size {
            // Postmark's /email/batch takes 500 messages, SendGrid 1,000 personalizations.
            let limits: [NurtureConfiguration.Channel.Kind: Int] = [.postmark: 500, .sendgrid: 1000]
            guard let limit = limits[kind] else {
                throw fail(".batch_size' is offered for kinds \"postmark\" and \"sendgrid\" only (see README, Providers)")
            }
            guard (1...limit).contains(size) else { throw fail(".batch_size' must be between 1 and \(limit) (\(kind.rawValue)'s batch limit)") }
            batchSize = size
        }
        let secret = { (variable: String?, name: String) in try Self.secret(variable, key: "\(key).\(name)", path: path, environment: environment) }
        switch kind {
        case .postmark:
            token = try required(secret(raw.token_env, "token_env"), "token_env", "the variable holding the Postmark server token")
            messageStream = raw.message_stream ?? messageStream
        case .sendgrid:
            apiKey = try required(secret(raw.api_key_env, "api_key_env"), "api_key_env", "the variable holding the SendGrid API key")
        case .mailgun:
            apiKey = try required(secret(raw.api_key_env, "api_key_env"), "api_key_env", "the variable holding the Mailgun API key")
            domain = try required(raw.domain, "domain", "the Mailgun sending domain, e.g. \"mg.larkspur.example\"")
        case .ses:
            accessKeyID = try required(secret(raw.access_key_id_env, "access_key_id_env"), "access_key_id_env", "the variable holding the AWS access key id")
            secretAccessKey = try required(secret(raw.secret_access_key_env, "secret_access_key_env"), "secret_access_key_env",
                                           "the variable holding the AWS secret access key")
            sessionToken = try secret(raw.session_token_env, "session_token_env")
            configurationSet = raw.configuration_set
        case .twilio:
            accountSID = try required(raw.account_sid, "account_sid", "the Twilio account SID (AC…)")
            token = try required(secret(raw.token_env, "token_env"), "token_env", "the variable holding the Twilio auth token")
            messagingServiceSID = raw.messaging_service_sid
            guard from != nil || messagingServiceSID != nil else {
                throw fail("' needs 'from' (a Twilio number) or 'messaging_service_sid' to send from")
            }
        case .telnyx:
            apiKey = try required(secret(raw.api_key_env, "api_key_env"), "api_key_env", "the variable holding the Telnyx API key")
            messagingProfileID = raw.messaging_profile_id
            guard from != nil || messagingProfileID != nil else {
                throw fail("' needs 'from' (a Telnyx number) or 'messaging_profile_id' to send from")
            }
        case .preview, .webhook, .slack:
            break
        }
    }

    /// The value of the variable `variable` names; nil when no variable is named.
    static func secret(_ variable: String?, key: String, path: String, environment: [String: String]) throws -> SecretValue? {
        guard let variable else { return nil }
        guard let value = environment[variable]?.trimmingCharacters(in: .whitespacesAndNewlines), !value.isEmpty else {
            throw Problem(description: "\(path): error: '\(key)' names \(variable), which is not set")
        }
        return SecretValue(value)
    }
}

/// The keys each provider's inbound webhook is verified with. A route whose key is missing
/// refuses everything with 401 and says which section to add.
///
/// ```toml
/// [inbound.postmark]                 # basic auth in the webhook URL Postmark is given
/// username_env = "POSTMARK_WEBHOOK_USER"
/// password_env = "POSTMARK_WEBHOOK_PASSWORD"
/// [inbound.sendgrid]
/// public_key_env = "SENDGRID_WEBHOOK_PUBLIC_KEY"   # the Signed Event Webhook's verification key (base64)
/// [inbound.mailgun]
/// signing_key_env = "MAILGUN_WEBHOOK_SIGNING_KEY"
/// [inbound.twilio]
/// token_env = "TWILIO_AUTH_TOKEN"
/// [inbound.telnyx]
/// public_key_env = "TELNYX_PUBLIC_KEY"             # base64 Ed25519 public key
/// [inbound.ses]
/// topic_arn = "arn:aws:sns:eu-west-1:123456789012:nurture-ses"
/// ```
public struct InboundProviders: Sendable, Hashable {
    public var postmarkUsername: SecretValue?
    public var postmarkPassword: SecretValue?
    /// Base64 DER (SubjectPublicKeyInfo) of SendGrid's ECDSA P-256 key.
    public var sendgridPublicKey: String?
    public var mailgunSigningKey: SecretValue?
    public var twilioToken: SecretValue?
    /// Base64 raw Ed25519 public key.
    public var telnyxPublicKey: String?
    /// SNS topics whose notifications are accepted.
    public var sesTopicARNs: [String] = []

    public init() {}

    init(_ raw: NurtureConfiguration.Raw.InboundEndpoints?, path: String, environment: [String: String]) throws {
        guard let raw else { return }
        func secret(_ variable: String?, _ key: String) throws -> SecretValue? {
            try ProviderSettings.secret(variable, key: "inbound.\(key)", path: path, environment: environment)
        }
        if let postmark = raw.postmark {
            postmarkUsername = try secret(postmark.username_env, "postmark.username_env")
            postmarkPassword = try secret(postmark.password_env, "postmark.password_env")
            guard postmarkUsername != nil, postmarkPassword != nil else {
                throw NurtureConfiguration.Problem(description: "\(path): error: '[inbound.postmark]' needs username_env and password_env (the basic auth in Postmark's webhook URL)")
            }
        }
        sendgridPublicKey = try secret(raw.sendgrid?.public_key_env, "sendgrid.public_key_env")?.value
        mailgunSigningKey = try secret(raw.mailgun?.signing_key_env, "mailgun.signing_key_env")
        twilioToken = try secret(raw.twilio?.token_env, "twilio.token_env")
        telnyxPublicKey = try secret(raw.telnyx?.public_key_env, "telnyx.public_key_env")?.value
        sesTopicARNs = raw.ses?.topic_arn?.values ?? []
        // A key that cannot verify anything would refuse every webhook: said now, not at the first 401.
        if let key = sendgridPublicKey, (Data(base64Encoded: key).flatMap { try? P256.Signing.PublicKey(derRepresentation: $0) }) == nil {
            throw NurtureConfiguration.Problem(description: "\(path): error: 'inbound.sendgrid.public_key_env' does not hold a base64 P-256 public key (the Signed Event Webhook's verification key)")
        }
        if let key = telnyxPublicKey, (Data(base64Encoded: key).flatMap { try? Curve25519.Signing.PublicKey(rawRepresentation: $0) }) == nil {
            throw NurtureConfiguration.Problem(description: "\(path): error: 'inbound.telnyx.public_key_env' does not hold a base64 Ed25519 public key")
        }
        for arn in sesTopicARNs where arn.split(separator: ":", omittingEmptySubsequences: false).count != 6 || !arn.hasPrefix("arn:aws") {
            throw NurtureConfiguration.Problem(description: "\(path): error: 'inbound.ses.topic_arn' has '\(arn)', which is not an SNS topic ARN")
        }
        for (section, present, key) in [("sendgrid", raw.sendgrid != nil, sendgridPublicKey != nil), ("mailgun", raw.mailgun != nil, mailgunSigningKey != nil),
                                        ("twilio", raw.twilio != nil, twilioToken != nil), ("telnyx", raw.telnyx != nil, telnyxPublicKey != nil),
                                        ("ses", raw.ses != nil, !sesTopicARNs.isEmpty)] where present && !key {
            let name = ["sendgrid": "public_key_env", "mailgun": "signing_key_env", "twilio": "token_env", "telnyx": "public_key_env", "ses": "topic_arn"][section]!
            throw NurtureConfiguration.Problem(description: "\(path): error: '[inbound.\(section)]' needs \(name)")
        }
    }
}
