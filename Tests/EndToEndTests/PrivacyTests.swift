import Foundation
import NurtureTesting
import Testing

/// A person's requests through the real binary, on both backends: everything held about them
/// exported, then erased, so that neither the database's files (SQLite) nor a dump of it
/// (PostgreSQL) holds their address or name, and an import that brings them back mails nothing.
@Suite(.serialized)
struct PrivacyTests {
    enum Backend: String, CaseIterable {
        case sqlite, postgres
    }

    let directory: URL

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("nurture-privacy-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    /// Every byte the database keeps: the SQLite file and its log, or a full dump of PostgreSQL.
    func everythingStored(_ backend: Backend, _ database: String) throws -> String {
        switch backend {
        case .sqlite:
            return try ["", "-wal"].map { suffix in
                let path = database + suffix
                guard FileManager.default.fileExists(atPath: path) else { return "" }
                return String(decoding: try Data(contentsOf: URL(fileURLWithPath: path)), as: UTF8.self)
            }.joined()
        case .postgres:
            let dump = Process()
            dump.executableURL = URL(fileURLWithPath: "/usr/bin/pg_dump")
            dump.arguments = ["--data-only", database]
            let output = Pipe()
            dump.standardOutput = output
            try dump.run()
            let data = output.fileHandleForReading.readDataToEndOfFile()
            dump.waitUntilExit()
            #expect(dump.terminationStatus == 0, "pg_dump failed")
            return String(decoding: data, as: UTF8.self)
        }
    }

    @Test(arguments: Backend.allCases)
    func exportThenForgetLeavesNothingPersonalAndAReturnIsNeverMailed(_ backend: Backend) async throws {
        let database = backend == .sqlite ? directory.appendingPathComponent("n.sqlite").path : try await TestPostgres.newDatabase()
        func nurture(_ arguments: [String]) async throws -> NurtureBinary.Result {
            try await NurtureBinary.run(arguments + ["--database", database])
        }
        let leads = directory.appendingPathComponent("leads.csv")
        try Data("""
            email,first_name,last_name,company,phone,country,sms_consent
            zelda.quixote@fernhill.example,Zelda,Quixotique,Fernhill,+351912345678,PT,yes
            ben@example.com,Ben,Okafor,Acme,,GB,

            """.utf8).write(to: leads)
        #expect(try await nurture(["leads", "import", leads.path]).status == 0)
        #expect(try await nurture(["events", "track", "zelda.quixote@fernhill.example", "page.viewed", "--prop", "note=Quixotique asked about pricing"]).status == 0)
        #expect(try await nurture(["run-due", "--now", "2026-12-07T10:00:00Z"]).status == 0)
        #expect(try everythingStored(backend, database).contains("Quixotique"), "the test's name must be stored before it can be erased")

        // The export holds everything: profile, events with their properties, messages with their content.
        let exported = try await nurture(["leads", "export", "zelda.quixote@fernhill.example"])
        #expect(exported.status == 0, "\(exported.stderr)")
        let export = try #require(try JSONSerialization.jsonObject(with: Data(exported.stdout.utf8)) as? [String: Any])
        #expect((export["lead"] as? [String: Any])?["last_name"] as? String == "Quixotique")
        #expect((export["events"] as? [[String: Any]] ?? []).contains { ($0["properties"] as? [String: Any])?["note"] as? String == "Quixotique asked about pricing" })
        let messages = try #require(export["messages"] as? [[String: Any]])
        #expect(messages.contains { $0["address"] as? String == "zelda.quixote@fernhill.example" && ($0["text"] as? String ?? "").contains("Zelda") })

        #expect(try await nurture(["leads", "forget", "zelda.quixote@fernhill.example"]).stderr.contains("run again with --yes"))
        let forgot = try await nurture(["leads", "forget", "zelda.quixote@fernhill.example", "--yes"])
        #expect(forgot.status == 0, "\(forgot.stderr)")
        #expect(forgot.stdout.hasPrefix("forgot ld_"))

        let stored = try everythingStored(backend, database)
        for personal in ["zelda.quixote", "Zelda", "Quixotique", "+351912345678", "912345678"] {
            #expect(!stored.contains(personal), "\(personal) is still stored")
        }
        #expect(stored.contains("Okafor"), "the other lead is untouched")
        #expect(try await nurture(["leads", "show", "zelda.quixote@fernhill.example"]).status != 0)
        #expect(!(try await nurture(["leads", "top", "--format", "csv"]).stdout.contains("fernhill")))
        let audit = try await nurture(["leads", "requests"]).stdout
        #expect(audit.contains("  forget  ld_") && audit.contains("  export  ld_"))
        #expect(audit.contains("events") && !audit.contains("zelda"))
        let suppressions = try await nurture(["suppressions", "list"]).stdout
        #expect(suppressions.split(separator: "\n").filter { $0.hasPrefix("erased:") }.count == 2, "\(suppressions)")

        // Back through an import: kept as a lead (the CRM said so), but never mailed or texted.
        #expect(try await nurture(["leads", "import", leads.path]).stdout.hasPrefix("imported 1, updated 0, unchanged 1"))
        #expect(try await nurture(["run-due", "--now", "2026-12-08T10:00:00Z"]).status == 0)
        let shown = try await nurture(["leads", "show", "zelda.quixote@fernhill.example"]).stdout
        #expect(shown.contains("email suppressed (asked to be forgotten)") && shown.contains("sms suppressed (asked to be forgotten)"), "\(shown)")
        let outbox = try await nurture(["outbox", "--limit", "50"]).stdout
        #expect(!outbox.split(separator: "\n").contains { $0.contains("zelda.quixote") && !$0.contains("suppressed") }, "\(outbox)")
    }
}
