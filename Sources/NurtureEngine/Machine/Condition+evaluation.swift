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

    /// The answer alone. Scoring asks this of every profile rule for every lead it scores, so
    /// it builds none of the reasons `evaluate` writes.
    public func holds(_ condition: Condition) -> Bool {
        let lead = state.lead
        switch condition {
        case .always: return true
        case .attribute(let name, let comparison): return comparison.matches(lead.value(of: name))
        case .score(let comparison): return comparison.matches(.number(lead.score))
        case .stage(let comparison): return comparison.matches(lead.stage)
        case .tagged(let tag): return lead.tags.contains(tag)
        case .did(let matcher, let window, let count): return occurrences(of: matcher, within: window) >= count
        case .engaged(let kind, let step): return lastEngagement(kind, step: step) != nil
        case .all(let conditions): return conditions.allSatisfy(holds)
        case .any(let conditions): return conditions.contains(where: holds)
        case .not(let inner): return !holds(inner)
        }
    }

    private func occurrences(of matcher: EventMatcher, within window: Span?) -> Int {
        let since = window.map { LocalClock(zone: state.lead.zone).adding(Span(days: -$0.days, seconds: -$0.seconds), to: now) }
        return state.events.count { event in
            event.at <= now && since.map { event.at >= $0 } ?? true && matcher.matches(type: event.type, properties: event.properties)
        }
    }

    private func lastEngagement(_ kind: Engagement, step: String) -> LeadEvent? {
        state.events.last { event in
            event.at <= now && event.type == kind.eventType && event.properties["step"]?.textValue == step
                && (event.properties["campaign"].map { $0.textValue == campaignID } ?? true)
        }
    }

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
            let seen = occurrences(of: matcher, within: window)
            let scope = window.map { " in the last \($0)" } ?? ""
            return (seen >= count, "\(seen)× \(matcher.type)\(scope)")
        case .engaged(let kind, let step):
            let hit = lastEngagement(kind, step: step) != nil
            return (hit, hit ? "\(kind.eventType) for \(step)" : "no \(kind.eventType) for \(step)")
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
