import Campaigns
import Foundation
import NurtureDeployment
import NurtureDSL
import NurtureEngine
import NurtureStorage
import NurtureTesting
import Synchronization
import Testing

/// Editing a running campaign: what `nurture plan` says about the leads in flight, and that
/// deploying then running the worker does exactly that, on both backends.
struct RedeployTests {
    /// Version 1: a journey of waits and emails that sends on weekdays, and a campaign to retire.
    static let v1 = Fixture.playbook {
        Campaign("journey", kind: .nurture, window: .businessHours) {
            Entry(on: "lead.created")
            Email("welcome-1")
            Wait(.days(2))                      // wait-1
            Email("welcome-2-guide")
            Wait(.days(2))                      // wait-2
            Email("nurture-1-playbook")
            Wait(.days(2))                      // wait-3
            Email("nurture-2-case-study")
        }
        Campaign("retired", kind: .engagement) {
            Entry(on: "lead.created")
            Email("advocate-1-thanks")
            Wait(.days(30))
            Email("advocate-2-story")
        }
    }

    /// Version 2: a longer first wait, a rewritten second email under a new template, the second
    /// wait removed, a new email inserted, and the retired campaign gone.
    static let v2 = Fixture.playbook {
        Campaign("journey", kind: .nurture, window: .businessHours) {
            Entry(on: "lead.created")
            Email("welcome-1")
            Wait(.days(4))
            Email("welcome-2-resend")
            Email("nurture-1-playbook")
            Email("nurture-4-tutorial")
            Wait(.days(2))
            Email("nurture-2-case-study")
        }
    }

    static func instant(_ text: String) -> Date { ISO8601DateFormatter().date(from: text + ":00Z")! }

    static func live(_ store: any LeadStore, _ playbook: Playbook) throws -> Deployment {
        var configuration = NurtureConfiguration()
        configuration.policy = .unlimited
        return Deployment(store: store, playbook: playbook, templates: try Fixture.templates(), configuration: configuration, links: Fixture.links)
    }

    static func run(_ live: Deployment, from start: Date, to end: Date) async throws {
        var now = start
        while now <= end {
            _ = try await live.engine.runDue(now: now)
            _ = try await CampaignControlTests.sendAll(live.engine, now: now)
            now = now.addingTimeInterval(3_600)
        }
    }

