import Campaigns
import Foundation
import NurtureDeployment
import NurtureDSL
import NurtureEngine
import NurtureStorage
import NurtureTesting
import Testing

/// `stats --by persona`: each campaign's results by the leads' persona, on both backends.
struct PersonaResultsTests {
    @Test(arguments: [Backend.sqliteFile, .postgres])
    func resultsSplitByTheLeadsPersonaCountedFromTheMessagesThemselves(_ backend: Backend) async throws {
        let store = try await backend.makeStore()
        let engine = try CampaignControlTests.engine(store)
        let t0 = HandOverTests.instant("2026-11-23T10:00")   // a Monday, inside business hours
        let titles = ["ava": "VP Sales", "bo": "Founder", "cal": "Clinic manager", "dee": "Head of Sales"]
        _ = try await engine.upsert(titles.sorted { $0.key < $1.key }.map { name, title in
            var patch = HandOverTests.patch(name)
            patch.jobTitle = title
            return patch
        }, now: t0)
        _ = try await engine.runDue(now: t0)
        _ = try await CampaignControlTests.sendAll(engine, now: t0)
        // Bo opens and clicks the first welcome; Dee opens it and books a demo (a welcome goal).
        for (name, type) in [("bo", "email.opened"), ("bo", "email.clicked"), ("dee", "email.opened"), ("dee", "demo.booked")] {
            _ = try await engine.track(IncomingEvent(subject: .email("\(name)@example.com"), type: type, at: t0.addingTimeInterval(3_600),
                                                     properties: type.hasPrefix("email.") ? ["campaign": "welcome", "step": "welcome-1"] : [:]),
                                       now: t0.addingTimeInterval(3_600))
        }
        let results = try await store.personaResults(CounterFilter(campaignID: "welcome"))
        #expect(results == [
            PersonaResult(campaignID: "welcome", persona: "", sent: 1),
            PersonaResult(campaignID: "welcome", persona: "founder", sent: 1, opened: 1, clicked: 1),
            PersonaResult(campaignID: "welcome", persona: "sales-leader", sent: 2, opened: 1, converted: 1),
        ])
        // Days outside the period count nothing.
        #expect(try await store.personaResults(CounterFilter(campaignID: "welcome", since: "2026-11-24")).isEmpty)
        #expect(try await store.personaResults(CounterFilter(campaignID: "welcome", until: "2026-11-23")).count == 3)
        await Deployment.close(store)
    }
}
