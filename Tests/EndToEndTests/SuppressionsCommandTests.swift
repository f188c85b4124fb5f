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

/// `nurture leads enroll` as a marketer runs it: a dry run's count first, then the real thing,
/// by segment or from a file, and clear refusals.
@Suite(.serialized)
struct EnrollCommandTests {
    let directory: URL

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("nurture-enroll-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    func nurture(_ arguments: [String]) async throws -> NurtureBinary.Result {
        try await NurtureBinary.run(arguments + ["--database", directory.appendingPathComponent("n.sqlite").path])
    }

    @Test func aDryRunCountsThenTheSegmentIsEnrolledAndAFileByEmail() async throws {
        let leads = directory.appendingPathComponent("leads.csv")
        try Data("email,first_name,industry,email_consent\nana@example.com,Ana,SaaS,yes\nben@example.com,Ben,SaaS,no\ncy@example.com,Cy,Retail,yes\n".utf8).write(to: leads)
        #expect(try await nurture(["leads", "import", leads.path]).status == 0)

        let dry = try await nurture(["leads", "enroll", "engagement", "--segment", "industry=SaaS", "--dry-run"])
        #expect(dry.status == 0, "\(dry.stderr)")
        #expect(dry.stdout == "dry run, nothing changed; engagement: of 2 leads, 1 enrolled, 0 already there or not again (re-entry rule), "
            + "0 in a campaign that runs alone, 0 suppressed, 1 without consent\n", "\(dry.stdout)")
        #expect(!(try await nurture(["leads", "show", "ana@example.com"]).stdout.contains("engagement")))
        let done = try await nurture(["leads", "enroll", "engagement", "--segment", "industry=SaaS", "--at", "2026-12-14T09:00:00Z"])
        #expect(done.stdout.hasPrefix("engagement from 2026-12-14T09:00:00Z: of 2 leads, 1 enrolled"), "\(done.stdout)")
        #expect(try await nurture(["leads", "show", "ana@example.com"]).stdout.contains("engagement"))

        let list = directory.appendingPathComponent("list.csv")
        try Data("Email\nana@example.com\ncy@example.com\nnobody@example.com\n".utf8).write(to: list)
        let byFile = try await nurture(["leads", "enroll", "engagement", "--file", list.path])
        #expect(byFile.stdout.hasPrefix("engagement: of 2 leads, 1 enrolled, 1 already there or not again"), "\(byFile.stdout)")
        #expect(byFile.stdout.hasSuffix(", 1 unknown\n"))

        #expect(try await nurture(["leads", "enroll", "engagement"]).stderr.contains("choose the leads one way"))
        #expect(try await nurture(["leads", "enroll", "engagment", "--all"]).stderr.contains("no campaign 'engagment'; did you mean 'engagement'?"))
        #expect(try await nurture(["leads", "enroll", "engagement", "--segment", "colour=red"]).stderr.contains("unknown field 'colour'"))
    }
}
