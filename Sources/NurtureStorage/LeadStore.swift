public import Foundation
public import NurtureDSL

/// What the engine needs from a database, split by role so each part of the engine asks for
/// only what it uses (the dispatcher needs the outbox queue, nothing else). The storage knows
/// records, not rules: every decision (who enters what, which event is a duplicate, what a send
/// records, how leads rank) is the engine's, made with no transaction open; the storage reads
/// snapshots and commits changes only if nothing changed them meanwhile. One conformance suite
/// (`StorageConformance` in NurtureTesting) runs against every backend so they behave the same.
public protocol LeadStore: LeadStates, DueWork, OutboxQueue, SuppressionList, SettingStore, ReadQueries, CampaignCounters, CampaignControlStore, PlaybookDeployments, QuietLeads, PrivacyRequests {}

/// Leads and their state: read as snapshots, changed by commits checked against the version read.
public protocol LeadStates: Sendable {
    /// What a unit of work reads about each lead found by `keys` (unknown keys are absent): the
    /// lead and its version, its events and sends since the window's start, every enrollment, and
    /// the suppressions of its addresses. Reads only; no lock is held afterwards.
    func snapshots(_ keys: [LeadKey], window: HistoryWindow) async throws -> [LeadKey: LeadSnapshot]

    /// Writes each change in one transaction, each standing alone: a change whose lead is no
    /// longer at the version it was read at (or whose lease was lost, or whose new lead's email
    /// was taken meanwhile) is skipped as `.conflict`, and one holding an event id already stored
    /// is skipped as `.duplicateEvent`. `rotationAdvance` moves the sales round-robin by that
    /// many turns in the same transaction.
    func commit(_ changes: [LeadChange], rotationAdvance: Int, now: Date) async throws -> [CommitOutcome]

    /// Where the sales round-robin stands.
    func rotationPosition() async throws -> Int

    /// Which of these event ids are already stored.
    func storedEventIDs(_ ids: [String]) async throws -> Set<String>

    func lead(id: String) async throws -> Lead?
    func lead(email: String) async throws -> Lead?

    /// Lead ids in id order after `after`, of those `filter` keeps (every lead when nil), for
    /// passes over everyone (`scores recompute`) or a segment (`leads enroll`).
    func leadIDs(matching filter: RankingFilter?, after: String?, limit: Int) async throws -> [String]
}

extension LeadStates {
    public func leadIDs(after: String?, limit: Int) async throws -> [String] {
        try await leadIDs(matching: nil, after: after, limit: limit)
    }
}

extension DueWork {
    public func claimDueLeads(now: Date, limit: Int, owner: String, leaseUntil: Date) async throws -> [LeadLease] {
        try await claimDueLeads(now: now, limit: limit, owner: owner, leaseUntil: leaseUntil, excluding: [])
    }
}

/// Which leads have a step due, handed out under leases so workers never share one.
public protocol DueWork: WorkSignal {
    /// Leases up to `limit` leads with an enrollment due at `now` (soonest first) whose lease is
    /// free, expired, or `owner`'s own (a round that failed takes its leads again at once), to
    /// `owner` until `leaseUntil`. Each lease carries a fencing token: a commit under an older
    /// token, or after the lease expired, is refused. Leads in `excluding` are passed over: the
    /// owner is still working on them (a batch being committed while the next one is computed).
    func claimDueLeads(now: Date, limit: Int, owner: String, leaseUntil: Date, excluding: Set<String>) async throws -> [LeadLease]

    /// Ids of leads with an enrollment due at `now`, soonest first, leased or not (reports, tests).
    func dueLeadIDs(at now: Date, limit: Int) async throws -> [String]
}

/// How an idle worker waits for work another process creates.
public protocol WorkSignal: Sendable {
    /// Returns when another process may have created due work or messages, or after `timeout`.
    /// A backend that can be told (PostgreSQL's LISTEN/NOTIFY) returns as soon as it is; the
    /// default simply waits, and polling finds the work.
    func waitForWork(timeout: Duration) async
}

extension WorkSignal {
    public func waitForWork(timeout: Duration) async {
        try? await Task.sleep(for: timeout)
    }
}

/// The outbox: messages claimed under a lease, their attempts recorded, dead letters revived.
public protocol OutboxQueue: WorkSignal {
    /// Claims up to `limit` messages of `channels` (all when nil) that are due at `now` (or whose
    /// lease expired) for `owner` until `leaseUntil`, counting an attempt. In the same
    /// transaction each one is put to `decide` with what the last check needs (the lead's time
    /// zone, the suppression of its address, its sends since `sendsSince`): a deferred message
    /// goes back to the queue until the moment it names without counting an attempt, a
    /// suppressed one is closed as suppressed.
    func claimMessages(
        now: Date, limit: Int, owner: String, leaseUntil: Date, channels: Set<MessageChannel>?, sendsSince: Date,
        decide: @Sendable (ClaimCandidate) -> ClaimDecision
    ) async throws -> ClaimBatch

