import ArgumentParser
import Foundation
import NurtureDeployment
import NurtureDSL
import NurturePostgres

struct Validate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check Campaigns/ and its templates; exit 1 with path:line errors if anything cannot run.")

    @OptionGroup var options: PlaybookOptions
    @Option(help: "Also check that this database's scores come from the deployed scoring model (default: nurture.sqlite, if it exists).")
    var database: String?

    func run() async throws {
        // What is checked below is the compiled playbook: an edit not built yet would pass unseen.
        if let stale = options.staleBuild() {
            printError("error: " + stale)
            throw ExitCode.failure
        }
        let templates = try options.loadTemplates()
        let diagnostics = options.playbook.validate(templates: templates.catalog)
        for diagnostic in diagnostics { printError(diagnostic.description) }
        let errors = diagnostics.count { $0.severity == .error }
        let warnings = diagnostics.count - errors
        if errors > 0 {
            printError("\(errors) error\(errors == 1 ? "" : "s"), \(warnings) warning\(warnings == 1 ? "" : "s")")
            throw ExitCode.failure
        }
        for campaign in options.playbook.campaigns { print(campaign.summaryLine) }
        if let scoring = options.playbook.scoring {
            print("scoring model \(scoring.version): \(scoring.rules.count) rules, thresholds "
                + scoring.thresholds.map { Value.number($0.points).textValue }.joined(separator: ", ")
                + (scoring.behaviourHalfLife.map { ", behaviour half-life \($0)" } ?? ""))
        }
        let stale = try await staleScores()
        print("ok: \(options.playbook.campaigns.count) campaigns, \(templates.catalog.templates.count) templates"
            + (warnings + stale > 0 ? ", \(warnings + stale) warning\(warnings + stale == 1 ? "" : "s")" : ""))
    }

    /// Warns when stored scores were computed by another model than the one deployed: they stay
    /// as they were until `nurture scores recompute`. Returns the number of warnings.
    private func staleScores() async throws -> Int {
        guard let model = options.playbook.scoring else { return 0 }
        let url = database ?? ProcessInfo.processInfo.environment["NURTURE_DATABASE_URL"] ?? Deployment.defaultDatabase
        let path = url.hasPrefix("sqlite:") ? String(url.dropFirst("sqlite:".count)) : PostgresURL.isPostgres(url) ? PostgresURL.redacted(url) : url
        // Validating never creates an embedded database where there was none.
        guard PostgresURL.isPostgres(url) || FileManager.default.fileExists(atPath: path) else { return 0 }
        let store = try await Deployment.openStore(url)
        let versions = try await store.scoreVersions()
        await Deployment.close(store)
        let other = versions.filter { $0.key != model.version && $0.key != "" }
        let others = other.values.reduce(0, +)
        guard others > 0 else { return 0 }
        let names = other.keys.sorted().map { "'\($0)'" }.joined(separator: ", ")
        printError("\(path): warning: \(others) lead\(others == 1 ? " was" : "s were") scored by model \(names), not the deployed '\(model.version)'; "
            + "run 'nurture scores recompute' to rescore everyone")
        return 1
    }
}
