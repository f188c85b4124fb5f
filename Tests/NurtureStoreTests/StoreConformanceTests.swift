import Foundation
import NurtureDSL
import NurtureEngine
import NurtureStore
import Testing

/// The behaviour every storage backend must have. Each test runs once per backend.
enum Backend: String, CaseIterable, CustomTestStringConvertible {
    case sqliteFile, sqliteMemory

    var testDescription: String { rawValue }

    func makeStore() throws -> any LeadStore {
        switch self {
        case .sqliteFile:
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("nurture-store-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            return try SQLiteStore(path: directory.appendingPathComponent("nurture.sqlite").path)
        case .sqliteMemory:
            return try SQLiteStore()
        }
    }
}

let t0 = Date(timeIntervalSince1970: 1_795_000_000)   // 2026-11-18

func patch(_ email: String, _ edit: (inout LeadPatch) -> Void = { _ in }) -> LeadPatch {
    var patch = LeadPatch(email: email)
    patch.firstName = "Ana"
    patch.timeZone = "Europe/Lisbon"
    edit(&patch)
    return patch
}

/// A store with one lead enrolled at step "a" and due at t0.
func storeWithOneDueLead(_ backend: Backend) async throws -> (any LeadStore, String) {
    let store = try backend.makeStore()
    _ = try await store.upsertLeads([patch("ana@example.com")], now: t0) { work, _ in
        var enrollment = Enrollment(leadID: work.lead.id, campaignID: "welcome", firstStep: "a", enrolledAt: t0)
        enrollment.wakeAt = t0
        work.enrollments.append(enrollment)
        work.newEvents.append(LeadEvent("lead.created", at: t0))
    }
    let id = try #require(try await store.lead(email: "ana@example.com")).id
    return (store, id)
}

func outboxMessage(_ id: String, leadID: String, at: Date = t0, address: String = "ana@example.com") -> OutboxMessage {
    OutboxMessage(id: id, leadID: leadID, campaignID: "welcome", stepID: "a", channel: .email, address: address, variant: nil,
                  subject: "Hi", preview: "Hello", payload: #"{"id":"\#(id)"}"#, isTransactional: false, createdAt: at)
}

@Suite struct StoreConformanceTests {
    @Test(arguments: Backend.allCases)
    func upsertsByEmailCaseInsensitivelyAndReportsWhatChanged(_ backend: Backend) async throws {
        let store = try backend.makeStore()
        let first = try await store.upsertLeads([patch("ana@example.com"), patch("ben@example.com")], now: t0) { _, _ in }
        #expect(first.map(\.outcome) == [.imported, .imported])
        let again = try await store.upsertLeads([patch("ANA@example.com"), patch("ben@example.com") { $0.company = "Harbourline" }], now: t0) { _, _ in }
        #expect(again.map(\.outcome) == [.unchanged, .updated])
        // Each result names its lead, the same id whether the lead was new, unchanged or updated.
        #expect(again.map(\.leadID) == first.map(\.leadID))
        #expect(try await store.lead(email: "ana@example.com")?.id == first[0].leadID)
        let ben = try #require(try await store.lead(email: "Ben@Example.com"))
        #expect(ben.id == first[1].leadID)
        #expect(ben.company == "Harbourline")
        #expect(ben.firstName == "Ana")
        #expect(try await store.counts().leads == 2)
    }

    @Test(arguments: Backend.allCases)
    func aPatchKeepsWhatItDoesNotMention(_ backend: Backend) async throws {
        let store = try backend.makeStore()
        _ = try await store.upsertLeads([patch("ana@example.com") { $0.attributes = ["plan": "trial"]; $0.smsConsent = true }], now: t0) { _, _ in }
        var bare = LeadPatch(email: "ana@example.com")
        bare.attributes = ["nps": 9]
        #expect(try await store.upsertLeads([bare], now: t0) { _, _ in }.map(\.outcome) == [.updated])
        let ana = try #require(try await store.lead(email: "ana@example.com"))
        #expect(ana.timeZone == "Europe/Lisbon")
        #expect(ana.attributes == ["plan": "trial", "nps": 9])
        #expect(ana.smsConsent)
    }

    @Test(arguments: Backend.allCases)
    func newLeadsAreEnrolledInTheSameTransaction(_ backend: Backend) async throws {
        let (store, id) = try await storeWithOneDueLead(backend)
        #expect(try await store.dueLeadIDs(at: t0, limit: 10) == [id])
        #expect(try await store.dueLeadIDs(at: t0.addingTimeInterval(-1), limit: 10) == [])
        let counts = try await store.counts()
        #expect(counts.events == 1)
        #expect(counts.activeEnrollments == 1)
    }

    @Test(arguments: Backend.allCases)
    func updateWritesBackEnrollmentsEventsAndMessagesTogether(_ backend: Backend) async throws {
        let (store, id) = try await storeWithOneDueLead(backend)
        try await store.update(leadIDs: [id], now: t0) { works in
            #expect(works.count == 1)
            #expect(works[0].enrollments.map(\.stepID) == ["a"])
            #expect(works[0].state.events.map(\.type) == ["lead.created"])
            works[0].enrollments[0].stepID = "b"
            works[0].enrollments[0].phase = .waiting
            works[0].enrollments[0].wakeAt = t0.addingTimeInterval(86_400)
            works[0].lead.score = 12
            works[0].newMessages.append(outboxMessage("msg_1", leadID: id))
            works[0].newEvents.append(LeadEvent("sales.notified", at: t0, properties: ["note": "hot"]))
        }
        #expect(try await store.dueLeadIDs(at: t0, limit: 10) == [])
        #expect(try await store.dueLeadIDs(at: t0.addingTimeInterval(86_400), limit: 10) == [id])
        #expect(try await store.lead(id: id)?.score == 12)
        #expect(try await store.messages(status: .pending, limit: 10).map(\.id) == ["msg_1"])
        try await store.update(leadIDs: [id], now: t0) { works in
            #expect(works[0].state.sends == [SendRecord(channel: .email, at: t0, isTransactional: false)])
            #expect(works[0].state.events.map(\.type) == ["lead.created", "sales.notified"])
            #expect(works[0].state.events.last?.properties == ["note": "hot"])
        }
    }

    /// The boundary refuses NUL; should a caller slip one through, the store refuses the write
    /// rather than keep a value cut at the NUL (two client ids colliding, a name shortened).
    @Test(arguments: Backend.allCases)
    func aStringWithNULIsRefusedNeverStoredCut(_ backend: Backend) async throws {
        let (store, id) = try await storeWithOneDueLead(backend)
        await #expect(throws: (any Error).self) {
            _ = try await store.upsertLeads([patch("ben@example.com") { $0.firstName = "Ben\u{0}Evil" }], now: t0) { _, _ in }
        }
        #expect(try await store.lead(email: "ben@example.com") == nil)
        let first = IncomingEvent(subject: .id(id), type: "page.viewed", at: t0, clientID: "a")
        #expect(try await store.ingest([first], now: t0, created: { _ in }, { _, _ in }) == [.stored(leadID: id)])
        let cut = IncomingEvent(subject: .id(id), type: "page.viewed", at: t0, clientID: "a\u{0}b")
        await #expect(throws: (any Error).self) {
            _ = try await store.ingest([cut], now: t0, created: { _ in }, { _, _ in })
        }
        #expect(try await store.counts().events == 2)   // lead.created and the first event only
    }

