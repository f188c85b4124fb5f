import Foundation
import NurtureDSL
import Synchronization
import NurtureStorage

/// What sales receives when a lead crosses a threshold or a campaign says "call them": who, how
/// hot, why, what they did lately, and whose lead it is. Stored in the outbox like any message:
/// `preview` holds the readable text (what a Slack-compatible webhook posts), `payload` the JSON
/// the generic signed webhook posts.
struct SalesAlert {
    var id: String
    var lead: Lead
    /// "crossed 60" or "campaign nurture, step call-me".
    var trigger: String
    var note: String?
    var score: Double
    var threshold: Double?
    var reasons: [(label: String, value: Double)]
    var recent: [LeadEvent]
    var at: Date

    static let campaignID = "sales-alert"

    var message: OutboxMessage {
        let text = self.text
        return OutboxMessage(
            id: id, leadID: lead.id, campaignID: Self.campaignID, stepID: threshold.map { "threshold-\(Value.number($0).textValue)" } ?? trigger,
            channel: .sales, address: lead.owner ?? "unassigned", variant: nil, subject: headline, preview: text, payload: json(text: text),
            isTransactional: true, createdAt: at)
    }

    var name: String {
        let full = [lead.firstName, lead.lastName].compactMap { $0 }.joined(separator: " ")
        return full.isEmpty ? (lead.email ?? lead.phone ?? lead.id) : full
    }

    var headline: String {
        "\(name) — score \(ScoreText.points(score))" + (note.map { ": \($0)" } ?? "")
    }

    /// Slack's mrkdwn: `*bold*`, and `&`, `<`, `>` escaped so lead data cannot forge links or mentions.
    var text: String {
        let escaped = SlackText.escaped
        var who = "*\(escaped(name))*"
        let role = [lead.jobTitle, lead.company].compactMap { $0 }.joined(separator: " at ")
        if !role.isEmpty { who += ", \(escaped(role))" }
        if let email = lead.email, email != name { who += " (\(escaped(email)))" }
        var lines = [who, "Score \(ScoreText.points(score)) — \(escaped(trigger))" + (note.map { ": \(escaped($0))" } ?? "")]
        let why = reasons.prefix(4).map { "\(escaped($0.label)) \(ScoreText.signed($0.value))" }
        if !why.isEmpty { lines.append("Why: " + why.joined(separator: " · ")) }
        let clock = LocalClock(zone: lead.zone)
        let activity = recent.map { event -> String in
            var line = "\(clock.format(event.at)) \(event.type)"
            if let detail = (event.properties["path"] ?? event.properties["title"] ?? event.properties["name"])?.textValue { line += " \(detail)" }
            return escaped(line)
        }
        if !activity.isEmpty { lines.append("Recent: " + activity.joined(separator: " · ")) }
        lines.append("Stage \(lead.stage.name) · owner \(escaped(lead.owner ?? "unassigned"))")
        return lines.joined(separator: "\n")
    }

    private static let encoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    private struct Body: Encodable {
        struct LeadPart: Encodable {
            var id: String
            var email: String?
            var name: String
            var company: String?
            var job_title: String?
            var stage: String
        }

        struct Reason: Encodable {
            var label: String
            var points: Double
        }

        struct Activity: Encodable {
            var type: String
            var at: String
            var properties: [String: String]
        }

        var id: String
        var type = "sales.alert"
        var lead: LeadPart
        var score: Double
        var threshold: Double?
        var trigger: String
        var note: String?
        var owner: String?
        var reasons: [Reason]
        var recent_activity: [Activity]
        var text: String
    }

    /// The signed webhook's JSON; `text` is passed in, as the message stores it as its preview too.
    func json(text: String) -> String {
        let body = Body(
            id: id,
            lead: .init(id: lead.id, email: lead.email, name: name, company: lead.company, job_title: lead.jobTitle, stage: lead.stage.name),
            score: ScoreText.rounded(score), threshold: threshold, trigger: trigger, note: note, owner: lead.owner,
            reasons: reasons.map { .init(label: $0.label, points: ScoreText.rounded($0.value)) },
            recent_activity: recent.map { .init(type: $0.type, at: $0.at.iso8601UTC, properties: $0.properties.mapValues(\.textValue)) },
            text: text)
        return String(decoding: (try? Self.encoder.encode(body)) ?? Data(), as: UTF8.self)
    }
}

/// The next rep of a round-robin, shared by every lead in one transaction and saved with it, so
/// rotation is fair across processes and restarts.
public final class OwnerRotation: Sendable {
    private let position: Mutex<Int>
    public let start: Int

    public init(next: Int) {
        start = next
        position = Mutex(next)
    }

    /// The position to store once the transaction commits.
    public var next: Int { position.withLock { $0 } }

    func take() -> Int {
        position.withLock { value in
            defer { value += 1 }
            return value
        }
    }
}

/// Slack's mrkdwn escaping: `&`, `<`, `>`, so lead data cannot forge links or mentions.
enum SlackText {
    static func escaped(_ text: String) -> String {
        // Most text has none of the three: skip the copies (this runs for every alert line).
        guard text.utf8.contains(where: { $0 == UInt8(ascii: "&") || $0 == UInt8(ascii: "<") || $0 == UInt8(ascii: ">") }) else { return text }
        var out = ""
        out.reserveCapacity(text.utf8.count + 8)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            default: out.append(character)
            }
        }
        return out
    }
}
