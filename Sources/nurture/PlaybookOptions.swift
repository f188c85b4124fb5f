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

    /// Says, when the Swift files in Campaigns/ are not the ones this binary was built from,
    /// which differ and what to run; nil when they match, or when no sources sit beside the
    /// templates (a deployment that ships templates alone).
    func staleBuild() -> String? {
        // Only a playbook folder: templates in `…/Templates` beside Swift files. Templates kept
        // anywhere else (a deployment's own folder, a test's copy in /tmp) have no sources to compare.
        let templates = URL(fileURLWithPath: templatesDirectory).standardizedFileURL
        let root = templates.deletingLastPathComponent()
        guard templates.lastPathComponent == "Templates",
              let top = try? FileManager.default.contentsOfDirectory(atPath: root.path), top.contains(where: { $0.hasSuffix(".swift") })
        else { return nil }
        var onDisk: [String: String] = [:]
        if let files = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil, options: [.skipsHiddenFiles]) {
            for case let url as URL in files {
                if url.lastPathComponent == "Templates" { files.skipDescendants(); continue }
                guard url.pathExtension == "swift" else { continue }
                let relative = String(url.standardizedFileURL.path.dropFirst(root.path.count + 1))
                if let data = FileManager.default.contents(atPath: url.path) { onDisk[relative] = CampaignSources.digest(data) }
            }
        }
        guard !onDisk.isEmpty else { return nil }
        let difference = CampaignSources.Difference(built: BuiltFrom.sources, onDisk: onDisk)
        guard !difference.isEmpty else { return nil }
        let given = templatesDirectory.hasSuffix("/") ? String(templatesDirectory.dropLast()) : templatesDirectory
        let folder = given.lastIndex(of: "/").map { String(given[..<$0]) } ?? "."
        return "\(folder)/ is not the playbook this binary was built from (\(difference.summary(folder: folder))): "
            + "run scripts/build.sh to rebuild and validate it"
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
