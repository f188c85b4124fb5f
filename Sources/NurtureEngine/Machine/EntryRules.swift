public import Foundation
public import NurtureDSL
public import NurtureStorage

/// Decides when a lead enters a campaign: on a matching event, when its score crosses upward, or
/// when an attribute changes, and only as often as the campaign's re-entry policy allows.
public enum EntryRules {
    /// The entry an event fires, if any.
    public static func entry(of campaign: Campaign, firedBy event: LeadEvent) -> Entry? {
        campaign.entries.first { entry in
            switch entry.trigger {
            case .event(let matcher): matcher.matches(type: event.type, properties: event.properties)
            case .inactiveFor: event.type == inactiveEvent && event.properties["campaign"]?.textValue == campaign.id
            case .scoreReaches, .attributeChanges: false
            }
        }
    }

    /// What the engine records when a lead has been quiet long enough for a campaign's
    /// `Entry(whenInactiveFor:)`: `campaign`, `quiet_since` (its last activity) and `days`.
    public static let inactiveEvent = Entry.inactivityEvent

    /// The event recording a quiet spell, with an id that is the same however often it is found.
    public static func inactivity(of leadID: String, quietSince: Date, campaign: Campaign, now: Date) -> (event: LeadEvent, clientID: String)? {
        guard let span = campaign.inactivityEntry else { return nil }
        let since = Int(quietSince.timeIntervalSince1970)
        let event = LeadEvent(inactiveEvent, at: now, properties: [
            "campaign": .string(campaign.id), "quiet_since": .string(quietSince.formatted(.iso8601)),
            "days": .number(Double(span.approximateSeconds / 86_400)),
        ])
        return (event, "inactive:\(campaign.id):\(leadID):\(since)")
    }

    /// The entry a change of the lead fires: a score crossing a threshold upward, or an attribute
    /// changing (to a value that passes the entry's test, if it has one).
    public static func entry(of campaign: Campaign, firedByChangeFrom old: Lead, to new: Lead) -> Entry? {
        campaign.entries.first { entry in
            switch entry.trigger {
            case .event, .inactiveFor: return false
            case .scoreReaches(let threshold): return old.score < threshold && new.score >= threshold
            case .attributeChanges(let name, let comparison):
                let before = old.value(of: name), after = new.value(of: name)
                return before != after && (comparison?.matches(after) ?? true)
            }
        }
    }

    /// The entry event's properties this campaign keeps for templates and goals.
    public static func captures(of entry: Entry, from event: LeadEvent?) -> [String: Value] {
        guard let event else { return [:] }
        var kept: [String: Value] = [:]
        for name in entry.captures { kept[name] = event.properties[name] }
        return kept
    }

    /// Whether the re-entry policy lets a lead in again, given its earlier enrollments there.
    public static func mayEnter(_ campaign: Campaign, earlier: [Enrollment], at now: Date, clock: LocalClock) -> Bool {
        if earlier.contains(where: \.isActive) { return false }
        guard let last = earlier.map({ $0.endedAt ?? $0.enrolledAt }).max() else { return true }
        switch campaign.reentry {
        case .never: return false
        case .always: return true
        case .after(let cooldown): return clock.adding(cooldown, to: last) <= now
        }
    }
}
