public import Foundation
public import NurtureDSL

/// Answers conditions about one lead at one moment, and says why.
public struct ConditionEvaluator: Sendable {
    public let state: LeadState
    public let campaignID: String
    public let now: Date

    public init(state: LeadState, campaignID: String, now: Date) {
        self.state = state
        self.campaignID = campaignID
        self.now = now
    }

    public func holds(_ condition: Condition) -> Bool { evaluate(condition).holds }

    /// The answer and a short reason a marketer can read in a timeline.
    public func evaluate(_ condition: Condition) -> (holds: Bool, because: String) {
        let lead = state.lead
        switch condition {
        case .always:
            return (true, "always")
        case .attribute(let name, let comparison):
            let value = lead.value(of: name)
            return (comparison.matches(value), "\(name) is \(value?.description ?? "not set")")
        case .score(let comparison):
            return (comparison.matches(.number(lead.score)), "score is \(Value.number(lead.score))")
        case .stage(let comparison):
            return (comparison.matches(lead.stage), "stage is \(lead.stage)")
        case .tagged(let tag):
            let has = lead.tags.contains(tag)
            return (has, has ? "tagged \(tag)" : "not tagged \(tag)")
        case .did(let matcher, let window, let count):
            let since = window.map { LocalClock(zone: lead.zone).adding(Span(days: -$0.days, seconds: -$0.seconds), to: now) }
            let seen = state.events.filter { event in
                event.at <= now && since.map { event.at >= $0 } ?? true && matcher.matches(type: event.type, properties: event.properties)
            }
            let scope = window.map { " in the last \($0)" } ?? ""
            return (seen.count >= count, "\(seen.count)× \(matcher.type)\(scope)")
        case .engaged(let kind, let step):
            let hit = state.events.last { event in
                event.at <= now && event.type == kind.eventType && event.properties["step"]?.textValue == step
                    && (event.properties["campaign"].map { $0.textValue == campaignID } ?? true)
            }
            return (hit != nil, hit == nil ? "no \(kind.eventType) for \(step)" : "\(kind.eventType) for \(step)")
        case .all(let conditions):
            var reasons: [String] = []
            for part in conditions {
                let result = evaluate(part)
                reasons.append(result.because)
                if !result.holds { return (false, result.because) }
            }
            return (true, reasons.joined(separator: ", "))
        case .any(let conditions):
            var reasons: [String] = []
            for part in conditions {
                let result = evaluate(part)
                if result.holds { return (true, result.because) }
                reasons.append(result.because)
            }
            return (false, reasons.joined(separator: ", "))
        case .not(let inner):
            let result = evaluate(inner)
            return (!result.holds, result.because)
        }
    }
}
