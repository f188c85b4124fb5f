import Campaigns
import Foundation
import NurtureDeployment
import NurtureDSL
import NurtureEngine
import NurtureStorage
import NurtureTesting
import Synchronization
import Testing

/// A receiver that takes most messages, turns some away for good and asks for some again, by a
/// seeded draw per attempt.
final class ScriptedChannel: DeliveryChannel {
    let concurrency = 8
    let draws: Mutex<SeededRandom>

    init(seed: UInt64) { draws = Mutex(SeededRandom(seed: seed)) }

    func deliver(_ message: OutboxMessage) async -> DeliveryResult {
        switch draws.withLock({ $0.next() % 20 }) {
        case 0: .permanent("HTTP 410")
        case 1, 2: .transient("HTTP 503", after: nil)
        default: .delivered
        }
    }
}

/// The results' counters are kept by the database as facts are written; after a month of
/// randomized traffic (imports, due steps, sends that fail and retry, provider reports, opens,
/// clicks, goals, unsubscribes) they must equal a recount from the rows, on every backend.
struct CountingTests {
    @Test(arguments: [Backend.sqliteFile, .postgres])
    func countersEqualARecountAfterAMonthOfRandomizedTraffic(_ backend: Backend) async throws {
        let store = try await backend.makeStore()
        let engine = Deployment(store: store, playbook: Campaigns.playbook, templates: try Fixture.templates(), configuration: NurtureConfiguration(),
                                links: Fixture.links).engine
        var random = SeededRandom(seed: 2026)
        var now = instant("2026-11-02 08:00", "UTC")
        let titles = ["Head of Growth", "Marketing Manager", "Analyst", "VP Sales", "Founder"]
        var leads: [String] = []
        var eventNumber = 0
        for day in 0..<30 {
            // A few new leads a day.
            let fresh = (0..<Int(random.next() % 6)).map { _ in "lead\(leads.count + Int(random.next() % 1_000_000))@example.com" }
            leads += fresh
            _ = try await engine.upsert(fresh.map { email in
                var patch = LeadPatch(email: email)
                patch.jobTitle = titles[Int(random.next() % UInt64(titles.count))]
                patch.timeZone = "Europe/Lisbon"
                return patch
            }, now: now)
            for _ in 0..<3 {
                _ = try await engine.runDue(now: now)
                let instant = now
                let dispatcher = Dispatcher(engine: engine, channels: [.email: ScriptedChannel(seed: UInt64(day)), .sms: ScriptedChannel(seed: UInt64(day) + 99),
                                                                       .sales: PreviewChannel()],
                                            retry: RetryPolicy(), owner: "test", now: { instant })
                _ = try await dispatcher.dispatchDue()
                // What leads and providers do with what was sent.
                var events: [IncomingEvent] = []
                for message in try await store.messages(status: .sent, limit: 40) where message.channel == .email {
                    let draw = random.next() % 10
                    eventNumber += 1
                    let subject = IncomingEvent.Subject.id(message.leadID)
                    let about: [String: Value] = ["message": .string(message.id), "campaign": .string(message.campaignID), "step": .string(message.stepID)]
                    switch draw {
                    case 0, 1, 2: events.append(IncomingEvent(subject: subject, type: "email.opened", at: now, properties: about, clientID: "open:\(message.id)"))
                    case 3: events.append(IncomingEvent(subject: subject, type: "email.clicked", at: now, properties: about.merging(["url": "https://a.example"]) { $1 },
                                                        clientID: "click:\(message.id):a"))
                    case 4: events.append(IncomingEvent(subject: subject, type: "email.delivered", at: now, properties: about, clientID: "dlv:\(message.id)"))
                    case 5: events.append(IncomingEvent(subject: subject, type: "email.bounced", at: now, properties: about.merging(["bounce": .string(random.next() % 2 == 0 ? "hard" : "soft")]) { $1 },
                                                        clientID: "bnc:\(message.id)"))
                    case 6 where random.next() % 8 == 0:
                        events.append(IncomingEvent(subject: subject, type: "email.complained", at: now, properties: about, clientID: "cmp:\(message.id)"))
                    case 7 where random.next() % 4 == 0:
                        events.append(IncomingEvent(subject: subject, type: "demo.booked", at: now, clientID: "demo-\(eventNumber)"))
                    default: break
                    }
                }
                _ = try await engine.track(events, now: now)
                now = now.addingTimeInterval(8 * 3_600)
            }
        }
        let counters = try await store.campaignCounters(CounterFilter())
        let recounted = try await store.recountedCampaignCounters()
        // The rows that differ, not two lists of hundreds.
        let kept = Set(counters), counted = Set(recounted)
        #expect(kept.subtracting(counted).sorted { "\($0)" < "\($1)" } == [], "kept but not recounted")
        #expect(counted.subtracting(kept).sorted { "\($0)" < "\($1)" } == [], "recounted but not kept")
        let metrics = Set(counters.map(\.metric))
        for metric in ["entered", "exited", "queued", "sent", "dead", "opened", "clicked", "delivered", "bounced"] {
            #expect(metrics.contains(metric), "the run produced no \(metric): it tests less than it claims")
        }
        print("counting on \(backend): \(leads.count) leads, \(counters.count) counter rows, \(counters.map(\.count).reduce(0, +)) facts")
    }
}
