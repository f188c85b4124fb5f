public import Foundation
public import NurtureDSL
public import NurtureStorage

/// An event arriving from outside: `nurture events track`, the API, an inbound webhook.
public struct IncomingEvent: Sendable, Hashable {
    public typealias Subject = LeadKey

    public var subject: Subject
    public var type: String
    public var at: Date
    public var properties: [String: Value]
    /// The sender's id for de-duplication: the same id is stored once.
    public var clientID: String?
    /// An unknown email becomes a new lead (`lead.created` first) instead of `.unknownLead`.
    public var createsLead: Bool

    public init(
        subject: Subject, type: String, at: Date, properties: [String: Value] = [:], clientID: String? = nil, createsLead: Bool = false
    ) {
        self.subject = subject
        self.type = type
        self.at = at
        self.properties = properties
        self.clientID = clientID
        self.createsLead = createsLead
    }
}

public enum IngestOutcome: Sendable, Hashable {
    case stored(leadID: String)
    /// Stored for a lead the event created.
    case created(leadID: String)
    case duplicate
    case unknownLead
}

public enum UpsertOutcome: String, Sendable, Hashable {
    case imported, updated, unchanged
}

/// What an upsert did to one lead, and which lead it was.
public struct UpsertResult: Sendable, Hashable {
    public var outcome: UpsertOutcome
    public var leadID: String
    /// The lead's zone was guessed for a country with several (imports count these).
    public var zoneIsGuess: Bool

    public init(_ outcome: UpsertOutcome, leadID: String, zoneIsGuess: Bool = false) {
        self.outcome = outcome
        self.leadID = leadID
        self.zoneIsGuess = zoneIsGuess
    }
}

extension LeadKey {
    /// The id, email or phone it names.
    public var text: String {
        switch self {
        case .id(let text), .email(let text), .phone(let text): text
        }
    }

    /// Emails compare case-insensitively, so `Ana@…` and `ana@…` are one lead's key.
    var normalised: LeadKey {
        if case .email(let email) = self { return .email(email.lowercased()) }
        return self
    }
}
