import Campaigns
import Foundation
import NurtureDSL
import NurtureEngine
import NurtureStorage
import NurtureTesting
import Testing

/// `leads enroll` underneath: an existing list put into a campaign by segment or by name, with a
/// dry run that changes nothing, under the campaign's re-entry rule, suppressions and consent.
struct EnrollTests {
    static let playbook = Fixture.playbook {
        Campaign("spring-offer", kind: .nurture, reentry: .never) {
            Email("welcome-1")
        }
        Campaign("win-back-now", kind: .custom("win-back"), exclusive: true) {
            Email("winback-1-checkin")
        }
    }

    static func patch(_ name: String, industry: String, consent: Bool = true) -> LeadPatch {
        var patch = HandOverTests.patch(name)
        patch.industry = industry
        patch.emailConsent = consent
        return patch
    }

    @Test(arguments: [Backend.sqliteFile, .postgres])
    func aSegmentIsEnrolledOnceWithADryRunFirst(_ backend: Backend) async throws {
        let store = try await backend.makeStore()
        let engine = try CampaignControlTests.engine(store, playbook: Self.playbook)
        let t0 = HandOverTests.instant("2026-12-07T10:00")
        _ = try await engine.upsert([
            Self.patch("ana", industry: "SaaS"), Self.patch("ben", industry: "SaaS"), Self.patch("cy", industry: "SaaS", consent: false),
            Self.patch("dee", industry: "SaaS"), Self.patch("eve", industry: "SaaS"), Self.patch("fay", industry: "Retail"),
        ], now: t0)
        try await store.suppress(address: "ben@example.com", channel: .email, Suppression(.marketing, reason: "unsubscribed"), at: t0)
        // Eve is in a campaign that runs alone; Dee unticked nurture emails on her preferences page.
        let eve = try #require(try await store.lead(email: "eve@example.com"))
        _ = try await engine.enroll(campaignID: "win-back-now", .leads([.id(eve.id)]), dryRun: false, actor: "test", now: t0)
        try await store.suppress(address: "dee@example.com", channel: .email, Suppression(.kinds(["nurture"]), reason: "opted out"), at: t0)

        let saas = try LeadSegment.filter(["industry=SaaS"], playbook: Self.playbook, everyStage: true)
        let dry = try await engine.enroll(campaignID: "spring-offer", .segment(saas), dryRun: true, actor: "test", now: t0)
        #expect(dry.considered == 5)
        #expect((dry.enrolled, dry.suppressed, dry.withoutConsent, dry.inExclusive) == (1, 2, 1, 1))
        #expect(try await HandOverTests.enrollments(store, "ana").isEmpty, "a dry run changes nothing")

        let start = t0.addingTimeInterval(86_400)
        let done = try await engine.enroll(campaignID: "spring-offer", .segment(saas), startingAt: start, dryRun: false, actor: "test", now: t0)
        #expect(done == dry)
        let ana = try #require(try await HandOverTests.enrollments(store, "ana").first { $0.campaignID == "spring-offer" })
        #expect(ana.wakeAt == start, "the journey starts at --at")
        #expect(try await HandOverTests.enrollments(store, "fay").isEmpty, "outside the segment")

        // Again: re-entry never. By name, with one unknown.
        let again = try await engine.enroll(campaignID: "spring-offer", .leads([.email("ana@example.com"), .email("nobody@example.com")]),
                                            dryRun: false, actor: "test", now: t0)
        #expect((again.considered, again.enrolled, again.notAgain, again.unknown) == (1, 0, 1, 1))
        // Nothing goes before --at; at it, the email does.
        _ = try await engine.runDue(now: t0.addingTimeInterval(3_600))
        let ana0 = try #require(try await store.lead(email: "ana@example.com"))
        #expect(try await store.latestMessages(leadID: ana0.id, limit: 10).isEmpty)
        _ = try await engine.runDue(now: start.addingTimeInterval(60))
        #expect(try await store.latestMessages(leadID: ana0.id, limit: 10).map(\.stepID) == ["welcome-1"])

        await #expect(throws: UnknownCampaign.self) {
            _ = try await engine.enroll(campaignID: "spring-ofer", .segment(saas), dryRun: true, actor: "test", now: t0)
        }
        #expect(throws: LeadSegment.Problem.self) { try LeadSegment.filter(["industry"], playbook: Self.playbook) }
        #expect(throws: LeadSegment.Problem.self) { try LeadSegment.filter(["colour=red"], playbook: Self.playbook) }
    }
}

/// What the review of the privacy and scope work found, kept found.
struct ForgottenAddressTests {
    @Test func aLateProviderReportAboutSomeoneForgottenDoesNotWriteTheirAddressAgain() async throws {
        let store = try await Backend.sqliteFile.makeStore()
        let engine = try CampaignControlTests.engine(store, playbook: EnrollTests.playbook)
        let t0 = HandOverTests.instant("2026-12-07T10:00")
        _ = try await engine.upsert([HandOverTests.patch("ana")], now: t0)
        _ = try await engine.forget(.email("ana@example.com"), actor: "test", now: t0)
        let complaint = IncomingEvent(subject: .email("ana@example.com"), type: "email.complained", at: t0)
        #expect(try await engine.reportWithoutLead(complaint, now: t0))
        #expect(try await store.suppressions(address: "ana@example.com").isEmpty, "only the keyed hash holds it")
        // Another's report still suppresses in the clear.
        #expect(try await engine.reportWithoutLead(IncomingEvent(subject: .email("ben@example.com"), type: "email.complained", at: t0), now: t0))
        #expect(try await store.suppressions(address: "ben@example.com")[.email]?.reason == "complaint")
    }

    @Test func anOptOutOfOneKindOnACleanAddressIsRecorded() async throws {
        let store = try await Backend.sqliteFile.makeStore()
        let engine = try CampaignControlTests.engine(store, playbook: EnrollTests.playbook)
        let t0 = HandOverTests.instant("2026-12-07T10:00")
        _ = try await engine.upsert([HandOverTests.patch("ana")], now: t0)
        _ = try await engine.track(IncomingEvent(subject: .email("ana@example.com"), type: "unsubscribed", at: t0, properties: ["kinds": "nurture"]), now: t0)
        #expect(try await store.suppressions(address: "ana@example.com")[.email] == Suppression(.kinds(["nurture"]), reason: "opted out"))
    }
}
