public import Foundation
import NIOCore
public import NurtureStorage
import PostgresNIO

extension PostgresStore {
    public func quietLeads(before cutoff: Date, after cursor: QuietCursor?, limit: Int) async throws -> [QuietCursor] {
        let end = cutoff.timeIntervalSince1970
        let rows: [PostgresRandomAccessRow]
        if let cursor {
            let at = cursor.lastActivity.timeIntervalSince1970, id = cursor.leadID
            rows = try await self.rows("""
                SELECT id, last_activity_at FROM lead WHERE last_activity_at <= \(end) AND (last_activity_at, id) > (\(at), \(id))
                ORDER BY last_activity_at, id LIMIT \(limit)
                """)
        } else {
            rows = try await self.rows("SELECT id, last_activity_at FROM lead WHERE last_activity_at <= \(end) ORDER BY last_activity_at, id LIMIT \(limit)")
        }
        return try rows.map { row in
            QuietCursor(lastActivity: Date(timeIntervalSince1970: try row["last_activity_at"].decode(Double.self)), leadID: try row["id"].decode(String.self))
        }
    }

    public func setting(named key: String) async throws -> Data? {
        guard let row = try await rows("SELECT value FROM setting WHERE key = \(key)").first else { return nil }
        return Data(try row["value"].decode(ByteBuffer.self).readableBytesView)
    }

    public func setSetting(named key: String, to value: Data) async throws {
        try await execute("""
            INSERT INTO setting (key, value) VALUES (\(key), \(ByteBuffer(bytes: value))) ON CONFLICT (key) DO UPDATE SET value = excluded.value
            """)
    }
}
