import Foundation
import NurturePostgres

/// The PostgreSQL server the README's test command starts (scripts/postgres.sh): a new database
/// for each store a test asks for. Without the server the test fails and says how to start it;
/// it never skips.
public enum TestPostgres {
    public struct NotStarted: Error, CustomStringConvertible {
        public var description: String {
            "NURTURE_TEST_POSTGRES_URL is not set: run the tests with scripts/test.sh, which starts PostgreSQL, or export the URL of a server you started (eval \"$(scripts/postgres.sh start)\")"
        }
    }

    /// The URL of a new, empty database.
    public static func newDatabase() async throws -> String {
        guard let admin = ProcessInfo.processInfo.environment["NURTURE_TEST_POSTGRES_URL"], !admin.isEmpty else { throw NotStarted() }
        let name = "nurture_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16)
        return try await PostgresStore.createDatabase(named: String(name), adminURL: admin)
    }
}
