import Campaigns
import Foundation
import NurtureDSL
import NurtureEngine
import NurtureSQLite
import NurtureTesting
import Testing

/// Scoring in the durable engine: the shipped model, a SQLite file, a chosen clock.
@Suite struct ScoringEngineTests {
    static let day: TimeInterval = 86_400
    let start = instant("2026-11-23 09:00", "UTC")

    /// 36 fixed points under the shipped model: senior (+15) marketing (+10) title, 180 people
    /// (+10), website (+1); retail is no target industry.
    func prospect(_ email: String, country: String = "GB", size: Int = 180, edit: (inout LeadPatch) -> Void = { _ in }) -> LeadPatch {
        var patch = LeadPatch(email: email)
        patch.firstName = "Ana"
        patch.lastName = "Costa"
        patch.jobTitle = "Head of Marketing"
        patch.company = "Fernhill"
        patch.industry = "Retail"
        patch.companySize = size
        patch.country = country
        patch.source = "website"
        edit(&patch)
        return patch
    }

    func track(_ fixture: Fixture, _ email: String, _ type: String, at: Date, _ properties: [String: Value] = [:]) async throws {
        let outcome = try await fixture.engine.track(IncomingEvent(subject: .email(email), type: type, at: at, properties: properties), now: at)
        #expect(outcome != .unknownLead && outcome != .duplicate)
    }

    func alerts(_ fixture: Fixture) async throws -> [OutboxMessage] {
        try await fixture.store.messages(status: nil, limit: 1000).filter { $0.channel == .sales }.sorted { $0.createdAt < $1.createdAt }
    }