    @Test(arguments: Backend.allCases)
    func theSameMessageIdIsStoredOnce(_ backend: Backend) async throws {
        let (store, id) = try await storeWithOneDueLead(backend)
        for _ in 0..<3 {
            try await store.update(leadIDs: [id], now: t0) { works in works[0].newMessages.append(outboxMessage("msg_same", leadID: id)) }
        }
        #expect(try await store.messages(status: nil, limit: 10).count == 1)
    }

    @Test(arguments: Backend.allCases)
    func eventsAreStoredOncePerClientID(_ backend: Backend) async throws {
        let (store, id) = try await storeWithOneDueLead(backend)
        let event = IncomingEvent(subject: .email("ANA@example.com"), type: "page.viewed", at: t0, properties: ["path": "/pricing"], clientID: "evt-1")
        let first = try await store.ingest(event, now: t0) { work, stored in
            #expect(stored.type == "page.viewed")
            // The history is what came before; the processor adds the new event itself, once.
            #expect(work.state.events.map(\.type) == ["lead.created"])
            work.lead.score += 5
        }
        #expect(first == .stored(leadID: id))
        let second = try await store.ingest(event, now: t0) { work, _ in work.lead.score += 5 }
        #expect(second == .duplicate)
        #expect(try await store.lead(id: id)?.score == 5)
        let unknown = try await store.ingest(IncomingEvent(subject: .email("nobody@example.com"), type: "x", at: t0), now: t0) { _, _ in }
        #expect(unknown == .unknownLead)
        #expect(try await store.counts().events == 2)
    }

