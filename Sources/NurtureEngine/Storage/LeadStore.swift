public import Foundation
public import NurtureDSL

/// What the engine needs from a database, split by role so each part of the engine asks for
/// only what it uses (the dispatcher needs the outbox queue, nothing else). One conformance
/// suite runs against every backend (SQLite now, PostgreSQL for scale-out), so they behave the
/// same.
///
/// Every method is one transaction. Methods that take a closure load the leads' state, run the
/// closure (pure engine logic, no I/O) and write back everything it changed in that same
/// transaction: the outbox message of a step is stored if and only if the step advanced.
public protocol LeadStore: LeadStates, DueWork, OutboxQueue, SuppressionList, SecretStore, ReadQueries {}

/// Leads and their state: created, changed, and advanced by events and due steps.
public protocol LeadStates: Sendable {
    /// Inserts or updates leads by email (case-insensitive), in one transaction. Each new or
    /// changed lead is handed to `apply` with its state (and, when it changed, the lead as it
    /// was), so entries and goals act on it before the transaction commits.
    func upsertLeads(_ patches: [LeadPatch], now: Date, apply: @Sendable (inout LeadWork, _ before: Lead?) -> Void) async throws -> [UpsertResult]

    func lead(id: String) async throws -> Lead?
    func lead(email: String) async throws -> Lead?

    // MARK: Work

    /// Stores events for leads found by id, email or phone, each once per client id, in one
    /// transaction, handing each lead's state to `body` after its event. An event whose client id
    /// was seen is `.duplicate` and does not reach `body`. An event for an unknown email that
    /// `createsLead` creates the lead first, handing it to `created`, in the same transaction.
    func ingest(
        _ events: [IncomingEvent], now: Date, created: @Sendable (inout LeadWork) -> Void, _ body: @Sendable (inout LeadWork, LeadEvent) -> Void
    ) async throws -> [IngestOutcome]

    /// Loads the leads' state, runs `body` on it and writes it back, all in one transaction.
    func update(leadIDs: [String], now: Date, _ body: @Sendable (inout [LeadWork]) -> Void) async throws

    /// Lead ids in id order after `after`, for passes over everyone (`scores recompute`).
    func leadIDs(after: String?, limit: Int) async throws -> [String]

}

/// Which leads have a step due.
public protocol DueWork: Sendable {
    /// Ids of leads with an enrollment due at `now`, soonest first.
    func dueLeadIDs(at now: Date, limit: Int) async throws -> [String]
}

/// The outbox: messages claimed under a lease, their attempts recorded, dead letters revived.
public protocol OutboxQueue: Sendable {
    /// Claims up to `limit` messages of `channels` (all when nil) that are due at `now` (or whose
    /// lease expired) for `owner` until `leaseUntil`, counting an attempt. In the same
    /// transaction, messages whose address was suppressed meanwhile are marked suppressed, and
    /// each other one is put to `decide`: a deferred message goes back to the queue until the
    /// moment it names, without counting an attempt.
    func claimMessages(
        now: Date, limit: Int, owner: String, leaseUntil: Date, channels: Set<OutgoingMessage.Channel>?,
        decide: @Sendable (ClaimCandidate) -> ClaimDecision
    ) async throws -> ClaimBatch

    /// Records the result of an attempt, only if `owner` still holds attempt `attempt`: a worker
    /// whose lease expired can no longer complete a message another worker took over.
    func finish(messageID: String, attempt: Int, owner: String, result: AttemptResult, now: Date) async throws -> Bool

    /// Records many attempts in one transaction (one fsync instead of one per message). A crash
    /// before it commits only means those messages are sent again, under the same ids.
    func finish(_ attempts: [FinishedAttempt], owner: String, now: Date) async throws -> [Bool]

    /// Gives claimed messages that were never attempted back to the queue (a worker stopping
    /// with some still waiting for a slot), as if never claimed, while `owner` still holds them.
    func release(_ messages: [(id: String, attempt: Int)], owner: String) async throws

    func messages(status: OutboxMessage.Status?, limit: Int) async throws -> [OutboxMessage]
    func message(id: String) async throws -> OutboxMessage?

    /// Puts dead letters back in the queue under their own ids; all of them when `ids` is nil.
    func retryDeadLetters(ids: [String]?, now: Date) async throws -> Int

    /// Outbox messages by status: the queue depth `/metrics` reports, cheap enough to scrape.
    func outboxCounts() async throws -> [String: Int]
}

/// Addresses that must never be sent to.
public protocol SuppressionList: Sendable {
    func suppress(address: String, channel: OutgoingMessage.Channel, reason: String, at: Date) async throws
    func suppressions(address: String) async throws -> [OutgoingMessage.Channel: String]
}

/// Secrets a deployment keeps in its database.
public protocol SecretStore: Sendable {
    /// A random 32-byte secret created on first use and kept in the database, so a default
    /// install signs its links with a key nobody else has.
    func secret(named name: String) async throws -> Data
}

/// What `leads top`, `leads show` and the reports read.
public protocol ReadQueries: Sendable {
    /// The best leads by their score at `now`, best first.
    func topLeads(_ ranking: LeadRanking, now: Date) async throws -> [RankedLead]

    /// A lead with its state at `now` and its latest events and messages, for `leads show`.
    func leadDetail(_ subject: IncomingEvent.Subject, now: Date, timelineLimit: Int) async throws -> LeadDetail?