    @Test func aThresholdAlertsOncePerCrossingAndReArmsOnlyBelowItsMargin() async throws {
        let fixture = try Fixture()
        _ = try await fixture.engine.upsert([prospect("ana@example.com")], now: start)
        #expect(try await fixture.store.lead(email: "ana@example.com")?.score == 36)

        // A demo request lifts her to 76: across 60, once
        try await track(fixture, "ana@example.com", "demo.requested", at: start.addingTimeInterval(3600))
        var ana = try #require(try await fixture.store.lead(email: "ana@example.com"))
        #expect(abs(ana.score - 76) < 0.01)
        #expect(ana.stage == .mql)
        #expect(try await alerts(fixture).count == 1)

        // Twenty days on she is still above the re-arm line (50): more interest, no second alert
        try await track(fixture, "ana@example.com", "page.viewed", at: start.addingTimeInterval(20 * Self.day), ["path": "/pricing"])
        #expect(try await alerts(fixture).count == 1)

        // After two quiet months behaviour has faded and inactivity costs 15: she fell below 50,
        // which re-arms the line without anyone rewriting her score in between
        let later = start.addingTimeInterval(82 * Self.day)
        let faded = try fixture.engine.scoring.current(try #require(try await fixture.engine.detail(.email("ana@example.com"), now: later, timelineLimit: 0)?.detail).work.state.scoring, now: later)
        #expect(faded < 50)
        try await track(fixture, "ana@example.com", "demo.requested", at: later)
        ana = try #require(try await fixture.store.lead(email: "ana@example.com"))
        #expect(ana.score >= 60)
        let sent = try await alerts(fixture)
        #expect(sent.count == 2)
        #expect(sent.allSatisfy { $0.stepID == "threshold-60" && $0.address == ana.owner })
        #expect(sent.map(\.id).count == Set(sent.map(\.id)).count)
        // sales.notified is in the history, with the owner and the score it fired at
        let detail = try #require(try await fixture.engine.detail(.email("ana@example.com"), now: later, timelineLimit: 50)?.detail)
        #expect(detail.timeline.filter { $0.type == "sales.notified" }.count == 2)
    }

    @Test func dueWorkSeesTheDecayedScoreAndReArmsWithoutAnEvent() async throws {
        for (days, rearmed) in [(10.0, false), (82, true)] {
            let fixture = try Fixture()
            _ = try await fixture.engine.upsert([prospect("ana@example.com")], now: start)
            try await track(fixture, "ana@example.com", "demo.requested", at: start.addingTimeInterval(3600))
            // Her welcome series is due; the pass that advances it brings her score to that instant
            let later = start.addingTimeInterval(days * Self.day)
            #expect(try await fixture.engine.runDue(now: later).leads == 1)
            let detail = try #require(try await fixture.engine.detail(.email("ana@example.com"), now: later, timelineLimit: 0)?.detail)
            let expected = 36 + 40 * pow(0.5, (days * Self.day - 3600) / (30 * Self.day)) - (rearmed ? 15 : 0)
            #expect(abs(detail.work.lead.score - expected) < 1e-6, "after \(days) days")
            // Above the re-arm line the MQL threshold stays fired; below it, it re-arms at once
            #expect(detail.work.state.scoring.thresholds.fired == (rearmed ? [] : [60]))
            #expect(detail.work.lead.stage == .mql)   // stages never move back
            #expect(try await alerts(fixture).count == 1)
        }
    }

    @Test func theStoredScoreIsTheExplanationsSumAtAnyInstant() async throws {
        let fixture = try Fixture()
        _ = try await fixture.engine.upsert([prospect("ana@example.com")], now: start)
        let events: [(TimeInterval, String, [String: Value])] = [
            (1, "email.opened", [:]), (2, "email.opened", [:]), (30, "page.viewed", ["path": "/pricing/teams"]),
            (50, "resource.downloaded", [:]), (200, "email.bounced", [:]),
        ]
        for (hours, type, properties) in events {
            let at = start.addingTimeInterval(hours * 3600)
            try await track(fixture, "ana@example.com", type, at: at, properties)
            // Scored in the same transaction as the event: the stored score is the card's total
            let (detail, card) = try #require(try await fixture.engine.detail(.email("ana@example.com"), now: at))
            #expect(abs(detail.work.lead.score - card!.total) < 1e-9)
            #expect(abs(card!.contributions.map(\.value).reduce(0, +) - card!.total) < 1e-9)
        }
        // Later, the stored parts decay to exactly what a full recomputation from history gives:
        // at 0, 1 and 3 half-lives, and past the inactivity line
        let scored = try #require(try await fixture.engine.detail(.email("ana@example.com"), now: start, timelineLimit: 0)?.detail).work.state.scoring
        let last = start.addingTimeInterval(200 * 3600)
        for halfLives in [0.0, 1, 3] {
            let at = last.addingTimeInterval(halfLives * 30 * Self.day)
            let (detail, card) = try #require(try await fixture.engine.detail(.email("ana@example.com"), now: at))
            let fromParts = try fixture.engine.scoring.current(scored, now: at)
            #expect(abs(fromParts - card!.total) < 1e-9, "at \(halfLives) half-lives")
            #expect(detail.work.state.scoring == scored)   // reading never rewrites
        }
        // Behaviour alone halves each half-life; the fixed 36 does not fade
        let (_, oneHalfLife) = try #require(try await fixture.engine.detail(.email("ana@example.com"), now: last.addingTimeInterval(30 * Self.day)))
        let behaviourNow = scored.gains + scored.losses
        #expect(abs(oneHalfLife!.total - (36 + behaviourNow / 2)) < 1e-9)
    }

    @Test func ownersComeFromTerritoriesThenInTurn() async throws {
        let fixture = try Fixture()
        let patches = [
            prospect("one@example.com"), prospect("two@example.com"), prospect("three@example.com"), prospect("four@example.com"),
            prospect("lisbon@example.com", country: "PT"), prospect("big@example.com", size: 5000),
        ]
        _ = try await fixture.engine.upsert(patches, now: start)
        // Each crosses the line in its own transaction, in this order
        for (index, patch) in patches.enumerated() {
            try await track(fixture, patch.email, "demo.requested", at: start.addingTimeInterval(Double(index + 1) * 60))
        }
        var owners: [String] = []
        for patch in patches { owners.append(try #require(try await fixture.store.lead(email: patch.email)?.owner)) }
        #expect(owners == [
            "maria@larkspur.example", "tom@larkspur.example", "li@larkspur.example", "maria@larkspur.example",
            "ines@larkspur.example", "sam@larkspur.example",
        ])
        // The alert goes to the owner, who is named in it
        let alerts = try await alerts(fixture)
        #expect(alerts.map(\.address) == owners)
        #expect(alerts[1].preview.contains("owner tom@larkspur.example"))
    }

    @Test func aChangedModelIsAppliedToEveryoneByRecompute() async throws {
        let fixture = try Fixture()
        _ = try await fixture.engine.upsert([prospect("ana@example.com"), prospect("ben@example.com"), prospect("cy@example.com")], now: start)
        try await track(fixture, "ana@example.com", "page.viewed", at: start.addingTimeInterval(3600), ["path": "/pricing"])
        #expect(try await fixture.store.scoreVersions() == ["2026-11-b": 3])
        #expect(try await alerts(fixture).isEmpty)   // 51 is below 60

        // Marketing decides pricing visits are worth 30 and opens nothing
        let bolder = ScoringModel(version: "test-bolder", behaviourHalfLife: .days(30)) {
            Behaviour("Visited pricing", on: "page.viewed", where: .property("path", .hasPrefix("/pricing")), points: 30)
            Profile("Senior title", when: .attribute("job_title", .contains("Head")), points: 40)
            Threshold(60, rearmBelow: 50) { SetStage(.mql); NotifySales("Crossed the MQL line") }
        }
        var playbook = Campaigns.playbook
        playbook.scoring = bolder
        let templates = try Fixture.templates()
        let engine = Engine(store: fixture.store, processor: LeadProcessor(playbook: playbook, templates: templates, links: Fixture.links))
        let now = start.addingTimeInterval(2 * 3600)
        let summary = try await engine.recomputeScores(now: now, batchSize: 2)
        #expect(summary.leads == 3)
        #expect(summary.changed == 3)
        #expect(summary.crossed == [60: 1])
        #expect(try await fixture.store.scoreVersions() == ["test-bolder": 3])
        let ana = try #require(try await fixture.store.lead(email: "ana@example.com"))
        #expect(abs(ana.score - (40 + 30 * pow(0.5, 1.0 / (30 * 24)))) < 1e-9)
        #expect(try await fixture.store.lead(email: "ben@example.com")?.score == 40)
        // Silent by default: the crossing is marked, nobody is paged, no stage moves
        #expect(try await alerts(fixture).isEmpty)
        #expect(ana.stage == .lead)
        // …and marked means a later event does not alert for the same crossing either
        _ = try await engine.track(IncomingEvent(subject: .email("ana@example.com"), type: "page.viewed", at: now, properties: ["path": "/pricing"]), now: now)
        #expect(try await alerts(fixture).isEmpty)

        // With --act the crossings run their actions
        let other = try Fixture()
        _ = try await other.engine.upsert([prospect("ana@example.com")], now: start)
        try await track(other, "ana@example.com", "page.viewed", at: start.addingTimeInterval(3600), ["path": "/pricing"])
        let acting = Engine(store: other.store, processor: LeadProcessor(playbook: playbook, templates: templates, links: Fixture.links))
        let acted = try await acting.recomputeScores(now: now, act: true)
        #expect(acted.crossed == [60: 1])
        #expect(try await alerts(other).count == 1)
        #expect(try await other.store.lead(email: "ana@example.com")?.stage == .mql)
    }

    @Test func salesVerdictsAreEventsThatMoveStageAndScore() async throws {
        let fixture = try Fixture()
        _ = try await fixture.engine.upsert([prospect("ana@example.com"), prospect("ben@example.com")], now: start)
        let at = start.addingTimeInterval(3600)
        #expect(try await fixture.engine.mark(.email("ana@example.com"), outcome: .won, note: "signed", by: "maria", now: at) != .unknownLead)
        #expect(try await fixture.engine.mark(.email("ben@example.com"), outcome: .badFit, now: at) != .unknownLead)
        #expect(try await fixture.engine.mark(.email("nobody@example.com"), outcome: .won, now: at) == .unknownLead)
        let ana = try #require(try await fixture.store.lead(email: "ana@example.com"))
        #expect(ana.stage == .customer)
        #expect(ana.attributes["sales_outcome"] == .string("won"))
        let ben = try #require(try await fixture.store.lead(email: "ben@example.com"))
        #expect(ben.score == 36 - 60)
        let detail = try #require(try await fixture.engine.detail(.email("ana@example.com"), now: at, timelineLimit: 10)?.detail)
        #expect(detail.timeline.first?.type == "sales.outcome")
        #expect(detail.timeline.first?.properties == ["outcome": "won", "note": "signed", "by": "maria"])
        // Customers are not prospects: the ranking leaves them out unless asked
        #expect(try await fixture.engine.top(limit: 10, now: at).map(\.lead.email) == ["ben@example.com"])
        #expect(try await fixture.engine.top(limit: 10, stage: .customer, now: at).map(\.lead.email) == ["ana@example.com"])
    }
}

/// Sales alerts leave through the same durable outbox as messages, to a real loopback receiver.
@Suite(.serialized) struct SalesAlertDeliveryTests {
    let start = instant("2026-11-23 09:00", "UTC")