    /// Records the results of attempts in one transaction (one fsync instead of one per message),
    /// each only if `owner` still holds that attempt: a worker whose lease expired can no longer
    /// complete a message another worker took over. A recorded attempt's `historyEvent` joins its
    /// lead's events in the same transaction. A crash before it commits only means those messages
    /// are sent again, under the same ids.
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

    /// When the longest-waiting message due by `now` became due (nil when none is waiting): one
    /// index lookup, which the worker reads to hold scheduling back while sending lags.
    func oldestDueMessage(at now: Date) async throws -> Date?
}

/// Addresses that must never be sent to.
public protocol SuppressionList: Sendable {
    /// Adds a suppression to the address's on the channel (a wider scope replaces a narrower one).
    func suppress(address: String, channel: MessageChannel, _ suppression: Suppression, at: Date) async throws
    func suppressions(address: String) async throws -> [MessageChannel: Suppression]
    /// Every suppression, by address then channel, `limit` after `after` (an address and channel).
    func suppressionPage(after: SuppressionRecord?, limit: Int) async throws -> [SuppressionRecord]
    /// Lifts the address's suppression on the channel; false when there was none.
    func liftSuppression(address: String, channel: MessageChannel) async throws -> Bool
}

/// Secrets and settings a deployment keeps in its database (copied by `nurture migrate`).
public protocol SettingStore: Sendable {
    /// A random 32-byte secret created on first use and kept in the database, so a default
    /// install signs its links with a key nobody else has.
    func secret(named name: String) async throws -> Data
    func setting(named key: String) async throws -> Data?
    func setSetting(named key: String, to value: Data) async throws
}

/// What `leads top`, `leads show` and the reports read.
public protocol ReadQueries: Sendable {
    /// Leads matching `filter`, best first by one stored score part (ties by id), after `cursor`:
    /// an index walk that reads only what it returns, for the engine's ranking.
    func rankingPage(by order: RankingOrder, filter: RankingFilter, after cursor: RankingCursor?, limit: Int) async throws -> [RankingRow]

    /// The latest events of a lead, newest first, whatever their age.
    func latestEvents(leadID: String, limit: Int) async throws -> [LeadEvent]

    /// The latest messages to and about a lead, newest first.
    func latestMessages(leadID: String, limit: Int) async throws -> [OutboxMessage]

    /// How many leads each scoring model version scored; "" counts leads never scored.
    func scoreVersions() async throws -> [String: Int]

    /// How many leads' time zones came from each source.
    func timeZoneSources() async throws -> [TimeZoneSource: Int]

    func counts() async throws -> StoreCounts
}

/// How a lead is found: by id, email (case-insensitive) or phone.
public enum LeadKey: Sendable, Hashable {
    case id(String)
    case email(String)
    /// E.164; the earliest lead with that number (SMS replies carry only the number).
    case phone(String)
}

extension LeadKey {
    /// Keys by kind, as a store reads them (one query per kind): emails lowercased, since they
    /// compare case-insensitively. Refuses any key holding NUL, which no backend can store.
    public static func byKind(_ keys: [LeadKey]) throws -> (ids: [String], emails: [String], phones: [String]) {
        var ids: [String] = [], emails: [String] = [], phones: [String] = []
        for key in keys {
            switch key {
            case .id(let id): ids.append(id)
            case .email(let email): emails.append(email.lowercased())
            case .phone(let phone): phones.append(phone)
            }
        }
        try TextWithNUL.refuse((ids + emails + phones).map { ("lead", $0) })
        return (ids, emails, phones)
    }

    /// The email address or phone number it names; nil for a lead id.
    public var address: String? {
        switch self {
        case .email(let email): email
        case .phone(let phone): phone
        case .id: nil
        }
    }
}

/// How far back a snapshot reads a lead's history.
public struct HistoryWindow: Sendable, Hashable {
    public var eventsSince: Date
    public var sendsSince: Date

    public init(eventsSince: Date, sendsSince: Date) {
        self.eventsSince = eventsSince
        self.sendsSince = sendsSince
    }
}

