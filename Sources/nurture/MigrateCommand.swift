import ArgumentParser
import Foundation
import NurtureDeployment
import NurtureEngine

struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Applies the database's schema migrations, or copies an embedded deployment into PostgreSQL.",
        discussion: """
            nurture migrate [--database URL]           apply the migrations alone (every other command applies them at start-up)
            nurture migrate --from sqlite:PATH --to postgres://user:password@host:port/db [--replace]
                copies leads, events, enrollments (with their step and due time), the outbox with every status, suppressions and
                secrets (old unsubscribe links keep working), then checks the counts. Stop the workers of the old deployment first.
            """)

    @Option(help: "The database to migrate: a SQLite path, or postgres://… (env NURTURE_DATABASE_URL). Default: nurture.sqlite.")
    var database: String?
    @Option(help: "Copy from this SQLite file (sqlite:PATH).") var from: String?
    @Option(help: "Copy into this PostgreSQL database (postgres://…).") var to: String?
    @Flag(help: "Erase what the target database holds before copying into it.") var replace = false
    @Flag(help: "On a non-terminal (cron, CI, a pipe), print progress once a minute.") var progress = false

    func validate() throws {
        if (from == nil) != (to == nil) { throw ValidationError("--from and --to go together: nurture migrate --from sqlite:PATH --to postgres://…") }
        if from != nil, database != nil { throw ValidationError("--database is for applying migrations; a copy takes --from and --to") }
    }

    func run() async throws {
        do {
            guard let from, let to else {
                let url = database ?? ProcessInfo.processInfo.environment["NURTURE_DATABASE_URL"] ?? Deployment.defaultDatabase
                print(try await Migration.apply(to: url))
                return
            }
            let lines = ProgressLines(forced: progress)
            let copied = try await Migration.copy(from: from, to: to, replacing: replace) { table, done, total in
                lines.update(table.rawValue, done: done, total: total)
            }
            lines.finish()
            let summary = CopyTable.allCases.map { "\(copied.counts[$0] ?? 0) \($0.rawValue)" }.joined(separator: ", ")
            print("copied \(summary) in \(String(format: "%.1f", copied.seconds)) s; the counts match")
        } catch let error as Migration.Refused {
            throw ValidationError(error.description)
        } catch let error as Deployment.CannotOpen {
            throw ValidationError(error.description)
        }
    }
}
