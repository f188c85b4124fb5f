public import Foundation
public import NurtureDSL
public import NurtureStorage

/// Scores as people read them: one decimal, `+` on gains. Alerts, timelines and the CLI agree.
public enum ScoreText {
    public static func rounded(_ value: Double) -> Double { (value * 10).rounded() / 10 }
    public static func points(_ value: Double) -> String { Value.number(rounded(value)).textValue }
    public static func signed(_ value: Double) -> String { (value >= 0 ? "+" : "") + points(value) }
}

/// A score and the contributions it is the sum of, so every number can explain itself.
public struct ScoreCard: Sendable, Hashable {
    public struct Contribution: Sendable, Hashable {
        public enum Kind: Sendable, Hashable {
            /// Earned by an event (or a campaign's AdjustScore); fades with the half-life.
            case behaviour
            /// Holds while the profile or source matches; does not fade.
            case profile
            /// Applies while the lead has been silent long enough.
            case inactivity
        }

        public var kind: Kind
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
    /// The lead's last activity of its own (not Nurture's sends), which inactivity rules measure from.
    public var lastActivityAt: Date?

    /// Contributions by rule, largest effect first: what `leads show` and alerts print.
    public var reasons: [(label: String, value: Double)] {
        var byLabel: [String: Double] = [:], order: [String] = []
        for contribution in contributions {
            if byLabel[contribution.label] == nil { order.append(contribution.label) }
            byLabel[contribution.label, default: 0] += contribution.value
        }
        // Equal effects keep the model's order, so the same lead always reads the same.
        return order.enumerated().sorted { a, b in
            let (x, y) = (abs(byLabel[a.element]!), abs(byLabel[b.element]!))
            return x != y ? x > y : a.offset < b.offset
        }.map { ($0.element, byLabel[$0.element]!) }
    }
}

/// Computes a lead's score from its profile and event history under a scoring model. Pure, so
/// the same function scores incrementally, recomputes everyone, and explains any lead.
public struct ScoreCalculator: Sendable {
    public let model: ScoringModel
    /// Each source rule's source, normalised once rather than for every lead scored.
    private let sourceKeys: [String?]
    /// The inactivity rules as (seconds, points): `current` runs for every lead a ranking reads.
    private let inactivity: [(after: Double, points: Double)]

    public init(model: ScoringModel) {
        self.model = model
        sourceKeys = model.rules.map { rule in
            if case .source(let source) = rule.kind { return Self.normalised(source) }
            return nil
        }
        inactivity = model.rules.compactMap { rule in
            if case .inactivity(let span) = rule.kind { return (Double(span.approximateSeconds), Double(rule.points)) }
            return nil
        }
    }

    /// Events Nurture or sales record about a lead; they show no interest by the lead.
    /// Events that are not the lead doing something: what Nurture sent or decided, and what
    /// providers report about delivery. Inactivity is measured without them.
    public static let systemEvents: Set<String> = [
        "email.sent", "sms.sent", "lead.created", "sales.notified", ScoreCalculator.adjustmentEvent, "sales.outcome",
        "email.delivered", "email.bounced", "email.rejected", "sms.delivered", "sms.failed", "sms.rejected", EntryRules.inactiveEvent,
    ]

    /// The event a campaign's `AdjustScore` step records, so its points are part of the history,
    /// fade like behaviour, and survive a recompute.
    public static let adjustmentEvent = "score.adjusted"