    /// How many leads each scoring model version scored; "" counts leads never scored.
    func scoreVersions() async throws -> [String: Int]

    func counts() async throws -> StoreCounts
}

public enum UpsertOutcome: String, Sendable, Hashable {
    case imported, updated, unchanged
}

/// What an upsert did to one lead, and which lead it was.
public struct UpsertResult: Sendable, Hashable {
    public var outcome: UpsertOutcome
    public var leadID: String

    public init(_ outcome: UpsertOutcome, leadID: String) {
        self.outcome = outcome
        self.leadID = leadID
    }
}

/// An event arriving from outside: `nurture events track`, the API, an inbound webhook.
/// The database could not take the work now (another connection held its lock past the busy
/// timeout). Nothing was written; the same call can be made again later.
public struct StorageBusy: Error, Sendable, CustomStringConvertible {
    public let detail: String
    public init(_ detail: String) { self.detail = detail }
    public var description: String { "the database is busy (\(detail)); nothing was written, try again shortly" }
}

public struct IncomingEvent: Sendable, Hashable {
    public enum Subject: Sendable, Hashable {
        case id(String)
        case email(String)
        /// E.164; the earliest lead with that number (SMS replies carry only the number).
        case phone(String)
    }

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

extension IncomingEvent.Subject {
    /// The email address or phone number it names; nil for a lead id.
    public var address: String? {
        switch self {
        case .email(let email): email
        case .phone(let phone): phone
        case .id: nil
        }
    }
}

public enum IngestOutcome: Sendable, Hashable {
    case stored(leadID: String)
    /// Stored for a lead the event created.
    case created(leadID: String)
    case duplicate
    case unknownLead
}

/// A message about to be claimed, with what the last check before it leaves needs to know.
public struct ClaimCandidate: Sendable, Hashable {
    public var message: OutboxMessage
    /// The lead's time zone as it is now (it may have changed since the message was produced).
    public var timeZone: String
    /// The lead's other marketing messages on this channel that really left (at their send
    /// time) within the last 14 days, or are being sent right now (at `now`).
    public var sends: [SendRecord]

    public init(message: OutboxMessage, timeZone: String, sends: [SendRecord]) {
        self.message = message
        self.timeZone = timeZone
        self.sends = sends
    }
}

public struct ClaimBatch: Sendable {
    /// Claimed for sending.
    public var messages: [OutboxMessage]
    /// Due messages looked at, the suppressed and deferred included: fewer than the limit means
    /// nothing more was due.
    public var examined: Int

    public init(messages: [OutboxMessage], examined: Int) {
        self.messages = messages
        self.examined = examined
    }
}

public enum ClaimDecision: Sendable, Hashable {
    case send
    /// Not now: back to the queue until `until`, with `reason` as its last note.
    case deferred(until: Date, reason: String)
}

extension OutboxQueue {
    /// A claim with no checks beyond suppressions, for tests of the queue itself.
    public func claimMessages(now: Date, limit: Int, owner: String, leaseUntil: Date) async throws -> [OutboxMessage] {
        try await claimMessages(now: now, limit: limit, owner: owner, leaseUntil: leaseUntil, channels: nil) { _ in .send }.messages
    }
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

extension LeadStates {
    /// One event in its own transaction.
    public func ingest(_ event: IncomingEvent, now: Date, _ body: @Sendable (inout LeadWork, LeadEvent) -> Void) async throws -> IngestOutcome {
        try await ingest([event], now: now, created: { _ in }, body)[0]
    }

    /// Events for existing leads only.
    public func ingest(_ events: [IncomingEvent], now: Date, _ body: @Sendable (inout LeadWork, LeadEvent) -> Void) async throws -> [IngestOutcome] {
        try await ingest(events, now: now, created: { _ in }, body)
    }
}

/// What `leads top` asks for.
public struct LeadRanking: Sendable {
    /// A lead field, `tag`, or a declared attribute that must equal a value (case-insensitive).
    public struct Segment: Sendable, Hashable {
        public var name: String
        public var value: String

        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    public var limit: Int
    /// Only leads at this stage; nil means every prospect (all stages but customer).
    public var stage: Stage?
    public var segments: [Segment]
    /// Turns the stored parts into the score at any instant and bounds the unseen.
    public var calculator: ScoreCalculator

    public init(limit: Int, stage: Stage? = nil, segments: [Segment] = [], calculator: ScoreCalculator) {
        self.limit = limit
        self.stage = stage
        self.segments = segments
        self.calculator = calculator
    }
}

public struct RankedLead: Sendable {
    public var lead: Lead
    /// The score at the ranking's instant.
    public var score: Double
    public var scoring: ScoreSnapshot
    /// The lead's recent history (the same window a unit of work loads), to explain its score.
    public var events: [LeadEvent]

    public init(lead: Lead, score: Double, scoring: ScoreSnapshot, events: [LeadEvent] = []) {
        self.lead = lead
        self.score = score
        self.scoring = scoring
        self.events = events
    }
}

public struct LeadDetail: Sendable {
    /// The lead's state as a unit of work would see it (recent history, enrollments, score parts).
    public var work: LeadWork
    /// The latest events, newest first, whatever their age.
    public var timeline: [LeadEvent]
    /// The latest messages to and about the lead, newest first.
    public var messages: [OutboxMessage]

    public init(work: LeadWork, timeline: [LeadEvent], messages: [OutboxMessage]) {
        self.work = work
        self.timeline = timeline
        self.messages = messages
    }
}
