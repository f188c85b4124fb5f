/// Where a lead stands in the funnel, in order.
public enum Stage: Int, Sendable, Hashable, Codable, CaseIterable, Comparable, CustomStringConvertible {
    case subscriber = 0, lead, mql, sql, opportunity, customer

    public static func < (lhs: Stage, rhs: Stage) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String { name }

    /// The short name used in files, flags and templates: `subscriber`, `lead`, `mql`, …
    public var name: String {
        switch self {
        case .subscriber: "subscriber"
        case .lead: "lead"
        case .mql: "mql"
        case .sql: "sql"
        case .opportunity: "opportunity"
        case .customer: "customer"
        }
    }

    public init?(name: String) {
        guard let stage = Stage.allCases.first(where: { $0.name == name.lowercased() }) else { return nil }
        self = stage
    }
}
