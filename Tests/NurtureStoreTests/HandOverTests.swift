import Campaigns
import Foundation
import NurtureDeployment
import NurtureDSL
import NurtureEngine
import NurtureStorage
import NurtureTesting
import Testing

/// Journeys that end and hand over the way they say: inactivity measured by the engine, exclusive
/// campaigns, `ExitCampaigns`, and a sunset that stops marketing but not invoices.
struct HandOverTests {
    static func instant(_ text: String) -> Date { ISO8601DateFormatter().date(from: text + ":00Z")! }

    static func patch(_ name: String) -> LeadPatch {
        var patch = LeadPatch(email: "\(name)@example.com")
        patch.firstName = name.capitalized
        patch.timeZone = "Europe/London"
        return patch
    }

    static func enrollments(_ store: any LeadStore, _ name: String) async throws -> [Enrollment] {
        let lead = try #require(try await store.lead(email: "\(name)@example.com"))
        let window = HistoryWindow(eventsSince: .distantPast, sendsSince: .distantPast)
        return try #require(try await store.snapshots([.id(lead.id)], window: window)[.id(lead.id)]).enrollments
    }

    static func sent(_ store: any LeadStore, _ name: String) async throws -> [OutboxMessage] {
        let lead = try #require(try await store.lead(email: "\(name)@example.com"))
        return try await store.latestMessages(leadID: lead.id, limit: 100).filter { $0.status == .sent }
    }

    static let quietPlaybook = Fixture.playbook {
        Campaign("come-back", kind: .custom("win-back"), reentry: .after(.days(90))) {
            Entry(whenInactiveFor: .days(60))
            Email("winback-1-checkin")
        }
    }

