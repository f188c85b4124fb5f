import ArgumentParser
import NurtureDSL

struct Validate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check Campaigns/ and its templates; exit 1 with path:line errors if anything cannot run.")

    @OptionGroup var options: PlaybookOptions

    func run() async throws {
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
        print("ok: \(options.playbook.campaigns.count) campaigns, \(templates.catalog.templates.count) templates"
            + (warnings > 0 ? ", \(warnings) warning\(warnings == 1 ? "" : "s")" : ""))
    }
}
