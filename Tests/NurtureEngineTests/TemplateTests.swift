import Campaigns
import Foundation
import NurtureDSL
@testable import NurtureEngine
import NurtureTesting
import Testing

/// Templates written to a real temporary folder and read the way `nurture` reads them.
struct TemplateTests {
    let directory: String

    init() throws {
        directory = NSTemporaryDirectory() + "nurture-templates-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try write("hello.subject.mustache", #"{{! default first_name = "there" }}Hi {{first_name}}, news from {{brand.name}}"#)
        try write("hello.text.mustache", "{{! default first_name = \"there\" }}\nDear {{first_name}} at {{company}} & co,\n\n{{> footer}}")
        try write("hello.html.mustache", "<p>Dear {{first_name}} at {{company}}</p>\n{{> footer}}")
        try write("_footer.text.mustache", "Unsubscribe: {{unsubscribe_url}}")
        try write("_footer.html.mustache", "<a href=\"{{unsubscribe_url}}\">Unsubscribe</a>")
        try write("nudge.sms.mustache", "{{first_name}}, your offer ends Friday: {{brand.website}}/offer")
        try write("plain.subject.mustache", "Plain")
        try write("plain.text.mustache", "Read <this> & that: https://example.com/a?b=1&c=2.\nSecond line.\n\nNew paragraph.")
    }

    func write(_ name: String, _ text: String) throws {
        try text.write(toFile: directory + "/" + name, atomically: true, encoding: .utf8)
    }

    func renderer() throws -> MessageRenderer {
        let playbook = Playbook(brand: Brand(
            name: "Acme", senderName: "Ana", website: "https://acme.example", postalAddress: "1 Street",
            supportEmail: "a@acme.example", supportPhone: "1", billingEmail: "b@acme.example"
        )) {} campaigns: {}
        return MessageRenderer(playbook: playbook, library: try TemplateLibrary.load(from: directory))
    }

    func message(_ template: String, _ channel: OutgoingMessage.Channel = .email) -> OutgoingMessage {
        let lead = testLead()
        let campaign = Campaign("c", kind: .welcome) {
            if channel == .email { Email(template) } else { SMS(template) }
        }
        return EnrollmentMachine(campaign: campaign).advanceForTest(lead)
    }

    @Test func rendersLeadValuesBrandAndPartials() throws {
        let rendered = try renderer().render(message("hello"), lead: testLead(), links: ["unsubscribe_url": "https://n.example/u/T"])
        #expect(rendered.subject == "Hi Ana, news from Acme")
        #expect(rendered.text == "Dear Ana at Fernhill & co,\n\nUnsubscribe: https://n.example/u/T")
        #expect(rendered.html == "<p>Dear Ana at Fernhill</p>\n<a href=\"https://n.example/u/T\">Unsubscribe</a>")
    }

    @Test func theOpenPixelGoesJustBeforeTheLastClosingBodyTagWhateverItsCase() {
        let tracker = TrackedLinks(links: LinkSigner(secret: Data(repeating: 7, count: 32), publicURL: "https://n.example"),
                                   tracking: .opensAndClicks, messageID: "m-1")
        let html = tracker.rendered(Array("<html><BODY><p>a</body> b</p></Body >\n</bOdY></html>".utf8))
        #expect(html.hasPrefix("<html><BODY><p>a</body> b</p></Body >\n<img src=\"https://n.example/t/o/"))
        #expect(html.hasSuffix("style=\"display:none\"></bOdY></html>"))
        let bare = tracker.rendered(Array("<p>no body</p>".utf8))
        #expect(bare.hasPrefix("<p>no body</p><img src="))
    }

    @Test func defaultsFillMissingValues() throws {
        var lead = testLead()
        lead.firstName = nil
        let rendered = try renderer().render(message("hello"), lead: lead)
        #expect(rendered.subject == "Hi there, news from Acme")
        #expect(rendered.text.hasPrefix("Dear there at Fernhill"))
    }

    @Test func htmlPartsEscapeLeadDataTheApostropheIncludedAndTextPartsDoNot() throws {
        var lead = testLead()
        lead.company = "O'Brien <script>alert(1)</script> & \"Sons\""
        let rendered = try renderer().render(message("hello"), lead: lead)
        #expect(rendered.html?.contains("O&#39;Brien &lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;Sons&quot;") == true)
        #expect(rendered.text.contains("O'Brien <script>alert(1)</script> & \"Sons\""))
    }

