import Campaigns
import Foundation
import NurtureDSL
@testable import NurtureEngine
import NurtureTesting
import Testing

/// Personas and signals on the shipped playbook: who gets which copy, and what validate says.
struct PersonaTests {
    let library: TemplateLibrary
    let processor: LeadProcessor

    init() throws {
        library = try TemplateLibrary.load(from: Harness.repositoryRoot.appendingPathComponent("Campaigns/Templates").path)
        processor = LeadProcessor(playbook: Campaigns.playbook, templates: library, policy: .unlimited,
                                  links: LinkSigner(secret: Data("k".utf8), publicURL: "https://n.example"))
    }

    func lead(_ title: String) -> Lead {
        var lead = testLead()
        lead.jobTitle = title
        return lead
    }

    func subject(of template: String, for title: String) throws -> String? {
        var work = LeadWork(state: LeadState(lead: lead(title)))
        processor.assignPersona(&work, now: instant("2026-11-23 10:00"))
        let outgoing = EnrollmentMachine(campaign: Campaign("c", kind: .nurture) { Email(template) }).advanceForTest(work.lead)
        return try processor.renderer.render(outgoing, lead: work.lead).subject
    }

    @Test func theFirstPersonaThatFitsChoosesThePartsWrittenForIt() throws {
        #expect(try subject(of: "nurture-2-case-study", for: "VP Sales") == "How Fernhill's reps got to qualified leads in 3 hours, not 3 days")
        #expect(try subject(of: "nurture-2-case-study", for: "Founder & CEO") == "What Fernhill got back for an afternoon of setup")
        // Sales comes first in the playbook: a title that fits two personas gets the first.
        #expect(try subject(of: "nurture-2-case-study", for: "Head of Sales and Marketing") == "How Fernhill's reps got to qualified leads in 3 hours, not 3 days")
        // A persona with no part of its own, or no persona, gets the plain part.
        #expect(try subject(of: "nurture-2-case-study", for: "Head of Marketing") == "How Fernhill cut lead follow-up from 3 days to 3 hours")
        #expect(try subject(of: "nurture-2-case-study", for: "Clinic manager") == "How Fernhill cut lead follow-up from 3 days to 3 hours")
    }

