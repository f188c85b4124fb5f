public import Foundation
import NurtureDSL
import NurtureStorage

/// `Entry(whenInactiveFor:)`: the engine itself finds the leads that went quiet and records a
/// `lead.inactive` event for each, which enters them as any event would (re-entry rules,
/// exclusive campaigns and consent apply).
extension Engine {
    /// Walks the leads whose last activity is older than each such campaign's span, from where
    /// the last walk stopped (kept in the database, so a restart or a cron run carries on), and
    /// records their quiet spells; at most `limit` leads a call. Returns how many it recorded.
    ///
    /// A lead is found once per quiet spell: activity moves it later in the walk, past the place
    /// kept. Two workers walking at once record each spell once: the event's id is derived from
    /// the lead, the campaign and the spell's start.
    @discardableResult
    public func enterQuietLeads(now: Date, limit: Int = 2_000) async throws -> Int {
        var recorded = 0
        for campaign in processor.playbook.campaigns {
            guard let span = campaign.inactivityEntry, recorded < limit else { continue }
            let key = "inactivity.\(campaign.id)"
            var cursor = try await store.setting(named: key).flatMap { try? JSONDecoder().decode(QuietCursor.self, from: $0) }
            let cutoff = now.addingTimeInterval(-Double(span.approximateSeconds))
            while recorded < limit {
                let page = try await store.quietLeads(before: cutoff, after: cursor, limit: min(500, limit - recorded))
                guard let last = page.last else { break }
                let events = page.compactMap { quiet -> IncomingEvent? in
                    guard let (event, clientID) = EntryRules.inactivity(of: quiet.leadID, quietSince: quiet.lastActivity, campaign: campaign, now: now)
                    else { return nil }
                    return IncomingEvent(subject: .id(quiet.leadID), type: event.type, at: event.at, properties: event.properties, clientID: clientID)
                }
                let outcomes = try await track(events, now: now, via: "inactivity")
                recorded += outcomes.count(where: \.isStored)
                cursor = last
                try await store.setSetting(named: key, to: try JSONEncoder().encode(last))
            }
        }
        return recorded
    }
}