/// A lead as a unit of work reads it.
public struct LeadSnapshot: Sendable {
    public var lead: Lead
    public var scoring: ScoreSnapshot
    /// Moves on every commit that touches the lead; a change commits only at the version it read.
    public var version: Int
    /// Who holds the lead's due-work lease, until when, under which token (the last one handed
    /// out, which stays after the lease is freed).
    public var leaseOwner: String?
    public var leaseUntil: Date?
    public var leaseToken: Int
    /// Events since the window's start, in time order.
    public var events: [LeadEvent]
    /// Messages produced since the window's start (system messages excluded).
    public var sends: [SendRecord]
    /// Every enrollment, ended ones too, in enrollment order.
    public var enrollments: [Enrollment]
    /// Suppressions of the lead's email and phone.
    public var suppressions: [MessageChannel: Suppression]

    public init(
        lead: Lead, scoring: ScoreSnapshot = ScoreSnapshot(), version: Int = 0, leaseOwner: String? = nil, leaseUntil: Date? = nil,
        leaseToken: Int = 0, events: [LeadEvent] = [], sends: [SendRecord] = [], enrollments: [Enrollment] = [],
        suppressions: [MessageChannel: Suppression] = [:]
    ) {
        self.lead = lead
        self.scoring = scoring
        self.version = version
        self.leaseOwner = leaseOwner
        self.leaseUntil = leaseUntil
        self.leaseToken = leaseToken
        self.events = events
        self.sends = sends
        self.enrollments = enrollments
        self.suppressions = suppressions
    }
}

/// A lead handed to one worker: its id and the fencing token of this lease.
public struct LeadLease: Sendable, Hashable {
    public var leadID: String
    public var token: Int

    public init(leadID: String, token: Int) {
        self.leadID = leadID
        self.token = token
    }
}

/// What one unit of work writes about one lead.
public struct LeadChange: Sendable {
    public enum Base: Sendable, Hashable {
        /// A lead that did not exist: inserted, unless its email was taken meanwhile.
        case new
        /// Committed only if the lead is still at this version.
        case version(Int)
        /// Due work: committed only at this version while `owner` still holds the lease with
        /// this token, unexpired; the lease is freed by the commit.
        case leased(version: Int, token: Int, owner: String)
    }

    public var base: Base
    /// The lead as the work left it, with its score parts.
    public var lead: Lead
    public var scoring: ScoreSnapshot
    /// Whether the lead's row must be written (always, for a new lead).
    public var leadChanged: Bool
    /// Enrollments that are new or changed.
    public var enrollments: [Enrollment]
    /// Events to add to the lead's history, in order; those with an id are stored once.
    public var events: [NewEvent]
    /// Messages to write to the outbox; a message id already there is left as it is.
    public var messages: [OutboxMessage]
    public var suppressions: [SuppressionChange]
    /// What providers reported about sent messages: message id → delivered, bounced, …
    public var deliveries: [String: String]
    /// Conversions credited to campaign messages, counted with the change.
    public var conversions: [ConversionRecord]
    /// Facts about steps without a message of their own (skips, cap holds, unsubscribes), counted with the change.
    public var stepFacts: [StepFact]

    public init(
        base: Base, lead: Lead, scoring: ScoreSnapshot, leadChanged: Bool, enrollments: [Enrollment] = [], events: [NewEvent] = [],
        messages: [OutboxMessage] = [], suppressions: [SuppressionChange] = [], deliveries: [String: String] = [:],
        conversions: [ConversionRecord] = [], stepFacts: [StepFact] = []
    ) {
        self.conversions = conversions
        self.stepFacts = stepFacts
        self.base = base
        self.lead = lead
        self.scoring = scoring
        self.leadChanged = leadChanged
        self.enrollments = enrollments
        self.events = events
        self.messages = messages
        self.suppressions = suppressions
        self.deliveries = deliveries
    }
}

public struct NewEvent: Sendable, Hashable {
    public var event: LeadEvent
    /// The sender's id for de-duplication: an event with an id already stored is refused.
    public var clientID: String?

    public init(_ event: LeadEvent, clientID: String? = nil) {
        self.event = event
        self.clientID = clientID
    }
}

/// What an address's suppression on one channel stops, and why. One row per address and channel:
/// a wider scope replaces a narrower one, and opt-outs by kind gather in one set.
public struct Suppression: Sendable, Hashable, CustomStringConvertible {
    public enum Scope: Sendable, Hashable {
        /// Everything, receipts and invoices too: a hard bounce, a complaint, an erasure, an SMS STOP.
        case all
        /// Marketing: what an unsubscribe does; transactional campaigns still reach the address.
        case marketing
        /// Campaigns of these kinds only (`nurture`, `engagement`…): opt-outs from the preferences page.
        case kinds(Set<String>)