    func crossedLead(_ fixture: Fixture) async throws -> OutboxMessage {
        var patch = LeadPatch(email: "ana@fernhill.example")
        patch.firstName = "Ana"
        patch.lastName = "<Costa & Co>"
        patch.jobTitle = "Head of Marketing"
        patch.companySize = 180
        patch.source = "referral"
        _ = try await fixture.engine.upsert([patch], now: start)
        _ = try await fixture.engine.track(IncomingEvent(subject: .email(patch.email), type: "page.viewed", at: start, properties: ["path": "/pricing"]), now: start)
        _ = try await fixture.engine.track(IncomingEvent(subject: .email(patch.email), type: "demo.requested", at: start), now: start)
        return try #require(try await fixture.store.messages(status: nil, limit: 10).first { $0.channel == .sales })
    }

    @Test func aSlackCompatibleAlertCarriesTheLeadScoreReasonsActivityAndOwner() async throws {
        let sink = try await WebhookSink.start()
        defer { Task { await sink.stop() } }
        let fixture = try Fixture()
        let alert = try await crossedLead(fixture)
        let channel = WebhookChannel(url: sink.url, secret: nil, timeout: .seconds(5), concurrency: 2, shape: .slackText,
                                     transport: AsyncHTTPClientTransport(maximumConnectionsPerHost: 2))
        let pass = try await fixture.dispatcher([.sales: channel], now: start).dispatchDue()
        #expect(pass.sent == 1)
        let received = try #require(sink.accepted.first)
        // Slack's incoming-webhook shape: one "text" field
        let body = try #require(try JSONSerialization.jsonObject(with: received.body) as? [String: Any])
        #expect(Array(body.keys) == ["text"])
        let text = try #require(body["text"] as? String)
        let lines = text.components(separatedBy: "\n")
        #expect(lines[0] == "*Ana &lt;Costa &amp; Co&gt;*, Head of Marketing (ana@fernhill.example)")
        #expect(lines[1].hasPrefix("Score 99 — crossed 60: Crossed the MQL line"))
        #expect(lines[2] == "Why: Requested a demo +40 · Visited pricing +15 · Senior title +15 · Marketing or revenue role +10")
        #expect(lines[3].hasPrefix("Recent: ") && lines[3].contains("demo.requested") && lines[3].contains("page.viewed /pricing"))
        #expect(lines[4] == "Stage mql · owner maria@larkspur.example")
        #expect(received.headers["idempotency-key"] == alert.id)
        #expect(try await fixture.store.message(id: alert.id)?.status == .sent)
    }

