public import Foundation
public import NurtureStorage
import PostgresNIO

extension PostgresStore {
    public func quietLeads(before cutoff: Date, after cursor: QuietCursor?, limit: Int) async throws -> [QuietCursor] {
        let after = cursor ?? .start
        let end = cutoff.timeIntervalSince1970, at = after.lastActivity.timeIntervalSince1970, id = after.leadID
        return try await rows("""
            SELECT id, last_activity_at FROM lead WHERE last_activity_at <= \(end) AND (last_activity_at, id) > (\(at), \(id))
            ORDER BY last_activity_at, id LIMIT \(limit)
            """).map { row in
            QuietCursor(lastActivity: Date(timeIntervalSince1970: try row["last_activity_at"].decode(Double.self)), leadID: try row["id"].decode(String.self))
        }
    }
}
