public import Foundation

/// A person's requests about their data: everything held exported, or all of it erased. An
/// erasure deletes the lead and, with it, every row that names it (events, enrollments, messages
/// and their content, conversions, step facts); the campaigns' counters keep their totals, which
/// name nobody. The addresses stay suppressed only as keyed hashes, and the request is audited
/// without personal data.
public protocol PrivacyRequests: Sendable {
    /// Deletes the lead and every row that names it; replaces the suppressions of its addresses
    /// with `suppressing` (their keyed hashes); records `audit` with what was erased. Nil when
    /// there is no such lead. Afterwards no file of the database holds the deleted values
    /// (the embedded store overwrites them, then empties its write-ahead log).
    func forget(leadID: String, suppressing: [SuppressionChange], audit: PrivacyAudit) async throws -> ErasureCounts?

    /// Which of these addresses (hashed forms included) have a suppression on any channel.
    func suppressedAddresses(among addresses: [String]) async throws -> Set<String>

    /// Records an export (who asked for whose data, when).
    func recordPrivacyRequest(_ audit: PrivacyAudit) async throws

    /// The latest requests, newest first.
    func privacyRequests(limit: Int) async throws -> [PrivacyAudit]
}

/// What an erasure removed, by kind of row.
public struct ErasureCounts: Sendable, Hashable, Codable {
    public var events = 0
    public var enrollments = 0
    public var messages = 0
    public var conversions = 0
    public var suppressions = 0

    public init() {}
}

/// One line of the privacy audit: what was done, to which lead id (a random id, which names
/// nobody once the lead is gone), by whom, when, and how many rows; never an address or a name.
public struct PrivacyAudit: Sendable, Hashable {
    public enum Action: String, Sendable, Hashable, Codable {
        case export, forget
    }

    public var action: Action
    public var leadID: String
    /// Who asked, as the command or the API key's holder names them.
    public var actor: String
    public var at: Date
    public var counts: ErasureCounts?

    public init(action: Action, leadID: String, actor: String, at: Date, counts: ErasureCounts? = nil) {
        self.action = action
        self.leadID = leadID
        self.actor = actor
        self.at = at
        self.counts = counts
    }
}
