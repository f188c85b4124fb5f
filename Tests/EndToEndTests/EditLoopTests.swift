import Foundation
import Testing

/// The edit loop through the real binary: it knows which Campaigns/ sources it was built from, and
/// says so when the files beside the templates are not those.
struct EditLoopTests {
    /// A copy of the project's Campaigns/ (sources and templates) in a folder of its own.
    func copiedPlaybook() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("nurture-edit-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: NurtureBinary.repositoryRoot.appendingPathComponent("Campaigns"), to: folder.appendingPathComponent("Campaigns"))
        return folder
    }

    @Test func anEditedCampaignFileIsNamedUntilTheBinaryIsRebuilt() async throws {
        let folder = try copiedPlaybook()
        defer { try? FileManager.default.removeItem(at: folder) }
        let unchanged = try await NurtureBinary.run(["validate"], in: folder)
        #expect(unchanged.status == 0, "\(unchanged.stderr)")
        #expect(unchanged.stdout.contains("ok: 9 campaigns"))

        let welcome = folder.appendingPathComponent("Campaigns/Welcome.swift")
        try (String(contentsOf: welcome, encoding: .utf8) + "\n// one more step\n").write(to: welcome, atomically: true, encoding: .utf8)
        try "import NurtureDSL\n".write(to: folder.appendingPathComponent("Campaigns/Sunset.swift"), atomically: true, encoding: .utf8)
        let edited = try await NurtureBinary.run(["validate"], in: folder)
        #expect(edited.status == 1)
        #expect(edited.stderr.contains("Campaigns/ is not the playbook this binary was built from (Campaigns/Welcome.swift edited, Campaigns/Sunset.swift added): run scripts/build.sh"),
                "\(edited.stderr)")
        // The engine still runs, on the playbook it was built from, and says so.
        let ran = try await NurtureBinary.run(["run-due", "--database", folder.appendingPathComponent("n.sqlite").path], in: folder)
        #expect(ran.status == 0, "\(ran.stderr)")
        #expect(ran.stderr.contains("warning: Campaigns/ is not the playbook this binary was built from"))
        #expect(ran.stderr.contains("running the playbook it was built from"))

        // A template edit needs no rebuild: templates are read from disk at every start.
        try FileManager.default.removeItem(at: folder.appendingPathComponent("Campaigns/Sunset.swift"))
        try FileManager.default.removeItem(at: welcome)
        try FileManager.default.copyItem(at: NurtureBinary.repositoryRoot.appendingPathComponent("Campaigns/Welcome.swift"), to: welcome)
        let subject = folder.appendingPathComponent("Campaigns/Templates/welcome-1.subject.mustache")
        try "Welcome aboard, {{first_name}}".write(to: subject, atomically: true, encoding: .utf8)
        let templateOnly = try await NurtureBinary.run(["validate"], in: folder)
        #expect(templateOnly.status == 0, "\(templateOnly.stderr)")
        #expect(!templateOnly.stderr.contains("not the playbook"))
    }
}
