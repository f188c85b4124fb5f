import Crypto
public import Foundation

/// A message written to the outbox in the same transaction that advanced its enrollment, then
/// dispatched. Its id is its idempotency key: derived from the enrollment, step and occurrence,
/// so it never changes across retries, restarts or a replay of the same step.
public struct OutboxMessage: Sendable, Hashable, Codable {
    public enum Status: String, Sendable, Hashable, Codable, CaseIterable {
        /// Waiting for its next attempt at `nextAttemptAt`.
        case pending
        /// Claimed by a worker until `leaseUntil`.
        case sending
        case sent
        /// Gave up after the retry horizon or a permanent failure; `dead-letters retry` revives it.
        case dead
        /// Not sent because the address was suppressed by the time it was claimed.
        case suppressed
    }

    public var id: String
    public var leadID: String
    public var campaignID: String
    public var stepID: String
    public var channel: OutgoingMessage.Channel
    public var address: String
    public var variant: String?
    public var subject: String?
    /// The text part (or the SMS body), for `nurture outbox`.
    public var preview: String
    /// The JSON body the webhook channel posts, rendered once when the message was produced.
    public var payload: String
    public var isTransactional: Bool
    public var createdAt: Date
    public var status: Status
    public var attempts: Int
    public var nextAttemptAt: Date
    public var lastError: String?
    public var leaseOwner: String?
    public var leaseUntil: Date?
    public var sentAt: Date?
    /// What the provider reported after sending: delivered, bounced, soft-bounced, complained, failed.
    public var delivery: String?

    public init(
        id: String, leadID: String, campaignID: String, stepID: String, channel: OutgoingMessage.Channel, address: String,
        variant: String?, subject: String?, preview: String, payload: String, isTransactional: Bool, createdAt: Date
    ) {
        self.id = id
        self.leadID = leadID
        self.campaignID = campaignID
        self.stepID = stepID
        self.channel = channel
        self.address = address
        self.variant = variant
        self.subject = subject
        self.preview = preview
        self.payload = payload
        self.isTransactional = isTransactional
        self.createdAt = createdAt
        status = .pending
        attempts = 0
        nextAttemptAt = createdAt
    }

    /// `msg_` and 24 hex digits of SHA-256 over what identifies one send of one step.
    public static func id(leadID: String, campaignID: String, enrollment: Int, stepID: String, occurrence: Int) -> String {
        let digest = SHA256.hash(data: Data("\(leadID)\u{1F}\(campaignID)\u{1F}\(enrollment)\u{1F}\(stepID)\u{1F}\(occurrence)".utf8))
        let hex = Array("0123456789abcdef".utf8)
        var text: [UInt8] = Array("msg_".utf8)
        for byte in digest.prefix(12) { text.append(contentsOf: [hex[Int(byte >> 4)], hex[Int(byte & 0xF)]]) }
        return String(decoding: text, as: UTF8.self)
    }
}

/// The JSON a webhook channel receives, as DESIGN.md specifies it. Written by hand: the shape
/// is fixed and every value is a string, and this runs once per message on the hot path.
struct WebhookBody {
    var id: String
    var channel: String
    var to: String
    var subject: String?
    var html: String?
    var text: String?
    var body: String?
    var headers: [String: String]?
    var lead_id: String
    var campaign: String
    var step: String
    var variant: String?

    /// Keys in sorted order, so equal messages are equal bytes.
    func json() -> String {
        var out = [UInt8]()
        out.reserveCapacity(256 + (html?.utf8.count ?? 0) + (text?.utf8.count ?? 0) * 2 + (body?.utf8.count ?? 0))
        out.append(UInt8(ascii: "{"))
        var first = true
        func key(_ name: StaticString) {
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            out.append(UInt8(ascii: "\""))
            out.append(contentsOf: UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
            out.append(contentsOf: [UInt8(ascii: "\""), UInt8(ascii: ":")])
        }
        func field(_ name: StaticString, _ value: String?) {
            guard let value else { return }
            key(name)
            JSONString.append(value, to: &out)
        }
        field("body", body)
        field("campaign", campaign)
        field("channel", channel)
        if let headers {
            key("headers")
            out.append(UInt8(ascii: "{"))
            for (index, name) in headers.keys.sorted().enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                JSONString.append(name, to: &out)
                out.append(UInt8(ascii: ":"))
                JSONString.append(headers[name]!, to: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
        field("html", html)
        field("id", id)
        field("lead_id", lead_id)
        field("step", step)
        field("subject", subject)
        field("text", text)
        field("to", to)
        field("variant", variant)
        out.append(UInt8(ascii: "}"))
        return String(decoding: out, as: UTF8.self)
    }

}

/// JSON string literals, written directly: Nurture writes one for every stored attribute map and
/// every message on its hot paths, where JSONEncoder costs more than the work around it.
public enum JSONString {
    private static let hex = Array("0123456789abcdef".utf8)

    public static func quoted(_ value: String) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(value.utf8.count + 2)
        append(value, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Only ASCII bytes need escaping in JSON, so UTF-8 is copied byte for byte.
    public static func append(_ value: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case UInt8(ascii: "\n"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case UInt8(ascii: "\r"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case UInt8(ascii: "\t"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0..<0x20:
                out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hex[Int(byte >> 4)], hex[Int(byte & 0xF)]])
            default:
                out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
