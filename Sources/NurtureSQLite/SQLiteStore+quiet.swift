public import Foundation
import GRDB
public import NurtureStorage

extension SQLiteStore {
    public func quietLeads(before cutoff: Date, after cursor: QuietCursor?, limit: Int) async throws -> [QuietCursor] {
        let after = cursor ?? .start
        return try await read { db in
            try Row.fetchAll(db.cachedStatement(sql: """
                SELECT id, last_activity_at FROM lead INDEXED BY lead_last_activity
                WHERE last_activity_at <= ? AND (last_activity_at, id) > (?, ?)
                ORDER BY last_activity_at, id LIMIT ?
                """), arguments: [cutoff.timeIntervalSince1970, after.lastActivity.timeIntervalSince1970, after.leadID, limit])
                .map { QuietCursor(lastActivity: Date(timeIntervalSince1970: $0["last_activity_at"]), leadID: $0["id"]) }
        }
    }
}
