import Foundation
import GRDB
import NurtureDSL
import NurtureEngine
import NurturePostgres
import NurtureSQLite
import NurtureTesting
import Testing

/// The backends every conformance check runs on.
enum Backend: String, CaseIterable, CustomTestStringConvertible {
    case sqliteFile, sqliteMemory, postgres

    var testDescription: String { rawValue }

    /// A new, empty store. PostgreSQL is the server `scripts/test.sh` starts; without it the
    /// test fails saying so, never skips.
    func makeStore() async throws -> any LeadStore {
        switch self {
        case .postgres:
            return try await PostgresStore.connect(url: try await TestPostgres.newDatabase(), maximumConnections: 4)
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

@Suite struct StoreConformanceTests {
    /// Every check of `StorageConformance`, on every backend, each on a new empty store.
    @Test(arguments: Backend.allCases, StorageConformance.names)
    func conforms(_ backend: Backend, _ check: String) async throws {
        let store = try await backend.makeStore()
        try await StorageConformance.run(check, on: store)
        if let postgres = store as? PostgresStore { await postgres.close() }
    }
}

struct SQLiteFileTests {
    @Test func committedWorkSurvivesReopeningTheFile() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("nurture-reopen-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let path = directory.appendingPathComponent("nurture.sqlite").path
        do {
            let store = try SQLiteStore(path: path)
            let lead = Lead(id: "lead_ana", email: "ana@example.com", firstName: "Ana")
            _ = try await store.commit([LeadChange(base: .new, lead: lead, scoring: ScoreSnapshot(), leadChanged: true)], rotationAdvance: 0, now: Date())
        }
        let reopened = try SQLiteStore(path: path)
        #expect(try await reopened.lead(email: "ana@example.com")?.firstName == "Ana")
        // WAL mode, so readers and the writer never block each other
        #expect(FileManager.default.fileExists(atPath: path + "-wal"))
    }

    @Test func theLogIsCopiedIntoTheFileSoonAfterWritesWithoutWaitingForSQLitesOwnCheckpoint() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("nurture-checkpoint-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let path = directory.appendingPathComponent("nurture.sqlite").path
        let store = try SQLiteStore(path: path)
        let leads = (0..<300).map { Lead(id: "lead_\($0)", email: "lead\($0)@example.com", firstName: "Lead \($0)") }
        _ = try await store.commit(leads.map { LeadChange(base: .new, lead: $0, scoring: ScoreSnapshot(), leadChanged: true) }, rotationAdvance: 0, now: Date())
        // Far below SQLite's own checkpoint (16,000 pages), so only the checkpointer puts these
        // pages in the database file; until then they live in the log alone.
        let pages = try await DatabaseQueue(path: path).read { db in try Int.fetchOne(db, sql: "PRAGMA page_count")! * Int.fetchOne(db, sql: "PRAGMA page_size")! }
        func fileSize() throws -> Int { try FileManager.default.attributesOfItem(atPath: path)[.size] as! Int }
        let deadline = ContinuousClock.now + .seconds(10)
        while try fileSize() < pages, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(try fileSize() >= pages)
        #expect(try await store.lead(email: "lead299@example.com")?.firstName == "Lead 299")
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
        #expect(claim.contains { $0.contains("SEARCH outbox_message USING INDEX outbox_due_channel (channel=? AND next_attempt_at<?)") }, "\(claim)")
        #expect(claim.contains { $0.contains("SEARCH outbox_message USING INDEX outbox_leased_channel (channel=? AND lease_until<?)") }, "\(claim)")
        #expect(!claim.contains { $0.hasPrefix("SCAN outbox_message") || $0.contains("outbox_status_created") }, "\(claim)")
        // The one sort left orders at most twice the claim's limit, after both LIMITs.
        #expect(claim.last == "USE TEMP B-TREE FOR ORDER BY" && claim.filter { $0.contains("TEMP B-TREE") }.count == 1, "\(claim)")
        // What the worker reads to hold scheduling back: one index lookup per channel.
        let oldest = try #require(plans["oldest due message"])
        #expect(oldest.filter { $0.contains("SEARCH outbox_message USING INDEX outbox_due_channel (channel=? AND next_attempt_at<?)") }.count
                == MessageChannel.allCases.count, "\(oldest)")
        // The content, lead and suppression of the claimed messages: one key lookup each.
        let claimedRows = try #require(plans["claimed rows"])
        #expect(claimedRows.contains { $0.contains("SEARCH s USING INDEX sqlite_autoindex_suppression_1 (address=? AND channel=?)") }, "\(claimedRows)")
        #expect(!claimedRows.contains { $0.hasPrefix("SCAN") && !$0.contains("json_each") } && !claimedRows.contains { $0.contains("TEMP B-TREE") }, "\(claimedRows)")
        // A claim's caps read the claimed leads' own messages, not every message sent.
        let sends = try #require(plans["sends a cap counts"])
        #expect(sends.first?.hasPrefix("SEARCH outbox_message USING INDEX outbox_lead (lead_id=?)") == true, "\(sends)")
        let due = try #require(plans["due leads"])
        #expect(due.first == "SEARCH e USING INDEX enrollment_due (wake_at<?)", "\(due)")
        #expect(due.dropFirst().allSatisfy { $0.contains("USING INDEX sqlite_autoindex_lead_1 (id=?)") || $0.contains("PRIMARY KEY") }, "\(due)")
        // A lead's history is one range of the event_history index, never a row lookup per event.
        let history = try #require(plans["lead history"])
        #expect(history.contains { $0.hasPrefix("SEARCH event USING COVERING INDEX event_history (lead_id=? AND at>?)") }, "\(history)")
        #expect(plans["ranking by fixed points"]?.first?.contains("SEARCH lead USING INDEX lead_fixed_id (score_fixed<?)") == true, "\(plans)")
        #expect(plans["ranking by behaviour"]?.first?.hasPrefix("SEARCH lead USING INDEX lead_rank_id (score_rank>? AND score_rank<?)") == true, "\(plans)")
        #expect(plans.values.allSatisfy { lines in !lines.contains { $0.contains("TEMP B-TREE") } || lines == claim }, "\(plans)")
    }
}

/// PostgreSQL plans by its statistics, which lag an outbox that fills and drains within minutes:
/// in a 100,000-message run-due they led to 6,915 sequential scans of the outbox (128 million
/// rows read). Every query of the store walks an index, so its connections forbid the planner a
/// sequential scan wherever an index can serve.
struct PostgresPlanTests {
    @Test func theStoresConnectionsPlanWithoutSequentialScans() async throws {
        let store = try await PostgresStore.connect(url: try await TestPostgres.newDatabase(), maximumConnections: 2)
        #expect(try await store.setting("enable_seqscan") == "off")
        await store.close()
    }
}