    @Test(arguments: [Backend.sqliteFile, .postgres])
    func theEngineEntersLeadsThatWentQuietOncePerQuietSpell(_ backend: Backend) async throws {
        let store = try await backend.makeStore()
        let engine = try CampaignControlTests.engine(store, playbook: Self.quietPlaybook)
        let t0 = Self.instant("2026-09-01T10:00")
        func day(_ n: Double) -> Date { t0.addingTimeInterval(n * 86_400) }
        _ = try await engine.upsert(["ana", "ben", "cy"].map(Self.patch), now: t0)
        // Ana and Ben look at the site on day 0; Ben clicks on day 30; Cy never does anything.
        for name in ["ana", "ben"] {
            _ = try await engine.track(IncomingEvent(subject: .email("\(name)@example.com"), type: "page.viewed", at: t0, properties: ["path": "/blog"]), now: t0)
        }
        _ = try await engine.track(IncomingEvent(subject: .email("ben@example.com"), type: "email.clicked", at: day(30)), now: day(30))

        #expect(try await engine.enterQuietLeads(now: day(59)) == 0)
        #expect(try await engine.enterQuietLeads(now: day(60.1)) == 2)
        for name in ["ana", "cy"] { #expect(try await Self.enrollments(store, name).map(\.campaignID) == ["come-back"]) }
        #expect(try await Self.enrollments(store, "ben").isEmpty)
        // Looking again, by this worker or a new one, finds nobody new.
        #expect(try await engine.enterQuietLeads(now: day(60.2)) == 0)
        let another = try CampaignControlTests.engine(store, playbook: Self.quietPlaybook)
        #expect(try await another.enterQuietLeads(now: day(61)) == 0)
        // Ben's quiet spell began with his click on day 30.
        #expect(try await another.enterQuietLeads(now: day(90.1)) == 1)
        #expect(try await Self.enrollments(store, "ben").map(\.campaignID) == ["come-back"])
        // Ana comes back on day 100 and goes quiet again: a new spell, a second journey.
        _ = try await engine.track(IncomingEvent(subject: .email("ana@example.com"), type: "email.opened", at: day(100)), now: day(100))
        #expect(try await engine.enterQuietLeads(now: day(159)) == 0)
        #expect(try await engine.enterQuietLeads(now: day(160.1)) == 1)
        #expect(try await Self.enrollments(store, "ana").map(\.sequence).sorted() == [1, 2])
        // What entered them is in their history, saying since when they were quiet.
        let ana = try #require(try await store.lead(email: "ana@example.com"))
        let quiet = try await store.latestEvents(leadID: ana.id, limit: 20).filter { $0.type == "lead.inactive" }
        #expect(quiet.map { $0.properties["quiet_since"]?.textValue } == ["2026-12-10T10:00:00Z", "2026-09-01T10:00:00Z"])
        await Deployment.close(store)
    }

    @Test(arguments: [Backend.sqliteFile, .postgres])
    func winBackTakesOverAndItsSunsetStopsMarketingButNotInvoices(_ backend: Backend) async throws {
        let store = try await backend.makeStore()
        let engine = try CampaignControlTests.engine(store)
        let start = Self.instant("2026-11-02T09:00")   // a Monday
        func at(_ days: Double) -> Date { start.addingTimeInterval(days * 86_400) }
        func run(_ from: Double, _ to: Double) async throws {
            var now = at(from)
            while now <= at(to) {
                _ = try await engine.runDue(now: now)
                _ = try await CampaignControlTests.sendAll(engine, now: now)
                now = now.addingTimeInterval(3_600)
            }
        }
        _ = try await engine.upsert([Self.patch("dora")], now: start)
        let dora = IncomingEvent.Subject.email("dora@example.com")
        // Imported from a CRM with her history: her last click was 61 days ago. The welcome series starts.
        _ = try await engine.track(IncomingEvent(subject: dora, type: "email.clicked", at: at(-61)), now: start)
        try await run(0, 0.5)
        var enrollments = try await Self.enrollments(store, "dora")
        #expect(enrollments.first { $0.campaignID == "welcome" }?.isActive == true)

        // The engine finds her quiet: win-back runs alone and ends her welcome series.
        #expect(try await engine.enterQuietLeads(now: at(0.5)) == 1)
        enrollments = try await Self.enrollments(store, "dora")
        let welcome = try #require(enrollments.first { $0.campaignID == "welcome" })
        #expect(welcome.status == .exited)
        #expect(welcome.endReason == "handed over to win-back")
        #expect(enrollments.first { $0.campaignID == "win-back" }?.isActive == true)
        // Billing goes on whatever marketing does.
        _ = try await engine.track(IncomingEvent(subject: dora, type: "invoice.issued", at: at(1), properties: [
            "invoice_number": "INV-7", "amount": "£120.00", "due_date": "16 November 2026", "description": "Starter plan",
            "payment_url": "https://larkspur.example/pay/INV-7",
        ]), now: at(1))
        #expect(try await Self.enrollments(store, "dora").first { $0.campaignID == "invoice-follow-up" }?.isActive == true)
        // While she is in win-back, a pricing visit does not start the engagement series.
        _ = try await engine.track(IncomingEvent(subject: dora, type: "page.viewed", at: at(1.1), properties: ["path": "/pricing"]), now: at(1.1))
        #expect(try await Self.enrollments(store, "dora").contains { $0.campaignID == "engagement" } == false)

        // No answer to three win-back emails: the sunset suppresses marketing.
        try await run(0.5, 21)
        enrollments = try await Self.enrollments(store, "dora")
        #expect(enrollments.first { $0.campaignID == "win-back" }?.status == .completed)
        let suppressions = try await store.suppressions(address: "dora@example.com")
        #expect(suppressions[.email] == Suppression(.marketing, reason: "sunset: no answer to the win-back series"))
        let sunset = try #require(try await Self.sent(store, "dora").first { $0.stepID == "winback-3-goodbye" }?.createdAt).addingTimeInterval(7 * 86_400)

        // After it, she enters the engagement series again but it sends her nothing; her invoice reminders still go.
        _ = try await engine.track(IncomingEvent(subject: dora, type: "page.viewed", at: at(21.5), properties: ["path": "/pricing"]), now: at(21.5))
        try await run(21.5, 36)
        let after = try await Self.sent(store, "dora").filter { $0.createdAt > sunset }
        #expect(after.isEmpty == false)
        #expect(after.allSatisfy { $0.campaignID == "invoice-follow-up" }, "\(after.map(\.stepID))")
        #expect(after.map(\.stepID).contains("invoice-reminder-3"))
        let engagement = try #require(try await Self.enrollments(store, "dora").first { $0.campaignID == "engagement" })
        #expect(engagement.messagesProduced == 0)
        await Deployment.close(store)
    }

    @Test func exitCampaignsEndsTheSelectedJourneysOnly() async throws {
        let playbook = Fixture.playbook {
            Campaign("news", kind: .nurture) { Entry(on: "content.subscribed"); Wait(.days(30)); Email("nurture-1-playbook") }
            Campaign("events", kind: .engagement) { Entry(on: "content.subscribed"); Wait(.days(30)); Email("engagement-1-offer") }
            Campaign("sales-talk", kind: "sales") { Entry(on: "demo.requested"); ExitCampaigns(kind: .nurture); Wait(.days(3)) }
            Campaign("closing", kind: "sales") { Entry(on: "contract.sent"); ExitCampaigns(["events"]); Wait(.days(3)) }
        }
        let store = try await Backend.sqliteMemory.makeStore()
        let engine = try CampaignControlTests.engine(store, playbook: playbook)
        let t0 = Self.instant("2026-11-02T09:00")
        _ = try await engine.upsert([Self.patch("eve")], now: t0)
        _ = try await engine.track(IncomingEvent(subject: .email("eve@example.com"), type: "content.subscribed", at: t0), now: t0)
        _ = try await engine.track(IncomingEvent(subject: .email("eve@example.com"), type: "demo.requested", at: t0.addingTimeInterval(60)), now: t0.addingTimeInterval(60))
        let enrollments = try await Self.enrollments(store, "eve")
        #expect(enrollments.first { $0.campaignID == "news" }?.endReason == "handed over to sales-talk")
        #expect(enrollments.first { $0.campaignID == "events" }?.isActive == true)
        #expect(enrollments.first { $0.campaignID == "sales-talk" }?.isActive == true)
        // By name: the events series ends; the sales conversation goes on.
        _ = try await engine.track(IncomingEvent(subject: .email("eve@example.com"), type: "contract.sent", at: t0.addingTimeInterval(120)), now: t0.addingTimeInterval(120))
        let later = try await Self.enrollments(store, "eve")
        #expect(later.first { $0.campaignID == "events" }?.endReason == "handed over to closing")
        #expect(later.first { $0.campaignID == "sales-talk" }?.isActive == true)
    }
}

/// `WaitFor(any:)` in the durable engine: the first event wins, however the events arrive.
struct FirstOfSeveralTests {
    static let playbook = Fixture.playbook {
        Campaign("trial-push", kind: .nurture) {
            Entry(on: "content.subscribed")
            WaitFor(any: ["demo.booked", "trial.started"], timeout: .days(7)) {
                On("demo.booked") { Email("nurture-3-demo-invite") }
                On("trial.started") { Email("nurture-4-tutorial") }
            } onTimeout: {
                Email("nurture-1-playbook")
            }
        }
    }

