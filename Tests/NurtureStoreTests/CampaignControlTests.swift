import Campaigns
import Foundation
import NurtureDeployment
import NurtureDSL
import NurtureEngine
import NurturePostgres
import NurtureStorage
import NurtureTesting
import Synchronization
import Testing

/// Pauses, the deliverability watch and A/B decisions, through the engine on real stores.
struct CampaignControlTests {
    static func engine(_ store: any LeadStore, playbook: Playbook = Campaigns.playbook, configuration: NurtureConfiguration = NurtureConfiguration()) throws -> Engine {
        Deployment(store: store, playbook: playbook, templates: try Fixture.templates(), configuration: configuration, links: Fixture.links).engine
    }

    static func leads(_ count: Int, from first: Int = 0) -> [LeadPatch] {
        (first..<(first + count)).map { n in
            var patch = LeadPatch(email: "lead\(n)@example.com")
            patch.firstName = "Lead"
            patch.timeZone = "Europe/Lisbon"
            return patch
        }
    }

    static func sendAll(_ engine: Engine, now: Date) async throws -> Dispatcher.Pass {
        let dispatcher = Dispatcher(engine: engine, channels: [.email: PreviewChannel(), .sms: PreviewChannel(), .sales: PreviewChannel()],
                                    retry: RetryPolicy(), owner: "test", now: { now })
        var total = Dispatcher.Pass()
        while true {
            let pass = try await dispatcher.dispatchDue()
            if pass.attempted == 0 { return total }
            total.sent += pass.sent
        }
    }

    @Test(arguments: [Backend.sqliteFile, .postgres])
    func aPausedCampaignSendsNothingLosesNoLeadAndGoesOnFromWhereItWasOnResume(_ backend: Backend) async throws {
        let store = try await backend.makeStore()
        defer { if let postgres = store as? PostgresStore { Task { await postgres.close() } } }
        let engine = try Self.engine(store)
        let t0 = instant("2026-11-02 10:00", "Europe/Lisbon")
        _ = try await engine.upsert(Self.leads(10), now: t0)
        // Five welcome emails are queued before the pause, and stay queued through it.
        _ = try await engine.runDue(now: t0)
        #expect(try await Self.sendAll(engine, now: t0).sent == 10)
        _ = try await engine.upsert(Self.leads(10, from: 10), now: t0)
        #expect(try await engine.pause(campaign: "welcome", reason: "checking the copy", by: "test", now: t0))
        #expect(try await engine.pause(campaign: "welcome", reason: "again", by: "test", now: t0) == false)

        // Ten days pass: nothing of welcome runs or leaves, a goal still ends one enrollment, and
        // leads still enter (and wait at the first step).
        let later = t0.addingTimeInterval(10 * 86_400)
        _ = try await engine.track(IncomingEvent(subject: .email("lead3@example.com"), type: "demo.booked", at: later, clientID: "demo-3"), now: later)
        _ = try await engine.upsert(Self.leads(5, from: 20), now: later)
        let steps = try await engine.runDue(now: later)
        #expect(steps.messages == 0)
        #expect(try await Self.sendAll(engine, now: later).sent == 0)
        let stats = try await engine.stats(CounterFilter(campaignID: "welcome"))[0]
        #expect(stats.paused?.reason == "checking the copy")
        #expect(stats.entered == 25)
        #expect(stats.exited == 1)
        #expect(stats.steps.first { $0.step == "welcome-1" }?.sent == 10)

        // Resumed: the ones who waited get their welcome now, the ones past it their next email;
        // nobody gets one twice and nobody was dropped.
        #expect(try await engine.resume(campaign: "welcome", by: "test", now: later))
        _ = try await engine.runDue(now: later)
        #expect(try await Self.sendAll(engine, now: later).sent == 15 + 9)
        let after = try await engine.stats(CounterFilter(campaignID: "welcome"))[0]
        #expect(after.paused == nil)
        #expect(after.steps.first { $0.step == "welcome-1" }?.sent == 25)
        #expect(after.active == 24)
        let journal = try await store.campaignJournal(campaignID: "welcome", limit: 10).map(\.type)
        #expect(journal == ["campaign.resumed", "campaign.paused"])
    }