    @Test func theGenericWebhookAlertIsSignedJSON() async throws {
        let sink = try await WebhookSink.start()
        defer { Task { await sink.stop() } }
        let fixture = try Fixture()
        let alert = try await crossedLead(fixture)
        let secret = Data("whsec-alerts".utf8)
        let channel = WebhookChannel(url: sink.url, secret: secret, timeout: .seconds(5), concurrency: 2,
                                     transport: AsyncHTTPClientTransport(maximumConnectionsPerHost: 2))
        _ = try await fixture.dispatcher([.sales: channel], now: start).dispatchDue()
        let received = try #require(sink.accepted.first)
        #expect(WebhookSignature.verify(id: alert.id, timestamp: received.headers["webhook-timestamp"] ?? "",
                                        signatures: received.headers["webhook-signature"] ?? "", body: received.body, secret: secret, now: Date()))
        let body = try #require(try JSONSerialization.jsonObject(with: received.body) as? [String: Any])
        #expect(body["type"] as? String == "sales.alert")
        #expect(body["score"] as? Double == 99)
        #expect(body["threshold"] as? Double == 60)
        #expect(body["owner"] as? String == "maria@larkspur.example")
        let reasons = try #require(body["reasons"] as? [[String: Any]])
        #expect(reasons.compactMap { $0["points"] as? Double }.reduce(0, +) == 99)
        #expect((body["lead"] as? [String: Any])?["email"] as? String == "ana@fernhill.example")
    }
}

