import ArgumentParser
import Foundation
import NurtureDeployment
import NurtureDSL
import NurtureEngine
import NurtureStorage
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
        var stale = 0
        if let store = try await deployedDatabase() {
            stale += try await staleScores(store)
            stale += try await movedLeads(store, templates: templates)
            stale += try await guessedZones(store)
            await Deployment.close(store)
        }
        let written = options.playbook.personaParts(in: templates.catalog).count
        print("ok: \(options.playbook.campaigns.count) campaigns, \(templates.catalog.templates.count - written) templates"
            + (written > 0 ? " (and \(written) written for personas)" : "")
            + (warnings + stale > 0 ? ", \(warnings + stale) warning\(warnings + stale == 1 ? "" : "s")" : ""))
    }

    /// The database this playbook is deployed on, if there is one: validating never creates an
    /// embedded database where there was none.
    private func deployedDatabase() async throws -> (any LeadStore)? {
        let url = databaseURL
        guard PostgresURL.isPostgres(url) || FileManager.default.fileExists(atPath: databasePath) else { return nil }
        return try await Deployment.openStore(url)
    }

    private var databaseURL: String { database ?? ProcessInfo.processInfo.environment["NURTURE_DATABASE_URL"] ?? Deployment.defaultDatabase }

    private var databasePath: String {
        let url = databaseURL
        return url.hasPrefix("sqlite:") ? String(url.dropFirst("sqlite:".count)) : PostgresURL.isPostgres(url) ? PostgresURL.redacted(url) : url
    }

    /// Warns when stored scores were computed by another model than the one deployed: they stay
    /// as they were until `nurture scores recompute`. Returns the number of warnings.
    private func staleScores(_ store: any LeadStore) async throws -> Int {
        guard let model = options.playbook.scoring else { return 0 }
        let versions = try await store.scoreVersions()
        let other = versions.filter { $0.key != model.version && $0.key != "" }
        let others = other.values.reduce(0, +)
        guard others > 0 else { return 0 }
        let names = other.keys.sorted().map { "'\($0)'" }.joined(separator: ", ")
        printError("\(databasePath): warning: \(others) lead\(others == 1 ? " was" : "s were") scored by model \(names), not the deployed '\(model.version)'; "
            + "run 'nurture scores recompute' to rescore everyone")
        return 1
    }

    /// Warns, at the first narrowed send window of each campaign, when leads' zones are guesses:
    /// a window of business hours is only as right as the zone it is read in. Returns the number of warnings.
    private func guessedZones(_ store: any LeadStore) async throws -> Int {
        let sources = try await store.timeZoneSources()
        let guessed = sources.filter { $0.key.isGuess }.values.reduce(0, +)
        guard guessed > 0 else { return 0 }
        let parts = [(TimeZoneSource.countryGuess, "from a country with several zones"), (.phoneGuess, "from a phone number"),
                     (.fallback, "the default, with nothing to go by")]
            .compactMap { source, text in sources[source].map { "\($0) \(text)" } }.joined(separator: ", ")
        var warnings = 0
        for campaign in options.playbook.campaigns {
            guard let (window, location) = Self.narrowedWindow(campaign) else { continue }
            printError("\(location): warning: campaign '\(campaign.id)' sends within \(window) local time, but \(guessed) leads' "
                + "time zones are guesses (\(parts)); import a timezone column, or set [sending] default_timezone")
            warnings += 1
        }
        return warnings
    }

    /// The campaign's first send window narrower than any time, with where it is written.
    static func narrowedWindow(_ campaign: Campaign) -> (SendWindow, Step.Location)? {
        if let window = campaign.window, !window.isAnytime { return (window, campaign.location) }
        for step in campaign.allSteps {
            switch step.action {
            case .email(let message), .sms(let message):
                if let window = message.window, !window.isAnytime { return (window, step.location) }
            case .wait(_, let window?) where !window.isAnytime:
                return (window, step.location)
            default:
                continue
            }
        }
        return nil
    }

    /// Warns, at the edited step, when deploying this build would rename or move a step that
    /// holds leads in the deployed database. Returns the number of warnings.
    private func movedLeads(_ store: any LeadStore, templates: TemplateLibrary) async throws -> Int {
        guard let deployed = try await store.currentDeployment() else { return 0 }
        let plan = DeploymentPlan(built: options.playbook, templates: templates, deployed: deployed, occupancy: try await store.stepOccupancy())
        guard let changes = plan.changes else { return 0 }
        var warnings = 0
        for campaign in changes.campaigns {
            let built = options.playbook.campaign(campaign.id)
            for step in campaign.deployed {
                let count = plan.leadCount(campaign.id, step.id)
                guard count > 0 else { continue }
                let leads = DeploymentPlan.leads(count)
                let (location, message): (String, String)
                switch step.destination {
                case .stays(let id) where id != step.id:
                    location = built?.step(id)?.location.description ?? databasePath
                    message = "step '\(id)' was '\(step.id)' in the deployed playbook, where \(leads) \(count == 1 ? "is" : "are"); deploying renames "
                        + "it and they stay on it (pin the old id with .id(\"\(step.id)\") to keep it)"
                case .stays:
                    continue
                default:
                    location = built?.location.description ?? databasePath
                    message = "deploying this build moves \(leads) off step '\(step.id)' of campaign '\(campaign.id)': they \(step.destination) (see `nurture plan`)"
                }
                printError("\(location): warning: \(message)")
                warnings += 1
            }
        }
        return warnings
    }
}