    /// New leads, their welcome emails scheduled and sent at `now`; returns how many were sent.
    static func welcome(_ count: Int, from first: Int = 0, _ engine: Engine, at now: Date) async throws -> Int {
        _ = try await engine.upsert(leads(count, from: first), now: now)
        _ = try await engine.runDue(now: now)
        return try await sendAll(engine, now: now).sent
    }

    /// The shipped lines but a smaller sample and a complaint line of 0.5%, so 200 sends can test both.
    static var smallSamplePolicy: AutoPausePolicy {
        var policy = AutoPausePolicy()
        policy.minimumSends = 200
        policy.complaintPercent = 0.5
        return policy
    }

    /// A minimum sample holds the watch back however bad the first figures look.
    @Test func theWatchWaitsForItsMinimumSample() async throws {
        let fixture = try Fixture()
        let engine = fixture.engine
        let policy = Self.smallSamplePolicy
        let t0 = instant("2026-11-02 10:00", "Europe/Lisbon")
        #expect(try await Self.welcome(199, engine, at: t0) == 199)
        for n in 0..<3 { try await Self.complain(fixture, n, at: t0) }
        // 3 complaints in 199 sends: 1.5%, but under the minimum sample.
        #expect(try await engine.watchResults(policy: policy, now: t0).paused.isEmpty)
        // 3 in 400: 0.75%, over the line with the sample reached.
        #expect(try await Self.welcome(201, from: 199, engine, at: t0) == 201)
        #expect(try await engine.watchResults(policy: policy, now: t0).paused.map(\.campaignID) == ["welcome"])
        // Past the window, those facts no longer count: a campaign resumed then stays resumed.
        let weekLater = t0.addingTimeInterval(8 * 86_400)
        #expect(try await engine.resume(campaign: "welcome", by: "test", now: weekLater))
        #expect(try await engine.watchResults(policy: policy, now: weekLater).paused.isEmpty)
    }

    static func complain(_ fixture: Fixture, _ n: Int, at: Date) async throws {
        let lead = try #require(try await fixture.store.lead(email: "lead\(n)@example.com"))
        let message = try #require(try await fixture.store.latestMessages(leadID: lead.id, limit: 1).first)
        _ = try await fixture.engine.track(IncomingEvent(subject: .id(lead.id), type: "email.complained", at: at,
                                                         properties: ["message": .string(message.id)], clientID: "cmp-\(n)"), now: at)
    }

    @Test func complaintLineIsStrict() async throws {
        let fixture = try Fixture()
        let engine = fixture.engine
        let policy = Self.smallSamplePolicy
        let t0 = instant("2026-11-02 10:00", "Europe/Lisbon")
        #expect(try await Self.welcome(200, engine, at: t0) == 200)
        // 1 in 200 is 0.5%: at the line, not above it.
        try await Self.complain(fixture, 0, at: t0)
        #expect(try await engine.watchResults(policy: policy, now: t0).paused.isEmpty)
        // 2 in 200 is 1%: paused, with the figures in the reason, and the notice delivered once.
        try await Self.complain(fixture, 1, at: t0)
        let paused = try await engine.watchResults(policy: policy, now: t0).paused
        #expect(paused.map(\.campaignID) == ["welcome"])
        #expect(paused.first?.reason == "complaint rate 1.00% (2 of 200 emails sent over the last 7 days) is above 0.50%")
        let notices = NoticeChannel()
        #expect(try await engine.deliverPauseNotices(via: notices, now: t0) == 1)
        #expect(try await engine.deliverPauseNotices(via: notices, now: t0) == 0)
        let notice = try #require(notices.received.withLock { $0.first })
        #expect(notice.preview.contains("Campaign paused: Welcome series (welcome)"))
        #expect(notice.payload.contains(#""type":"campaign.paused""#))
        // Resumed by hand: the same facts do not pause it again; new complaints past the line do.
        #expect(try await engine.resume(campaign: "welcome", by: "test", now: t0))
        #expect(try await engine.watchResults(policy: policy, now: t0).paused.isEmpty)
        #expect(try await Self.welcome(200, from: 200, engine, at: t0) == 200)
        #expect(try await engine.watchResults(policy: policy, now: t0).paused.isEmpty)
        for n in 200..<202 { try await Self.complain(fixture, n, at: t0) }
        #expect(try await engine.watchResults(policy: policy, now: t0).paused.map(\.campaignID) == ["welcome"])
    }

