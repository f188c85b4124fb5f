import Campaigns
import Foundation
import NurtureDeployment
import NurtureDSL
import NurtureEngine
import NurtureSQLite
import NurtureTesting
import Testing

/// The real playbook, templates and a SQLite file: what `nurture` runs, driven on a chosen clock.
struct Fixture {
    let store: SQLiteStore
    let engine: Engine
    let directory: URL
    static let links = LinkSigner(secret: Data("test-secret".utf8), publicURL: "https://nurture.example")

    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    /// A playbook of these campaigns with the shipped brand and attributes (so the shipped
    /// templates render as they do for real).
    static func playbook(@CampaignListBuilder _ campaigns: () -> [Campaign]) -> Playbook {
        var playbook = Playbook(brand: Campaigns.playbook.brand, attributes: {}, campaigns: campaigns)
        playbook.attributes = Campaigns.playbook.attributes
        return playbook
    }

    static func templates() throws -> TemplateLibrary {
        try TemplateLibrary.load(from: root.appendingPathComponent("Campaigns/Templates").path)
    }

    init(policy: SendingPolicy = .standard) throws {
        let templates = try Self.templates()
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("nurture-engine-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        store = try SQLiteStore(path: directory.appendingPathComponent("nurture.sqlite").path)
        var configuration = NurtureConfiguration()
        configuration.policy = policy
        engine = Deployment(store: store, playbook: Campaigns.playbook, templates: templates, configuration: configuration, links: Self.links).engine
    }

    func write(_ name: String, _ text: String) throws -> String {
        let path = directory.appendingPathComponent(name).path
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    func lead(_ email: String, zone: String = "Europe/Lisbon", smsConsent: Bool = false) -> LeadPatch {
        var patch = LeadPatch(email: email)
        patch.firstName = "Ana"
        patch.timeZone = zone
        patch.smsConsent = smsConsent
        if smsConsent { patch.phone = "+351912345678" }
        return patch
    }

    func dispatcher(_ channels: [OutgoingMessage.Channel: any DeliveryChannel], now: Date, retry: RetryPolicy = RetryPolicy()) -> Dispatcher {
        Dispatcher(engine: engine, channels: channels, retry: retry, owner: "test", now: { now })
    }
}

struct ImportTests {
    @Test func aHostileCSVImportsTheGoodRowsAndExplainsTheRest() async throws {
        let fixture = try Fixture()
        // BOM, CRLF, a quoted newline, bad emails and phones, an unknown zone, a duplicate row,
        // mixed-case emails, a blank line and a cell that looks like a formula.
        let csv = "\u{FEFF}Email,First Name,phone,timezone,company,nps\r\n"
            + "ana@example.com,Ana,+351 912 345 678,Europe/Lisbon,\"Fernhill, Clinics\",9\r\n"
            + "not-an-email,Bad,,,,\r\n"
            + "BEN@Example.com,Ben,020 7946 0958,Europe/London,\"Harbour\r\nline\",\r\n"
            + "\r\n"
            + "chloe@example.com,Chloé,+33 1 23,Europe/Paris,,\r\n"
            + "dan@example.com,Dan,,Mars/Olympus,,\r\n"
            + "ana@EXAMPLE.com,Ana,+351 912 345 678,Europe/Lisbon,\"Fernhill, Clinics\",9\r\n"
            + "eve@example.com,=HYPERLINK(\"http://evil\"),,UTC,,\r\n"
        let path = try fixture.write("leads.csv", csv)
        let rejectsPath = fixture.directory.appendingPathComponent("leads.rejects.csv").path
        let report = try await LeadImporter(engine: fixture.engine).run(path: path, source: "referral", defaultCountry: "GB",
                                                                        rejectsPath: rejectsPath, now: t0)
        #expect(report.imported == 5)
        #expect(report.unchanged == 1)   // the duplicate of ana, in other case
        #expect(report.rejected.map(\.line) == [3])
        #expect(report.rejected.map(\.reason) == ["email: 'not-an-email' is not an email address"])
        // A bad phone or zone costs that field, not the lead: line, column and why.
        #expect(report.warned == 2)
        #expect(report.warnings.map { "\($0.line):\($0.column): \($0.reason)" } == [
            "7:3: phone: '+33 1 23' is not a valid international number (E.164 has 8 to 15 digits); imported without it",
            "8:4: timezone: 'Mars/Olympus' is not an IANA time zone (such as Europe/Lisbon); imported without it",
        ])
        let chloe = try #require(try await fixture.store.lead(email: "chloe@example.com"))
        #expect(chloe.firstName == "Chloé" && chloe.phone == nil && chloe.timeZone == "Europe/Paris")
        let ben = try #require(try await fixture.store.lead(email: "ben@example.com"))
        #expect(ben.phone == "+442079460958")
        #expect(ben.company == "Harbour\r\nline")
        #expect(ben.source == "referral")
        let eve = try #require(try await fixture.store.lead(email: "eve@example.com"))
        #expect(eve.firstName == "=HYPERLINK(\"http://evil\")")   // stored as data, never evaluated
        // The rejects file keeps each rejected row with its line and reason, formula-safe
        let rejects = try String(contentsOfFile: rejectsPath, encoding: .utf8)
        #expect(rejects.hasPrefix("line,reason,Email,First Name,phone,timezone,company,nps\r\n3,email: 'not-an-email' is not an email address,not-an-email,Bad,,,,\r\n"))
        // Re-running the same import changes nothing
        let again = try await LeadImporter(engine: fixture.engine).run(path: path, source: "referral", defaultCountry: "GB", rejectsPath: nil, now: t0)
        #expect((again.imported, again.updated, again.unchanged, again.rejectedCount) == (0, 0, 6, 1))
        // Each new lead recorded lead.created and entered the welcome series
        let counts = try await fixture.store.counts()
        #expect(counts.leads == 5)
        #expect(counts.activeEnrollments == 5)
    }

