import ArgumentParser
import Campaigns
import Foundation
import NurtureDSL
import NurtureEngine

/// Where the playbook's templates are; shared by every command that renders or checks them.
struct PlaybookOptions: ParsableArguments {
    @Option(name: .customLong("templates"), help: "Folder of message templates (env NURTURE_TEMPLATES).")
    var templatesDirectory: String = ProcessInfo.processInfo.environment["NURTURE_TEMPLATES"] ?? "Campaigns/Templates"

    var playbook: Playbook { Campaigns.playbook }

    func loadTemplates() throws -> TemplateLibrary {
        do {
            return try TemplateLibrary.load(from: templatesDirectory)
        } catch {
            throw ValidationError("\(error) (run nurture from the project folder, or pass --templates DIR)")
        }
    }

    func campaign(_ id: String) throws -> Campaign {
        guard let campaign = playbook.campaign(id) else {
            let hint = Suggestion.hint(for: id, among: playbook.campaigns.map(\.id))
            throw ValidationError("unknown campaign '\(id)'\(hint) (see `nurture campaigns list`)")
        }
        return campaign
    }
}

/// Prints to standard error, where diagnostics belong.
func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}
