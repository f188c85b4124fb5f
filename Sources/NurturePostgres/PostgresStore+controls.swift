public import Foundation
import NurtureDSL
public import NurtureStorage
import PostgresNIO

extension PostgresStore {
    public func campaignControls() async throws -> CampaignControls {
        try await withConnection { connection in try await Self.controls(connection, logger) }
    }

    static func controls(_ connection: PostgresConnection, _ logger: Logger) async throws -> CampaignControls {
        var controls = CampaignControls()
        for row in try await connection.all("SELECT * FROM campaign_pause", logger) {
            let pause = CampaignPause(
                campaignID: try row["campaign_id"].decode(String.self), at: date(try row["at"].decode(Double.self)) ?? .distantPast,
                reason: try row["reason"].decode(String.self), by: try row["paused_by"].decode(String.self),
                noticeSentAt: date(try row["notice_sent_at"].decode(Double?.self)))
            controls.pauses[pause.campaignID] = pause
        }
        for row in try await connection.all("SELECT * FROM experiment_decision", logger) {
            let decision = ExperimentDecision(
                campaignID: try row["campaign_id"].decode(String.self), stepID: try row["step_id"].decode(String.self),
                variant: try row["variant"].decode(String.self), at: date(try row["at"].decode(Double.self)) ?? .distantPast,
                by: try row["decided_by"].decode(String.self), figures: properties(try row["figures"].decode(String.self)))
            controls.decisions[decision.campaignID, default: [:]][decision.stepID] = decision
        }
        for row in try await connection.all("""
            SELECT DISTINCT ON (campaign_id) * FROM campaign_journal WHERE type = 'campaign.resumed' ORDER BY campaign_id, seq DESC
            """, logger) {
            let entry = try journalEntry(row)
            controls.resumes[entry.campaignID] = entry
        }
        return controls
    }

    public func pauseCampaign(_ pause: CampaignPause) async throws -> Bool {
        try TextWithNUL.refuse([("campaign", pause.campaignID), ("reason", pause.reason), ("by", pause.by)])
        let offset = CampaignPause.parkingOffset, campaign = pause.campaignID
        return try await transaction { connection in
            let inserted = try await connection.all("""
                INSERT INTO campaign_pause (campaign_id, at, reason, paused_by) VALUES (\(campaign), \(pause.at.timeIntervalSince1970), \(pause.reason), \(pause.by))
                ON CONFLICT DO NOTHING RETURNING campaign_id
                """, logger)
            guard !inserted.isEmpty else { return false }
            try await connection.query("""
                UPDATE lead SET version = version + 1 WHERE id IN (
                    SELECT lead_id FROM enrollment WHERE campaign_id = \(campaign) AND status = 'active' AND wake_at < \(offset))
                """, logger: logger)
            try await connection.query("""
                UPDATE enrollment SET wake_at = wake_at + \(offset) WHERE campaign_id = \(campaign) AND status = 'active' AND wake_at < \(offset)
                """, logger: logger)
            try await connection.query("""
                UPDATE outbox_message SET next_attempt_at = next_attempt_at + \(offset)
                WHERE campaign_id = \(campaign) AND status = 'pending' AND next_attempt_at < \(offset)
                """, logger: logger)
            try await Self.journal(pause.journalEntry, connection, logger)
            return true
        }
    }

    public func resumeCampaign(_ entry: CampaignJournalEntry) async throws -> Bool {
        try TextWithNUL.refuse([("campaign", entry.campaignID)])
        let offset = CampaignPause.parkingOffset, campaign = entry.campaignID
        return try await transaction { connection in
            let deleted = try await connection.all("DELETE FROM campaign_pause WHERE campaign_id = \(campaign) RETURNING campaign_id", logger)
            guard !deleted.isEmpty else { return false }
            try await connection.query("""
                UPDATE lead SET version = version + 1 WHERE id IN (
                    SELECT lead_id FROM enrollment WHERE campaign_id = \(campaign) AND status = 'active' AND wake_at >= \(offset))
                """, logger: logger)
            try await connection.query("""
                UPDATE enrollment SET wake_at = wake_at - \(offset) WHERE campaign_id = \(campaign) AND status = 'active' AND wake_at >= \(offset)
                """, logger: logger)
            try await connection.query("""
                UPDATE outbox_message SET next_attempt_at = next_attempt_at - \(offset)
                WHERE campaign_id = \(campaign) AND status = 'pending' AND next_attempt_at >= \(offset)
                """, logger: logger)
            try await Self.journal(entry, connection, logger)
            return true
        }
    }