    @Test func subjectsStayOnOneLine() throws {
        var lead = testLead()
        lead.firstName = "Ana\r\nBcc: everyone@example.com"
        let rendered = try renderer().render(message("hello"), lead: lead)
        #expect(rendered.subject == "Hi Ana Bcc: everyone@example.com, news from Acme")
    }

    @Test func aTextOnlyTemplateGetsAnEscapedLinkedHTMLPart() throws {
        let html = try #require(try renderer().render(message("plain"), lead: testLead()).html)
        #expect(html.contains("<p>Read &lt;this&gt; &amp; that: <a href=\"https://example.com/a?b=1&amp;c=2\">https://example.com/a?b=1&amp;c=2</a>.<br>\nSecond line.</p>"))
        #expect(html.contains("<p>New paragraph.</p>"))
    }

    // MARK: - A lead's values never become links

    static let signer = LinkSigner(secret: Data("test-secret".utf8), publicURL: "https://nurture.example")

    /// Every place an `href` in `html` sends a reader, click redirects unsealed.
    static func destinations(_ html: String) -> [String] {
        html.split(separator: "href=\"").dropFirst().compactMap { rest -> String? in
            guard let end = rest.firstIndex(of: "\"") else { return nil }
            let target = String(rest[..<end]).replacingOccurrences(of: "&amp;", with: "&")
            let prefix = "https://nurture.example/t/c/"
            guard target.hasPrefix(prefix) else { return target }
            if case .click(_, let sealed) = signer.link(String(target.dropFirst(prefix.count))) { return "tracked:" + sealed }
            return "broken:" + target
        }
    }

    static func hostile(_ url: String = "https://evil.example/login") -> Lead {
        var lead = testLead()
        lead.firstName = url
        lead.company = "Evil Corp http://evil.example/b \u{E001}https://evil.example/fenced"
        lead.attributes = ["website": .string(url)]
        return lead
    }

    @Test func aURLInALeadsValueIsTextInTheHTMLMadeFromText() throws {
        try write("hostile.subject.mustache", "Hi")
        try write("hostile.text.mustache", "Hi {{first_name}} from {{company}}.\nOur guide: https://acme.example/guide\nhttps://{{website}}")
        for tracking in [Tracking.opensAndClicks, .off] {
            let tracker = TrackedLinks(links: Self.signer, tracking: tracking, messageID: "msg_1")
            let rendered = try renderer().render(message("hostile"), lead: Self.hostile(), tracker: tracker)
            let html = try #require(rendered.html)
            #expect(Self.destinations(html) == [tracking == .off ? "https://acme.example/guide" : "tracked:https://acme.example/guide"])
            #expect(html.contains("Hi https://evil.example/login from Evil Corp http://evil.example/b https://evil.example/fenced."))
            #expect(!html.contains("\u{E000}") && !html.contains("\u{E001}"))
            #expect(rendered.text.hasPrefix("Hi https://evil.example/login from Evil Corp"))
        }
    }

    @Test func aHandWrittenLinkWhoseHostALeadSuppliesIsDroppedAndOnlyTheTemplatesOwnAreTracked() throws {
        try write("links.subject.mustache", "Hi")
        try write("links.text.mustache", "Hi")
        try write("links.html.mustache", """
            <p>Hi {{first_name}}</p><a href="{{website}}">your site</a> <a href='https://{{website}}/x'>x</a>
            <a href="https://acme.example/i/{{first_name}}?q={{company}}">invoice</a> <a href="https://acme.example/help">help</a>
            """)
        let tracker = TrackedLinks(links: Self.signer, tracking: .clicks, messageID: "msg_1")
        let html = try #require(try renderer().render(message("links"), lead: Self.hostile(), tracker: tracker).html)
        let destinations = Self.destinations(html)
        #expect(destinations.count == 2)
        // A lead's value may fill a path or query after the template's own host, escaped, never the host.
        #expect(destinations.first?.hasPrefix("tracked:https://acme.example/i/https://evil.example/login?q=Evil") == true)
        #expect(destinations.last == "tracked:https://acme.example/help")
        #expect(html.contains("<a >your site</a>"))
        #expect(!html.contains("href=\"https://evil") && !html.contains("href='https://evil"))
        let untracked = try #require(try renderer().render(message("links"), lead: Self.hostile()).html)
        #expect(Self.destinations(untracked).allSatisfy { $0.hasPrefix("https://acme.example/") })
    }

