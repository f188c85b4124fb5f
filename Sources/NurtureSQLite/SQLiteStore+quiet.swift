public import Foundation
import GRDB
public import NurtureStorage

extension SQLiteStore {
    public func quietLeads(before cutoff: Date, after cursor: QuietCursor?, limit: Int) async throws -> [QuietCursor] {
        try await read { db in
            let rows: [Row]
            if let cursor {
                let at = cursor.lastActivity.timeIntervalSince1970
                rows = try Row.fetchAll(db.cachedStatement(sql: """
                    SELECT id, last_activity_at FROM lead INDEXED BY lead_last_activity
                    WHERE last_activity_at <= ? AND (last_activity_at, id) > (?, ?)
                    ORDER BY last_activity_at, id LIMIT ?
                    """), arguments: [cutoff.timeIntervalSince1970, at, cursor.leadID, limit])
            } else {
                rows = try Row.fetchAll(db.cachedStatement(sql: """
                    SELECT id, last_activity_at FROM lead INDEXED BY lead_last_activity
                    WHERE last_activity_at <= ? ORDER BY last_activity_at, id LIMIT ?
                    """), arguments: [cutoff.timeIntervalSince1970, limit])
            }
            return rows.map { QuietCursor(lastActivity: Date(timeIntervalSince1970: $0["last_activity_at"]), leadID: $0["id"]) }
        }
    }

    public func setting(named key: String) async throws -> Data? {
        try await read { db in try Data.fetchOne(db, sql: "SELECT value FROM setting WHERE key = ?", arguments: [key]) }
    }

    public func setSetting(named key: String, to value: Data) async throws {
        try await write { db in
            try db.execute(sql: "INSERT INTO setting (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                           arguments: [key, value])
        }
    }
}
