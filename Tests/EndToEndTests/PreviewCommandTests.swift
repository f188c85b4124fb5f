import Foundation
import NurtureEngine
import NurtureTesting
import Testing

/// `nurture preview`, `nurture send-test` and `outbox --full`: the real message, for a real lead,
/// seen before any lead gets it.
@Suite(.serialized)
struct PreviewCommandTests {
    let directory: URL

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("nurture-preview-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    var database: [String] { ["--database", directory.appendingPathComponent("n.sqlite").path] }

    @Test func previewARealLeadAndALeadFileThenSendATestThroughALoopbackWebhook() async throws {
        let leads = directory.appendingPathComponent("leads.csv")
        try Data("email,first_name,job_title,company_size,phone,sms_consent\nana@fernhill.example,Ana <b>,VP Sales,250,+351912345678,yes\n".utf8).write(to: leads)
        #expect(try await NurtureBinary.run(["leads", "import", leads.path] + database).status == 0)

        // A sales leader gets the case study written for her persona.
        let html = directory.appendingPathComponent("case.html").path
        let preview = try await NurtureBinary.run(["preview", "nurture-2-case-study", "--lead", "ana@fernhill.example", "--html", html] + database)
        #expect(preview.status == 0, "\(preview.stderr)")
        #expect(preview.stdout.hasPrefix("nurture-2-case-study (email) for ana@fernhill.example · persona sales-leader"), "\(preview.stdout)")
        #expect(preview.stdout.contains("Subject: "))
        #expect(preview.stdout.contains("--- text ---") && preview.stdout.contains("written to \(html)"))
        let page = try String(contentsOfFile: html, encoding: .utf8)
        #expect(page.contains("Ana &lt;b&gt;") && !page.contains("Ana <b>"), "a lead's value is escaped in the HTML")
        #expect(page.contains("/p/preview-only") && page.contains("/u/preview-only"), "a preview's links are inert: a click cannot change the real lead")

        // An SMS shows its segments; a lead file works without a database lead.
        let file = directory.appendingPathComponent("lead.json")
        try Data(#"{"email": "li@example.com", "first_name": "Li", "phone": "+447700900123", "country": "GB"}"#.utf8).write(to: file)
        let sms = try await NurtureBinary.run(["preview", "engagement-sms-nudge", "--lead", file.path] + database)
        #expect(sms.status == 0, "\(sms.stderr)")
        #expect(sms.stdout.contains("engagement-sms-nudge (sms) for +447700900123"))
        #expect(sms.stdout.contains("SMS: 1 segment") || sms.stdout.contains("SMS: 2 segments"), "\(sms.stdout)")
        let unknown = try await NurtureBinary.run(["preview", "welcome-l", "--lead", file.path] + database)
        #expect(unknown.status != 0 && unknown.stderr.contains("no template 'welcome-l'; did you mean 'welcome-1'?"), "\(unknown.stderr)")

        // send-test goes through the configured channel now, marked, and leaves no trace in the outbox.
        let sink = try await WebhookSink.start()
        let config = directory.appendingPathComponent("nurture.toml")
        try Data("[channels.email]\nkind = \"webhook\"\nurl = \"\(sink.url.absoluteString)\"\nsecret_env = \"TEST_EMAIL_SECRET\"\n".utf8).write(to: config)
        let environment = ["TEST_EMAIL_SECRET": Data("send-test-secret-0123456789abcdef".utf8).base64EncodedString()]
        let sent = try await NurtureBinary.run(["send-test", "welcome-1", "--to", "Me@Larkspur.example", "--lead", "ana@fernhill.example", "--config", config.path] + database,
                                               environment: environment)
        #expect(sent.status == 0, "\(sent.stderr)")
        let received = try #require(sink.accepted.first)
        let payload = try #require(try JSONSerialization.jsonObject(with: received.body) as? [String: Any])
        #expect(payload["to"] as? String == "me@larkspur.example")
        #expect((payload["subject"] as? String)?.hasPrefix("[Test] Welcome to Larkspur, Ana") == true, "\(payload)")
        #expect(try await NurtureBinary.run(["outbox", "--status", "sent"] + database).stdout == "the outbox is empty\n")
        await sink.stop()

        // outbox --full shows a queued email's HTML part.
        #expect(try await NurtureBinary.run(["run-due", "--now", "2026-12-07T10:00:00Z"] + database).status == 0)
        let full = try await NurtureBinary.run(["outbox", "--full", "--limit", "1"] + database).stdout
        #expect(full.contains("HTML (") && full.contains("  > ") && full.contains("<a href="), "\(full)")
    }
}
