import ArgumentParser
import Foundation
import NurtureDeployment
import NurtureDSL
import NurtureEngine

/// Options of every command that touches the database: where it is and how to send.
struct RuntimeOptions: ParsableArguments {
    @OptionGroup var playbookOptions: PlaybookOptions

    @Option(help: "A SQLite path, sqlite:PATH, or postgres://… (env NURTURE_DATABASE_URL). Default: nurture.sqlite.")
    var database: String?

    @Option(help: "Configuration file. Default: nurture.toml in the working directory, if present.")
    var config: String?

    /// `nurture leads import`: who a deployment made by an ordinary command was made by.
    static var commandName: String {
        (["nurture"] + CommandLine.arguments.dropFirst().prefix { !$0.hasPrefix("-") }.prefix(2)).joined(separator: " ")
    }

    var databaseURL: String {
        database ?? ProcessInfo.processInfo.environment["NURTURE_DATABASE_URL"] ?? Deployment.defaultDatabase
    }

    func openStore(_ url: String? = nil, busyTimeout: TimeInterval? = nil) async throws -> any LeadStore {
        do {
            return try await Deployment.openStore(url ?? databaseURL, busyTimeout: busyTimeout)
        } catch let error as Deployment.CannotOpen {
            throw ValidationError(error.description)
        }
    }

    func loadConfiguration() throws -> NurtureConfiguration {
        do {
            return try NurtureConfiguration.load(path: config)
        } catch {
            throw ValidationError("\(error)")
        }
    }

    /// The store, the engine over it, and the configuration, ready for a command. Unless
    /// `takingOver` is false, this build becomes the database's deployed playbook first (see
    /// `Deployment.takeOver`), or the command stops with the reason.
    func makeRuntime(
        previewOnly: Bool = false, database: String? = nil, role: String = RuntimeOptions.commandName, takingOver: Bool = true, announcing: Bool = false
    ) async throws -> Deployment {
        if let stale = playbookOptions.staleBuild() { printError("warning: " + stale + "; running the playbook it was built from") }
        var configuration = try loadConfiguration()
        if previewOnly {
            configuration.email = NurtureConfiguration.Channel()
            configuration.sms = NurtureConfiguration.Channel()
            configuration.salesAlerts = NurtureConfiguration.Channel()
        }
        let templates = try playbookOptions.loadTemplates()
        let live: Deployment
        do {
            live = try await Deployment.open(database: database ?? databaseURL, playbook: playbookOptions.playbook, templates: templates, configuration: configuration)
        } catch let error as Deployment.CannotOpen {
            throw ValidationError(error.description)
        }
        guard takingOver else { return live }
        do {
            let plan = try await live.takeOver(as: role, announcing: announcing)
            if let deployed = plan.deployed, !plan.isNoChange {
                printError("deployed playbook \(plan.fingerprint.prefix(12)) in place of \(deployed.fingerprint.prefix(12)); no lead moved (`nurture plan` showed what changed)")
            }
        } catch let refused as Deployment.PlaybookRefused {
            printError("error: \(refused)")
            await live.close()
            throw ExitCode.failure
        }
        return live
    }
}

/// Reads `--now`/`--at` values: ISO 8601 with a zone, or UTC when none is given.
func parseInstant(_ text: String, option: String) throws -> Date {
    if let date = ISO8601DateFormatter().date(from: text) { return date }
    let formatter = DateFormatter()
    formatter.locale = Locale(identifier: "en_US_POSIX")
    formatter.timeZone = TimeZone(identifier: "UTC")
    for format in ["yyyy-MM-dd'T'HH:mm:ss", "yyyy-MM-dd'T'HH:mm", "yyyy-MM-dd"] {
        formatter.dateFormat = format
        if let date = formatter.date(from: text) { return date }
    }
    throw ValidationError("\(option) '\(text)' is not an ISO 8601 time (e.g. 2026-11-23T09:00:00Z)")
}
