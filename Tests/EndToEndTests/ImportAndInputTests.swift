import Foundation
import NurtureEngine
import NurtureSQLite
import NurtureTesting
import Testing

/// What a user sees from `leads import`, `events track`, `demo` and `run-due` when the input is
/// messy or the clock is moved: precise errors, nothing lost, nothing passed off as success.
@Suite(.serialized)
struct ImportAndInputTests {
    let directory: URL

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("nurture-input-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    var database: String { directory.appendingPathComponent("n.sqlite").path }

    func file(_ name: String, _ text: String) throws -> String {
        let path = directory.appendingPathComponent(name).path
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    func importing(_ path: String) async throws -> NurtureBinary.Result {
        try await NurtureBinary.run(["leads", "import", path, "--database", database])
    }

    @Test func aClassicMacFileWithBareCRsImportsEveryRow() async throws {
        let path = try file("mac.csv", "email,first_name,timezone\ra1@example.com,A,UTC\ra2@example.com,B,UTC\r")
        let result = try await importing(path)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == "imported 2, updated 0, unchanged 0, with warnings 0, rejected 0\n")
        let mixed = try file("mixed.csv", "email,first_name,timezone\ra3@example.com,C,UTC\na4@example.com,D,UTC\r\na5@example.com,E,UTC")
        #expect(try await importing(mixed).stdout == "imported 3, updated 0, unchanged 0, with warnings 0, rejected 0\n")
        #expect(try await SQLiteStore(path: database).counts().leads == 5)
    }

    @Test func anImportThatStoresNothingFails() async throws {
        let rejected = try file("bad.csv", "email,first_name\nnot-an-email,A\nalso bad,B\n")
        let result = try await importing(rejected)
        #expect(result.status == 1)
        #expect(result.stderr.contains("no row was imported: all 2 rows were rejected"))
        #expect(result.stdout == "imported 0, updated 0, unchanged 0, with warnings 0, rejected 2 (written to \(directory.path)/bad.rejects.csv)\n")
        let empty = try await importing(try file("empty.csv", "email,first_name\n"))
        #expect(empty.status == 1)
        #expect(empty.stderr.contains("no data rows after the header line; nothing was imported"))
    }

    /// A quote opened near the end of a big file swallows the rest: the rows before it are kept
    /// and said to be, and a re-run after the fix duplicates nothing.
    @Test func anUnclosedQuoteSaysWhereWhatWasCommittedAndThatTheRestWasNotRead() async throws {
        var rows = ["email,first_name,company"]
        for n in 1...4_999 { rows.append("lead\(n)@example.com,Lead \(n),Acme") }
        var broken = rows
        broken[4_990] = "lead4990@example.com,Lead 4990,\"Acme, Inc"   // line 4,991 opens a quote it never closes
        let path = try file("big.csv", broken.joined(separator: "\n") + "\n")
        let result = try await importing(path)
        #expect(result.status == 1)
        #expect(result.stderr.contains("\(path):4991: a quoted field opened on this line is never closed, so the rest of the file, from line 4991 on, was not read."), "\(result.stderr)")
        #expect(result.stderr.contains("The 4989 rows before it were read and committed: imported 4989, updated 0, unchanged 0, with warnings 0, rejected 0."))
        #expect(result.stderr.contains("Fix the quote and import the file again"))
        #expect(try await SQLiteStore(path: database).counts().leads == 4_989)

        let fixed = try file("big.csv", rows.joined(separator: "\n") + "\n")
        let again = try await importing(fixed)
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.stdout == "imported 10, updated 0, unchanged 4989, with warnings 0, rejected 0\n")
        #expect(try await SQLiteStore(path: database).counts().leads == 4_999)
    }