    @Test(arguments: [Backend.sqliteFile, .postgres])
    func eventsInOneBatchAreHeardAndTheFirstSentWins(_ backend: Backend) async throws {
        let store = try await backend.makeStore()
        var configuration = NurtureConfiguration()
        configuration.policy = .unlimited
        let engine = Deployment(store: store, playbook: Self.playbook, templates: try Fixture.templates(), configuration: configuration,
                                links: Fixture.links).engine
        let t = HandOverTests.instant("2026-11-02T10:00")
        _ = try await engine.upsert(["fay", "gus", "hal"].map(HandOverTests.patch), now: t)
        func event(_ name: String, _ type: String, at: Date = t) -> IncomingEvent {
            IncomingEvent(subject: .email("\(name)@example.com"), type: type, at: at)
        }
        // Fay subscribes and starts a trial in one request: the wait that the first starts hears the second.
        _ = try await engine.track([event("fay", "content.subscribed"), event("fay", "trial.started")], now: t)
        // Gus and Hal book a demo and start a trial at the same instant, sent in opposite orders.
        _ = try await engine.track([event("gus", "content.subscribed"), event("hal", "content.subscribed")], now: t)
        _ = try await engine.track([event("gus", "demo.booked", at: t.addingTimeInterval(60)), event("gus", "trial.started", at: t.addingTimeInterval(60)),
                                    event("hal", "trial.started", at: t.addingTimeInterval(60)), event("hal", "demo.booked", at: t.addingTimeInterval(60))],
                                   now: t.addingTimeInterval(60))
        // Nothing else comes of the second event, nor of the timeout a week later.
        _ = try await engine.runDue(now: t.addingTimeInterval(8 * 86_400))
        func queued(_ name: String) async throws -> [String] {
            let lead = try #require(try await store.lead(email: "\(name)@example.com"))
            return try await store.latestMessages(leadID: lead.id, limit: 10).map(\.stepID)
        }
        #expect(try await queued("fay") == ["nurture-4-tutorial"])
        #expect(try await queued("gus") == ["nurture-3-demo-invite"])
        #expect(try await queued("hal") == ["nurture-4-tutorial"])
        await Deployment.close(store)
    }
}

/// A sunset stops marketing only: the lead's own unsubscribe, STOP and START still count.
struct SunsetTests {
    @Test func theLeadsOwnOptOutsStillCountAfterASunset() async throws {
        let playbook = Fixture.playbook {
            Campaign("sunset-now", kind: .custom("win-back")) { Entry(on: "lead.created"); Suppress(.marketing, reason: "sunset") }
        }
        let store = try await Backend.sqliteMemory.makeStore()
        let engine = try CampaignControlTests.engine(store, playbook: playbook)
        let t0 = HandOverTests.instant("2026-11-02T10:00")
        var patch = HandOverTests.patch("ida")
        patch.phone = "+447700900123"
        patch.smsConsent = true
        _ = try await engine.upsert([patch], now: t0)
        _ = try await engine.runDue(now: t0)
        #expect(try await store.suppressions(address: "ida@example.com")[.email] == Suppression(.marketing, reason: "sunset"))
        #expect(try await store.suppressions(address: "+447700900123")[.sms] == Suppression(.marketing, reason: "sunset"))
        let lead = try #require(try await store.lead(email: "ida@example.com"))
        // The lead's own unsubscribe is recorded over a sunset: a sunset is not "already unsubscribed".
        let unsubscribed = try await engine.unsubscribe(leadID: lead.id, channel: .email, via: "link", now: t0.addingTimeInterval(60))
        guard case .unsubscribed = unsubscribed else { Issue.record("got \(unsubscribed)"); return }
        #expect(try await store.suppressions(address: "ida@example.com")[.email] == Suppression(.marketing, reason: "unsubscribed"))
        // STOP is recorded over the sunset, and confirmed.
        _ = try await engine.track(IncomingEvent(subject: .phone("+447700900123"), type: "sms.opted_out", at: t0.addingTimeInterval(120)), now: t0.addingTimeInterval(120))
        #expect(try await store.suppressions(address: "+447700900123")[.sms] == Suppression(.all, reason: "SMS STOP"))
        #expect(try await store.latestMessages(leadID: lead.id, limit: 5).map(\.stepID).contains("stop-confirmation"))
    }
}
