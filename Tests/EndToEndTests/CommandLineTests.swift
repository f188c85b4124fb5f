import Foundation
import Testing

/// The `nurture` binary, end to end, on the shipped campaigns and on broken copies of them.
@Suite(.serialized)
struct CommandLineTests {
    @Test func validatePassesOnTheShippedCampaigns() throws {
        let result = try NurtureBinary.run(["validate"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr == "")
        #expect(result.stdout.contains("welcome            welcome     Welcome series — 11 steps (4 email, 0 SMS), entry on lead.created"))
        #expect(result.stdout.contains("scoring model 2026-11-b: 27 rules, thresholds 60, 100, behaviour half-life 30d\n"))
        #expect(result.stdout.hasSuffix("ok: 9 campaigns, 28 templates (and 2 written for personas)\n"))
    }

    @Test func validateFailsOnABrokenCopyWithFileAndLine() throws {
        // Given a copy of the templates with a missing subject and a variable no lead has
        let copy = FileManager.default.temporaryDirectory.appendingPathComponent("nurture-broken-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: NurtureBinary.repositoryRoot.appendingPathComponent("Campaigns/Templates"), to: copy)
        defer { try? FileManager.default.removeItem(at: copy) }
        try FileManager.default.removeItem(at: copy.appendingPathComponent("welcome-2-guide.subject.mustache"))
        let playbook = copy.appendingPathComponent("nurture-1-playbook.text.mustache")
        var lines = try String(contentsOf: playbook, encoding: .utf8).components(separatedBy: "\n")
        lines[2] = "Hi {{favourite_colour}} fan,"
        try lines.joined(separator: "\n").write(to: playbook, atomically: true, encoding: .utf8)

        // When validate reads the copy
        let result = try NurtureBinary.run(["validate", "--templates", copy.path])

        // Then it exits 1 and names every problem with its file and line
        let welcomeLine = try NurtureBinary.line(of: #"Email("welcome-2-guide")"#, in: "Welcome.swift")
        #expect(result.status == 1)
        #expect(result.stdout == "")
        #expect(result.stderr == """
            \(copy.path)/nurture-1-playbook.text.mustache:3: error: {{favourite_colour}} is not a lead field, a declared attribute, a brand value or a captured trigger property, and has no default (used by step 'nurture-1-playbook' of campaign 'nurture')
            Campaigns/Welcome.swift:\(welcomeLine): error: template 'welcome-2-guide' has no subject part (Templates/welcome-2-guide.subject.mustache)
            2 errors, 0 warnings

            """)
    }

    @Test func aMissingTemplatesFolderIsAClearError() throws {
        let result = try NurtureBinary.run(["validate"], in: FileManager.default.temporaryDirectory)
        #expect(result.status != 0)
        #expect(result.stderr.contains("cannot read templates in Campaigns/Templates: no such directory or not readable (run nurture from the project folder, or pass --templates DIR)"))
    }

    @Test func campaignsListShowAndGraph() throws {
        let list = try NurtureBinary.run(["campaigns", "list"])
        #expect(list.status == 0)
        #expect(list.stdout.split(separator: "\n").map { $0.split(separator: " ")[0] } == [
            "welcome", "nurture", "engagement", "invoice-follow-up", "advocates", "review-thanks", "win-back", "nps-survey", "nps-detractors",
        ])

        let show = try NurtureBinary.run(["campaigns", "show", "welcome"])
        #expect(show.status == 0)
        #expect(show.stdout.contains("    if-1                                      if opened welcome-1\n      then:\n        welcome-2-guide"))
        #expect(show.stdout.contains("welcome-3-value                           email welcome-3-value (A 50% → welcome-3-value-a / B 50% → welcome-3-value-b)"))

        let mermaid = try NurtureBinary.run(["campaigns", "graph", "welcome", "--format", "mermaid"])
        #expect(mermaid.status == 0)
        #expect(mermaid.stdout.hasPrefix("flowchart TD\n"))
        #expect(mermaid.stdout.contains("s_wait_for_1 -->|timeout| s_wait_for_1_timeout_tag_welcome_quiet"))

        let dot = try NurtureBinary.run(["campaigns", "graph", "invoice-follow-up", "--format", "dot"])
        #expect(dot.status == 0)
        #expect(dot.stdout.hasPrefix("digraph \"invoice-follow-up\" {"))
        #expect(dot.stdout.contains("goal0 [label=\"goal: exit on invoice.paid with the same invoice_number\", shape=doublecircle];"))

        let unknown = try NurtureBinary.run(["campaigns", "show", "nurtur"])
        #expect(unknown.status != 0)
        #expect(unknown.stderr.contains("unknown campaign 'nurtur'; did you mean 'nurture'?"))
        let badFormat = try NurtureBinary.run(["campaigns", "graph", "welcome", "--format", "svg"])
        #expect(badFormat.status != 0)
        #expect(badFormat.stderr.contains("unknown format 'svg': use mermaid or dot"))
    }

    @Test func simulatePrintsTheWholeTimeline() throws {
        let result = try NurtureBinary.run([
            "simulate", "welcome", "--lead", "Demo/ana.json", "--days", "30", "--start", "2026-11-23T09:00",
            "--events", "2d2h:email.opened step=welcome-1,6d:page.viewed path=/pricing,7d:resource.downloaded",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first == "Simulating 'welcome' for Ana Costa <ana.costa@fernhill.example> in Europe/Lisbon, Mon 23 Nov 2026 09:00 WET → Wed 23 Dec 2026 09:00 WET")
        #expect(lines.contains { $0.hasPrefix("Mon 23 Nov 09:00  welcome") && $0.contains("email") && $0.hasSuffix("“Welcome to Larkspur, Ana”") })
        #expect(lines.contains { $0.contains("held") && $0.contains("until Mon 30 Nov 09:00: send window Mon–Fri 09:00–17:00") })
        #expect(lines.contains { $0.contains("sms") && $0.contains("(1 segment, GSM-7") })
        #expect(lines.last?.hasPrefix("10 emails, 1 SMS;") == true)
    }

    @Test func simulateErrorsAreClear() throws {
        let unknown = try NurtureBinary.run(["simulate", "welcom", "--lead", "Demo/ana.json"])
        #expect(unknown.status == 1)
        #expect(unknown.stderr == "error: unknown campaign 'welcom'; did you mean 'welcome'? (see `nurture campaigns list`)\n")

        let malformed = try NurtureBinary.run(["simulate", "welcome", "--lead", "Demo/ana.json", "--events", "2d:email.opened,3q:page.viewed"])
        #expect(malformed.status == 1)
        #expect(malformed.stderr == "error: malformed event '3q:page.viewed': '3q' is not an offset (use 2d, 3d4h, 90m)\n")

        let missing = try NurtureBinary.run(["simulate", "invoice-follow-up", "--lead", "Demo/ana.json"])
        #expect(missing.status == 1)
        #expect(missing.stderr.hasPrefix("""
            error: the lead file lacks values the templates need and that have no default:
              trigger.invoice_number (used at Campaigns/Templates/invoice-issued.subject.mustache:1 and
            """))
        #expect(missing.stderr.contains("\n  trigger.amount (used at Campaigns/Templates/invoice-issued.text.mustache:7 and "))

        let badLead = FileManager.default.temporaryDirectory.appendingPathComponent("lead-\(UUID().uuidString).json")
        try #"{"email": "x@example.com", "timezone": "Mars/Olympus"}"#.write(to: badLead, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: badLead) }
        let zone = try NurtureBinary.run(["simulate", "welcome", "--lead", badLead.path])
        #expect(zone.status == 1)
        #expect(zone.stderr == "error: \(badLead.path): unknown time zone 'Mars/Olympus' (use an IANA name such as Europe/Lisbon)\n")

        // Every campaign: the lead starts new; an invoice event needs what its template uses.
        let all = try NurtureBinary.run(["simulate", "--campaigns", "all", "--lead", "Demo/ana.json", "--days", "40", "--start", "2026-11-23T09:00",
                                         "--events", "1d:page.viewed path=/pricing"])
        #expect(all.status == 0, "\(all.stderr)")
        #expect(all.stdout.contains("welcome     entered") && all.stdout.contains("engagement  entered") && all.stdout.contains("nurture     entered"), "\(all.stdout)")
        let unbilled = try NurtureBinary.run(["simulate", "--campaigns", "all", "--lead", "Demo/ana.json", "--events", "1d:invoice.issued invoice_number=7"])
        #expect(unbilled.status == 1)
        #expect(unbilled.stderr.contains("trigger.amount (used at Campaigns/Templates/invoice-issued.text.mustache:7"), "\(unbilled.stderr)")
        #expect(!unbilled.stderr.contains("trigger.invoice_number"), "\(unbilled.stderr)")
        let both = try NurtureBinary.run(["simulate", "welcome", "--campaigns", "all", "--lead", "Demo/ana.json"])
        #expect(both.status != 0)
        #expect(both.stderr.contains("name a campaign or pass --campaigns all, not both"))
    }
}

/// The newcomer's main job, end to end.
struct DemoTests {
    @Test func theDemoRunsTheShippedCampaignsThroughTheDurableEngine() throws {
        let database = FileManager.default.temporaryDirectory.appendingPathComponent("demo-\(UUID().uuidString).sqlite").path
        let result = try NurtureBinary.run(["demo", "--hours-per-second", "0", "--database", database])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first == "Imported 10 demo leads into \(database); running 21 virtual days from Mon 23 Nov 2026 08:00 UTC.")
        #expect(lines.contains { $0.contains("ana.costa@fernhill.example  welcome/welcome-1  “Welcome to Larkspur, Ana”") })
        #expect(lines.contains { $0.contains("ana.costa@fernhill.example  welcome/welcome-2-guide") })      // she opened welcome-1
        #expect(lines.contains { $0.contains("emma.schulz@kesselwerk.example  welcome/welcome-2-resend") }) // she did not
        #expect(lines.contains { $0.contains("isla.campbell@northlight.example  advocates/advocate-1-thanks") })
        #expect(lines.contains { $0.contains("sms     +351912345678  engagement/engagement-sms-nudge") })
        // The invoice stops once paid, and Grace's demo booking ends her welcome series
        #expect(!lines.contains { $0.contains("invoice-reminder-2") })
        #expect(!lines.contains { $0.contains("grace.liu@tidewater.example  welcome/welcome-2") })
        // Ana crosses the MQL line on her pricing visit and the SQL line on her demo request; her
        // territory's rep hears of both, with the score, in the preview outbox
        #expect(lines.contains { $0.hasSuffix("sales   ines@larkspur.example  sales-alert/threshold-60  “Ana Costa — score 71: Crossed the MQL line”") })
        #expect(lines.contains { $0.contains("sales   ines@larkspur.example  sales-alert/threshold-100  “Ana Costa — score 110.4: Sales-ready") })
        #expect(lines.contains { $0.contains("sales   maria@larkspur.example  sales-alert/threshold-60  “Daniel Kim — score 68: Crossed the MQL line”") })
        #expect(lines.last == "Read them with: nurture outbox --database \(database) --full")
        let outbox = try NurtureBinary.run(["outbox", "--database", database, "--limit", "1"])
        #expect(outbox.stdout.contains("  sent after 1 attempt"))
    }
}