    /// The shipped templates, filled with a lead whose every field is a phishing URL.
    @Test func noShippedEmailLinksOrRedirectsToALeadsValue() throws {
        let library = try TemplateLibrary.load(from: Harness.repositoryRoot.appendingPathComponent("Campaigns/Templates").path)
        let renderer = MessageRenderer(playbook: Campaigns.playbook, library: library)
        var lead = Self.hostile()
        lead.lastName = "https://evil.example/last"
        lead.jobTitle = "https://evil.example/title"
        lead.industry = "https://evil.example/industry"
        for attribute in Campaigns.playbook.attributes where attribute.type == .string { lead.attributes[attribute.name] = "https://evil.example/a" }
        let trigger: [String: Value] = ["invoice_number": "https://evil.example/i", "amount": "https://evil.example/m", "url": "https://evil.example/u"]
        var checked = 0
        for (template, parts) in library.catalog.templates where parts[.text] != nil && parts[.subject] != nil {
            let outgoing = message(template)
            let tracker = TrackedLinks(links: Self.signer, tracking: .opensAndClicks, messageID: "msg_1")
            let html = try #require(try renderer.render(outgoing, lead: lead, trigger: trigger, links: ["unsubscribe_url": "https://nurture.example/u/T"], tracker: tracker).html)
            for destination in Self.destinations(html) {
                #expect(!destination.contains("evil.example"), "\(template): \(destination)")
            }
            checked += 1
        }
        #expect(checked >= 20)
        #expect(library.catalog.templates["welcome-1"]?[.html] != nil)   // one hand-written HTML part among them
    }

    @Test func smsRendersUnescapedWithItsSegments() throws {
        let rendered = try renderer().render(message("nudge", .sms), lead: testLead())
        #expect(rendered.text == "Ana, your offer ends Friday: https://acme.example/offer")
        #expect(rendered.segments == SMSSegments(rendered.text))
        #expect(rendered.segments?.count == 1)
    }

    @Test func theCatalogKnowsVariablesLinesDefaultsAndPartials() throws {
        let catalog = try TemplateLibrary.load(from: directory).catalog
        let text = try #require(catalog.templates["hello"]?[.text])
        #expect(text.path == directory + "/hello.text.mustache")
        #expect(text.variables.map(\.name) == ["first_name", "company"])
        #expect(text.variables.map(\.line) == [2, 2])
        #expect(text.defaults == ["first_name": "there"])
        #expect(text.partials.map(\.name) == ["footer"])
        #expect(catalog.partials["footer"]?[.html] != nil)
        #expect(catalog.problems.isEmpty)
    }

    @Test func brokenFilesAreReportedAtTheirLine() throws {
        try write("broken.text.mustache", "line one\nline two {{#open}}\nno close")
        try write("weird.mustache", "x")
        try write("notes.txt", "x")
        let problems = try TemplateLibrary.load(from: directory).catalog.problems.map(\.description).sorted()
        #expect(problems == [
            "\(directory)/broken.text.mustache:2: error: section '{{#open}}' is never closed",
            "\(directory)/notes.txt:1: warning: 'notes.txt' is not a template (names end in .subject/.text/.html/.sms.mustache)",
            "\(directory)/weird.mustache:1: error: cannot tell which part 'weird.mustache' is: name it <template>.subject|text|html|sms.mustache",
        ])
    }

    @Test func aMissingFolderIsAClearError() {
        #expect(throws: TemplateLibrary.LoadError.self) { try TemplateLibrary.load(from: directory + "/nope") }
    }

    @Test func missingValuesAreThoseWithoutAValueOrADefault() throws {
        var lead = testLead()
        lead.firstName = nil
        lead.company = nil
        let missing = try renderer().missingValues(in: "hello", part: .text, lead: lead, trigger: [:])
        #expect(missing.map(\.name) == ["company"])
        #expect(missing.map(\.location.line) == [2])
    }
}

