public import Foundation
public import NurtureDSL

/// What the engine needs from a database. One conformance suite runs against every backend
/// (SQLite now, PostgreSQL for scale-out), so they behave the same.
///
/// Every method is one transaction. Methods that take a closure load the leads' state, run the
/// closure (pure engine logic, no I/O) and write back everything it changed in that same
/// transaction: the outbox message of a step is stored if and only if the step advanced.
public protocol LeadStore: Sendable {
    // MARK: Leads

    /// Inserts or updates leads by email (case-insensitive), in one transaction. Each new or
    /// changed lead is handed to `apply` with its state (and, when it changed, the lead as it
    /// was), so entries and goals act on it before the transaction commits.
    func upsertLeads(_ patches: [LeadPatch], now: Date, apply: @Sendable (inout LeadWork, _ before: Lead?) -> Void) async throws -> [UpsertOutcome]

    func lead(id: String) async throws -> Lead?
    func lead(email: String) async throws -> Lead?

    // MARK: Work

    /// Stores an event for a lead found by id or email, once per client id, then hands the lead's
    /// state to `body`. Returns `.duplicate` without calling `body` when the client id was seen.
    func ingest(_ event: IncomingEvent, now: Date, _ body: @Sendable (inout LeadWork, LeadEvent) -> Void) async throws -> IngestOutcome

    /// Ids of leads with an enrollment due at `now`, soonest first.
    func dueLeadIDs(at now: Date, limit: Int) async throws -> [String]

    /// Loads the leads' state, runs `body` on it and writes it back, all in one transaction.
    func update(leadIDs: [String], now: Date, _ body: @Sendable (inout [LeadWork]) -> Void) async throws

    // MARK: Outbox

    /// Claims up to `limit` messages that are due (or whose lease expired) for `owner` until
    /// `leaseUntil`, counting an attempt. Messages whose address was suppressed meanwhile are
    /// marked suppressed instead, in the same transaction.
    func claimMessages(now: Date, limit: Int, owner: String, leaseUntil: Date) async throws -> [OutboxMessage]

    /// Records the result of an attempt, only if `owner` still holds attempt `attempt`: a worker
    /// whose lease expired can no longer complete a message another worker took over.
    func finish(messageID: String, attempt: Int, owner: String, result: AttemptResult, now: Date) async throws -> Bool

    /// Records many attempts in one transaction (one fsync instead of one per message). A crash
    /// before it commits only means those messages are sent again, under the same ids.
    func finish(_ attempts: [FinishedAttempt], owner: String, now: Date) async throws -> [Bool]

    func messages(status: OutboxMessage.Status?, limit: Int) async throws -> [OutboxMessage]
    func message(id: String) async throws -> OutboxMessage?

    /// Puts dead letters back in the queue under their own ids; all of them when `ids` is nil.
    func retryDeadLetters(ids: [String]?, now: Date) async throws -> Int

    // MARK: Compliance

    func suppress(address: String, channel: OutgoingMessage.Channel, reason: String, at: Date) async throws
    func suppressions(address: String) async throws -> [OutgoingMessage.Channel: String]

    // MARK: Settings

    /// A random 32-byte secret created on first use and kept in the database, so a default
    /// install signs its links with a key nobody else has.
    func secret(named name: String) async throws -> Data

    // MARK: Reports

    func counts() async throws -> StoreCounts
}

public enum UpsertOutcome: String, Sendable, Hashable {
    case imported, updated, unchanged
}

/// An event arriving from outside: `nurture events track`, the API, an inbound webhook.
public struct IncomingEvent: Sendable, Hashable {
    public enum Subject: Sendable, Hashable {
        case id(String)
        case email(String)
    }

    public var subject: Subject
    public var type: String
    public var at: Date
    public var properties: [String: Value]
    /// The sender's id for de-duplication: the same id is stored once.
    public var clientID: String?

    public init(subject: Subject, type: String, at: Date, properties: [String: Value] = [:], clientID: String? = nil) {
        self.subject = subject
        self.type = type
        self.at = at
        self.properties = properties
        self.clientID = clientID
    }
}

public enum IngestOutcome: Sendable, Hashable {
    case stored(leadID: String)
    case duplicate
    case unknownLead
}

public struct FinishedAttempt: Sendable, Hashable {
    public var messageID: String
    public var attempt: Int
    public var result: AttemptResult

    public init(messageID: String, attempt: Int, result: AttemptResult) {
        self.messageID = messageID
        self.attempt = attempt
        self.result = result
    }
}

public enum AttemptResult: Sendable, Hashable {
    case sent
    case retry(at: Date, error: String)
    case dead(error: String)
    case suppressed(reason: String)
}

public struct StoreCounts: Sendable, Hashable, Codable {
    public var leads = 0
    public var events = 0
    public var activeEnrollments = 0
    public var messagesByStatus: [String: Int] = [:]

    public init() {}
}
