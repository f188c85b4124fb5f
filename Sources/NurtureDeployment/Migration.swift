import Foundation
public import NurtureStorage
import NurturePostgres
import NurtureSQLite

/// Moving up: an embedded deployment copied into PostgreSQL, table by table, then counted.
public enum Migration {
    public struct Refused: Error, CustomStringConvertible {
        public let description: String
    }

    public struct Copied: Sendable {
        public var counts: [CopyTable: Int]
        public var seconds: Double
    }

    /// Copies every row from the SQLite file at `from` into the PostgreSQL database at `to`
    /// (migrated first). A target holding anything is refused unless `replacing`, which erases it.
    /// `progress` hears each table's rows copied so far and its total. The counts of both sides
    /// must agree at the end, or it throws.
    public static func copy(
        from source: String, to target: String, replacing: Bool = false, batch: Int = 2_000,
        progress: @Sendable (CopyTable, Int, Int) -> Void = { _, _, _ in }
    ) async throws -> Copied {
        let started = ContinuousClock.now
        guard PostgresURL.isPostgres(target) else { throw Refused(description: "--to must be a postgres:// URL, not '\(PostgresURL.redacted(target))'") }
        let path = source.hasPrefix("sqlite:") ? String(source.dropFirst("sqlite:".count)) : source
        guard !PostgresURL.isPostgres(source), FileManager.default.fileExists(atPath: path) else {
            throw Refused(description: "--from must be an existing SQLite file (sqlite:PATH); there is none at \(PostgresURL.redacted(path))")
        }
        let from = try SQLiteStore(path: path)
        let to = try await PostgresStore.connect(url: target)
        do {
            let held = try await to.copyCounts().values.reduce(0, +)
            if held > 0 {
                guard replacing else {
                    throw Refused(description: "the PostgreSQL database at \(PostgresURL.redacted(target)) already holds \(held) rows; "
                        + "copy into an empty database, or pass --replace to erase it first")
                }
                try await to.eraseForCopy()
            }
            let totals = try await from.copyCounts()
            for table in CopyTable.allCases {
                var cursor: Int?
                var done = 0
                progress(table, 0, totals[table] ?? 0)
                while true {
                    let (rows, next) = try await from.copyRows(table, after: cursor, limit: batch)
                    guard rows.count > 0 else { break }
                    try await to.writeCopy(rows)
                    done += rows.count
                    cursor = next
                    progress(table, done, totals[table] ?? 0)
                }
            }
            try await to.finishCopy()
            let copied = try await to.copyCounts()
            let mismatched = CopyTable.allCases.filter { copied[$0] != totals[$0] }
            guard mismatched.isEmpty else {
                throw Refused(description: "the copy does not add up: " + mismatched.map { "\($0.rawValue) \(totals[$0] ?? 0) in SQLite, \(copied[$0] ?? 0) in PostgreSQL" }.joined(separator: "; "))
            }
            await to.close()
            return Copied(counts: copied, seconds: (ContinuousClock.now - started).seconds)
        } catch {
            await to.close()
            throw error
        }
    }

    /// Applies the schema migrations alone; returns what it says about the database.
    public static func apply(to url: String) async throws -> String {
        if PostgresURL.isPostgres(url) {
            let store = try await PostgresStore.connect(url: url)
            let versions = try await store.appliedMigrations()
            await store.close()
            return "\(PostgresURL.redacted(url)): schema at version \(versions.last ?? 0) (\(versions.count) migration\(versions.count == 1 ? "" : "s") applied)"
        }
        _ = try await Deployment.openStore(url)
        return "\(url): the SQLite schema is up to date (it migrates itself whenever it is opened)"
    }
}