    static let splitPlaybook = Playbook(brand: Campaigns.playbook.brand, attributes: {}) {
        Campaign("split", kind: .nurture, name: "Split") {
            Entry(on: "lead.created")
            Email("welcome-3-value", variants: ["A": 50, "B": 50], winner: .auto(metric: .clicked, confidence: 0.95, minimumPerVariant: 40))
        }
    }

    @Test func aSplitIsDecidedOnceByItsRuleAndTheDecisionHoldsAfterARestart() async throws {
        let fixture = try Fixture()
        var engine = try Self.engine(fixture.store, playbook: Self.splitPlaybook)
        let t0 = instant("2026-11-02 10:00", "Europe/Lisbon")
        #expect(try await Self.welcome(200, engine, at: t0) == 200)
        // B's readers click, A's mostly do not.
        var clicks: [IncomingEvent] = []
        var seen: [String: Int] = [:]
        for message in try await fixture.store.messages(status: .sent, limit: 500).sorted(by: { $0.id < $1.id }) {
            let n = seen[message.variant ?? "", default: 0]
            seen[message.variant ?? ""] = n + 1
            // Every second B reader clicks, every tenth A reader.
            guard n % (message.variant == "B" ? 2 : 10) == 0 else { continue }
            clicks.append(IncomingEvent(subject: .id(message.leadID), type: "email.clicked", at: t0,
                                        properties: ["message": .string(message.id), "url": "https://larkspur.example/tour"], clientID: "click-\(message.id)"))
        }
        _ = try await engine.track(clicks, now: t0)
        let before = try await engine.stats(CounterFilter())[0].experiments[0]
        #expect(before.decision == nil)
        let watched = try await engine.watchResults(policy: AutoPausePolicy(), now: t0)
        #expect(watched.decided.map(\.variant) == ["B"])
        #expect(try await engine.watchResults(policy: AutoPausePolicy(), now: t0).decided.isEmpty)
        let journal = try await fixture.store.campaignJournal(campaignID: "split", limit: 5)
        #expect(journal.map(\.type) == ["experiment.decided"])
        #expect(journal.first?.properties["by"] == "auto")

        // A new process over the same file: every lead reaching the step now gets B.
        engine = try Self.engine(fixture.store, playbook: Self.splitPlaybook)
        _ = try await engine.upsert(Self.leads(60, from: 200), now: t0)
        _ = try await engine.runDue(now: t0)
        let newcomers = try await fixture.store.messages(status: .pending, limit: 500)
        #expect(newcomers.count == 60)
        #expect(Set(newcomers.map(\.variant)) == ["B"])
        let after = try await engine.stats(CounterFilter())[0].experiments[0]
        #expect(after.decision?.variant == "B")
        // The figures it was decided on are kept with it.
        #expect(after.decision?.figures["metric"] == "clicked")
        #expect(after.decision?.figures["B.sent"] == before.arms.first { $0.variant == "B" }.map { .number(Double($0.sent)) })
        #expect(after.sampleRatioMismatch == false)
        // A decision stands: a manual call afterwards is refused.
        #expect(try await engine.decide(campaign: "split", step: "welcome-3-value", variant: "A", by: "test", now: t0) == false)
    }

    @Test func aManualDecisionNamesARealSplitAndVariant() async throws {
        let fixture = try Fixture()
        let engine = fixture.engine
        await #expect(throws: Engine.UnknownControl.self) { try await engine.decide(campaign: "welcome", step: "welcome-1", variant: "A", by: "t", now: Date()) }
        await #expect(throws: Engine.UnknownControl.self) { try await engine.decide(campaign: "welcome", step: "welcome-3-value", variant: "C", by: "t", now: Date()) }
        #expect(try await engine.decide(campaign: "welcome", step: "welcome-3-value", variant: "A", by: "cli", now: Date()))
        #expect(try await fixture.store.campaignControls().decisions["welcome"]?["welcome-3-value"]?.by == "cli")
    }
}

