import Foundation
import NurtureDSL

// Run by the CampaignFingerprint build plugin: writes a Swift file that records, for the
// Campaigns module, the digest of each of its Swift sources as they were when it was built.
//   campaign-fingerprint CAMPAIGNS_DIR OUTPUT.swift
let arguments = CommandLine.arguments
guard arguments.count == 3 else {
    FileHandle.standardError.write(Data("usage: campaign-fingerprint CAMPAIGNS_DIR OUTPUT.swift\n".utf8))
    exit(2)
}
let root = URL(fileURLWithPath: arguments[1]).standardizedFileURL
var digests: [String: String] = [:]
// As the CLI walks it (PlaybookOptions.staleBuild): hidden files and Templates/ are not sources.
if let files = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil, options: [.skipsHiddenFiles]) {
    for case let url as URL in files {
        if url.lastPathComponent == "Templates" { files.skipDescendants(); continue }
        guard url.pathExtension == "swift" else { continue }
        let relative = String(url.standardizedFileURL.path.dropFirst(root.path.count + 1))
        if let data = FileManager.default.contents(atPath: url.path) { digests[relative] = CampaignSources.digest(data) }
    }
}
let entries = digests.keys.sorted().map { "        \"\($0)\": \"\(digests[$0]!)\"," }.joined(separator: "\n")
let source = """
    // Generated at build time by the CampaignFingerprint plugin: do not edit.
    /// The Swift sources of Campaigns/ this binary was built from, with their digests.
    public enum BuiltFrom {
        public static let sources: [String: String] = [
    \(entries.isEmpty ? "    :" : entries)
        ]
    }

    """
let output = URL(fileURLWithPath: arguments[2])
// Rewritten only when it changes, so an unchanged folder does not recompile the module.
if FileManager.default.contents(atPath: output.path) != Data(source.utf8) {
    try Data(source.utf8).write(to: output)
}
