public import Foundation
public import NurtureDSL

/// A score and the contributions it is the sum of, so every number can explain itself.
public struct ScoreCard: Sendable, Hashable {
    public struct Contribution: Sendable, Hashable {
        public var label: String
        /// Points when earned.
        public var points: Double
        /// Points now, after decay.
        public var value: Double
        /// When it was earned (nil for profile and source points, which hold while true).
        public var at: Date?
    }

    public var total: Double
    public var contributions: [Contribution]
    public var modelVersion: String

    /// Contributions by rule, largest effect first: what `leads show` and alerts print.
    public var reasons: [(label: String, value: Double)] {
        var byLabel: [String: Double] = [:], order: [String] = []
        for contribution in contributions {
            if byLabel[contribution.label] == nil { order.append(contribution.label) }
            byLabel[contribution.label, default: 0] += contribution.value
        }
        return order.map { ($0, byLabel[$0]!) }.sorted { abs($0.1) > abs($1.1) }
    }
}

/// Computes a lead's score from its profile and event history under a scoring model. Pure, so
/// the same function scores incrementally, recomputes everyone, and explains any lead.
public struct ScoreCalculator: Sendable {
    public let model: ScoringModel

    public init(model: ScoringModel) {
        self.model = model
    }

    /// Events Nurture records about its own sending; they show no interest by the lead.
    static let systemEvents: Set<String> = ["email.sent", "sms.sent", "lead.created", "sales.notified"]

    public func score(_ lead: Lead, events: [LeadEvent], now: Date) -> ScoreCard {
        var contributions: [ScoreCard.Contribution] = []
        let ordered = events.filter { $0.at <= now }.sorted { $0.at < $1.at }
        let state = LeadState(lead: lead, events: ordered)
        for rule in model.rules {
            switch rule.kind {
            case .behaviour(let matcher, let cap, let per):
                var counted: [(at: Date, points: Double)] = []
                for event in ordered where matcher.matches(type: event.type, properties: event.properties) {
                    var points = Double(rule.points)
                    if let cap {
                        // The cap bounds the total in either direction, within the period or ever.
                        let windowStart = per.map { event.at.addingTimeInterval(-Double($0.approximateSeconds)) }
                        let already = counted.filter { earned in windowStart.map { earned.at > $0 } ?? true }.map(\.points).reduce(0, +)
                        let room = Double(cap) - abs(already)
                        guard room > 0 else { continue }
                        points = points >= 0 ? min(points, room) : max(points, -room)
                    }
                    counted.append((event.at, points))
                    contributions.append(.init(label: rule.label, points: points, value: points * decay(since: event.at, now: now), at: event.at))
                }
            case .profile(let condition):
                if ConditionEvaluator(state: state, campaignID: "", now: now).holds(condition) {
                    contributions.append(.init(label: rule.label, points: Double(rule.points), value: Double(rule.points), at: nil))
                }
            case .source(let source):
                if let leadSource = lead.source, Self.normalised(leadSource) == Self.normalised(source) {
                    contributions.append(.init(label: rule.label, points: Double(rule.points), value: Double(rule.points), at: nil))
                }
            case .inactivity(let span):
                let last = ordered.last { !Self.systemEvents.contains($0.type) }?.at ?? ordered.first?.at
                if let last, now.timeIntervalSince(last) >= Double(span.approximateSeconds) {
                    contributions.append(.init(label: rule.label, points: Double(rule.points), value: Double(rule.points), at: nil))
                }
            }
        }
        let total = contributions.map(\.value).reduce(0, +)
        return ScoreCard(total: total, contributions: contributions, modelVersion: model.version)
    }

    /// The share of a behaviour's points left after `now - since` with the model's half-life.
    public func decay(since: Date, now: Date) -> Double {
        guard let halfLife = model.behaviourHalfLife, !halfLife.isZero else { return 1 }
        let age = max(0, now.timeIntervalSince(since))
        return pow(0.5, age / Double(halfLife.approximateSeconds))
    }

    /// `Trade Show`, `trade_show` and `trade-show` are one source.
    static func normalised(_ source: String) -> String {
        String(source.lowercased().map { $0 == "_" || $0 == "-" ? " " : $0 }).trimmingCharacters(in: .whitespaces)
    }
}

/// Which thresholds are armed for a lead. Stored with the lead; a threshold fires once per
/// upward crossing and re-arms only when the score falls below its re-arm line.
public struct ThresholdState: Sendable, Hashable, Codable {
    /// Thresholds (by their points) that have fired and not yet re-armed.
    public var fired: Set<Double> = []

    public init(fired: Set<Double> = []) {
        self.fired = fired
    }

    /// Updates the state for a new score and returns the thresholds that fire now, lowest first.
    public mutating func update(score: Double, thresholds: [Threshold]) -> [Threshold] {
        var firing: [Threshold] = []
        for threshold in thresholds.sorted(by: { $0.points < $1.points }) {
            if fired.contains(threshold.points) {
                if score < threshold.rearmBelow { fired.remove(threshold.points) }
            } else if score >= threshold.points {
                fired.insert(threshold.points)
                firing.append(threshold)
            }
        }
        return firing
    }
}
