public import Foundation
import GRDB
import NurtureDSL
public import NurtureStorage

extension SQLiteStore {
    public func campaignControls() async throws -> CampaignControls {
        try await read { db in try Self.controls(db) }
    }

    static func controls(_ db: Database) throws -> CampaignControls {
        var controls = CampaignControls()
        // Cached: every batch of due work reads these, and compiling them cost more than running them.
        for pause in try Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM campaign_pause")).map(pause) {
            controls.pauses[pause.campaignID] = pause
        }
        for decision in try Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM experiment_decision")).map(decision) {
            controls.decisions[decision.campaignID, default: [:]][decision.stepID] = decision
        }
        for row in try Row.fetchAll(db.cachedStatement(sql: """
            SELECT j.* FROM campaign_journal j JOIN (SELECT campaign_id, MAX(seq) AS seq FROM campaign_journal WHERE type = 'campaign.resumed' GROUP BY 1) last
            ON last.seq = j.seq
            """)) {
            let entry = journalEntry(row)
            controls.resumes[entry.campaignID] = entry
        }
        return controls
    }

    public func pauseCampaign(_ pause: CampaignPause) async throws -> Bool {
        try TextWithNUL.refuse([("campaign", pause.campaignID), ("reason", pause.reason), ("by", pause.by)])
        return try await write { db in
            try db.execute(sql: "INSERT INTO campaign_pause (campaign_id, at, reason, paused_by) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                           arguments: [pause.campaignID, pause.at.timeIntervalSince1970, pause.reason, pause.by])
            guard db.changesCount == 1 else { return false }
            let offset = CampaignPause.parkingOffset
            try db.execute(sql: """
                UPDATE lead SET version = version + 1 WHERE id IN (
                    SELECT lead_id FROM enrollment WHERE campaign_id = :campaign AND status = 'active' AND wake_at < :offset);
                UPDATE enrollment SET wake_at = wake_at + :offset WHERE campaign_id = :campaign AND status = 'active' AND wake_at < :offset;
                UPDATE outbox_message SET next_attempt_at = next_attempt_at + :offset
                    WHERE campaign_id = :campaign AND status = 'pending' AND next_attempt_at < :offset;
                """, arguments: ["campaign": pause.campaignID, "offset": offset])
            try Self.journal(pause.journalEntry, db)
            return true
        }
    }

    public func resumeCampaign(_ entry: CampaignJournalEntry) async throws -> Bool {
        try TextWithNUL.refuse([("campaign", entry.campaignID)])
        return try await write { db in
            try db.execute(sql: "DELETE FROM campaign_pause WHERE campaign_id = ?", arguments: [entry.campaignID])
            guard db.changesCount == 1 else { return false }
            try db.execute(sql: """
                UPDATE lead SET version = version + 1 WHERE id IN (
                    SELECT lead_id FROM enrollment WHERE campaign_id = :campaign AND status = 'active' AND wake_at >= :offset);
                UPDATE enrollment SET wake_at = wake_at - :offset WHERE campaign_id = :campaign AND status = 'active' AND wake_at >= :offset;
                UPDATE outbox_message SET next_attempt_at = next_attempt_at - :offset
                    WHERE campaign_id = :campaign AND status = 'pending' AND next_attempt_at >= :offset;
                """, arguments: ["campaign": entry.campaignID, "offset": CampaignPause.parkingOffset])
            try Self.journal(entry, db)
            return true
        }
    }

    public func unparkUnpaused() async throws -> Int {
        try await write { db in
            // The partial due indexes hold parked rows at the far end, so each range scan reads only those.
            try db.execute(sql: """
                UPDATE lead SET version = version + 1 WHERE id IN (
                    SELECT lead_id FROM enrollment WHERE status = 'active' AND wake_at >= :offset
                    AND campaign_id NOT IN (SELECT campaign_id FROM campaign_pause));
                UPDATE enrollment SET wake_at = wake_at - :offset WHERE status = 'active' AND wake_at >= :offset
                    AND campaign_id NOT IN (SELECT campaign_id FROM campaign_pause);
                """, arguments: ["offset": CampaignPause.parkingOffset])
            var moved = db.changesCount
            try db.execute(sql: """
                UPDATE outbox_message SET next_attempt_at = next_attempt_at - :offset WHERE status = 'pending' AND next_attempt_at >= :offset
                    AND campaign_id NOT IN (SELECT campaign_id FROM campaign_pause)
                """, arguments: ["offset": CampaignPause.parkingOffset])
            moved += db.changesCount
            return moved
        }
    }

    public func markPauseNoticeSent(campaignID: String, at: Date) async throws {
        try await write { db in
            try db.execute(sql: "UPDATE campaign_pause SET notice_sent_at = ? WHERE campaign_id = ?", arguments: [at.timeIntervalSince1970, campaignID])
        }
    }

    public func decideExperiment(_ decision: ExperimentDecision) async throws -> Bool {
        try TextWithNUL.refuse([("campaign", decision.campaignID), ("step", decision.stepID), ("variant", decision.variant), ("by", decision.by)])
        return try await write { db in
            try db.execute(sql: """
                INSERT INTO experiment_decision (campaign_id, step_id, variant, at, decided_by, figures) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING
                """, arguments: [decision.campaignID, decision.stepID, decision.variant, decision.at.timeIntervalSince1970, decision.by,
                                 FlatJSON.json(decision.figures)])
            guard db.changesCount == 1 else { return false }
            try Self.journal(decision.journalEntry, db)
            return true
        }
    }

    public func campaignJournal(campaignID: String?, limit: Int) async throws -> [CampaignJournalEntry] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM campaign_journal WHERE ?1 IS NULL OR campaign_id = ?1 ORDER BY seq DESC LIMIT ?2",
                             arguments: [campaignID, limit]).map(Self.journalEntry)
        }
    }

    static func journal(_ entry: CampaignJournalEntry, _ db: Database) throws {
        try db.execute(sql: "INSERT INTO campaign_journal (campaign_id, type, at, properties) VALUES (?, ?, ?, ?)",
                       arguments: [entry.campaignID, entry.type, entry.at.timeIntervalSince1970, FlatJSON.json(entry.properties)])
    }

    static func pause(_ row: Row) -> CampaignPause {
        CampaignPause(campaignID: row["campaign_id"], at: date(row["at"]) ?? .distantPast, reason: row["reason"], by: row["paused_by"],
                      noticeSentAt: date(row["notice_sent_at"]))
    }

    static func decision(_ row: Row) -> ExperimentDecision {
        ExperimentDecision(campaignID: row["campaign_id"], stepID: row["step_id"], variant: row["variant"], at: date(row["at"]) ?? .distantPast,
                           by: row["decided_by"], figures: FlatJSON.object(row["figures"]) ?? [:])
    }

    static func journalEntry(_ row: Row) -> CampaignJournalEntry {
        CampaignJournalEntry(campaignID: row["campaign_id"], type: row["type"], at: date(row["at"]) ?? .distantPast,
                             properties: FlatJSON.object(row["properties"]) ?? [:])
    }

    /// Campaigns paused now, read inside a claim's transaction: a message of one is parked, not sent.
    static func pausedCampaigns(_ db: Database) throws -> Set<String> {
        Set(try String.fetchAll(db.cachedStatement(sql: "SELECT campaign_id FROM campaign_pause")))
    }
}