    /// Batches overlap (one commits while the next is worked out), so a person's rows in
    /// consecutive batches must still apply in file order, however long the earlier batch's
    /// commit takes: the last row wins and the person is made once.
    @Test func rowsOfOnePersonInConsecutiveBatchesApplyInFileOrder() async throws {
        let fixture = try Fixture()
        let store = InterleavingStore(fixture.store)
        store.delayCommits(holding: { $0.lead.company == "Round 1" }, by: .milliseconds(300))
        var importer = LeadImporter(engine: Engine(store: store, processor: fixture.engine.processor))
        importer.batchSize = 2
        let csv = "email,company\na@example.com,A\nb@example.com,B\nana@example.com,Round 1\nc@example.com,C\nana@example.com,Round 2\nd@example.com,D\n"
        let report = try await importer.run(path: try fixture.write("rounds.csv", csv), source: nil, defaultCountry: nil, rejectsPath: nil, now: t0)
        #expect((report.imported, report.updated, report.unchanged) == (5, 1, 0))
        #expect(try await fixture.store.lead(email: "ana@example.com")?.company == "Round 2")
        #expect(try await fixture.store.counts().leads == 5)
    }

    @Test func anEmptyFileOrAHeaderWithoutEmailIsAClearError() async throws {
        let fixture = try Fixture()
        await #expect(throws: LeadRowParser.HeaderProblem.self) {
            try await LeadImporter(engine: fixture.engine).run(path: try fixture.write("empty.csv", ""), source: nil, defaultCountry: nil, rejectsPath: nil, now: t0)
        }
        await #expect(throws: LeadRowParser.HeaderProblem.self) {
            try await LeadImporter(engine: fixture.engine).run(path: try fixture.write("noemail.csv", "name\nAna\n"), source: nil, defaultCountry: nil, rejectsPath: nil, now: t0)
        }
    }
}

struct SchedulerTests {
    @Test func theWelcomeSeriesAdvancesOnTheInjectedClock() async throws {
        let fixture = try Fixture()
        let monday = instant("2026-11-23 09:00")
        _ = try await fixture.engine.upsert([fixture.lead("ana@example.com")], now: monday)
        // Nothing is due a second before the lead was created; everything is at that moment
        #expect(try await fixture.engine.runDue(now: monday.addingTimeInterval(-1)).leads == 0)
        let first = try await fixture.engine.runDue(now: monday)
        #expect((first.leads, first.messages) == (1, 1))
        #expect(try await fixture.store.messages(status: .pending, limit: 10).map(\.stepID) == ["welcome-1"])
        // A second pass at the same moment finds nothing new: no step runs twice
        #expect(try await fixture.engine.runDue(now: monday).leads == 0)
        // Two days later the branch runs (not opened) and the resend goes out
        let wednesday = try await fixture.engine.runDue(now: instant("2026-11-25 09:00"))
        #expect(wednesday.messages == 1)
        #expect(try await fixture.store.messages(status: .pending, limit: 10).map(\.stepID) == ["welcome-2-resend", "welcome-1"])
    }

