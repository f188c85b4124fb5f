import Foundation
import NurtureEngine
import NurtureSQLite
import NurtureTesting
import Testing

/// Ranking, explaining, marking and rescoring leads through the `nurture` binary, and a sales
/// alert delivered from it to a loopback Slack-compatible receiver.
@Suite(.serialized)
struct ScoringCommandTests {
    @Test func rankExplainMarkRecomputeAndAlert() async throws {
        let sink = try await WebhookSink.start()
        defer { Task { await sink.stop() } }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("nurture-scoring-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let config = directory.appendingPathComponent("nurture.toml")
        try "[alerts.sales]\nkind = \"slack\"\nurl = \"\(sink.url.absoluteString)\"\ntimeout_seconds = 5\n".write(to: config, atomically: true, encoding: .utf8)
        let database = directory.appendingPathComponent("n.sqlite").path
        let common = ["--database", database, "--config", config.path]
        // A hostile name must stay text in a spreadsheet
        let csv = """
            email,first_name,last_name,job_title,industry,company_size,country,source
            ana@fernhill.example,Ana,Costa,Head of Marketing,SaaS,180,GB,referral
            ben@harbour.example,=HYPERLINK("http://evil"),Okafor,Analyst,Retail,40,GB,webinar
            cy@kessel.example,Cy,Berg,VP Sales,Fintech,300,DE,website

            """
        let leads = directory.appendingPathComponent("leads.csv")
        try csv.write(to: leads, atomically: true, encoding: .utf8)
        #expect(try await NurtureBinary.run(["leads", "import", leads.path] + common).status == 0)
        let pricing = try await NurtureBinary.run(["events", "track", "ana@fernhill.example", "page.viewed", "--prop", "path=/pricing"] + common)
        #expect(pricing.status == 0, "\(pricing.stderr)")

        // The ranking, best first, with reasons, in each format
        let table = try await NurtureBinary.run(["leads", "top"] + common)
        #expect(table.status == 0, "\(table.stderr)")
        let rows = table.stdout.split(separator: "\n")
        #expect(rows.count == 4)
        #expect(rows[1].hasPrefix("1  69     mql    Ana Costa <ana@fernhill.example>"))
        #expect(rows[1].hasSuffix("Senior title +15; Visited pricing +15; Marketing or revenue role +10"))
        #expect(rows[2].contains("cy@kessel.example") && rows[3].contains("ben@harbour.example"))
        let json = try await NurtureBinary.run(["leads", "top", "--format", "json", "--limit", "2"] + common)
        let items = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]])
        #expect(items.map { $0["email"] as? String } == ["ana@fernhill.example", "cy@kessel.example"])
        #expect(items[0]["score"] as? Double == 69)
        #expect(items[0]["owner"] as? String == "maria@larkspur.example")
        let csvOut = try await NurtureBinary.run(["leads", "top", "--format", "csv"] + common)
        #expect(csvOut.stdout.hasPrefix("rank,score,stage,email,first_name,last_name,company,owner,top_reasons\n1,69,mql,ana@fernhill.example,Ana,Costa,"))
        #expect(csvOut.stdout.contains(",ben@harbour.example,\"'=HYPERLINK(\"\"http://evil\"\")\",Okafor,"))
        let segment = try await NurtureBinary.run(["leads", "top", "--segment", "industry=fintech"] + common)
        #expect(segment.stdout.split(separator: "\n").count == 2 && segment.stdout.contains("cy@kessel.example"))
        let badSegment = try await NurtureBinary.run(["leads", "top", "--segment", "favourite_colour=red"] + common)
        #expect(badSegment.status != 0 && badSegment.stderr.contains("unknown field 'favourite_colour'"))
        // By persona, as the playbook assigned them at import: Cy (VP Sales) leads sales; Ana is a marketing manager.
        let sales = try await NurtureBinary.run(["leads", "top", "--persona", "sales-leader"] + common)
        #expect(sales.stdout.split(separator: "\n").count == 2 && sales.stdout.contains("cy@kessel.example"), "\(sales.stdout)")
        let marketing = try await NurtureBinary.run(["leads", "top", "--persona", "marketing-manager"] + common)
        #expect(marketing.stdout.split(separator: "\n").count == 2 && marketing.stdout.contains("ana@fernhill.example"), "\(marketing.stdout)")
        let badPersona = try await NurtureBinary.run(["leads", "top", "--persona", "cfo"] + common)
        #expect(badPersona.status != 0 && badPersona.stderr.contains("unknown persona 'cfo'"))

        // The explanation: profile, score = contributions, the alert in the timeline
        let show = try await NurtureBinary.run(["leads", "show", "ana@fernhill.example"] + common)
        #expect(show.status == 0, "\(show.stderr)")
        #expect(show.stdout.contains("stage mql · owner maria@larkspur.example"))
        #expect(show.stdout.contains("Score 69 (model 2026-11-b) — contributions, largest first:\n      +15  Senior title\n"))
        #expect(show.stdout.contains("      +15  Visited pricing  (+15 on "))
        #expect(show.stdout.contains("message  alert → maria@larkspur.example  pending  “Ana Costa — score 69: Crossed the MQL line”"))
        #expect(try await NurtureBinary.run(["leads", "show", "nobody@example.com"] + common).stderr == "error: no lead 'nobody@example.com'\n")

        // The alert goes out through the outbox to the Slack-compatible receiver
        // (a pass later, if a loaded machine made the first attempt time out: that is a retry)
        for minutes in [0.0, 10, 60] where !sink.accepted.contains(where: { String(decoding: $0.body, as: UTF8.self).contains("Ana Costa") }) {
            let at = ISO8601DateFormatter().string(from: Date().addingTimeInterval(minutes * 60))
            let due = try await NurtureBinary.run(["run-due", "--now", at] + common)
            #expect(due.status == 0, "\(due.stderr)")
        }
        let outboxStates = try await SQLiteStore(path: database).messages(status: nil, limit: 10).map { "\($0.channel) \($0.status) \($0.lastError ?? "")" }
        let alert = try #require(sink.accepted.first { String(decoding: $0.body, as: UTF8.self).contains("Ana Costa") }, "\(outboxStates)")
        let text = try #require((try JSONSerialization.jsonObject(with: alert.body) as? [String: Any])?["text"] as? String)
        #expect(text.hasPrefix("*Ana Costa*, Head of Marketing (ana@fernhill.example)\nScore 69 — crossed 60: Crossed the MQL line\n"))

        // Sales' verdict
        let marked = try await NurtureBinary.run(["leads", "mark", "ana@fernhill.example", "--outcome", "won", "--by", "maria"] + common)
        #expect(marked.stdout == "marked ana@fernhill.example won: stage customer, score 69\n", "\(marked.stderr)")
        #expect(try await NurtureBinary.run(["leads", "mark", "ana@fernhill.example", "--outcome", "maybe"] + common).stderr.contains("use won, lost, bad-fit"))
        #expect(!(try await NurtureBinary.run(["leads", "top"] + common).stdout.contains("ana@fernhill.example")))

        // A model change: validate warns until everyone is rescored
        let store = try SQLiteStore(path: database)
        let cy = try #require(try await store.snapshots([.email("cy@kessel.example")], window: HistoryWindow(eventsSince: Date(), sendsSince: Date())).values.first)
        var older = cy.scoring
        older.modelVersion = "2026-10-a"
        let rescored = LeadChange(base: .version(cy.version), lead: cy.lead, scoring: older, leadChanged: true)
        #expect(try await store.commit([rescored], rotationAdvance: 0, now: Date()) == [.committed])
        let stale = try await NurtureBinary.run(["validate", "--database", database])
        #expect(stale.status == 0)
        #expect(stale.stderr == "\(database): warning: 1 lead was scored by model '2026-10-a', not the deployed '2026-11-b'; run 'nurture scores recompute' to rescore everyone\n")
        let recompute = try await NurtureBinary.run(["scores", "recompute"] + common)
        #expect(recompute.stdout.hasPrefix("rescored 3 leads under model 2026-11-b in "), "\(recompute.stderr)")
        #expect(try await NurtureBinary.run(["validate", "--database", database]).stderr == "")
    }
}