struct SMSSegmentTests {
    @Test(arguments: [
        (String(repeating: "a", count: 160), SMSSegments.Encoding.gsm7, 1),
        (String(repeating: "a", count: 161), .gsm7, 2),
        (String(repeating: "a", count: 306), .gsm7, 2),
        (String(repeating: "a", count: 307), .gsm7, 3),
        (String(repeating: "€", count: 80), .gsm7, 1),        // extension characters take two septets
        (String(repeating: "€", count: 81), .gsm7, 2),
        (String(repeating: "é", count: 160), .gsm7, 1),       // é is in the GSM-7 basic set
        (String(repeating: "ç", count: 70), .ucs2, 1),        // ç is not (only Ç is)
        (String(repeating: "ç", count: 71), .ucs2, 2),
        (String(repeating: "a", count: 133) + "🙂", .ucs2, 3),  // one emoji makes it UCS-2; 🙂 takes two units
        (String(repeating: "a", count: 132) + "🙂", .ucs2, 2),
        (String(repeating: "a", count: 200) + "🙂", .ucs2, 4),
        ("", .gsm7, 0),
    ])
    func segments(text: String, encoding: SMSSegments.Encoding, count: Int) {
        let segments = SMSSegments(text)
        #expect(segments.encoding == encoding)
        #expect(segments.count == count)
    }
}

extension EnrollmentMachine {
    /// The first message a one-step campaign produces for a lead, at a time inside every window.
    func advanceForTest(_ lead: Lead) -> OutgoingMessage {
        var enrollment = enroll(lead, at: instant("2026-11-23 10:00"))
        var state = LeadState(lead: lead)
        let effects = advance(&enrollment, state: &state, now: instant("2026-11-23 10:00"))
        return effects.compactMap { if case .send(let m) = $0 { m } else { nil } }[0]
    }
}

struct WebhookPayloadTests {
    @Test func thePayloadIsValidJSONWhateverTheLeadsNameContains() throws {
        let templates = try TemplateLibrary.load(from: Harness.repositoryRoot.appendingPathComponent("Campaigns/Templates").path)
        let processor = LeadProcessor(playbook: Campaigns.playbook, templates: templates, policy: .unlimited,
                                      links: LinkSigner(secret: Data("k".utf8), publicURL: "https://n.example"))
        let tricky = "Quote\" Backslash\\ Tab\t Bell\u{07} 🙂 é"
        var lead = testLead()
        lead.firstName = tricky
        var work = LeadWork(state: LeadState(lead: lead))
        processor.enroll(Campaigns.playbook.campaign("welcome")!, trigger: [:], because: "test", &work, now: instant("2026-11-23 10:00"))
        let message = try #require(work.newMessages.first)
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(message.payload.utf8)) as? [String: Any])
        #expect(parsed["subject"] as? String == "Welcome to Larkspur, \(tricky)")
        #expect((parsed["text"] as? String)?.hasPrefix("Hi \(tricky),") == true)
        #expect(parsed["id"] as? String == message.id)
        #expect(parsed["lead_id"] as? String == lead.id)
        #expect(parsed["step"] as? String == "welcome-1")
        #expect(Set(parsed.keys) == ["campaign", "channel", "headers", "html", "id", "lead_id", "step", "subject", "text", "to"])
        #expect(message.payload.hasPrefix(#"{"campaign":"welcome","channel":"email","headers":{"List-Unsubscribe":"<https://n.example/u/"#))
    }

    @Test func linkTokensRoundTripAtEveryLengthAndAreURLSafe() {
        let signer = LinkSigner(secret: Data("k".utf8), publicURL: "https://n.example")
        for length in 0..<40 {
            let payload = String(repeating: "é?>", count: length)
            let token = signer.token(for: payload)
            #expect(signer.verify(token) == payload)
            #expect(!token.contains { "+/=".contains($0) })
        }
        #expect(signer.verify(signer.token(for: "u1|a|email") + "x") == nil)
        #expect(LinkSigner(secret: Data("other".utf8), publicURL: "https://n.example").verify(signer.token(for: "u1|a|email")) == nil)
    }
}