    public func score(_ lead: Lead, events: [LeadEvent], now: Date) -> ScoreCard {
        var contributions: [ScoreCard.Contribution] = []
        let ordered = events.filter { $0.at <= now }.sorted { $0.at < $1.at }
        let state = LeadState(lead: lead, events: ordered)
        let lastActivity = Self.lastActivity(in: ordered)
        let leadSource = lead.source.map(Self.normalised)
        for (index, rule) in model.rules.enumerated() {
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
                    contributions.append(.init(kind: .behaviour, label: rule.label, points: points, value: points * decay(since: event.at, now: now), at: event.at))
                }
            case .profile(let condition):
                if ConditionEvaluator(state: state, campaignID: "", now: now).holds(condition) {
                    contributions.append(.init(kind: .profile, label: rule.label, points: Double(rule.points), value: Double(rule.points), at: nil))
                }
            case .source:
                if let leadSource, leadSource == sourceKeys[index] {
                    contributions.append(.init(kind: .profile, label: rule.label, points: Double(rule.points), value: Double(rule.points), at: nil))
                }
            case .inactivity(let span):
                if let lastActivity, now.timeIntervalSince(lastActivity) >= Double(span.approximateSeconds) {
                    contributions.append(.init(kind: .inactivity, label: rule.label, points: Double(rule.points), value: Double(rule.points), at: nil))
                }
            }
        }
        for event in ordered where event.type == Self.adjustmentEvent {
            guard case .number(let points)? = event.properties["points"], points != 0 else { continue }
            let label = event.properties["reason"]?.textValue ?? "Adjusted by \(event.properties["campaign"]?.textValue ?? "a campaign")"
            contributions.append(.init(kind: .behaviour, label: label, points: points, value: points * decay(since: event.at, now: now), at: event.at))
        }
        let total = contributions.map(\.value).reduce(0, +)
        return ScoreCard(total: total, contributions: contributions, modelVersion: model.version, lastActivityAt: lastActivity)
    }

    /// When inactivity is measured from: the lead's last event of its own, or its first event of any kind.
    static func lastActivity(in ordered: [LeadEvent]) -> Date? {
        ordered.last { !systemEvents.contains($0.type) }?.at ?? ordered.first?.at
    }

    // MARK: - Scores at any instant, from the stored parts

    /// The score at `now` of a lead whose parts were stored at `snapshot.scoredAt`: all behaviour
    /// shares one half-life, so the stored behaviour total decays as one number. O(1), no history.
    public func current(_ snapshot: ScoreSnapshot, now: Date) -> Double {
        guard let scoredAt = snapshot.scoredAt else { return 0 }
        var total = snapshot.fixedPoints + (snapshot.gains + snapshot.losses) * decay(since: scoredAt, now: now)
        if let lastActivity = snapshot.lastActivityAt {
            let silent = now.timeIntervalSince(lastActivity)
            for rule in inactivity where silent >= rule.after { total += rule.points }
        }
        return total
    }

    /// A number that orders leads by their behaviour gains at any common instant:
    /// log2(gains) + (scoredAt − epoch) / half-life. Stored and indexed, it lets `leads top` find
    /// the best leads without decaying a million rows. Nil when there are no gains.
    public func gainsRank(_ snapshot: ScoreSnapshot) -> Double? {
        guard snapshot.gains > 0, let scoredAt = snapshot.scoredAt else { return nil }
        return log2(snapshot.gains) + halfLivesSinceEpoch(scoredAt)
    }

    /// The gains at `now` of a lead with this rank; the inverse of ``gainsRank(_:)``.
    public func gains(rank: Double, now: Date) -> Double {
        exp2(rank - halfLivesSinceEpoch(now))
    }

    /// The most inactivity rules can add (they usually subtract): part of `leads top`'s bound.
    public var largestInactivityBonus: Double {
        inactivity.map(\.points).filter { $0 > 0 }.reduce(0, +)
    }

    /// Ranks are measured from 2026-01-01 so they stay small numbers for centuries.
    static let rankEpoch = Date(timeIntervalSince1970: 1_767_225_600)

    private func halfLivesSinceEpoch(_ date: Date) -> Double {
        guard let halfLife = model.behaviourHalfLife, !halfLife.isZero else { return 0 }
        return date.timeIntervalSince(Self.rankEpoch) / Double(halfLife.approximateSeconds)
    }

    /// The share of a behaviour's points left after `now - since` with the model's half-life.
    public func decay(since: Date, now: Date) -> Double {
        guard let halfLife = model.behaviourHalfLife, !halfLife.isZero else { return 1 }
        let age = max(0, now.timeIntervalSince(since))
        return pow(0.5, age / Double(halfLife.approximateSeconds))
    }

    /// `Trade Show`, `trade_show` and `trade-show` are one source.
    static func normalised(_ source: String) -> String {
        let spaced = String(source.lowercased().map { $0 == "_" || $0 == "-" ? " " : $0 })
        guard let first = spaced.firstIndex(where: { $0 != " " }), let last = spaced.lastIndex(where: { $0 != " " }) else { return "" }
        return String(spaced[first...last])
    }
}

extension ThresholdState {
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

extension ScoreSnapshot {
    public init(_ card: ScoreCard, at now: Date, thresholds: ThresholdState) {
        self.init()
        for contribution in card.contributions {
            switch contribution.kind {
            case .behaviour where contribution.value >= 0: gains += contribution.value
            case .behaviour: losses += contribution.value
            case .profile: fixedPoints += contribution.value
            case .inactivity: break
            }
        }
        scoredAt = now
        lastActivityAt = card.lastActivityAt
        modelVersion = card.modelVersion
        self.thresholds = thresholds
    }
}