    @Test(arguments: Backend.allCases)
    func claimsLeaseMessagesAndOnlyTheOwnerCanFinish(_ backend: Backend) async throws {
        let (store, id) = try await storeWithOneDueLead(backend)
        try await store.update(leadIDs: [id], now: t0) { works in
            works[0].newMessages = [outboxMessage("msg_1", leadID: id), outboxMessage("msg_2", leadID: id, at: t0.addingTimeInterval(60))]
        }
        // Only what is due is claimed
        let claimed = try await store.claimMessages(now: t0, limit: 10, owner: "w1", leaseUntil: t0.addingTimeInterval(30))
        #expect(claimed.map(\.id) == ["msg_1"])
        #expect(claimed.first?.attempts == 1)
        // A second worker sees nothing while the lease holds
        #expect(try await store.claimMessages(now: t0.addingTimeInterval(10), limit: 10, owner: "w2", leaseUntil: t0.addingTimeInterval(40)).isEmpty)
        // After the lease expires, w2 takes it over as attempt 2
        let takenOver = try await store.claimMessages(now: t0.addingTimeInterval(31), limit: 1, owner: "w2", leaseUntil: t0.addingTimeInterval(90))
        #expect(takenOver.map(\.id) == ["msg_1"])
        #expect(takenOver.first?.attempts == 2)
        // The stale worker can no longer complete it; the new owner can
        #expect(try await store.finish(messageID: "msg_1", attempt: 1, owner: "w1", result: .sent, now: t0.addingTimeInterval(32)) == false)
        #expect(try await store.finish(messageID: "msg_1", attempt: 2, owner: "w2", result: .sent, now: t0.addingTimeInterval(33)) == true)
        let sent = try #require(try await store.message(id: "msg_1"))
        #expect(sent.status == .sent)
        #expect(sent.sentAt == t0.addingTimeInterval(33))
        // Sending records email.sent on the lead
        try await store.update(leadIDs: [id], now: t0.addingTimeInterval(60)) { works in
            #expect(works[0].state.events.last?.type == "email.sent")
            #expect(works[0].state.events.last?.properties["message"] == "msg_1")
        }
    }

    @Test(arguments: Backend.allCases)
    func retriesAndDeadLettersKeepTheirIds(_ backend: Backend) async throws {
        let (store, id) = try await storeWithOneDueLead(backend)
        try await store.update(leadIDs: [id], now: t0) { works in works[0].newMessages = [outboxMessage("msg_1", leadID: id)] }
        var claimed = try await store.claimMessages(now: t0, limit: 1, owner: "w", leaseUntil: t0.addingTimeInterval(30))
        #expect(try await store.finish(messageID: "msg_1", attempt: 1, owner: "w", result: .retry(at: t0.addingTimeInterval(120), error: "HTTP 503"), now: t0))
        #expect(try await store.claimMessages(now: t0.addingTimeInterval(60), limit: 1, owner: "w", leaseUntil: t0.addingTimeInterval(90)).isEmpty)
        claimed = try await store.claimMessages(now: t0.addingTimeInterval(120), limit: 1, owner: "w", leaseUntil: t0.addingTimeInterval(150))
        #expect(claimed.first?.lastError == "HTTP 503")
        #expect(try await store.finish(messageID: "msg_1", attempt: 2, owner: "w", result: .dead(error: "HTTP 404"), now: t0))
        #expect(try await store.messages(status: .dead, limit: 10).map(\.lastError) == ["HTTP 404"])
        #expect(try await store.retryDeadLetters(ids: ["msg_1", "msg_unknown"], now: t0.addingTimeInterval(200)) == 1)
        let revived = try await store.claimMessages(now: t0.addingTimeInterval(200), limit: 1, owner: "w", leaseUntil: t0.addingTimeInterval(230))
        #expect(revived.map(\.id) == ["msg_1"])
    }

    @Test(arguments: Backend.allCases)
    func suppressionIsCheckedWhenAMessageIsClaimed(_ backend: Backend) async throws {
        let (store, id) = try await storeWithOneDueLead(backend)
        try await store.update(leadIDs: [id], now: t0) { works in works[0].newMessages = [outboxMessage("msg_1", leadID: id)] }
        try await store.suppress(address: "ANA@example.com", channel: .email, reason: "unsubscribed", at: t0)
        #expect(try await store.claimMessages(now: t0, limit: 10, owner: "w", leaseUntil: t0.addingTimeInterval(30)).isEmpty)
        #expect(try await store.message(id: "msg_1")?.status == .suppressed)
        #expect(try await store.suppressions(address: "ana@example.com") == [.email: "unsubscribed"])
        try await store.update(leadIDs: [id], now: t0) { works in
            #expect(works[0].state.suppressions == [.email: "unsubscribed"])
        }
    }
}