    @Test func anEventWakesAWaitForAtOnceAndAGoalEndsTheCampaign() async throws {
        let fixture = try Fixture(policy: .unlimited)
        let monday = instant("2026-11-23 09:00")
        _ = try await fixture.engine.upsert([fixture.lead("ana@example.com")], now: monday)
        _ = try await fixture.engine.runDue(now: monday)
        // A pricing-page visit enters the engagement series in the same transaction
        let visit = IncomingEvent(subject: .email("ana@example.com"), type: "page.viewed", at: instant("2026-11-23 10:00"), properties: ["path": "/pricing"], clientID: "v1")
        #expect(try await fixture.engine.track(visit, now: instant("2026-11-23 10:00")) != .unknownLead)
        #expect(try await fixture.store.counts().activeEnrollments == 2)
        // Booking a demo ends both sequences at once, mid-wait
        let booked = IncomingEvent(subject: .email("ana@example.com"), type: "demo.booked", at: instant("2026-11-23 11:00"))
        _ = try await fixture.engine.track(booked, now: instant("2026-11-23 11:00"))
        #expect(try await fixture.store.counts().activeEnrollments == 0)
        #expect(try await fixture.engine.runDue(now: instant("2026-12-31 09:00")).messages == 0)
    }

    @Test func anUpdateFromAnImportFiresAttributeEntriesAndGoals() async throws {
        let fixture = try Fixture(policy: .unlimited)
        let monday = instant("2026-11-23 09:00")
        _ = try await fixture.engine.upsert([fixture.lead("ana@example.com")], now: monday)
        // The CRM sync reports an NPS of 10: the lead enters the advocate programme at once
        var promoter = LeadPatch(email: "ana@example.com")
        promoter.attributes = ["nps": 10]
        #expect(try await fixture.engine.upsert([promoter], now: instant("2026-11-24 09:00")) == [.updated])
        let advocate = try await fixture.store.messages(status: nil, limit: 10).filter { $0.campaignID == "advocates" }
        #expect(advocate.map(\.stepID) == ["advocate-1-thanks"])
        // A later detractor score is the programme's exit goal
        var detractor = LeadPatch(email: "ana@example.com")
        detractor.attributes = ["nps": 3]
        _ = try await fixture.engine.upsert([detractor], now: instant("2026-11-25 09:00"))
        _ = try await fixture.engine.runDue(now: instant("2026-12-31 09:00"))
        #expect(try await fixture.store.messages(status: nil, limit: 50).filter { $0.campaignID == "advocates" }.count == 1)
    }

    @Test func suppressedAddressesAreNeverSentToAndTheStepSaysWhy() async throws {
        let fixture = try Fixture()
        let monday = instant("2026-11-23 09:00")
        _ = try await fixture.engine.upsert([fixture.lead("ana@example.com")], now: monday)
        try await fixture.store.suppress(address: "ana@example.com", channel: .email, Suppression(.all, reason: "hard bounce"), at: monday)
        #expect(try await fixture.engine.runDue(now: monday).messages == 0)
        #expect(try await fixture.store.counts().messagesByStatus.isEmpty)
    }

    @Test func smsWaitsForDaytimeInTheLeadsZone() async throws {
        let fixture = try Fixture(policy: .unlimited)
        // A New York lead visits pricing at 22:00 local time and never clicks the offer
        let late = instant("2026-11-23 22:00", "America/New_York")
        _ = try await fixture.engine.upsert([fixture.lead("dan@example.com", zone: "America/New_York", smsConsent: true)], now: late)
        _ = try await fixture.engine.track(IncomingEvent(subject: .email("dan@example.com"), type: "page.viewed", at: late, properties: ["path": "/pricing"]), now: late)
        for day in ["2026-11-24 09:00", "2026-11-26 09:00", "2026-11-26 10:00"] {
            _ = try await fixture.engine.runDue(now: instant(day, "America/New_York"))
        }
        let sms = try await fixture.store.messages(status: nil, limit: 50).filter { $0.channel == .sms }
        #expect(sms.count == 1)
        let local = LocalClock(zone: TimeZone(identifier: "America/New_York")!)
        #expect(sms.allSatisfy { (8 * 60..<21 * 60).contains(local.minutesSinceMidnight(of: $0.createdAt)) })
        #expect(sms.first?.address == "+351912345678")
        #expect(sms.first?.payload.contains(#""channel":"sms""#) == true)
    }
}

