import Campaigns
import Foundation
import NurtureDSL
import NurtureEngine
import NurtureTesting
import Testing

/// `simulate` on the shipped campaigns and templates: the real machine, the real copy.
struct SimulationTests {
    let simulator: Simulator
    let ana: Lead

    init() throws {
        let templates = try TemplateLibrary.load(from: Harness.repositoryRoot.appendingPathComponent("Campaigns/Templates").path)
        simulator = Simulator(playbook: Campaigns.playbook, templates: templates)
        ana = try LeadFile.load(Harness.repositoryRoot.appendingPathComponent("Demo/ana.json").path).lead
    }

    func run(_ campaign: String, lead: Lead? = nil, trigger: [String: Value] = [:], days: Int = 30, events: String = "") throws -> Timeline {
        try simulator.run(.init(campaignID: campaign, lead: lead ?? ana, trigger: trigger, start: instant("2026-11-23 09:00"),
                                days: days, events: ScriptedEvent.parse(events)))
    }

    func sends(_ timeline: Timeline) -> [String] {
        timeline.sends.map { "\(localTime($0.at)) \($0.campaign)/\($0.step ?? "")" }
    }

    @Test func welcomeForALeadWhoIgnoresEverything() throws {
        let timeline = try run("welcome")
        #expect(sends(timeline).prefix(4) == [
            "Mon 2026-11-23 09:00 welcome/welcome-1",
            "Wed 2026-11-25 09:00 welcome/welcome-2-resend",
            "Mon 2026-11-30 09:00 welcome/welcome-3-value",      // Saturday held to Monday by business hours
            "Fri 2026-12-04 09:00 nurture/nurture-1-playbook",  // moved on after the download wait timed out
        ])
        #expect(timeline.sends.first?.detail == "“Welcome to Larkspur, Ana”")
        #expect(timeline.lines.contains { $0.what == "branch" && $0.detail == "else: no email.opened for welcome-1" })
        #expect(timeline.lines.contains { $0.what == "held" && $0.step == "welcome-3-value" })
    }

    @Test func aLeadWhoGoesQuietIsWonBackThenSunsetByTheEngineItself() throws {
        // Nothing but the nurture series, then 60 days of silence: no lead.inactive from outside.
        let quiet = try run("nurture", days: 90)
        #expect(quiet.lines.contains { $0.what == "entered" && $0.campaign == "win-back" && $0.detail == "entry after 60d without activity" })
        #expect(sends(quiet).suffix(3) == [
            "Fri 2027-01-22 09:00 win-back/winback-1-checkin", "Wed 2027-01-27 09:00 win-back/winback-2-whats-new",
            "Wed 2027-02-03 09:00 win-back/winback-3-goodbye",
        ])
        #expect(quiet.lines.contains { $0.what == "suppress" && $0.detail.hasPrefix("marketing messages stop (transactional still go)") })
        // A click on the blog on day 40 moves the quiet spell: win-back waits for day 100.
        let active = try run("nurture", days: 90, events: "40d:page.viewed path=/blog")
        #expect(!active.lines.contains { $0.campaign == "win-back" })
    }

    @Test func everyCampaignFollowsANewLeadThroughItsHandOvers() throws {
        let timeline = try simulator.run(.init(campaignID: nil, lead: ana, start: instant("2026-11-23 09:00"), days: 120,
                                               events: ScriptedEvent.parse("1d:page.viewed path=/pricing")))
        let entered = timeline.lines.filter { $0.what == "entered" }.map { "\($0.campaign): \($0.detail)" }
        #expect(entered == [
            "welcome: entry on lead.created", "engagement: entry on page.viewed where path starts with \"/pricing\"",
            "nurture: moved from welcome", "win-back: entry after 60d without activity",
        ])
        #expect(timeline.render().hasPrefix("Simulating every campaign for Ana Costa"))
        #expect(timeline.lines.contains { $0.what == "suppress" && $0.campaign == "win-back" })
    }

    @Test func welcomeForALeadWhoEngagesBranchesAndScores() throws {
        let timeline = try run("welcome", events: "1d:email.opened step=welcome-1 campaign=welcome,8d:resource.downloaded")
        #expect(sends(timeline).contains("Wed 2026-11-25 09:00 welcome/welcome-2-guide"))
        // The download crosses the MQL line (profile + behaviour), then the campaign's +10 lands on top.
        let crossing = try #require(timeline.lines.first { $0.what == "threshold" })
        let crossedAt = try #require(Double(crossing.detail.split(separator: " ")[1]))
        #expect(crossing.detail.hasSuffix("crossed 60"))
        #expect(timeline.lines.contains { $0.what == "score" && $0.detail == "+10 → \(Value.number(((crossedAt + 10) * 10).rounded() / 10).textValue)" })
        #expect(timeline.lines.contains { $0.what == "sales" && $0.detail == "alert: Crossed the MQL line → ines@larkspur.example" })
        #expect(!timeline.lines.contains { $0.step == "tag-welcome-quiet" })
    }

    @Test func aGoalEndsTheWelcomeSeriesWhateverStepItIsOn() throws {
        let timeline = try run("welcome", events: "3d:demo.booked")
        #expect(sends(timeline) == ["Mon 2026-11-23 09:00 welcome/welcome-1", "Wed 2026-11-25 09:00 welcome/welcome-2-resend"])
        #expect(timeline.enrollments.first { $0.campaignID == "welcome" }?.endReason == "goal reached: demo.booked")
    }

    @Test func theABSplitIsDeterministicPerLead() throws {
        var variants: [String: String] = [:]
        for id in ["lead-a", "lead-b", "lead-c", "lead-d", "lead-e", "lead-f"] {
            var lead = ana
            lead.id = id
            let first = try run("welcome", lead: lead).sends.first { $0.step == "welcome-3-value" }?.detail
            let again = try run("welcome", lead: lead).sends.first { $0.step == "welcome-3-value" }?.detail
            #expect(first == again)
            variants[id] = first
        }
        // Both variants are in use across leads
        #expect(Set(variants.values.map { $0.contains("variant A") ? "A" : "B" }).count == 2)
    }

    @Test func nurtureOffersADemoToThoseWhoLookedAtPricing() throws {
        let timeline = try run("nurture", events: "2d:page.viewed path=/pricing")
        #expect(timeline.sends.map(\.step) .contains("nurture-3-demo-invite"))
        #expect(timeline.lines.contains { $0.what == "sales" && $0.detail.contains("case study or pricing") })
        // The pricing visit also entered the engagement series
        #expect(timeline.enrollments.contains { $0.campaignID == "engagement" })
    }

    @Test func engagementNudgesBySMSOnlyThoseWhoOptedIn() throws {
        let optedIn = try run("engagement")
        let sms = try #require(optedIn.sends.first { $0.what == "sms" })
        #expect(sms.detail.contains("(1 segment, GSM-7"))
        var noSMS = ana
        noSMS.smsConsent = false
        let optedOut = try run("engagement", lead: noSMS)
        #expect(!optedOut.sends.contains { $0.what == "sms" })
        #expect(optedOut.lines.contains { $0.what == "skipped" && $0.detail == "the lead has not opted in to SMS" })
    }

    @Test func theInvoiceFollowUpStopsTheMomentTheInvoiceIsPaid() throws {
        let file = try LeadFile.load(Harness.repositoryRoot.appendingPathComponent("Demo/invoice.json").path)
        let unpaid = try run("invoice-follow-up", lead: file.lead, trigger: file.trigger, days: 60)
        // (After 60 quiet days the win-back series begins too; invoices are what is checked here.)
        let invoices = unpaid.sends.filter { $0.campaign == "invoice-follow-up" }
        #expect(invoices.map(\.step) == ["invoice-issued", "invoice-reminder-1", "invoice-reminder-2", "invoice-reminder-3", "invoice-reminder-4"])
        // After the payment term, polite reminders at growing intervals
        let gaps = zip(invoices.dropFirst(), invoices).map { Int($0.at.timeIntervalSince($1.at) / 86_400) }
        #expect(gaps == [14, 3, 7, 14])
        #expect(unpaid.sends.first?.detail == "“Invoice INV-2026-0412 from Larkspur — thank you for your business”")

        let paid = try run("invoice-follow-up", lead: file.lead, trigger: file.trigger, days: 60,
                           events: "5d:invoice.paid invoice_number=INV-2026-0412")
        #expect(paid.sends.map(\.step) == ["invoice-issued"])
        #expect(paid.enrollments.first?.endReason == "goal reached: invoice.paid")
    }

    @Test func advocatesAreNotAskedForAReviewTheyAlreadyWrote() throws {
        let reviewed = try run("advocates", events: "1d:review.submitted")
        #expect(reviewed.sends.map(\.step) == ["advocate-1-thanks", "advocate-thanks-review", "advocate-2-story"])
        let quiet = try run("advocates")
        #expect(quiet.sends.map(\.step) == ["advocate-1-thanks", "advocate-2-story", "advocate-3-referral"])
    }

    @Test func winBackMovesTheReEngagedBackToNurture() throws {
        let timeline = try run("win-back", events: "2d:email.clicked campaign=win-back step=winback-1-checkin")
        #expect(timeline.sends.map(\.step).prefix(2) == ["winback-1-checkin", "nurture-1-playbook"])
        #expect(timeline.lines.contains { $0.what == "set" && $0.detail == #"engagement = "re-engaged""# })
        let silent = try run("win-back")
        #expect(silent.sends.map(\.step) == ["winback-1-checkin", "winback-2-whats-new", "winback-3-goodbye"])
        #expect(silent.lines.contains { $0.what == "tag" && $0.detail == "sunset" })
    }

    @Test func aYearOfEveryCampaignRunsToTheEnd() throws {
        let file = try LeadFile.load(Harness.repositoryRoot.appendingPathComponent("Demo/invoice.json").path)
        for campaign in Campaigns.playbook.campaigns {
            let trigger = campaign.id == "invoice-follow-up" ? file.trigger : [:]
            let timeline = try run(campaign.id, trigger: trigger, days: 365)
            #expect(timeline.enrollments.allSatisfy { !$0.isActive || $0.phase == .waitingForEvent }, "\(campaign.id) left a lead mid-way")
            #expect(!timeline.sends.isEmpty, "\(campaign.id) sent nothing")
            #expect(!timeline.sends.contains { $0.detail.hasPrefix("cannot render") }, "\(campaign.id) failed to render")
        }
    }

    @Test func unknownCampaignSuggestsTheClosestOne() {
        #expect(throws: Simulator.Failure.self) { try run("welcom") }
        do {
            _ = try run("welcom")
        } catch {
            #expect("\(error)" == "unknown campaign 'welcom'; did you mean 'welcome'? (see `nurture campaigns list`)")
        }
    }

    /// welcome-3-value-a names the industry only inside `{{#industry}}…{{/industry}}`: a lead
    /// without one is simulated, and the email reads without that clause.
    @Test func aValueUsedOnlyInsideItsGuardMayBeMissing() throws {
        var lead = ana
        lead.industry = nil
        let timeline = try run("welcome", lead: lead, days: 30)
        #expect(!timeline.sends.isEmpty)
        #expect(!timeline.sends.contains { $0.detail.hasPrefix("cannot render") })
    }

    @Test func aLeadWithoutWhatTheTemplatesNeedIsRefused() throws {
        let file = try LeadFile.load(Harness.repositoryRoot.appendingPathComponent("Demo/invoice.json").path)
        do {
            _ = try run("invoice-follow-up", lead: file.lead, trigger: [:])
            Issue.record("expected missing values")
        } catch {
            let text = "\(error)"
            #expect(text.hasPrefix("the lead file lacks values the templates need and that have no default:"))
            #expect(text.contains("  trigger.invoice_number (used at "))
            #expect(text.contains("Campaigns/Templates/invoice-issued.subject.mustache:1 and 9 more places)"))
        }
    }

    @Test(arguments: [
        ("2x:email.opened", "malformed event '2x:email.opened': '2x' is not an offset (use 2d, 3d4h, 90m)"),
        ("email.opened", "malformed event 'email.opened': expected OFFSET:TYPE, such as 2d:email.opened"),
        ("2d:", "malformed event '2d:': missing or malformed event type after ':'"),
        ("2d:page.viewed path", "malformed event '2d:page.viewed path': 'path' is not a property (use key=value)"),
    ])
    func malformedEventSpecsNameTheFragment(spec: String, message: String) {
        #expect(throws: EventScriptError.self) { try ScriptedEvent.parse(spec) }
        do {
            _ = try ScriptedEvent.parse("1d:ok.event," + spec)
        } catch {
            #expect(error.description == message)
        }
    }

    @Test func eventSpecsParseOffsetsAndProperties() throws {
        let events = try ScriptedEvent.parse("2d:email.opened step=welcome-1, 3d4h:page.viewed path=/pricing")
        #expect(events == [
            ScriptedEvent(offset: .days(2), type: "email.opened", properties: ["step": "welcome-1"]),
            ScriptedEvent(offset: .days(3) + .hours(4), type: "page.viewed", properties: ["path": "/pricing"]),
        ])
    }
}

struct ShippedPlaybookTests {
    @Test func theShippedCampaignsValidateWithoutAnyDiagnostic() throws {
        let templates = try TemplateLibrary.load(from: Harness.repositoryRoot.appendingPathComponent("Campaigns/Templates").path)
        #expect(Campaigns.playbook.validate(templates: templates.catalog).map(\.description) == [])
    }

    @Test func everyShippedTemplateHasItsCompliancePieces() throws {
        let directory = Harness.repositoryRoot.appendingPathComponent("Campaigns/Templates").path
        let library = try TemplateLibrary.load(from: directory)
        for (name, parts) in library.catalog.templates {
            guard let text = parts[.text] else { continue }
            // Marketing mail carries the unsubscribe footer; billing mail carries billing contacts.
            let partials = text.partials.map(\.name)
            #expect(partials == ["footer"] || (name.hasPrefix("invoice") && partials == ["billing"]), "\(name)")
        }
        let sms = try String(contentsOfFile: directory + "/engagement-sms-nudge.sms.mustache", encoding: .utf8)
        #expect(sms.contains("STOP"))
    }
}
