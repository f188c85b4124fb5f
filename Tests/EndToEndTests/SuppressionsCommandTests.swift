import Foundation
import NurtureTesting
import Testing

/// `nurture suppressions`: the list as an operator reads it, a suppression added from another
/// tool, and lifting, which for a person's own unsubscribe takes their own request, recorded.
@Suite(.serialized)
struct SuppressionsCommandTests {
    let directory: URL

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("nurture-suppressions-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    var database: [String] { ["--database", directory.appendingPathComponent("n.sqlite").path] }

    func nurture(_ arguments: [String]) async throws -> NurtureBinary.Result {
        try await NurtureBinary.run(arguments + database)
    }

    @Test func listAddAndLiftWithTheirOwnRequestOnly() async throws {
        let leads = directory.appendingPathComponent("leads.csv")
        try Data("email,first_name,country\nana@example.com,Ana,PT\nben@example.com,Ben,GB\n".utf8).write(to: leads)
        #expect(try await nurture(["leads", "import", leads.path]).status == 0)
        #expect(try await nurture(["suppressions", "list"]).stdout == "no suppressions\n")

        let added = try await nurture(["suppressions", "add", "Ben@Example.com", "--scope", "marketing", "--reason", "asked on the phone"])
        #expect(added.status == 0, "\(added.stderr)")
        #expect(added.stdout == "ben@example.com (email): asked on the phone, marketing only\n")
        #expect(try await nurture(["suppressions", "add", "+44 7700 900123"]).status == 0)
        #expect(try await nurture(["suppressions", "add", "not an address"]).stderr.contains("'not an address' is not an email address or a +country phone number"))
        #expect(try await nurture(["suppressions", "add", "ana@example.com", "--scope", "some"]).stderr.contains("--scope must be all, marketing or kinds:"))
        #expect(try await nurture(["events", "track", "ana@example.com", "unsubscribed"]).status == 0)

        let listed = try await nurture(["suppressions", "list"]).stdout.split(separator: "\n").map { $0.split(separator: "\t").prefix(4).joined(separator: " | ") }
        #expect(listed == [
            "+447700900123 | sms | all | added by hand",
            "ana@example.com | email | marketing | unsubscribed",
            "ben@example.com | email | marketing | asked on the phone",
        ])

        // Ana unsubscribed herself: the operator cannot lift it on their own.
        let refused = try await nurture(["suppressions", "remove", "ana@example.com"])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("is suppressed by their own choice (unsubscribed, marketing only); only they can lift it"))
        let asked = try await nurture(["suppressions", "remove", "ana@example.com", "--person-asked"])
        #expect(asked.status == 0, "\(asked.stderr)")
        #expect(asked.stdout == "lifted: ana@example.com (email) was unsubscribed, marketing only\n")
        #expect(try await nurture(["leads", "show", "ana@example.com"]).stdout.contains("resubscribed"))
        // One added by hand is lifted by hand.
        #expect(try await nurture(["suppressions", "remove", "ben@example.com"]).stdout == "lifted: ben@example.com (email) was asked on the phone, marketing only\n")
        #expect(try await nurture(["suppressions", "list"]).stdout.split(separator: "\n").count == 1)
    }
}