/// An alert channel that keeps what it was given.
final class NoticeChannel: DeliveryChannel {
    let concurrency = 1
    let received = Mutex<[OutboxMessage]>([])

    func deliver(_ message: OutboxMessage) async -> DeliveryResult {
        received.withLock { $0.append(message) }
        return .delivered
    }
}

/// A campaign's holdout: a stable random share of entrants kept out, and the lift against them.
struct HoldoutTests {
    static let playbook = Playbook(brand: Campaigns.playbook.brand, attributes: {}) {
        Campaign("trial-push", kind: .nurture, name: "Trial push", holdout: 20) {
            Entry(on: "lead.created")
            Exit(on: "trial.started")
            Email("welcome-1")
            Wait(.days(2))
            Tag("pushed")
            Email("welcome-2-guide")
            Wait(.days(7))                 // goals reached in the week after count
        }
    }

    @Test func heldOutLeadsReceiveNothingTheirArmIsStableAndStatsShowTheLift() async throws {
        let fixture = try Fixture()
        let engine = try CampaignControlTests.engine(fixture.store, playbook: Self.playbook)
        let t0 = instant("2026-11-02 10:00", "Europe/Lisbon")
        _ = try await engine.upsert(CampaignControlTests.leads(500), now: t0)
        _ = try await engine.runDue(now: t0)
        _ = try await engine.runDue(now: t0.addingTimeInterval(3 * 86_400))
        var held: [Lead] = [], treated: [Lead] = []
        for n in 0..<500 {
            let lead = try #require(try await fixture.store.lead(email: "lead\(n)@example.com"))
            let window = HistoryWindow(eventsSince: t0.addingTimeInterval(-86_400), sendsSince: t0.addingTimeInterval(-86_400))
            let snapshot = try #require(try await fixture.store.snapshots([.id(lead.id)], window: window)[.id(lead.id)])
            let enrollment = try #require(snapshot.enrollments.first)
            // The same lead lands in the same arm whenever, and wherever, it enters.
            let again = EnrollmentMachine(campaign: Self.playbook.campaigns[0]).enroll(lead, at: t0.addingTimeInterval(86_400), sequence: 2)
            #expect(again.isHeldOut == enrollment.isHeldOut)
            let messages = try await fixture.store.latestMessages(leadID: lead.id, limit: 10)
            if enrollment.isHeldOut {
                held.append(lead)
                #expect(messages.isEmpty, "a held-out lead got \(messages.map(\.stepID))")
                #expect(!snapshot.lead.tags.contains("pushed"))
            } else {
                treated.append(lead)
                #expect(messages.map(\.stepID).sorted() == ["welcome-1", "welcome-2-guide"])
                #expect(snapshot.lead.tags.contains("pushed"))
            }
        }
        // 20% of 500 is 100; a binomial spread of ±30 is over three standard deviations.
        #expect((70...130).contains(held.count), "\(held.count) held out")

        // Half the treated start a trial, a fifth of the held-out: the campaign adds 30 points.
        let later = t0.addingTimeInterval(4 * 86_400)
        let converting = treated.enumerated().filter { $0.offset % 2 == 0 }.map(\.element) + held.enumerated().filter { $0.offset % 5 == 0 }.map(\.element)
        _ = try await engine.track(converting.map { IncomingEvent(subject: .id($0.id), type: "trial.started", at: later, clientID: "trial-\($0.id)") }, now: later)
        let stats = try #require(try await engine.stats(CounterFilter()).first?.holdout)
        #expect(stats.percent == 20)
        #expect(stats.holdout.entered == held.count && stats.treatment.entered == treated.count)
        #expect(stats.treatment.converted == (treated.count + 1) / 2)
        #expect(stats.holdout.converted == (held.count + 4) / 5)
        let lift = try #require(stats.lift)
        let treatedRate = Double((treated.count + 1) / 2) / Double(treated.count)
        let heldRate = Double((held.count + 4) / 5) / Double(held.count)
        #expect(abs(lift.difference - (treatedRate - heldRate)) < 1e-9)
        #expect(stats.significant && lift.low > 0)
        #expect(try await fixture.store.recountedCampaignCounters() == CampaignCounter.merged(try await fixture.store.campaignCounters(CounterFilter())))
    }
}