/// Both HTTP clients behind webhook channels must behave the same.
enum Transport: String, CaseIterable, CustomTestStringConvertible {
    case asyncHTTPClient, urlSession
    var testDescription: String { rawValue }

    func make() -> any HTTPTransport {
        (self == .asyncHTTPClient ? NurtureConfiguration.TransportKind.asyncHTTPClient : .urlSession).make(maximumConnectionsPerHost: 4)
    }
}

/// Delivery over real HTTP to a loopback sink.
@Suite(.serialized) struct DeliveryTests {
    func queued(_ fixture: Fixture) async throws -> OutboxMessage {
        let monday = instant("2026-11-23 09:00")
        _ = try await fixture.engine.upsert([fixture.lead("ana@example.com")], now: monday)
        _ = try await fixture.engine.runDue(now: monday)
        return try #require(try await fixture.store.messages(status: .pending, limit: 1).first)
    }

    func webhook(_ url: URL, _ transport: Transport, secret: Data? = Data("whsec-test-secret".utf8), timeout: Duration = .seconds(5)) -> WebhookChannel {
        WebhookChannel(url: url, secret: secret, timeout: timeout, concurrency: 4, transport: transport.make())
    }

    @Test(arguments: Transport.allCases)
    func aDeliveredMessageIsSignedAndCarriesItsIdAndUnsubscribeHeaders(_ transport: Transport) async throws {
        let sink = try await WebhookSink.start()
        defer { Task { await sink.stop() } }
        let fixture = try Fixture()
        let message = try await queued(fixture)
        let secret = Data("whsec-test-secret".utf8)
        let now = instant("2026-11-23 09:00")
        let pass = try await fixture.dispatcher([.email: webhook(sink.url, transport, secret: secret)], now: now).dispatchDue()
        #expect(pass.sent == 1)
        let received = try #require(sink.accepted.first)
        #expect(received.headers["idempotency-key"] == message.id)
        #expect(received.headers["webhook-id"] == message.id)
        #expect(received.headers["content-type"] == "application/json")
        // What the sink got verifies with the shared secret, against the receiver's real clock
        // (the dispatcher's scheduling clock is days away)
        #expect(WebhookSignature.verify(id: message.id, timestamp: received.headers["webhook-timestamp"] ?? "",
                                        signatures: received.headers["webhook-signature"] ?? "", body: received.body, secret: secret, now: Date()))
        let body = try #require(try JSONSerialization.jsonObject(with: received.body) as? [String: Any])
        #expect(body["id"] as? String == message.id)
        #expect(body["to"] as? String == "ana@example.com")
        #expect(body["subject"] as? String == "Welcome to Larkspur, Ana")
        #expect(body["campaign"] as? String == "welcome")
        let headers = try #require(body["headers"] as? [String: String])
        #expect(headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click")
        let unsubscribe = try #require(headers["List-Unsubscribe"])
        #expect(unsubscribe.hasPrefix("<https://nurture.example/u/"))
        let token = String(unsubscribe.dropFirst("<https://nurture.example/u/".count).dropLast())
        #expect(Fixture.links.verify(token) == "u1|\(message.leadID)|email")
        #expect(try await fixture.store.message(id: message.id)?.status == .sent)
    }

    @Test(arguments: Transport.allCases)
    func serverErrorsAndTooManyRequestsAreRetriedHonouringRetryAfter(_ transport: Transport) async throws {
        let sink = try await WebhookSink.start()
        defer { Task { await sink.stop() } }
        let fixture = try Fixture()
        let message = try await queued(fixture)
        let now = instant("2026-11-23 09:00")
        sink.script([.fail(status: 503), .fail(status: 429, retryAfter: "3600")])
        var pass = try await fixture.dispatcher([.email: webhook(sink.url, transport)], now: now).dispatchDue()
        #expect(pass.retried == 1)
        var stored = try #require(try await fixture.store.message(id: message.id))
        #expect(stored.status == .pending)
        #expect(stored.lastError == "HTTP 503")
        #expect(stored.nextAttemptAt > now && stored.nextAttemptAt <= now.addingTimeInterval(30))
        pass = try await fixture.dispatcher([.email: webhook(sink.url, transport)], now: stored.nextAttemptAt).dispatchDue()
        stored = try #require(try await fixture.store.message(id: message.id))
        #expect(stored.lastError == "HTTP 429")
        #expect(stored.nextAttemptAt >= stored.createdAt.addingTimeInterval(3600))
        // Third time lucky, under the same id
        pass = try await fixture.dispatcher([.email: webhook(sink.url, transport)], now: stored.nextAttemptAt).dispatchDue()
        #expect(pass.sent == 1)
        #expect(Set(sink.received.map { $0.headers["idempotency-key"] }) == [message.id])
        #expect(try await fixture.store.message(id: message.id)?.attempts == 3)
    }

    @Test(arguments: Transport.allCases)
    func aHangingEndpointTimesOutAndIsRetried(_ transport: Transport) async throws {
        let sink = try await WebhookSink.start()
        defer { Task { await sink.stop() } }
        let fixture = try Fixture()
        let message = try await queued(fixture)
        sink.script([.hang(.seconds(3))])
        let pass = try await fixture.dispatcher([.email: webhook(sink.url, transport, timeout: .milliseconds(500))], now: instant("2026-11-23 09:00")).dispatchDue()
        #expect(pass.retried == 1)
        #expect(try await fixture.store.message(id: message.id)?.lastError == "timed out")
    }

    @Test(arguments: Transport.allCases)
    func aRefusedConnectionIsRetried(_ transport: Transport) async throws {
        let fixture = try Fixture()
        let message = try await queued(fixture)
        // Nothing listens on port 1 of the loopback interface
        let pass = try await fixture.dispatcher([.email: webhook(URL(string: "http://127.0.0.1:1/hook")!, transport)], now: instant("2026-11-23 09:00")).dispatchDue()
        #expect(pass.retried == 1)
        #expect(try await fixture.store.message(id: message.id)?.lastError?.hasPrefix("connection failed") == true)
    }

    @Test(arguments: Transport.allCases)
    func redirectsAndOtherClientErrorsAreDeadLettersThatCanBeRetried(_ transport: Transport) async throws {
        let sink = try await WebhookSink.start()
        defer { Task { await sink.stop() } }
        let fixture = try Fixture()
        let message = try await queued(fixture)
        sink.script([.redirect(to: "http://127.0.0.1:1/elsewhere")])
        var pass = try await fixture.dispatcher([.email: webhook(sink.url, transport)], now: instant("2026-11-23 09:00")).dispatchDue()
        #expect(pass.dead == 1)
        #expect(try await fixture.store.message(id: message.id)?.lastError == "HTTP 302: redirects are not followed")
        #expect(try await fixture.store.retryDeadLetters(ids: [message.id], now: instant("2026-11-23 10:00")) == 1)
        sink.script([.fail(status: 422)])
        pass = try await fixture.dispatcher([.email: webhook(sink.url, transport)], now: instant("2026-11-23 10:00")).dispatchDue()
        #expect(pass.dead == 1)
        #expect(try await fixture.store.messages(status: .dead, limit: 5).map(\.id) == [message.id])
    }

    @Test func thePreviewChannelKeepsMessagesLocal() async throws {
        let fixture = try Fixture()
        let message = try await queued(fixture)
        let pass = try await fixture.dispatcher([.email: PreviewChannel()], now: instant("2026-11-23 09:00")).dispatchDue()
        #expect(pass.sent == 1)
        #expect(try await fixture.store.message(id: message.id)?.status == .sent)
    }
}