        /// As the store keeps it: `all`, `marketing` or `kinds:engagement,nurture`.
        public var stored: String {
            switch self {
            case .all: "all"
            case .marketing: "marketing"
            case .kinds(let kinds): "kinds:" + kinds.sorted().joined(separator: ",")
            }
        }

        public init(stored: String) {
            switch stored {
            case "marketing": self = .marketing
            case let text where text.hasPrefix("kinds:"):
                self = .kinds(Set(text.dropFirst("kinds:".count).split(separator: ",").map(String.init)))
            default: self = .all
            }
        }

        /// Whether it stops at least everything `other` stops.
        public func reaches(_ other: Scope) -> Bool {
            switch (self, other) {
            case (.kinds(let mine), .kinds(let theirs)): theirs.isSubset(of: mine)
            default: rank >= other.rank
            }
        }

        /// How wide it reaches: all, then marketing, then kinds.
        var rank: Int {
            switch self {
            case .all: 2
            case .marketing: 1
            case .kinds: 0
            }
        }
    }

    public var scope: Scope
    public var reason: String

    public init(_ scope: Scope, reason: String) {
        self.scope = scope
        self.reason = reason
    }

    /// Whether a message of a campaign of this kind may not go.
    public func stops(kind: String?, transactional: Bool) -> Bool {
        switch scope {
        case .all: true
        case .marketing: !transactional
        case .kinds(let kinds): !transactional && kind.map(kinds.contains) == true
        }
    }

    /// The person's own choices: reasons only their own START or resubscribe may lift (a hard
    /// bounce, a complaint or an erasure never).
    public static let liftable: Set<String> = ["SMS STOP", "unsubscribed", "opted out"]

    /// Whether it stops every marketing message (an unsubscribe, a sunset, or more).
    public var stopsMarketing: Bool { scope.rank >= 1 }

    /// The suppression after `new` arrives over this one: a wider scope wins, an equal one takes
    /// the newer reason, kinds gather.
    public func adding(_ new: Suppression) -> Suppression {
        switch (scope, new.scope) {
        case (.kinds(let old), .kinds(let more)): Suppression(.kinds(old.union(more)), reason: new.reason)
        // A bounce, a complaint or one added by hand is not replaced by a STOP that START could lift.
        case (.all, .all) where !Self.liftable.contains(reason) && Self.liftable.contains(new.reason): self
        case _ where new.scope.rank >= scope.rank: new
        default: self
        }
    }

    /// The migration that gave suppressions their scope, the same SQL on both backends. A sunset's
    /// marketing-only suppression had been a reason with a prefix; an email unsubscribe now stops
    /// marketing only, as the preferences page offers, so receipts and invoices still reach the address.
    public static let scopeMigration = """
        ALTER TABLE suppression ADD COLUMN scope TEXT NOT NULL DEFAULT 'all';
        UPDATE suppression SET scope = 'marketing', reason = substr(reason, 17) WHERE reason LIKE 'marketing only: %';
        UPDATE suppression SET scope = 'marketing' WHERE channel = 'email' AND reason = 'unsubscribed';
        """

    public var description: String {
        switch scope {
        case .all: reason
        case .marketing: "\(reason), marketing only"
        case .kinds(let kinds): "\(reason): \(kinds.sorted().joined(separator: ", ")) only"
        }
    }
}

/// A row of the suppression list.
public struct SuppressionRecord: Sendable, Hashable {
    public var address: String
    public var channel: MessageChannel
    public var suppression: Suppression
    public var at: Date

    public init(address: String, channel: MessageChannel, suppression: Suppression, at: Date) {
        self.address = address
        self.channel = channel
        self.suppression = suppression
        self.at = at
    }
}

/// An address suppressed on a channel (`suppression`), or lifted (nil).
public struct SuppressionChange: Sendable, Hashable {
    public var address: String
    public var channel: MessageChannel
    public var suppression: Suppression?

    public init(address: String, channel: MessageChannel, suppression: Suppression?) {
        self.address = address
        self.channel = channel
        self.suppression = suppression
    }
}

public enum CommitOutcome: Sendable, Hashable {
    case committed
    /// The lead changed since it was read (or the lease was lost, or a new lead's email was
    /// taken): nothing of this change was written; read it again and redo the work.
    case conflict
    /// The change held an event whose id was already stored: nothing of it was written.
    case duplicateEvent(clientID: String)
}

/// The database could not take the work now (another connection held its lock past the busy
/// timeout). Nothing was written; the same call can be made again later.
public struct StorageBusy: Error, Sendable, CustomStringConvertible {
    public let detail: String
    public init(_ detail: String) { self.detail = detail }
    public var description: String { "the database is busy (\(detail)); nothing was written, try again shortly" }
}