    @Test func blocksShowForThePersonaAndTheSignalThroughBothRenderers() throws {
        let outgoing = EnrollmentMachine(campaign: Campaign("c", kind: .nurture) { Email("nurture-4-tutorial") }).advanceForTest(testLead())
        var growth = lead("Growth Marketer")
        growth.attributes[Persona.attribute] = "growth-marketer"
        let both = try processor.renderer.render(outgoing, lead: growth, signals: ["pricing-visit"])
        #expect(both.text.contains("I noticed you've been looking at our plans."))
        #expect(both.text.contains("part three shows how to A/B test two scoring models"))
        let neither = try processor.renderer.render(outgoing, lead: lead("Head of Marketing"))
        #expect(!neither.text.contains("looking at our plans") && !neither.text.contains("part three"))
        for planned in [true, false] {
            let text = try #require(try processor.renderer.renderPart("nurture-4-tutorial", .text, lead: growth, trigger: [:], links: ["unsubscribe_url": "u"],
                                                                        planned: planned))
            #expect(text.contains("part three shows"), "planned: \(planned)")
        }
    }

    @Test func simulateShowsThePersonaAndTheContentWrittenForIt() throws {
        let simulator = Simulator(playbook: Campaigns.playbook, templates: library)
        let timeline = try simulator.run(.init(campaignID: "nurture", lead: lead("VP Sales"), start: instant("2026-11-23 09:00"), days: 14))
        #expect(timeline.lines.first?.what == "persona")
        #expect(timeline.lines.first?.detail.hasPrefix("sales-leader") == true)
        let caseStudy = try #require(timeline.sends.first { $0.step == "nurture-2-case-study" })
        #expect(caseStudy.detail == "“How Fernhill's reps got to qualified leads in 3 hours, not 3 days” [written for sales-leader]")
        let plain = try simulator.run(.init(campaignID: "nurture", lead: lead("Head of Marketing"), start: instant("2026-11-23 09:00"), days: 14))
        #expect(plain.sends.first { $0.step == "nurture-2-case-study" }?.detail == "“How Fernhill cut lead follow-up from 3 days to 3 hours”")
    }

    @Test func aPersonaIsLookedAtAgainWhenTheLeadChanges() {
        var work = LeadWork(state: LeadState(lead: lead("Marketing Manager")))
        processor.assignPersona(&work, now: instant("2026-11-23 10:00"))
        #expect(work.lead.attributes[Persona.attribute] == "marketing-manager")
        let before = work.lead
        work.lead.jobTitle = "Head of Revenue"
        processor.leadUpdated(from: before, &work, now: instant("2026-11-24 10:00"))
        #expect(work.lead.attributes[Persona.attribute] == "sales-leader")
        #expect(work.log.compactMap { if case .persona(let id)? = $0.note { id } else { nil } } == ["marketing-manager", "sales-leader"])
    }

    @Test func validateNamesUndeclaredPersonasAndSignalsWhereTheyAreWritten() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("nurture-persona-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        func write(_ name: String, _ text: String) throws { try text.write(toFile: directory + "/" + name, atomically: true, encoding: .utf8) }
        try write("tips.subject.mustache", "Tips")
        try write("tips.text.mustache", "Hello\n{{#persona.cfo}}For finance{{/persona.cfo}}\n{{#did.pricing-vist}}Plans{{/did.pricing-vist}}\n")
        try write("tips.cfo.text.mustache", "For a CFO")
        let playbook = Playbook(
            brand: Campaigns.playbook.brand, personas: [Persona("founder", "Founders", when: .attribute("job_title", .contains("founder")))],
            signals: [Signal("pricing-visit", .did("page.viewed", within: .days(30)))]
        ) {} campaigns: {
            Campaign("c", kind: .nurture) { Entry(on: "lead.created"); Email("tips") }
        }
        let report = playbook.validate(templates: try TemplateLibrary.load(from: directory).catalog).map(\.description)
        #expect(report.contains("\(directory)/tips.text.mustache:2: error: {{#persona.cfo}} names no declared persona"), "\(report)")
        #expect(report.contains("\(directory)/tips.text.mustache:3: error: {{#did.pricing-vist}} names no declared signal; did you mean 'pricing-visit'?"), "\(report)")
        #expect(report.contains("\(directory)/tips.cfo.text.mustache:1: error: 'tips.cfo' is written for persona 'cfo', which the playbook does not declare"), "\(report)")

        // A dotted name a step sends itself is a template, not a persona's part; a persona's own
        // text behind a plain HTML part is warned about; a persona id must be ASCII.
        try write("tips.html.mustache", "<p>Hello</p>")
        try write("tips.founder.text.mustache", "For a founder")
        try write("tips.v2.subject.mustache", "Tips, again")
        try write("tips.v2.text.mustache", "Again")
        let second = Playbook(
            brand: Campaigns.playbook.brand,
            personas: [Persona("founder", "Founders", when: .attribute("job_title", .contains("founder"))), Persona("décideur", "Deciders", when: .always)]
        ) {} campaigns: {
            Campaign("c", kind: .nurture) { Entry(on: "lead.created"); Email("tips"); Email("tips.v2") }
        }
        let more = second.validate(templates: try TemplateLibrary.load(from: directory).catalog).map(\.description)
        #expect(!more.contains { $0.contains("'tips.v2' is written for persona") }, "\(more)")
        #expect(more.contains { $0.hasPrefix("\(directory)/tips.founder.text.mustache:1: warning: 'tips.founder' has its own text but not its own HTML") }, "\(more)")
        #expect(more.contains { $0.contains("error: persona name 'décideur' must be ASCII letters, digits, - and _") }, "\(more)")
    }

    /// A playbook of its own over templates in a temporary folder.
    static func scratch(_ files: [String: String], personas: [Persona], @CampaignListBuilder campaigns: () -> [Campaign]) throws -> (LeadProcessor, String) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("nurture-persona-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for (name, text) in files { try text.write(toFile: directory + "/" + name, atomically: true, encoding: .utf8) }
        let playbook = Playbook(brand: Campaigns.playbook.brand, personas: personas, attributes: {}, campaigns: campaigns)
        return (LeadProcessor(playbook: playbook, templates: try TemplateLibrary.load(from: directory), policy: .unlimited,
                              links: LinkSigner(secret: Data("k".utf8), publicURL: "https://n.example")), directory)
    }

    @Test func aNewLeadsPersonaIsSetQuietlyAndAChangeFiresItsEntryOnce() throws {
        let (processor, directory) = try Self.scratch(["hello.subject.mustache": "Hi", "hello.text.mustache": "Hello"],
                                                      personas: [Persona("sales-leader", "Sales", when: .attribute("job_title", .contains("sales")))]) {
            Campaign("for-sales", kind: .nurture, reentry: .always) { Entry(whenAttributeChanges: "persona", to: .equals("sales-leader")); Email("hello") }
        }
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var work = LeadWork(state: LeadState(lead: lead("VP Sales")))
        processor.leadCreated(&work, now: instant("2026-11-23 10:00"))
        #expect(work.lead.attributes[Persona.attribute] == "sales-leader")
        #expect(work.enrollments.isEmpty, "a new lead's persona is not a change")
        let before = work.lead
        work.lead.jobTitle = "Nurse"
        processor.leadUpdated(from: before, &work, now: instant("2026-11-24 10:00"))
        let back = work.lead
        work.lead.jobTitle = "Head of Sales"
        processor.leadUpdated(from: back, &work, now: instant("2026-11-25 10:00"))
        #expect(work.enrollments.map(\.campaignID) == ["for-sales"], "entered once, not once per announcement")
        #expect(work.newMessages.count == 1)
    }

    @Test func aStepThatChangesThePersonaChangesTheCopyOfTheNextSend() throws {
        let (processor, directory) = try Self.scratch([
            "offer.subject.mustache": "An offer", "offer.text.mustache": "{{persona}}|{{#persona.vip}}For our best customers{{/persona.vip}}",
            "offer.vip.subject.mustache": "A VIP offer",
        ], personas: [Persona("vip", "VIPs", when: .tagged("vip"))]) {
            Campaign("c", kind: .nurture) { Entry(on: "lead.created"); Tag("vip"); Email("offer") }
        }
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var work = LeadWork(state: LeadState(lead: testLead()))
        processor.enroll(processor.playbook.campaign("c")!, trigger: [:], because: "test", &work, now: instant("2026-11-23 10:00"))
        let message = try #require(work.newMessages.first)
        #expect(message.subject == "A VIP offer")
        #expect(message.preview == "vip|For our best customers")
        // swift-mustache, for templates without a plan, reads the persona the same way.
        for planned in [true, false] {
            let text = try processor.renderer.renderPart("offer", .text, lead: work.lead, trigger: [:], links: [:], planned: planned)
            #expect(text.map(SubstitutedValue.unfenced) == "vip|For our best customers", "planned: \(planned)")
        }
    }
}