struct IngestQueueTests {
    @Test func concurrentCallersShareTransactionsAndEachGetsItsOwnOutcomes() async throws {
        let fixture = try Fixture()
        _ = try await fixture.engine.upsert((0..<20).map { fixture.lead("lead\($0)@example.com") }, now: instant("2026-11-23 09:00", "UTC"))
        let queue = IngestQueue(engine: fixture.engine)
        let now = instant("2026-11-23 10:00", "UTC")
        // 200 callers at once, every id sent twice, a few for nobody.
        let outcomes = try await withThrowingTaskGroup(of: (Int, [IngestOutcome]).self) { group in
            for n in 0..<200 {
                group.addTask {
                    let ghost = n % 50 == 49
                    let event = IncomingEvent(subject: .email(ghost ? "nobody\(n)@example.com" : "lead\(n % 20)@example.com"), type: "page.viewed",
                                              at: now, clientID: ghost ? "ghost-\(n)" : "evt-\(n / 2)")
                    return (n, try await queue.track([event], now: now, via: "test"))
                }
            }
            var all: [Int: [IngestOutcome]] = [:]
            for try await (n, outcome) in group { all[n] = outcome }
            return all
        }
        #expect(outcomes.count == 200 && outcomes.values.allSatisfy { $0.count == 1 })
        let stored = outcomes.values.filter { $0[0].isStored }.count
        let duplicates = outcomes.values.filter { $0[0] == .duplicate }.count
        let unknown = outcomes.values.filter { $0[0] == .unknownLead }.count
        #expect(unknown == 4)
        #expect(stored + duplicates == 196)
        // Each client id is stored once, whichever of its two callers got there first.
        #expect(try await fixture.store.counts().events == 20 + stored)
        #expect(stored == 100)
    }

