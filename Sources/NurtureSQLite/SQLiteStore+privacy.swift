import Foundation
import GRDB
public import NurtureStorage

/// Erasure on the embedded store: the lead's row and every row naming it deleted under
/// `secure_delete` (SQLite overwrites the freed bytes with zeros), then the write-ahead log
/// checkpointed and truncated, so neither file keeps the values.
extension SQLiteStore: PrivacyRequests {
    public func forget(leadID: String, suppressing: [SuppressionChange], audit: PrivacyAudit) async throws -> ErasureCounts? {
        let counts = try await write { db -> ErasureCounts? in
            // Debian's SQLite has it on by default; a build without it would leave the bytes in freed space.
            try db.execute(sql: "PRAGMA secure_delete = ON")
            guard let lead = try Row.fetchOne(db, sql: "SELECT email, phone FROM lead WHERE id = ?", arguments: [leadID]) else { return nil }
            func count(_ table: String) throws -> Int {
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(table) WHERE lead_id = ?", arguments: [leadID]) ?? 0
            }
            var counts = ErasureCounts()
            counts.events = try count("event")
            counts.enrollments = try count("enrollment")
            counts.messages = try count("outbox_message")
            counts.conversions = try count("conversion")
            let addresses = [lead["email"] as String?, lead["phone"] as String?].compactMap { $0 }
            // A number another lead shares keeps its suppression: that lead's STOP is its own.
            for address in addresses {
                try db.execute(sql: """
                    DELETE FROM suppression WHERE address = ?1
                    AND NOT EXISTS (SELECT 1 FROM lead WHERE (email = ?1 OR phone = ?1) AND id <> ?2)
                    """, arguments: [address, leadID])
                counts.suppressions += db.changesCount
            }
            // Events, enrollments, messages and their content, conversions and step facts go with it.
            try db.execute(sql: "DELETE FROM lead WHERE id = ?", arguments: [leadID])
            for change in suppressing { try Self.save(change, db, at: audit.at) }
            var audit = audit
            audit.counts = counts
            try Self.insert(audit, db)
            return counts
        }
        if counts != nil { try await truncateLog() }
        return counts
    }

    /// Copies every committed page into the database file and empties the log, whose older
    /// frames still hold the erased values. A reader in the middle of a read can hold the log
    /// for a moment: a few tries.
    private func truncateLog() async throws {
        guard let pool = writer as? DatabasePool else { return }
        for attempt in 0..<50 {
            // Busy (a reader holding the log) is worth another try; the erasure itself committed already.
            let done = (try? await pool.writeWithoutTransaction { db in try db.checkpoint(.truncate).walFrameCount == 0 }) ?? false
            if done { return }
            try? await Task.sleep(for: .milliseconds(20 * (attempt + 1)))
        }
    }

    public func suppressedAddresses(among addresses: [String]) async throws -> Set<String> {
        guard !addresses.isEmpty else { return [] }
        return try await read { db in
            Set(try String.fetchAll(db, sql: "SELECT DISTINCT address FROM suppression WHERE address IN (SELECT value FROM json_each(?))",
                                    arguments: [Self.json(addresses)]))
        }
    }

    public func recordPrivacyRequest(_ audit: PrivacyAudit) async throws {
        try await write { db in try Self.insert(audit, db) }
    }

    public func privacyRequests(limit: Int) async throws -> [PrivacyAudit] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM privacy_request ORDER BY at DESC, rowid DESC LIMIT ?", arguments: [limit]).map(Self.privacyAudit)
        }
    }

    static func insert(_ audit: PrivacyAudit, _ db: Database) throws {
        try db.execute(sql: "INSERT INTO privacy_request (at, action, lead_id, actor, counts) VALUES (?, ?, ?, ?, ?)", arguments: [
            audit.at.timeIntervalSince1970, audit.action.rawValue, audit.leadID, audit.actor,
            audit.counts.flatMap { try? String(decoding: JSONEncoder().encode($0), as: UTF8.self) },
        ])
    }

    static func privacyAudit(_ row: Row) -> PrivacyAudit {
        PrivacyAudit(action: PrivacyAudit.Action(rawValue: row["action"]) ?? .export, leadID: row["lead_id"], actor: row["actor"],
                     at: Date(timeIntervalSince1970: row["at"]),
                     counts: (row["counts"] as String?).flatMap { try? JSONDecoder().decode(ErasureCounts.self, from: Data($0.utf8)) })
    }
}
