public import Foundation

/// The parts a lead's score was last computed from, stored on the lead: fixed points, behaviour
/// gains and losses valued at `scoredAt`, and the last activity. From them the score at any later
/// instant follows without the history and without rewriting every lead every night.
public struct ScoreSnapshot: Sendable, Hashable {
    /// Profile and source points: they hold while true and do not decay.
    public var fixedPoints: Double = 0
    /// Positive behaviour points, decayed to `scoredAt`.
    public var gains: Double = 0
    /// Negative behaviour points, decayed to `scoredAt`.
    public var losses: Double = 0
    public var scoredAt: Date?
    public var lastActivityAt: Date?
    /// The model that computed it; nil for a lead never scored.
    public var modelVersion: String?
    public var thresholds = ThresholdState()
    /// ``ScoreCalculator/gainsRank(_:)``, stored so rankings can use an index.
    public var gainsRank: Double?

    public init() {}
}

/// Which thresholds are armed for a lead. Stored with the lead; a threshold fires once per
/// upward crossing and re-arms only when the score falls below its re-arm line.
public struct ThresholdState: Sendable, Hashable, Codable {
    /// Thresholds (by their points) that have fired and not yet re-armed.
    public var fired: Set<Double> = []

    public init(fired: Set<Double> = []) {
        self.fired = fired
    }
}