/// `leads top` reads two indexes and stops early; it must rank exactly as scoring everyone would.
@Suite struct RankingTests {
    @Test func theEarlyStoppingRankingEqualsScoringEveryone() async throws {
        let fixture = try Fixture()
        let start = instant("2026-06-01 09:00", "UTC")
        var generator = SeededRandom(seed: 42)
        let titles = ["Head of Growth", "Marketing Manager", "Analyst", "VP Sales", "Founder", "Intern"]
        let industries = ["SaaS", "Retail", "Fintech", "Education"]
        let sources = ["referral", "website", "webinar", "trade show", "advertising", "social media"]
        var patches: [LeadPatch] = []
        for index in 0..<400 {
            var patch = LeadPatch(email: "lead\(index)@example.com")
            patch.jobTitle = titles[Int(generator.next() % UInt64(titles.count))]
            patch.industry = industries[Int(generator.next() % UInt64(industries.count))]
            patch.companySize = [5, 60, 300, 1500, 9000][Int(generator.next() % 5)]
            patch.source = sources[Int(generator.next() % UInt64(sources.count))]
            patch.country = ["GB", "DE", "PT", "US"][Int(generator.next() % 4)]
            patches.append(patch)
        }
        _ = try await fixture.engine.upsert(patches, now: start)
        // Behaviour spread over five months, so leads differ in both fixed and fading points
        let types: [(String, [String: Value])] = [
            ("email.opened", [:]), ("page.viewed", ["path": "/pricing"]), ("resource.downloaded", [:]),
            ("demo.requested", [:]), ("email.bounced", [:]), ("webinar.attended", [:]), ("page.viewed", ["path": "/customers/fernhill"]),
        ]
        var events: [IncomingEvent] = []
        for _ in 0..<1500 {
            let (type, properties) = types[Int(generator.next() % UInt64(types.count))]
            let at = start.addingTimeInterval(Double(generator.next() % (150 * 86_400)))
            events.append(IncomingEvent(subject: .email("lead\(generator.next() % 400)@example.com"), type: type, at: at, properties: properties))
        }
        // Batches of 100 in one transaction each, every event scored at its own time
        let ordered = events.sorted { $0.at < $1.at }
        for chunk in stride(from: 0, to: ordered.count, by: 100) {
            let batch = Array(ordered[chunk..<min(chunk + 100, ordered.count)])
            let outcomes = try await fixture.engine.track(batch, now: batch.last!.at)
            #expect(outcomes.allSatisfy { if case .stored = $0 { true } else { false } })
        }
        let leads = try await fixture.store.leadIDs(after: nil, limit: 1000)
        #expect(leads.count == 400)

        let scoring = try fixture.engine.scoring
        // Every event is inside the 180 days of history a unit of work loads (see README, Scoring).
        for days in [150.0, 160, 179] {
            let now = start.addingTimeInterval(days * 86_400)
            // Everyone, scored from their history
            var everyone: [(id: String, score: Double, stage: Stage, industry: String?)] = []
            for id in leads {
                let (detail, card) = try #require(try await fixture.engine.detail(.id(id), now: now, timelineLimit: 0))
                everyone.append((id, card!.total, detail.work.lead.stage, detail.work.lead.industry))
            }
            for (limit, stage, industry) in [(1, nil, nil), (10, nil, nil), (50, nil, nil), (10, Stage.lead, nil), (20, nil, "SaaS"), (400, nil, nil)] as [(Int, Stage?, String?)] {
                let expected = everyone
                    .filter { stage == nil ? $0.stage < .customer : $0.stage == stage }
                    .filter { industry == nil || $0.industry == industry }
                    .sorted { $0.score > $1.score }.prefix(limit).map(\.score)
                let ranked = try await fixture.engine.top(limit: limit, stage: stage,
                                                          segments: industry.map { [RankingFilter.Segment(name: "industry", value: $0.lowercased())] } ?? [], now: now)
                #expect(ranked.count == expected.count)
                for (got, want) in zip(ranked.map(\.score), expected) { #expect(abs(got - want) < 1e-6, "day \(days) limit \(limit)") }
                // The score shown is the explanation's total
                for entry in ranked.prefix(3) {
                    #expect(abs(scoring.score(entry.lead, events: entry.events, now: now).total - entry.score) < 1e-6)
                }
            }
        }
    }
}