/// A string holding NUL, which neither SQLite through GRDB (C strings: `a\u{0}b` would be stored
/// as `a`) nor PostgreSQL can store intact. The boundary refuses such input with a per-field
/// message; the backends refuse, never truncate, whatever slips past it.
public struct TextWithNUL: Error, CustomStringConvertible {
    public let field: String
    public init(field: String) { self.field = field }
    public var description: String { "\(field) contains U+0000 (NUL), which the database cannot store intact; nothing was written" }

    public static func refuse(_ fields: [(String, String?)]) throws {
        for (field, text) in fields {
            if let text, text.utf8.contains(0) { throw TextWithNUL(field: field) }
        }
    }
}

/// A message about to be claimed, with what the last check before it leaves needs to know.
public struct ClaimCandidate: Sendable, Hashable {
    public var message: OutboxMessage
    /// The lead's time zone as it is now (it may have changed since the message was produced).
    public var timeZone: String
    /// The message's address's suppression on its channel, if it has one.
    public var suppression: Suppression?
    /// The lead's other marketing messages on this channel that really left (at their send
    /// time) since the claim's `sendsSince`, or are being sent right now (at `now`). Empty for
    /// transactional and system messages, which caps do not count.
    public var sends: [SendRecord]

    public init(message: OutboxMessage, timeZone: String, suppression: Suppression? = nil, sends: [SendRecord]) {
        self.message = message
        self.timeZone = timeZone
        self.suppression = suppression
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
    /// Never: closed as suppressed, with `reason` as its last note.
    case suppressed(reason: String)
}

extension OutboxQueue {
    /// A claim that sends whatever is not suppressed, for tests of the queue itself.
    public func claimMessages(now: Date, limit: Int, owner: String, leaseUntil: Date) async throws -> [OutboxMessage] {
        try await claimMessages(now: now, limit: limit, owner: owner, leaseUntil: leaseUntil, channels: nil, sendsSince: now) { candidate in
            candidate.suppression.map { .suppressed(reason: "suppressed: \($0.reason)") } ?? .send
        }.messages
    }

    public func finish(messageID: String, attempt: Int, owner: String, result: AttemptResult, now: Date) async throws -> Bool {
        try await finish([FinishedAttempt(messageID: messageID, attempt: attempt, result: result)], owner: owner, now: now)[0]
    }
}

public struct FinishedAttempt: Sendable, Hashable {
    public var messageID: String
    public var attempt: Int
    public var result: AttemptResult
    /// Joins the lead's history when the result is recorded (e.g. `email.sent`).
    public var historyEvent: LeadHistoryEntry?

    public init(messageID: String, attempt: Int, result: AttemptResult, historyEvent: LeadHistoryEntry? = nil) {
        self.messageID = messageID
        self.attempt = attempt
        self.result = result
        self.historyEvent = historyEvent
    }
}

/// An event of a lead's, written outside a unit of work.
public struct LeadHistoryEntry: Sendable, Hashable {
    public var leadID: String
    public var event: LeadEvent

    public init(leadID: String, event: LeadEvent) {
        self.leadID = leadID
        self.event = event
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

/// The two stored score parts a ranking walks down.
public enum RankingOrder: Sendable, Hashable {
    /// Profile and source points, which do not decay.
    case fixedPoints
    /// Behaviour gains, through the rank that orders them at any common instant.
    case gainsRank
}

/// Which leads a ranking considers.
public struct RankingFilter: Sendable, Hashable {
    /// A lead field, `tag`, or a declared attribute that must equal a value (case-insensitive).
    public struct Segment: Sendable, Hashable {
        public var name: String
        public var value: String

        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    public var stages: Set<Stage>
    public var segments: [Segment]

    public init(stages: Set<Stage>, segments: [Segment] = []) {
        self.stages = stages
        self.segments = segments
    }
}

/// Where a ranking page ended: the last row's value of the order's part, and its id.
public struct RankingCursor: Sendable, Hashable {
    public var value: Double
    public var id: String

    public init(value: Double, id: String) {
        self.value = value
        self.id = id
    }
}

public struct RankingRow: Sendable, Hashable {
    public var id: String
    public var scoring: ScoreSnapshot

    public init(id: String, scoring: ScoreSnapshot) {
        self.id = id
        self.scoring = scoring
    }
}

/// A segment that names neither a lead field, `tag`, nor a declared attribute.
public struct UnknownSegment: Error, CustomStringConvertible {
    public let name: String
    public init(name: String) { self.name = name }
    public var description: String { "cannot filter on '\(name)': use a lead field, tag, or a declared attribute name" }
}