    @Test(arguments: [Backend.sqliteFile, .postgres])
    func thePlanSaysWhereEachLeadGoesAndTheWorkerDoesExactlyThat(_ backend: Backend) async throws {
        let store = try await backend.makeStore()
        let old = try Self.live(store, Self.v1)
        try await old.takeOver(as: "test", now: Self.instant("2026-11-23T00:00"))
        // Leads entered on different days sit, on Saturday at noon, on every step a lead can
        // sit on: waiting in each wait, held by the weekday window on a send.
        let entries = [("a", "2026-11-27T10:00"), ("b", "2026-11-26T10:00"), ("c", "2026-11-24T10:00"),
                       ("d", "2026-11-25T10:00"), ("f", "2026-11-23T10:00")]
        let saturday = Self.instant("2026-11-28T12:00")
        var now = Self.instant("2026-11-23T00:00")
        while now <= saturday {
            for (name, at) in entries where Self.instant(at) == now {
                var patch = LeadPatch(email: "\(name)@example.com")
                patch.firstName = name.uppercased()
                patch.timeZone = "Europe/Lisbon"
                _ = try await old.engine.upsert([patch], now: now)
            }
            try await Self.run(old, from: now, to: now)
            now = now.addingTimeInterval(3_600)
        }

        // The plan, from the deployed version 1 to version 2.
        let new = try Self.live(store, Self.v2)
        let plan = try await new.plan()
        let text = plan.text
        #expect(text.contains("~ wait-1 "), "\(text)")
        #expect(text.contains("wait 2d → 4d"), "\(text)")
        #expect(text.contains("1 lead waiting: stay, keeping the wake time they have"), "\(text)")
        #expect(text.contains("~ welcome-2-guide "), "\(text)")
        #expect(text.contains("id welcome-2-guide → welcome-2-resend; template welcome-2-guide → welcome-2-resend"), "\(text)")
        #expect(text.contains("1 lead held by a window or cap: stay (renamed)"), "\(text)")
        #expect(text.contains("- wait-2 "), "\(text)")
        #expect(text.contains("1 lead waiting: move to nurture-1-playbook"), "\(text)")
        #expect(text.contains("~ wait-3 "), "\(text)")
        #expect(text.contains("id wait-3 → wait-2"), "\(text)")
        #expect(text.contains("+ nurture-4-tutorial"), "\(text)")
        #expect(text.contains("retired: removed; 5 leads in it exit (campaign retired removed from the playbook)"), "\(text)")
        #expect(text.contains("6 leads moved or dropped"), "\(text)")
        #expect(plan.leadsMoved == 6)

        // A worker of version 2 refuses to move them by itself; `nurture deploy` does.
        await #expect(throws: Deployment.PlaybookRefused.self) { try await new.takeOver(as: "worker", now: saturday) }
        try await new.takeOver(as: "nurture deploy", movingLeads: true, now: saturday)
        #expect(try await new.plan().isNoChange)
        try await Self.run(new, from: saturday, to: Self.instant("2026-12-12T12:00"))

        func sent(_ name: String, campaign: String = "journey") async throws -> [String] {
            let lead = try #require(try await store.lead(email: "\(name)@example.com"))
            // Sorted: messages one advance queues at one instant have no order among them.
            return try await store.latestMessages(leadID: lead.id, limit: 50).filter { $0.campaignID == campaign }.map(\.stepID).sorted()
        }
        // Nobody restarts or gets a message twice; each goes on from where it was.
        let a = try await sent("a")
        #expect(a == ["welcome-1", "welcome-2-resend", "nurture-1-playbook", "nurture-4-tutorial", "nurture-2-case-study"].sorted())
        let b = try await sent("b")
        #expect(b == ["welcome-1", "welcome-2-resend", "nurture-1-playbook", "nurture-4-tutorial", "nurture-2-case-study"].sorted())
        let c = try await sent("c")
        #expect(c == ["welcome-1", "welcome-2-guide", "nurture-1-playbook", "nurture-4-tutorial", "nurture-2-case-study"].sorted())
        let d = try await sent("d")
        #expect(d == ["welcome-1", "welcome-2-guide", "nurture-1-playbook", "nurture-4-tutorial", "nurture-2-case-study"].sorted())
        // Past the inserted email already: it is not sent behind them.
        let f = try await sent("f")
        #expect(f == ["welcome-1", "welcome-2-guide", "nurture-1-playbook", "nurture-2-case-study"].sorted())
        for name in ["a", "b", "c", "d", "f"] {
            #expect(try await sent(name, campaign: "retired") == ["advocate-1-thanks"])
            let lead = try #require(try await store.lead(email: "\(name)@example.com"))
            let retired = try await store.snapshots([.id(lead.id)], window: HistoryWindow(eventsSince: .distantPast, sendsSince: .distantPast))[.id(lead.id)]?
                .enrollments.first { $0.campaignID == "retired" }
            #expect(retired?.status == .exited)
            #expect(retired?.endReason == "campaign retired removed from the playbook")
        }
        await Deployment.close(store)
    }

    @Test func twoBuildsStartingTogetherSeeEachOtherAndTheRefusedOneLeavesNoTrace() async throws {
        let store = try await Backend.sqliteMemory.makeStore()
        let first = try Self.live(store, Self.v1), second = try Self.live(store, Self.v2)
        // The first announces itself before it looks, so the second, on an empty database, is refused.
        try await first.takeOver(as: "worker", announcing: true)
        await #expect(throws: Deployment.PlaybookRefused.self) { try await second.takeOver(as: "worker", announcing: true) }
        #expect(try await store.processes().map(\.id) == [first.engine.owner])
        #expect(try await store.currentDeployment()?.fingerprint == (try await first.plan()).fingerprint)
    }

    @Test func aRunningProcessThatFindsAnotherBuildDeployedStops() async throws {
        let store = try await Backend.sqliteMemory.makeStore()
        let running = try Self.live(store, Self.v1)
        try await running.takeOver(as: "worker", announcing: true)
        let superseded = Mutex(false)
        try await running.announced(as: "worker", superseded: { superseded.withLock { $0 = true } }) {
            // Another build is deployed behind its back (as after its heartbeats failed for 45 s).
            let current = try #require(try await store.currentDeployment())
            let other = PlaybookDeployment(shape: (try await Self.live(store, Self.v2).plan()).built, at: Date(), by: "another build")
            #expect(try await store.recordDeployment(other, replacing: current.fingerprint, moves: []))
            // Its next heartbeat sees it and says so, once.
            let deadline = ContinuousClock.now + .seconds(PlaybookProcess.heartbeat * 2 + 5)
            while !superseded.withLock({ $0 }), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(200)) }
        }
        #expect(superseded.withLock { $0 })
        #expect(try await store.processes().isEmpty)
    }
}

