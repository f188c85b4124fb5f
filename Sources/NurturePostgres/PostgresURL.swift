import Foundation
public import PostgresNIO

/// `postgres://user:password@host:port/database?sslmode=disable|prefer|require`, as libpq and
/// every hosted PostgreSQL spell it. The password never appears in `description`.
public struct PostgresURL: Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var username: String
    public var password: String?
    public var database: String
    public var sslMode: String

    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
    }

    public static func isPostgres(_ text: String) -> Bool {
        text.hasPrefix("postgres://") || text.hasPrefix("postgresql://")
    }

    public init(_ text: String) throws {
        guard Self.isPostgres(text), let components = URLComponents(string: text), let host = components.host, !host.isEmpty else {
            throw Invalid(description: "not a PostgreSQL URL (postgres://user:password@host:port/database): \(Self.redacted(text))")
        }
        guard let user = components.user, !user.isEmpty else {
            throw Invalid(description: "the PostgreSQL URL names no user: \(Self.redacted(text))")
        }
        self.host = host
        port = components.port ?? 5432
        username = user.removingPercentEncoding ?? user
        password = components.password.map { $0.removingPercentEncoding ?? $0 }
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        database = path.isEmpty ? username : path
        sslMode = components.queryItems?.first { $0.name == "sslmode" }?.value ?? "prefer"
        guard ["disable", "prefer", "require"].contains(sslMode) else {
            throw Invalid(description: "sslmode=\(sslMode) in the PostgreSQL URL; use disable, prefer or require")
        }
    }

    public var description: String { "postgres://\(username)@\(host):\(port)/\(database)" }

    /// The URL with its password masked, for messages.
    public static func redacted(_ text: String) -> String {
        guard var components = URLComponents(string: text), components.password != nil else { return text }
        components.password = "***"
        return components.string ?? "postgres://…"
    }

    public func configuration(maximumConnections: Int) throws -> PostgresClient.Configuration {
        let tls: PostgresClient.Configuration.TLS = switch sslMode {
        case "disable": .disable
        case "require": .require(.makeClientConfiguration())
        default: .prefer(.makeClientConfiguration())
        }
        var configuration = PostgresClient.Configuration(host: host, port: port, username: username, password: password, database: database, tls: tls)
        configuration.options.maximumConnections = maximumConnections
        // Every query the store sends is written to walk an index: a key, a lead's rows, or a
        // range of a partial index in order. The planner's statistics lag tables that fill and
        // drain within minutes (an outbox emptied by the last analyze, 100,000 leads imported
        // since), and with them it chose sequential scans: 6,915 scans of the outbox, 128 million
        // rows read, in one 100,000-message run-due. Off, a scan is only taken where no index can
        // serve, whatever the statistics say.
        configuration.options.additionalStartupParameters = [("enable_seqscan", "off")]
        return configuration
    }
}