struct SQLiteFileTests {
    @Test func committedWorkSurvivesReopeningTheFile() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("nurture-reopen-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let path = directory.appendingPathComponent("nurture.sqlite").path
        do {
            let store = try SQLiteStore(path: path)
            _ = try await store.upsertLeads([patch("ana@example.com")], now: t0) { _, _ in }
        }
        let reopened = try SQLiteStore(path: path)
        #expect(try await reopened.lead(email: "ana@example.com")?.firstName == "Ana")
        // WAL mode, so readers and the writer never block each other
        #expect(FileManager.default.fileExists(atPath: path + "-wal"))
    }
}

struct StoreSettingsTests {
    @Test(arguments: Backend.allCases)
    func secretsAreCreatedOnceAndKept(_ backend: Backend) async throws {
        let store = try backend.makeStore()
        let first = try await store.secret(named: "links")
        #expect(first.count == 32)
        #expect(try await store.secret(named: "links") == first)
        #expect(try await store.secret(named: "other") != first)
    }
}

struct StoredValuesTests {
    @Test(arguments: Backend.allCases)
    func attributesAndPropertiesRoundTripWhateverTheyContain(_ backend: Backend) async throws {
        let store = try backend.makeStore()
        let tricky = "quote \" backslash \\ newline \n tab \t bell \u{07} 🙂 é"
        var lead = patch("ana@example.com")
        lead.attributes = ["note": .string(tricky), "nps": 9.5, "vip": true, tricky: "key"]
        _ = try await store.upsertLeads([lead], now: t0) { work, _ in
            work.lead.tags = [tricky, "plain"]
            work.newEvents.append(LeadEvent("x.y", at: t0, properties: ["p": .string(tricky)]))
        }
        let stored = try #require(try await store.lead(email: "ana@example.com"))
        #expect(stored.attributes == lead.attributes)
        #expect(stored.tags == [tricky, "plain"])
        try await store.update(leadIDs: [stored.id], now: t0) { works in
            #expect(works[0].state.events.first?.properties == ["p": .string(tricky)])
        }
    }
}

/// The queries a backlog makes expensive read only what they return: an index range walked in
/// order, never a scan or a sort of every due row or every lead (issue 11 saw a claim sort 1M
/// due messages for 3.5 s).
struct QueryPlanTests {
    @Test func claimsDueWorkAndRankingWalkTheirIndexes() async throws {
        let fixture = try Fixture()
        let now = Date()
        _ = try await fixture.engine.upsert((0..<500).map { fixture.lead("lead\($0)@example.com") }, now: now)
        _ = try await fixture.engine.runDue(now: now)
        let plans = try await fixture.store.queryPlans()
        let claim = try #require(plans["claim"])
        #expect(claim.contains { $0.contains("SEARCH outbox_message USING INDEX outbox_due (next_attempt_at<?)") }, "\(claim)")
        #expect(claim.contains { $0.contains("SEARCH outbox_message USING INDEX outbox_leased (lease_until<?)") }, "\(claim)")
        #expect(!claim.contains { $0.hasPrefix("SCAN outbox_message") || $0.contains("outbox_status_created") }, "\(claim)")
        // The one sort left orders at most twice the claim's limit, after both LIMITs.
        #expect(claim.last == "USE TEMP B-TREE FOR ORDER BY" && claim.filter { $0.contains("TEMP B-TREE") }.count == 1, "\(claim)")
        let due = try #require(plans["due leads"])
        #expect(due == ["SEARCH enrollment USING INDEX enrollment_due (wake_at<?)"], "\(due)")
        #expect(plans["ranking by fixed points"]?.first?.contains("SCAN lead USING INDEX lead_score_fixed") == true, "\(plans)")
        #expect(plans["ranking by behaviour"]?.first?.contains("USING INDEX lead_score_rank") == true, "\(plans)")
        #expect(plans.values.allSatisfy { lines in !lines.contains { $0.contains("TEMP B-TREE") } || lines == claim }, "\(plans)")
    }
}
