public import Foundation
public import NurtureDSL
public import NurtureStorage

/// Decides when a lead enters a campaign: on a matching event, when its score crosses upward, or
/// when an attribute changes, and only as often as the campaign's re-entry policy allows.
public enum EntryRules {
    /// The entry an event fires, if any.
    public static func entry(of campaign: Campaign, firedBy event: LeadEvent) -> Entry? {
        campaign.entries.first { entry in
            if case .event(let matcher) = entry.trigger { return matcher.matches(type: event.type, properties: event.properties) }
            return false
        }
    }

    /// The entry a change of the lead fires: a score crossing a threshold upward, or an attribute
    /// changing (to a value that passes the entry's test, if it has one).
    public static func entry(of campaign: Campaign, firedByChangeFrom old: Lead, to new: Lead) -> Entry? {
        campaign.entries.first { entry in
            switch entry.trigger {
            case .event: return false
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
