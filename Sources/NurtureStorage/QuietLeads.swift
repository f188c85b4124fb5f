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
/// by last activity (it keeps its place in that walk as a setting).
public protocol QuietLeads: Sendable {
    /// Leads whose last activity is at or before `cutoff`, after `cursor` in (last activity, id)
    /// order, oldest first.
    func quietLeads(before cutoff: Date, after cursor: QuietCursor?, limit: Int) async throws -> [QuietCursor]
}

extension QuietCursor {
    /// Before every lead: where a walk with no place kept starts.
    public static let start = QuietCursor(lastActivity: .distantPast, leadID: "")
}
