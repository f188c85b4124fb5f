public import Foundation

/// A place in the walk of leads by last activity: the last lead looked at.
public struct QuietCursor: Sendable, Hashable, Codable {
    public var lastActivity: Date
    public var leadID: String

    public init(lastActivity: Date, leadID: String) {
        self.lastActivity = lastActivity
        self.leadID = leadID
    }
}

/// What the engine needs to enter leads that went quiet (`Entry(whenInactiveFor:)`): the leads
/// by last activity, and a setting to keep its place in that walk.
public protocol QuietLeads: Sendable {
    /// Leads whose last activity is at or before `cutoff`, after `cursor` in (last activity, id)
    /// order, oldest first.
    func quietLeads(before cutoff: Date, after cursor: QuietCursor?, limit: Int) async throws -> [QuietCursor]
    func setting(named key: String) async throws -> Data?
    func setSetting(named key: String, to value: Data) async throws
}
