public import NurtureStorage
import PostgresNIO

extension PostgresStore {
    public func campaignCounters(_ filter: CounterFilter) async throws -> [CampaignCounter] {
        try TextWithNUL.refuse([("campaign", filter.campaignID), ("since", filter.since), ("until", filter.until)])
        // Null parameters leave their side open; the shards of each counter are added up.
        let found = try await rows("""
            SELECT campaign_id, step_id, variant, channel, metric, detail, day, SUM(count)::bigint AS count FROM campaign_counter
            WHERE (\(filter.campaignID)::text IS NULL OR campaign_id = \(filter.campaignID))
              AND (\(filter.since)::text IS NULL OR day >= \(filter.since)) AND (\(filter.until)::text IS NULL OR day <= \(filter.until))
            GROUP BY 1, 2, 3, 4, 5, 6, 7
            """)
        return CampaignCounter.merged(try found.map(Self.counter))
    }

    public func recountedCampaignCounters() async throws -> [CampaignCounter] {
        var counted: [CampaignCounter] = []
        for select in PostgresSchema.recountSQL + PostgresSchema.laterFactsRecountSQL {
            for row in try await rows(PostgresQuery(unsafeSQL: select)) {
                func text(_ column: Int) throws -> String { try row[column].decode(String.self) }
                counted.append(CampaignCounter(campaignID: try text(0), stepID: try text(1), variant: try text(2), channel: try text(3),
                                               metric: try text(4), detail: try text(5), day: try text(6), count: try row[7].decode(Int.self)))
            }
        }
        return CampaignCounter.merged(counted)
    }

    static func counter(_ row: PostgresRandomAccessRow) throws -> CampaignCounter {
        CampaignCounter(
            campaignID: try row["campaign_id"].decode(String.self), stepID: try row["step_id"].decode(String.self),
            variant: try row["variant"].decode(String.self), channel: try row["channel"].decode(String.self),
            metric: try row["metric"].decode(String.self), detail: try row["detail"].decode(String.self),
            day: try row["day"].decode(String.self), count: try row["count"].decode(Int.self))
    }
}

extension PostgresStore {
    public func personaResults(_ filter: CounterFilter) async throws -> [PersonaResult] {
        try TextWithNUL.refuse([("campaign", filter.campaignID)])
        let (from, until) = filter.instants
        let campaign = filter.campaignID, system = OutboxMessage.systemCampaign
        let sends = try await rows("""
            SELECT m.campaign_id AS campaign, coalesce(l.attributes::jsonb ->> 'persona', '') AS persona,
                COUNT(*) AS sent, COUNT(m.opened_at) AS opened, COUNT(m.clicked_at) AS clicked
            FROM outbox_message m JOIN lead l ON l.id = m.lead_id
            WHERE m.status = 'sent' AND m.channel = 'email' AND m.campaign_id <> \(system) AND (\(campaign)::text IS NULL OR m.campaign_id = \(campaign))
                AND (\(from)::double precision IS NULL OR m.sent_at >= \(from)) AND (\(until)::double precision IS NULL OR m.sent_at < \(until))
            GROUP BY 1, 2
            """).map { row in
            PersonaResult(campaignID: try row["campaign"].decode(String.self), persona: try row["persona"].decode(String.self),
                          sent: try row["sent"].decode(Int.self), opened: try row["opened"].decode(Int.self), clicked: try row["clicked"].decode(Int.self))
        }
        let conversions = try await rows("""
            SELECT c.campaign_id AS campaign, coalesce(l.attributes::jsonb ->> 'persona', '') AS persona,
                COUNT(*) AS converted, coalesce(SUM(c.value), 0)::double precision AS value
            FROM conversion c JOIN lead l ON l.id = c.lead_id
            WHERE (\(campaign)::text IS NULL OR c.campaign_id = \(campaign))
                AND (\(from)::double precision IS NULL OR c.at >= \(from)) AND (\(until)::double precision IS NULL OR c.at < \(until))
            GROUP BY 1, 2
            """).map { row in
            PersonaResult(campaignID: try row["campaign"].decode(String.self), persona: try row["persona"].decode(String.self),
                          converted: try row["converted"].decode(Int.self), value: try row["value"].decode(Double.self))
        }
        return PersonaResult.merged(sends: sends, conversions: conversions)
    }
}
