import Foundation
import GRDB

/// Copies the write-ahead log back into the database file on a connection of its own, so the
/// writer's commits never stop to do it. Left to SQLite, every commit that takes the log past
/// 1,000 pages checkpoints there and then: in a due pass, every other batch's commit took twice
/// as long (20 ms, then 40 with the copy), and the cores waited on it. Here a passive checkpoint
/// (which never blocks the writer or readers) runs after writes, at most every 50 ms; the writer
/// keeps SQLite's own checkpoint as a backstop at `backstopPages`, should this fall behind.
final class WALCheckpointer: Sendable {
    static let backstopPages = 16_000
    private let writes: AsyncStream<Void>.Continuation

    init(path: String) throws {
        var configuration = Configuration()
        configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
        let connection = try DatabaseQueue(path: path, configuration: configuration)
        let (stream, writes) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        self.writes = writes
        Task.detached(priority: .utility) {
            for await _ in stream {
                // A checkpoint that cannot run now (a backup holding the file) runs after a later write.
                _ = try? await connection.writeWithoutTransaction { db in try db.checkpoint(.passive) }
                try? await Task.sleep(for: .milliseconds(50))
            }
        }
    }

    /// A write committed: the log has grown.
    func wrote() { writes.yield() }

    deinit { writes.finish() }
}
