import Foundation
import GRDB
public import NurtureStorage

/// The embedded store as the source of `nurture migrate --from`: every table in rowid order.
extension SQLiteStore: CopySource {
    public func copyRows(_ table: CopyTable, after cursor: Int?, limit: Int) async throws -> (rows: CopyRows, cursor: Int?) {
        try await read { db in
            let after = cursor ?? 0
            func fetch(_ sql: String) throws -> [Row] {
                try Row.fetchAll(db, sql: sql + " WHERE t.rowid > ? ORDER BY t.rowid LIMIT ?", arguments: [after, limit])
            }
            let rows: [Row]
            let copied: CopyRows
            switch table {
            case .leads:
                rows = try fetch("SELECT t.rowid AS copy_cursor, \(Self.leadColumns), created_at, updated_at FROM lead t")
                copied = .leads(rows.map { row in
                    StoredLead(lead: Self.lead(row, from: 1), scoring: Self.scoreSnapshot(row, from: 1 + LeadColumn.score),
                               version: row[1 + LeadColumn.version], createdAt: Date(timeIntervalSince1970: row["created_at"]),
                               updatedAt: Date(timeIntervalSince1970: row["updated_at"]))
                })
            case .events:
                rows = try fetch("SELECT t.rowid AS copy_cursor, \(Self.eventColumns), seq, lead_id, client_id FROM event t")
                copied = .events(rows.map { StoredEvent(seq: $0["seq"], leadID: $0["lead_id"], event: Self.event($0, from: 1), clientID: $0["client_id"]) })
            case .enrollments:
                rows = try fetch("SELECT t.rowid AS copy_cursor, \(Self.enrollmentColumns) FROM enrollment t")
                copied = .enrollments(rows.map { Self.enrollment($0, from: 1) })
            case .messages:
                rows = try fetch("SELECT t.rowid AS copy_cursor, t.*, c.subject, c.preview, c.payload FROM outbox_message t JOIN outbox_content c ON c.id = t.id")
                copied = .messages(rows.map { row in
                    StoredMessage(message: Self.message(row), deliveryAt: Self.date(row["delivery_at"]), marks: Dictionary(uniqueKeysWithValues:
                        CampaignCounter.firstMarks.compactMap { mark in Self.date(row[mark.column]).map { (mark.column, $0) } }))
                })
            case .suppressions:
                rows = try fetch("SELECT t.rowid AS copy_cursor, t.* FROM suppression t")
                copied = .suppressions(rows.map { StoredSuppression(address: $0["address"], channel: $0["channel"], reason: $0["reason"], scope: $0["scope"],
                                                                        at: Date(timeIntervalSince1970: $0["at"])) })
            case .settings:
                rows = try fetch("SELECT t.rowid AS copy_cursor, t.key, CAST(t.value AS BLOB) AS value FROM setting t")
                copied = .settings(rows.map { StoredSetting(key: $0["key"], value: $0["value"]) })
            case .pauses:
                rows = try fetch("SELECT t.rowid AS copy_cursor, t.* FROM campaign_pause t")
                copied = .pauses(rows.map(Self.pause))
            case .decisions:
                rows = try fetch("SELECT t.rowid AS copy_cursor, t.* FROM experiment_decision t")
                copied = .decisions(rows.map(Self.decision))
            case .journal:
                rows = try fetch("SELECT t.rowid AS copy_cursor, t.* FROM campaign_journal t")
                copied = .journal(rows.map(Self.journalEntry))
            case .stepFacts:
                rows = try fetch("SELECT t.rowid AS copy_cursor, t.* FROM step_fact t")
                copied = .stepFacts(rows.compactMap { row in
                    MessageChannel(rawValue: row["channel"]).map { channel in
                        StepFact(leadID: row["lead_id"], campaignID: row["campaign_id"], stepID: row["step_id"], variant: row["variant"], channel: channel,
                                 kind: row["kind"], reason: row["reason"], at: Date(timeIntervalSince1970: row["at"]))
                    }
                })
            case .privacyRequests:
                rows = try fetch("SELECT t.rowid AS copy_cursor, t.* FROM privacy_request t")
                copied = .privacyRequests(rows.map(Self.privacyAudit))
            case .conversions:
                rows = try fetch("SELECT t.rowid AS copy_cursor, t.* FROM conversion t")
                copied = .conversions(rows.compactMap { row in
                    MessageChannel(rawValue: row["channel"]).map { channel in
                        ConversionRecord(leadID: row["lead_id"], campaignID: row["campaign_id"], stepID: row["step_id"], variant: row["variant"],
                                         channel: channel, goal: row["goal"], value: row["value"], at: Date(timeIntervalSince1970: row["at"]))
                    }
                })
            }
            return (copied, rows.last.map { $0["copy_cursor"] })
        }
    }

    public func copyCounts() async throws -> [CopyTable: Int] {
        try await read { db in
            let tables: [CopyTable: String] = [.leads: "lead", .events: "event", .enrollments: "enrollment", .messages: "outbox_message",
                                               .suppressions: "suppression", .settings: "setting", .pauses: "campaign_pause",
                                               .decisions: "experiment_decision", .journal: "campaign_journal", .conversions: "conversion", .privacyRequests: "privacy_request",
                                               .stepFacts: "step_fact"]
            var counts: [CopyTable: Int] = [:]
            for (table, name) in tables { counts[table] = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(name)") ?? 0 }
            return counts
        }
    }
}