    public func unparkUnpaused() async throws -> Int {
        let offset = CampaignPause.parkingOffset
        return try await transaction { connection in
            // No pause or resume may commit while this reads which campaigns are paused and moves
            // rows back (a pause parking as it ran would otherwise be undone).
            try await connection.query("LOCK TABLE campaign_pause IN SHARE MODE", logger: logger)
            try await connection.query("""
                UPDATE lead SET version = version + 1 WHERE id IN (
                    SELECT lead_id FROM enrollment WHERE status = 'active' AND wake_at >= \(offset)
                    AND campaign_id NOT IN (SELECT campaign_id FROM campaign_pause))
                """, logger: logger)
            let enrollments = try await connection.all("""
                UPDATE enrollment SET wake_at = wake_at - \(offset) WHERE status = 'active' AND wake_at >= \(offset)
                    AND campaign_id NOT IN (SELECT campaign_id FROM campaign_pause) RETURNING lead_id
                """, logger)
            let messages = try await connection.all("""
                UPDATE outbox_message SET next_attempt_at = next_attempt_at - \(offset) WHERE status = 'pending' AND next_attempt_at >= \(offset)
                    AND campaign_id NOT IN (SELECT campaign_id FROM campaign_pause) RETURNING id
                """, logger)
            return enrollments.count + messages.count
        }
    }

    public func markPauseNoticeSent(campaignID: String, at: Date) async throws {
        try await execute("UPDATE campaign_pause SET notice_sent_at = \(at.timeIntervalSince1970) WHERE campaign_id = \(campaignID)")
    }

    public func decideExperiment(_ decision: ExperimentDecision) async throws -> Bool {
        try TextWithNUL.refuse([("campaign", decision.campaignID), ("step", decision.stepID), ("variant", decision.variant), ("by", decision.by)])
        return try await transaction { connection in
            let inserted = try await connection.all("""
                INSERT INTO experiment_decision (campaign_id, step_id, variant, at, decided_by, figures)
                VALUES (\(decision.campaignID), \(decision.stepID), \(decision.variant), \(decision.at.timeIntervalSince1970), \(decision.by),
                        \(FlatJSON.json(decision.figures)))
                ON CONFLICT DO NOTHING RETURNING campaign_id
                """, logger)
            guard !inserted.isEmpty else { return false }
            try await Self.journal(decision.journalEntry, connection, logger)
            return true
        }
    }

    public func campaignJournal(campaignID: String?, limit: Int) async throws -> [CampaignJournalEntry] {
        try TextWithNUL.refuse([("campaign", campaignID)])
        return try await rows("""
            SELECT * FROM campaign_journal WHERE \(campaignID)::text IS NULL OR campaign_id = \(campaignID) ORDER BY seq DESC LIMIT \(limit)
            """).map(Self.journalEntry)
    }

    static func journal(_ entry: CampaignJournalEntry, _ connection: PostgresConnection, _ logger: Logger) async throws {
        try await connection.query("""
            INSERT INTO campaign_journal (campaign_id, type, at, properties)
            VALUES (\(entry.campaignID), \(entry.type), \(entry.at.timeIntervalSince1970), \(FlatJSON.json(entry.properties)))
            """, logger: logger)
    }

    static func journalEntry(_ row: PostgresRandomAccessRow) throws -> CampaignJournalEntry {
        CampaignJournalEntry(
            campaignID: try row["campaign_id"].decode(String.self), type: try row["type"].decode(String.self),
            at: date(try row["at"].decode(Double.self)) ?? .distantPast, properties: properties(try row["properties"].decode(String.self)))
    }
}
