public import Foundation
public import NurtureStorage

/// Where messages go. Built in: the local preview outbox and the signed JSON webhook.
public protocol DeliveryChannel: Sendable {
    /// How many messages may be in flight on this channel at once.
    var concurrency: Int { get }
    /// No scheduling time is passed on purpose: `run-due --now` moves scheduling only, while a
    /// signature's timestamp is checked against the receiver's real clock.
    func deliver(_ message: OutboxMessage) async -> DeliveryResult
    /// Messages one request may carry (a provider's batch endpoint); 1 when it sends one at a time.
    var batchLimit: Int { get }
    /// One result per message, in order: a batch answer that fails one recipient fails only that
    /// one. The dispatcher hands over at most `batchLimit` messages, each one `fitsBatch` allowed.
    func deliver(_ messages: [OutboxMessage]) async -> [DeliveryResult]
    /// Whether a message may share a batch request (a provider's size limits); false sends it alone.
    func fitsBatch(_ message: OutboxMessage) -> Bool
    /// The channel's pace, when it has one: the dispatcher claims no more than it can send in time.
    var maxPerSecond: Double? { get }
}

extension DeliveryChannel {
    public var batchLimit: Int { 1 }
    public func fitsBatch(_ message: OutboxMessage) -> Bool { true }
    public var maxPerSecond: Double? { nil }

    public func deliver(_ messages: [OutboxMessage]) async -> [DeliveryResult] {
        var results: [DeliveryResult] = []
        for message in messages { results.append(await deliver(message)) }
        return results
    }
}

public enum DeliveryResult: Sendable, Hashable {
    case delivered
    /// Worth another attempt (5xx, 429, timeouts, connection errors); `after` honours Retry-After.
    case transient(String, after: Duration?)
    /// Retrying cannot help (other 4xx, a redirect): the message goes to the dead letters.
    case permanent(String)
    /// The provider will never deliver to this address (an inactive recipient, a number that
    /// texted STOP to the carrier): the message is a dead letter and the address is suppressed
    /// at once with the provider's reason, so no other campaign tries it again. `optedOut` when
    /// the person opted out at the provider (an SMS STOP), which a later START may lift.
    case undeliverable(String, optedOut: Bool = false)
}

/// The default when no channel is configured: the message stays in the outbox, marked sent,
/// where `nurture outbox` and the dashboard show it. Nothing leaves the machine.
public struct PreviewChannel: DeliveryChannel {
    public let concurrency = 64

    public init() {}

    public func deliver(_ message: OutboxMessage) async -> DeliveryResult { .delivered }
}

/// Posts the message's JSON to a URL, signed per Standard Webhooks, with its id as the
/// `Idempotency-Key` so a receiver that saw it before can ignore the repeat.
public struct WebhookChannel: DeliveryChannel {
    /// What the POST carries.
    public enum BodyShape: Sendable, Hashable {
        /// The message's JSON payload (the generic webhook body, or a sales alert's JSON).
        case payload
        /// `{"text": …}` with the message's readable text: what Slack-compatible incoming
        /// webhooks (Slack, Mattermost, Rocket.Chat, Zulip's Slack endpoint) accept.
        case slackText
    }

    public let url: URL
    public let secret: Data?
    public let timeout: Duration
    public let concurrency: Int
    public let shape: BodyShape
    let transport: any HTTPTransport

    public init(url: URL, secret: Data?, timeout: Duration, concurrency: Int, shape: BodyShape = .payload, transport: any HTTPTransport) {
        self.url = url
        self.secret = secret
        self.timeout = timeout
        self.concurrency = concurrency
        self.shape = shape
        self.transport = transport
    }

    public func deliver(_ message: OutboxMessage) async -> DeliveryResult {
        // The wall clock, for `webhook-timestamp` and `Retry-After` dates.
        let now = Date()
        let body = switch shape {
        case .payload: Data(message.payload.utf8)
        case .slackText: Data(("{\"text\":" + JSONString.quoted(message.preview) + "}").utf8)
        }
        let timestamp = Int(now.timeIntervalSince1970)
        var headers = [
            ("Content-Type", "application/json"), ("Idempotency-Key", message.id),
            ("webhook-id", message.id), ("webhook-timestamp", "\(timestamp)"), ("User-Agent", "Nurture/1"),
        ]
        if let secret { headers.append(("webhook-signature", WebhookSignature.sign(id: message.id, timestamp: timestamp, body: body, secret: secret))) }
        do {
            let response = try await transport.post(url, headers: headers, body: body, timeout: timeout)
            switch response.status {
            case 200..<300:
                return .delivered
            case 429, 500..<600:
                return .transient("HTTP \(response.status)", after: response.headers["retry-after"].flatMap { Self.retryAfter($0, now: now) })
            case 300..<400:
                return .permanent("HTTP \(response.status): redirects are not followed")
            default:
                return .permanent("HTTP \(response.status)")
            }
        } catch {
            return .transient("\(error)", after: nil)
        }
    }

    /// `Retry-After` as seconds or an HTTP date.
    public static func retryAfter(_ value: String, now: Date) -> Duration? {
        if let seconds = Int(value.trimmingCharacters(in: .whitespaces)), seconds >= 0 { return .seconds(seconds) }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let date = formatter.date(from: value) else { return nil }
        return .seconds(max(0, Int(date.timeIntervalSince(now).rounded(.up))))
    }
}