    @Test func controlCharactersOnTheCommandLineAreRefusedByArgument() async throws {
        let leads = try file("one.csv", "email,first_name\nana@example.com,Ana\n")
        #expect(try await importing(leads).status == 0)
        let common = ["--database", database]
        let bell = try await NurtureBinary.run(["events", "track", "ana@example.com", "page.viewed", "--prop", "path=/a\u{7}b", "--id", "x\u{1B}y"] + common)
        #expect(bell.status != 0)
        #expect(bell.stderr.contains("error: --id: contains the control character U+001B (escape) at character 2"))
        #expect(bell.stderr.contains("error: --prop path: contains the control character U+0007 at character 3"))
        let reserved = try await NurtureBinary.run(["events", "track", "ana@example.com", "email.sent"] + common)
        #expect(reserved.status != 0)
        #expect(reserved.stderr.contains("error: TYPE: 'email.sent' is recorded by Nurture itself and cannot be sent"))
        #expect(try await SQLiteStore(path: database).counts().events == 1)   // lead.created only
    }

    /// `--now` moves scheduling; a receiver enforcing Standard Webhooks' 5-minute window still
    /// accepts the signature, because it carries the real time.
    @Test func runDueInTheFutureSignsWithTheWallClock() async throws {
        let sink = try await WebhookSink.start()
        let secret = Data("run-due-secret-0123456789abcdef!".utf8)
        let config = try file("nurture.toml", "[channels.email]\nkind = \"webhook\"\nurl = \"\(sink.url.absoluteString)\"\nsecret_env = \"TEST_EMAIL_SECRET\"\n")
        let environment = ["TEST_EMAIL_SECRET": secret.base64EncodedString()]
        let common = ["--database", database, "--config", config]
        let leads = try file("one.csv", "email,first_name,timezone\nana@example.com,Ana,Europe/Lisbon\n")
        #expect(try await NurtureBinary.run(["leads", "import", leads] + common, environment: environment).status == 0)
        let due = try await NurtureBinary.run(["run-due", "--now", "2027-06-01T10:00:00Z"] + common, environment: environment)
        #expect(due.status == 0, "\(due.stderr)")
        let received = try #require(sink.accepted.first)
        let timestamp = try #require(received.headers["webhook-timestamp"].flatMap { Double($0) })
        #expect(abs(timestamp - Date().timeIntervalSince1970) < 300)
        #expect(WebhookSignature.verify(
            id: received.headers["webhook-id"] ?? "", timestamp: received.headers["webhook-timestamp"] ?? "",
            signatures: received.headers["webhook-signature"] ?? "", body: received.body, secret: secret, now: Date()))
        await sink.stop()
    }

    @Test func theDemoSaysWhichLeadsItRejectedAndWhy() async throws {
        let leads = try file("demo.csv", "email,first_name,timezone\nana@example.com,Ana,Asia/Kolkata\nnot-an-email,Bad,UTC\nben@example.com,Ben,Mars/Olympus\n")
        let result = try await NurtureBinary.run(["demo", "--leads", leads, "--days", "1", "--hours-per-second", "0", "--database", database])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("\(leads):3: rejected: email: 'not-an-email' is not an email address"))
        #expect(result.stderr.contains("\(leads):4:3: warning: timezone: 'Mars/Olympus' is not an IANA time zone (such as Europe/Lisbon); imported without it"))
        #expect(result.stdout.contains("Imported 2 demo leads into \(database) (1 of 3 rows rejected, listed above)"), "\(result.stdout)")
    }

    /// An ordinary CRM export: phones without a country code, a size that is not a number, a zone
    /// that does not exist, rows without zones. Every lead is kept; each bad field is named at its
    /// line and column; zones come from the row, its country, its phone or the configured default.
    @Test func anOrdinaryCRMExportKeepsEveryLeadAndInfersTheirZones() async throws {
        let config = try file("nurture.toml", "[sending]\ndefault_timezone = \"Europe/Lisbon\"\n")
        let leads = try file("crm.csv", """
            email,first_name,company,phone,country,timezone,company_size
            ana@example.com,Ana,Acme,415-555-0101,,America/Los_Angeles,12
            ben@example.com,Ben,Beta,415-555-0102,United States,,not-a-number
            cy@example.com,Cy,Gamma,,FR,Mars/Olympus,
            dee@example.com,Dee,Delta,+49 151 12345678,,,
            eve@example.com,Eve,Epsilon,,,,

            """)
        let common = ["--database", database, "--config", config]
        let result = try await NurtureBinary.run(["leads", "import", leads] + common)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("\(leads):3:7: warning: company_size: 'not-a-number' is not a whole number; imported without it"))
        #expect(result.stderr.contains("\(leads):4:6: warning: timezone: 'Mars/Olympus' is not an IANA time zone (such as Europe/Lisbon); imported without it"))
        #expect(result.stdout.hasPrefix("imported 5, updated 0, unchanged 0, with warnings 2, rejected 0; time zone guessed for 1 "), "\(result.stdout)")

        func shown(_ email: String) async throws -> String {
            let show = try await NurtureBinary.run(["leads", "show", email] + common)
            #expect(show.status == 0, "\(show.stderr)")
            return show.stdout
        }
        // The row's zone gives the phone its country code.
        #expect(try await shown("ana@example.com").contains("America/Los_Angeles · +14155550101"))
        // The country column gives both; the United States has several zones, so the zone is a guess.
        #expect(try await shown("ben@example.com").contains("US · America/Chicago (guessed from the country, which has several zones) · +14155550102"))
        #expect(try await shown("cy@example.com").contains("FR · Europe/Paris (from the country)"))
        #expect(try await shown("dee@example.com").contains("Europe/Berlin (from the phone number) · +4915112345678"))
        #expect(try await shown("eve@example.com").contains("Europe/Lisbon (the default: nothing to infer it from)"))

        // Business hours are only as right as the zone they are read in.
        let validated = try await NurtureBinary.run(["validate", "--database", database])
        #expect(validated.status == 0, "\(validated.stderr)")
        #expect(validated.stderr.contains("Engagement.swift:5: warning: campaign 'engagement' sends within "), "\(validated.stderr)")
        #expect(validated.stderr.contains("2 leads' time zones are guesses (1 from a country with several zones, 1 the default, with nothing to go by)"))

        // A zone given later is kept, and the lead's country no longer moves it.
        let fix = try file("fix.csv", "email,timezone\nben@example.com,America/New_York\n")
        #expect(try await NurtureBinary.run(["leads", "import", fix] + common).stdout.hasPrefix("imported 0, updated 1"))
        #expect(try await shown("ben@example.com").contains("US · America/New_York · +14155550102"))
    }

    /// Long commands say how far they are: on a terminal one line updated in place (count of
    /// total, percentage, rate, time left); elsewhere nothing but the summary, or a line a minute
    /// with --progress.
    @Test func anImportShowsProgressOnATerminalAndOnlyItsSummaryElsewhere() async throws {
        let rows = (1...3_000).map { "lead\($0)@example.com,Lead \($0)" }.joined(separator: "\n")
        let leads = try file("many.csv", "email,first_name\n" + rows + "\n")
        let quiet = try await importing(leads)
        #expect(quiet.stdout == "imported 3000, updated 0, unchanged 0, with warnings 0, rejected 0\n")
        #expect(quiet.stderr.isEmpty, "a pipe gets nothing but the summary: \(quiet.stderr)")

        let logged = try await NurtureBinary.run(["leads", "import", leads, "--progress", "--database", database])
        #expect(logged.stderr.contains(" rows · ") && logged.stderr.contains(" of ") && logged.stderr.contains("%)"), "\(logged.stderr)")
        #expect(!logged.stderr.contains("\r"), "a log gets whole lines")

        // Under a terminal (script(1) gives it one), one line rewritten in place.
        let terminal = Process()
        terminal.executableURL = URL(fileURLWithPath: "/usr/bin/script")
        let command = [NurtureBinary.executable.path, "leads", "import", leads, "--database", directory.appendingPathComponent("tty.sqlite").path]
            .map { "'" + $0 + "'" }.joined(separator: " ")
        terminal.arguments = ["-qec", command, "/dev/null"]
        terminal.currentDirectoryURL = NurtureBinary.repositoryRoot
        let output = Pipe()
        terminal.standardOutput = output
        terminal.standardInput = FileHandle.nullDevice
        try terminal.run()
        let seen = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        terminal.waitUntilExit()
        #expect(terminal.terminationStatus == 0, "\(seen)")
        #expect(seen.contains("\r") && seen.contains(" rows · ") && seen.contains("/s"), "\(seen)")
        #expect(seen.contains("imported 3000, updated 0, unchanged 0"))
    }
}
