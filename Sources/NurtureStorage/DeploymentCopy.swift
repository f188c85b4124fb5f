public import Foundation

/// What `nurture migrate --from sqlite:PATH --to postgres://…` carries from one deployment to
/// another, table by table, in the order foreign keys need: everything a lead has (its version
/// included, so work computed against the old database can never commit against the new one as
/// if nothing had happened), the outbox with every status and attempt, suppressions, and the
/// settings (the link secret among them, so old unsubscribe links keep working), and the
/// campaigns' pauses, decided splits and journal (a paused campaign's parked work would otherwise
/// wait for a resume that could never be asked for).
public enum CopyTable: String, Sendable, CaseIterable {
    case leads, events, enrollments, messages, suppressions, settings, pauses, decisions, journal, conversions
    case stepFacts = "step facts"
    case privacyRequests = "privacy requests"
}

public enum CopyRows: Sendable {
    case leads([StoredLead])
    case events([StoredEvent])
    case enrollments([Enrollment])
    case messages([StoredMessage])
    case suppressions([StoredSuppression])
    case settings([StoredSetting])
    case pauses([CampaignPause])
    case decisions([ExperimentDecision])
    case journal([CampaignJournalEntry])
    case conversions([ConversionRecord])
    case stepFacts([StepFact])
    case privacyRequests([PrivacyAudit])

    public var count: Int {
        switch self {
        case .leads(let rows): rows.count
        case .events(let rows): rows.count
        case .enrollments(let rows): rows.count
        case .messages(let rows): rows.count
        case .suppressions(let rows): rows.count
        case .settings(let rows): rows.count
        case .pauses(let rows): rows.count
        case .decisions(let rows): rows.count
        case .journal(let rows): rows.count
        case .conversions(let rows): rows.count
        case .stepFacts(let rows): rows.count
        case .privacyRequests(let rows): rows.count
        }
    }
}

public struct StoredLead: Sendable {
    public var lead: Lead
    public var scoring: ScoreSnapshot
    public var version: Int
    public var createdAt: Date
    public var updatedAt: Date

    public init(lead: Lead, scoring: ScoreSnapshot, version: Int, createdAt: Date, updatedAt: Date) {
        self.lead = lead
        self.scoring = scoring
        self.version = version
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

public struct StoredEvent: Sendable {
    /// The order events of one instant were stored in.
    public var seq: Int
    public var leadID: String
    public var event: LeadEvent
    public var clientID: String?

    public init(seq: Int, leadID: String, event: LeadEvent, clientID: String?) {
        self.seq = seq
        self.leadID = leadID
        self.event = event
        self.clientID = clientID
    }
}

public struct StoredMessage: Sendable {
    public var message: OutboxMessage
    public var deliveryAt: Date?
    /// The first-report marks the results count (`CampaignCounter.firstMarks`), by column.
    public var marks: [String: Date]

    public init(message: OutboxMessage, deliveryAt: Date?, marks: [String: Date] = [:]) {
        self.message = message
        self.deliveryAt = deliveryAt
        self.marks = marks
    }
}

public struct StoredSuppression: Sendable {
    public var address: String
    public var channel: String
    public var reason: String
    /// `Suppression.Scope.stored`.
    public var scope: String
    public var at: Date

    public init(address: String, channel: String, reason: String, scope: String, at: Date) {
        self.address = address
        self.channel = channel
        self.reason = reason
        self.scope = scope
        self.at = at
    }
}

public struct StoredSetting: Sendable {
    public var key: String
    public var value: Data

    public init(key: String, value: Data) {
        self.key = key
        self.value = value
    }
}

/// A store a deployment can be copied out of, a batch at a time.
public protocol CopySource: Sendable {
    /// Up to `limit` rows of `table` after the one `cursor` names (nil: from the start), with
    /// the cursor of the last row returned.
    func copyRows(_ table: CopyTable, after cursor: Int?, limit: Int) async throws -> (rows: CopyRows, cursor: Int?)
    func copyCounts() async throws -> [CopyTable: Int]
}

/// A store a deployment can be copied into.
public protocol CopyTarget: Sendable {
    func copyCounts() async throws -> [CopyTable: Int]
    /// Deletes every row, for a copy told to replace what the target holds.
    func eraseForCopy() async throws
    func writeCopy(_ rows: CopyRows) async throws
    /// Called once every table is copied (sequences, statistics).
    func finishCopy() async throws
}
