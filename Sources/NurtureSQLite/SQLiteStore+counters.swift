import GRDB
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
