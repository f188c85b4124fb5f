import GRDB
import NurtureDSL
public import NurtureStorage

extension SQLiteStore {
    public func campaignCounters(_ filter: CounterFilter) async throws -> [CampaignCounter] {
        var conditions: [String] = []
        var arguments: StatementArguments = []
        if let campaign = filter.campaignID { conditions.append("campaign_id = ?"); arguments += [campaign] }
        if let since = filter.since { conditions.append("day >= ?"); arguments += [since] }
        if let until = filter.until { conditions.append("day <= ?"); arguments += [until] }
        let sql = "SELECT * FROM campaign_counter" + (conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND "))
            + " ORDER BY campaign_id, step_id, variant, channel, metric, detail, day"
        let bound = arguments
        return try await read { db in try Row.fetchAll(db, sql: sql, arguments: bound).map(Self.counter) }
    }

    public func recountedCampaignCounters() async throws -> [CampaignCounter] {
        try await read { db in
            try CampaignCounter.merged((Self.recountSQL + Self.laterFactsRecountSQL).flatMap { select in
                try Row.fetchAll(db, sql: select).map { row in
                    CampaignCounter(campaignID: row[0], stepID: row[1], variant: row[2], channel: row[3], metric: row[4], detail: row[5],
                                    day: row[6], count: row[7])
                }
            })
        }
    }

    static func counter(_ row: Row) -> CampaignCounter {
        CampaignCounter(campaignID: row["campaign_id"], stepID: row["step_id"], variant: row["variant"], channel: row["channel"],
                        metric: row["metric"], detail: row["detail"], day: row["day"], count: row["count"])
    }
}

extension SQLiteStore {
    public func personaResults(_ filter: CounterFilter) async throws -> [PersonaResult] {
        let (from, until) = filter.instants
        let arguments: StatementArguments = ["system": OutboxMessage.systemCampaign, "campaign": filter.campaignID, "from": from, "until": until]
        return try await read { db in
            let persona = "coalesce(json_extract(l.attributes, '$.\(Persona.attribute)'), '')"
            let sends = try Row.fetchAll(db, sql: """
                SELECT m.campaign_id AS campaign, \(persona) AS persona, COUNT(*) AS sent, COUNT(m.opened_at) AS opened, COUNT(m.clicked_at) AS clicked
                FROM outbox_message m JOIN lead l ON l.id = m.lead_id
                WHERE m.status = 'sent' AND m.channel = 'email' AND m.campaign_id != :system AND (:campaign IS NULL OR m.campaign_id = :campaign)
                    AND (:from IS NULL OR m.sent_at >= :from) AND (:until IS NULL OR m.sent_at < :until)
                GROUP BY 1, 2
                """, arguments: arguments).map { row in
                PersonaResult(campaignID: row["campaign"], persona: row["persona"], sent: row["sent"], opened: row["opened"], clicked: row["clicked"])
            }
            let conversions = try Row.fetchAll(db, sql: """
                SELECT c.campaign_id AS campaign, \(persona) AS persona, COUNT(*) AS converted, coalesce(SUM(c.value), 0) AS value
                FROM conversion c JOIN lead l ON l.id = c.lead_id
                WHERE (:campaign IS NULL OR c.campaign_id = :campaign) AND (:from IS NULL OR c.at >= :from) AND (:until IS NULL OR c.at < :until)
                GROUP BY 1, 2
                """, arguments: arguments).map { row in
                PersonaResult(campaignID: row["campaign"], persona: row["persona"], converted: row["converted"], value: row["value"])
            }
            return PersonaResult.merged(sends: sends, conversions: conversions)
        }
    }
}
