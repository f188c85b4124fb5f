public import Foundation
import NurtureDSL

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

    /// The column both stores keep it in: the fired points as a sorted JSON array ("[60,80]").
    public var stored: String {
        fired.isEmpty ? "[]" : "[" + fired.sorted().map { Value.number($0).textValue }.joined(separator: ",") + "]"
    }

    /// Read back from ``stored`` without a JSON decoder (a ranking walk reads thousands); text
    /// in any other shape is decoded as JSON, and what is not JSON counts as nothing fired.
    public init(stored text: String) {
        guard text != "[]" else { return }
        let bytes = text.utf8
        if bytes.first == UInt8(ascii: "["), bytes.last == UInt8(ascii: "]") {
            var points: Set<Double> = []
            for item in bytes.dropFirst().dropLast().split(separator: UInt8(ascii: ",")) {
                guard let number = Double(String(decoding: item, as: UTF8.self)) else { points = []; break }
                points.insert(number)
            }
            if !points.isEmpty { fired = points; return }
        }
        fired = Set((try? JSONDecoder().decode([Double].self, from: Data(text.utf8))) ?? [])
    }
}