/// Goal values, conversions that do not end the journey, last-touch attribution inside its
/// window, and cost and ROI from `[costs]`, on a virtual clock.
struct ConversionTests {
    static let playbook = Playbook(brand: Campaigns.playbook.brand, attributes: {}) {
        Campaign("deals", kind: .nurture, name: "Deals") {
            Entry(on: "lead.created")
            Exit(on: "deal.won", value: .property("amount"))
            Conversion("trial.started", value: 5)
            Email("welcome-1")
            Wait(.days(2))
            Email("welcome-2-guide")
            Wait(.days(14))
        }
        // Also counts deals, but its one message is older than the other campaign's last one.
        Campaign("also-deals", kind: .engagement, name: "Also deals") {
            Entry(on: "lead.created")
            Exit(on: "deal.won", value: .property("amount"))
            Email("welcome-2-resend")
            Wait(.days(30))
        }
    }

    @Test(arguments: [Backend.sqliteFile, .postgres])
    func aGoalIsCreditedOnceToTheLastTouchInsideItsWindowWithItsValueCostAndROI(_ backend: Backend) async throws {
        let store = try await backend.makeStore()
        defer { if let postgres = store as? PostgresStore { Task { await postgres.close() } } }
        // No frequency cap, so each campaign's messages go out when its steps say.
        var configuration = NurtureConfiguration()
        configuration.policy.emailCap = nil
        configuration.costs = MessageCosts(email: 0.5)
        let engine = try CampaignControlTests.engine(store, playbook: Self.playbook, configuration: configuration)
        let t0 = instant("2026-11-02 10:00", "Europe/Lisbon")
        _ = try await engine.upsert(CampaignControlTests.leads(3), now: t0)
        for day in [0.0, 2] {
            _ = try await engine.runDue(now: t0.addingTimeInterval(day * 86_400))
            _ = try await CampaignControlTests.sendAll(engine, now: t0.addingTimeInterval(day * 86_400))
        }
        func event(_ n: Int, _ type: String, at: Date, _ properties: [String: Value] = [:]) async throws {
            _ = try await engine.track(IncomingEvent(subject: .email("lead\(n)@example.com"), type: type, at: at, properties: properties,
                                                     clientID: "\(type)-\(n)"), now: at)
        }
        // lead0 wins a deal a day after the second email: credited to it, at its amount.
        try await event(0, "deal.won", at: t0.addingTimeInterval(3 * 86_400), ["amount": "1200.50"])
        // lead1 starts a trial: a conversion worth 5 that keeps it in the journey.
        try await event(1, "trial.started", at: t0.addingTimeInterval(3 * 86_400))
        // lead2 wins eight days after its last message: outside the 7-day window, credited to nobody.
        try await event(2, "deal.won", at: t0.addingTimeInterval(10 * 86_400), ["amount": 900])

        let stats = try await engine.stats(CounterFilter())
        let deals = try #require(stats.first { $0.campaign == "deals" })
        let also = try #require(stats.first { $0.campaign == "also-deals" })
        #expect(deals.conversions == 2)
        #expect(abs(deals.revenue - 1205.50) < 1e-9)
        let second = try #require(deals.steps.first { $0.step == "welcome-2-guide" })
        #expect(second.converted == 2 && abs(second.revenue - 1205.50) < 1e-9)
        #expect(deals.steps.first { $0.step == "welcome-1" }?.converted == 0)
        // Six emails at 0.50: cost 3.00, ROI (1205.50 − 3) / 3.
        #expect(deals.cost == 3.0)
        #expect(abs((deals.roi ?? 0) - (1205.50 - 3) / 3) < 1e-9)
        #expect(deals.attribution == "last touch: a goal or conversion goes to the campaign message the lead got last, up to 7 days after it")
        #expect(deals.goals.map(\.event) == ["deal.won", "trial.started"])
        #expect(deals.goals.map(\.conversions) == [1, 1] && abs(deals.goals[0].revenue - 1200.50) < 1e-9 && deals.goals[1].revenue == 5)
        // The older touch of the other campaign gets nothing: each conversion is credited once.
        #expect(also.conversions == 0 && also.revenue == 0)
        // The goal still ended both deal winners' journeys; the trial did not.
        #expect(deals.exited == 2 && deals.active == 1)
        #expect(try await store.recountedCampaignCounters() == CampaignCounter.merged(try await store.campaignCounters(CounterFilter())))
    }
}

