public import Foundation
public import NurtureDSL

/// An event as a client sends it (API body, `nurture events track`), before it is trusted: the
/// one place its rules live, so every way in refuses the same things with the same words.
public struct EventInput: Sendable {
    /// The sender's id: an event with an id already stored is not stored again.
    public var id: String?
    public var email: String?
    public var leadID: String?
    public var type: String
    /// ISO 8601 with a zone; none means now.
    public var at: String?
    public var properties: [String: Value]
    /// False: an unknown email is reported, not created.
    public var createsLead: Bool

    public init(id: String? = nil, email: String? = nil, leadID: String? = nil, type: String, at: String? = nil,
                properties: [String: Value] = [:], createsLead: Bool = true)
    {
        self.id = id
        self.email = email
        self.leadID = leadID
        self.type = type
        self.at = at
        self.properties = properties
        self.createsLead = createsLead
    }

    /// A refused field: `field` is the input's own name for it (`email`, `lead_id`, `type`, `at`,
    /// `id`, `properties.plan`).
    public struct Problem: Sendable, Hashable, CustomStringConvertible {
        public var field: String
        public var message: String
        public var description: String { "\(field): \(message)" }
    }

    public struct Refused: Error, Sendable {
        public var problems: [Problem]
    }

    /// Events Nurture records itself; accepting them from outside would let a client forge a
    /// send, an alert or a score adjustment, or resubscribe someone without their own click.
    public static let reservedTypes: Set<String> = [
        "lead.created", "email.sent", "sms.sent", "sales.notified", SalesOutcome.eventType, "score.adjusted", EntryRules.inactiveEvent,
        ComplianceEvent.resubscribed, ComplianceEvent.preferencesUpdated, SurveyAnswer.eventType,
    ]

    /// How far ahead of the receiver's clock an event's time may be (clock skew).
    public static let allowedSkew: TimeInterval = 300

    /// Lengths count Unicode scalars, as JSON Schema's maxLength in the API's document does.
    public func validated(now: Date) -> Result<IncomingEvent, Refused> {
        var problems: [Problem] = []
        func refuse(_ field: String, _ message: String) { problems.append(Problem(field: field, message: message)) }
        var subject: IncomingEvent.Subject?
        switch (email, leadID) {
        case (let email?, nil):
            let trimmed = email.trimmingCharacters(in: .whitespaces)
            if let problem = InputText.problem(in: email) { refuse("email", problem) } else if LeadRowParser.isPlausibleEmail(trimmed) {
                subject = .email(trimmed)
            } else {
                refuse("email", trimmed.isEmpty ? "is empty" : "'\(email)' is not an email address")
            }
        case (nil, let id?):
            if let problem = InputText.problem(in: id) { refuse("lead_id", problem) } else if id.isEmpty || id.unicodeScalars.count > 200 {
                refuse("lead_id", "must be 1 to 200 characters")
            } else {
                subject = .id(id)
            }
        case (nil, nil):
            refuse("email", "is required (or lead_id)")
        case (_?, _?):
            refuse("lead_id", "give email or lead_id, not both")
        }
        if !Self.isEventType(type) {
            refuse("type", "'\(type)' is not an event type: lowercase words joined by dots, such as page.viewed")
        } else if Self.reservedTypes.contains(type) {
            refuse("type", "'\(type)' is recorded by Nurture itself and cannot be sent")
        }
        var instant = now
        if let text = at {
            if let parsed = Self.parseInstant(text) {
                if parsed.timeIntervalSince(now) > Self.allowedSkew { refuse("at", "'\(text)' is in the future") }
                instant = min(parsed, now)
            } else {
                refuse("at", "'\(text)' is not an ISO 8601 time with a zone, such as 2026-11-23T09:00:00Z")
            }
        }
        if let id {
            if let problem = InputText.problem(in: id) { refuse("id", problem) } else if id.isEmpty || id.unicodeScalars.count > 200 {
                refuse("id", "must be 1 to 200 characters")
            }
        }
        for (key, value) in properties.sorted(by: { $0.key < $1.key }) {
            if let problem = InputText.problem(in: key) {
                refuse("properties", "a key \(problem)")
            } else if key.isEmpty {
                refuse("properties", "a key is empty")
            } else if case .string(let text) = value, let problem = InputText.problem(in: text, .freeText) {
                refuse("properties.\(key)", problem)
            }
        }
        guard problems.isEmpty, let subject else { return .failure(Refused(problems: problems)) }
        return .success(IncomingEvent(subject: subject, type: type, at: instant, properties: properties, clientID: id, createsLead: createsLead))
    }

    /// `page.viewed`, `trial_started`, `invoice.paid`: lowercase ASCII letters, digits, `_`, `-`
    /// and dots, starting with a letter, at most 100 bytes.
    public static func isEventType(_ type: String) -> Bool {
        guard let first = type.utf8.first, first >= 0x61, first <= 0x7A, type.utf8.count <= 100, type.utf8.last != UInt8(ascii: ".") else { return false }
        return type.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".") }
    }

    /// ISO 8601 with a zone, with or without fractional seconds.
    public static func parseInstant(_ text: String) -> Date? {
        if let date = try? Date(text, strategy: .iso8601) { return date }
        return try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }
}
