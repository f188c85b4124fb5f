import Foundation
import PackagePlugin

/// Records in the Campaigns module which Swift sources it was built from, so `nurture` can say
/// when the files on disk are not the playbook it runs (see `CampaignSources`).
@main
struct CampaignFingerprint: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) async throws -> [Command] {
        let folder = target.directoryURL
        var sources: [URL] = []
        if let files = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: nil) {
            for case let url as URL in files where url.pathExtension == "swift" { sources.append(url) }
        }
        let output = context.pluginWorkDirectoryURL.appendingPathComponent("BuiltFrom.swift")
        return [.buildCommand(
            displayName: "Recording which campaign sources are built",
            executable: try context.tool(named: "campaign-fingerprint").url,
            arguments: [folder.path, output.path],
            inputFiles: sources,
            outputFiles: [output])]
    }
}
