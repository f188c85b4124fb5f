import Campaigns
import Foundation
import NurtureDSL
@testable import NurtureEngine
import Testing

/// Render plans must write exactly what swift-mustache writes: every shipped template, and
/// templates built to hit the parser's corners (standalone lines, indented partials, sections
/// inline and on their own lines, CRLF, defaults), over leads with every kind of value.
struct TemplatePlanTests {
    static let shipped = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Campaigns/Templates").path

    static let corners: [String: String] = [
        "corner.subject.mustache": "{{! default first_name = \"there\" }}Hi {{first_name}} {{#vip}}(VIP){{/vip}}{{^vip}}-{{/vip}}",
        "corner.text.mustache": """
            {{! default first_name = "there" }}
            Hello {{first_name}},
              {{#company}}
              At {{company}}, {{job_title}}.
              {{/company}}
            {{^company}}
            No company.
            {{/company}}
            Plan: {{plan}} / {{{plan}}} / {{&plan}} / {{trigger.amount}} / {{trigger.missing}}
            {{#trigger.amount}}Amount {{trigger.amount}}{{/trigger.amount}}
            Flag {{vip}} {{brand.name}} {{brand.nothing}}
               {{> footer}}
            Tail {{! inline comment }} end
            {{#vip}}
              {{#company}}
                nested {{company}}
              {{/company}}
            {{/vip}}
            Lone { brace and {{first_name}}{ after
            """,
        "corner.html.mustache": "<p>{{first_name}} &amp; {{company}}</p>\r\n  {{> footer}}\r\n<a href='{{brand.website}}/x?c={{company}}'>x</a>\n\t{{#vip}}\n\t<b>{{plan}}</b>\n\t{{/vip}}\n",
        "_footer.text.mustache": "-- \n{{brand.name}} · {{brand.postal_address}}\n  {{#company}}for {{company}}\n{{/company}}Unsubscribe: {{unsubscribe_url}}\n  {{> inner}}\n",
        "_inner.text.mustache": "inner {{first_name}}\nsecond line\n",
        "_footer.html.mustache": "<hr>\n<p>\n  {{brand.name}}<br>\n  <a href=\"{{unsubscribe_url}}\">Unsubscribe</a>\n</p>",
        "corner.sms.mustache": "{{first_name}}: {{brand.website}}/o {{#company}}{{company}}{{/company}}",
    ]

    static func leads() -> [(Lead, [String: Value])] {
        let full = Lead(id: "l-1", email: "ana@example.com", phone: "+351912345678", firstName: "Ana", lastName: "O'Brien",
                        company: "Fernhill & <Sons> \"Ltd\"", jobTitle: "Head\nof it", timeZone: "Europe/Lisbon",
                        attributes: ["plan": "growth", "vip": true, "interest": "pipeline"])
        var bare = Lead(id: "l-2", email: "b@example.com", timeZone: "UTC")
        bare.attributes = ["vip": false]
        var strange = full
        strange.firstName = "Zoë\u{E000}x\u{E001}'\u{301}"
        strange.company = ""
        strange.attributes = ["plan": 42.5, "vip": "yes"]
        return [
            (full, ["amount": 120, "invoice_number": "INV-7", "due_date": "2026-12-24", "payment_url": "https://pay.example/x", "description": "Q4"]),
            (bare, [:]),
            (strange, ["amount": "", "invoice_number": "<b>"]),
        ]
    }

    func compare(directory: String, expectPlans minimum: Int) throws {
        let playbook = Playbook(brand: Brand(
            name: "Acme & Co", senderName: "Ana", website: "https://acme.example", postalAddress: "1 Street",
            supportEmail: "a@acme.example", supportPhone: "1", billingEmail: "b@acme.example"
        )) {
            Attribute("plan", .string, default: "free")
            Attribute("vip", .bool, default: false)
        } campaigns: {}
        let library = try TemplateLibrary.load(from: directory)
        let renderer = MessageRenderer(playbook: playbook, library: library)
        var planned = 0
        for (template, parts) in library.catalog.templates {
            for part in parts.keys {
                for (lead, trigger) in Self.leads() {
                    let links = ["unsubscribe_url": "https://n.example/u/T?a=1&b=2"]
                    let viaMustache = try renderer.renderPart(template, part, lead: lead, trigger: trigger, links: links, planned: false)
                    let viaPlan = try #require(try renderer.renderPart(template, part, lead: lead, trigger: trigger, links: links, planned: true),
                                               "\(template).\(part) has no plan")
                    #expect(viaPlan == viaMustache, "\(template).\(part.rawValue) for \(lead.id)")
                    planned += 1
                }
            }
        }
        #expect(planned >= minimum)
    }

    @Test func everyShippedTemplateRendersTheSameThroughItsPlan() throws {
        try compare(directory: Self.shipped, expectPlans: 60)
    }

    @Test func parserCornersRenderTheSameThroughThePlan() throws {
        let directory = NSTemporaryDirectory() + "nurture-plan-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for (name, text) in Self.corners { try text.write(toFile: directory + "/" + name, atomically: true, encoding: .utf8) }
        try compare(directory: directory, expectPlans: 12)
    }

    @Test func aTemplateWithATransformKeepsSwiftMustache() throws {
        let directory = NSTemporaryDirectory() + "nurture-plan-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try "Hi {{uppercased(first_name)}}".write(toFile: directory + "/shout.subject.mustache", atomically: true, encoding: .utf8)
        try "Body".write(toFile: directory + "/shout.text.mustache", atomically: true, encoding: .utf8)
        let library = try TemplateLibrary.load(from: directory)
        #expect(library.plans["shout"]?[.subject] == nil)
        #expect(library.plans["shout"]?[.text] != nil)
        let renderer = MessageRenderer(playbook: Campaigns.playbook, library: library)
        let subject = try renderer.renderPart("shout", .subject, lead: Self.leads()[0].0, trigger: [:], links: [:], planned: false)
        #expect(subject.map(SubstitutedValue.unfenced) == "Hi ANA")
    }
}