    @Test func theNextTransactionIsWorkedOutWhileOneCommitsAndItsLeadsStillApplyInOrder() async throws {
        let fixture = try Fixture()
        let monday = instant("2026-11-23 09:00", "UTC")
        _ = try await fixture.engine.upsert([fixture.lead("ana@example.com"), fixture.lead("bo@example.com")], now: monday)
        let store = InterleavingStore(fixture.store)
        // Ana's first event is held in its commit until the test lets it go (or a minute passes:
        // under a full parallel test run this test has taken 24 s).
        store.delayCommits(holding: { $0.events.contains { $0.event.properties["round"] == .string("1") } }, by: .seconds(60))
        let queue = IngestQueue(engine: Engine(store: store, processor: fixture.engine.processor))
        func view(_ email: String, round: String, id: String, at minute: Double) -> IncomingEvent {
            IncomingEvent(subject: .email(email), type: "page.viewed", at: monday.addingTimeInterval(minute * 60),
                          properties: ["round": .string(round)], clientID: id)
        }
        let first = Task { try await queue.track([view("ana@example.com", round: "1", id: "evt-1", at: 1)], now: monday, via: "test") }
        while !store.isHolding { try await Task.sleep(for: .milliseconds(5)) }
        let secondTask = Task {
            try await queue.track([
                view("ana@example.com", round: "2", id: "evt-2", at: 2), view("bo@example.com", round: "2", id: "evt-3", at: 2),
                view("ana@example.com", round: "1", id: "evt-1", at: 1),
            ], now: monday, via: "test")
        }
        // The second transaction reads Bo while the first is still held (a queue that waited
        // for the commit would never read him before the release below).
        let deadline = ContinuousClock.now + .seconds(30)
        while !store.snapshotReads.contains(where: { $0.keys.contains(.email("bo@example.com")) }), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(5))
        }
        store.releaseHeldCommits()
        let second = try await secondTask.value
        // A "duplicate" is only said of an event already stored.
        #expect(try await fixture.store.storedEventIDs(["evt-1"]) == ["evt-1"])
        #expect(try await first.value.map(\.isStored) == [true])
        #expect(second.map(\.isStored) == [true, true, false] && second[2] == .duplicate)
        // Bo was read while Ana's first event was still committing; Ana's next events only after
        // it committed, so nothing had to be worked out twice and her events kept their order.
        let reads = store.snapshotReads
        #expect(reads.contains { $0.whileHeld && $0.keys == [.email("bo@example.com")] })
        // (Three reads: her first transaction, then her events of the second, then again without
        // the event the first had stored meanwhile, found a duplicate at commit.)
        #expect(reads.filter { $0.keys.contains(.email("ana@example.com")) }.count == 3)
        #expect(reads.filter { $0.keys.contains(.email("ana@example.com")) }.allSatisfy { !$0.whileHeld })
        #expect(store.conflicts == 0)
        let rounds = try await fixture.store.latestEvents(leadID: try #require(try await fixture.store.lead(email: "ana@example.com")).id, limit: 10)
            .filter { $0.type == "page.viewed" }.reversed().map { $0.properties["round"]?.textValue }
        #expect(rounds == ["1", "2"])
    }
}