/// Send steps that produced nothing are counted by reason, as are the holds of a frequency cap
/// and the unsubscribes each message drew.
struct StepFactTests {
    static let playbook = Playbook(brand: Campaigns.playbook.brand, attributes: {}) {
        Campaign("reach", kind: .nurture, name: "Reach") {
            Entry(on: "lead.created")
            Email("welcome-1")
            Email("welcome-2-guide")                  // the same day: the daily email cap holds it
        }
    }

    @Test(arguments: [Backend.sqliteFile, .postgres])
    func skipsAndCapsAreCountedByReasonAndEqualARecount(_ backend: Backend) async throws {
        let store = try await backend.makeStore()
        defer { if let postgres = store as? PostgresStore { Task { await postgres.close() } } }
        let engine = try CampaignControlTests.engine(store, playbook: Self.playbook)
        let t0 = instant("2026-11-02 10:00", "Europe/Lisbon")
        var patches = CampaignControlTests.leads(3)
        patches[1].emailConsent = false
        _ = try await engine.upsert(patches, now: t0)
        _ = try await engine.runDue(now: t0)
        let stats = try #require(try await engine.stats(CounterFilter()).first)
        let first = try #require(stats.steps.first { $0.step == "welcome-1" })
        #expect(first.queued == 2 && first.skipped == 1)
        // Two leads were held by the daily cap at the second email; the one without consent skipped it.
        let second = try #require(stats.steps.first { $0.step == "welcome-2-guide" })
        #expect(second.capped == 2 && second.skipped == 1)
        #expect(stats.skippedBy["the lead has not consented to email"] == 2)
        #expect(stats.skippedBy.keys.contains { $0.hasPrefix("frequency cap") })
        #expect(try await store.recountedCampaignCounters() == CampaignCounter.merged(try await store.campaignCounters(CounterFilter())))
    }

    /// An unsubscribe counts against the lead's last message on that channel, once.
    @Test(arguments: [Backend.sqliteFile, .postgres])
    func anUnsubscribeIsCreditedToTheMessageBeforeIt(_ backend: Backend) async throws {
        let store = try await backend.makeStore()
        defer { if let postgres = store as? PostgresStore { Task { await postgres.close() } } }
        let engine = try CampaignControlTests.engine(store, playbook: Self.playbook)
        let t0 = instant("2026-11-02 10:00", "Europe/Lisbon")
        _ = try await engine.upsert(CampaignControlTests.leads(2), now: t0)
        _ = try await engine.runDue(now: t0)
        let lead = try #require(try await store.lead(email: "lead0@example.com"))
        _ = try await engine.unsubscribe(leadID: lead.id, channel: .email, via: "one-click", now: t0.addingTimeInterval(3600))
        // A second click of the link finds the address suppressed and counts nothing more.
        _ = try await engine.unsubscribe(leadID: lead.id, channel: .email, via: "one-click", now: t0.addingTimeInterval(7200))
        let stats = try #require(try await engine.stats(CounterFilter()).first)
        #expect(stats.steps.first { $0.step == "welcome-1" }?.unsubscribed == 1)
        #expect(stats.steps.first { $0.step == "welcome-2-guide" }?.unsubscribed ?? 0 == 0)
        #expect(try await store.recountedCampaignCounters() == CampaignCounter.merged(try await store.campaignCounters(CounterFilter())))
    }
}
