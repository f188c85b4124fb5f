import Campaigns
import Foundation
import NurtureDeployment
import NurtureDSL
import NurtureEngine
import NurturePostgres
import NurtureSQLite
import NurtureTesting
import Synchronization
import Testing

/// Events arriving over the API for leads a worker is advancing: the worker's work was computed
/// from a snapshot the events made stale, so its commit conflicts and the work is redone on the
/// lead as it now is. Every event is applied exactly once and no step is lost or run twice, on
/// every backend.
struct ConcurrentWorkTests {
    @Test(arguments: [Backend.sqliteFile, .postgres])
    func eventsDuringAWorkersBatchAreAppliedOnceAndTheBatchIsRedoneNotOverwritten(_ backend: Backend) async throws {
        let inner = try await backend.makeStore()
        let store = InterleavingStore(inner)
        let engine = Deployment(store: store, playbook: Campaigns.playbook, templates: try Fixture.templates(), configuration: NurtureConfiguration(),
                                links: Fixture.links).engine
        let now = Date()
        let leads = (0..<60).map { "lead\($0)@example.com" }
        _ = try await engine.upsert(leads.map { LeadPatch(email: $0) }, now: now)
        let posted = Mutex(0)
        // Just before the worker's first commit, twenty of its leads get an event each: that
        // batch was computed without them.
        store.beforeFirstLeasedCommit {
            let events = leads.prefix(20).map { IncomingEvent(subject: .email($0), type: "page.viewed", at: now, properties: ["path": "/pricing"], clientID: "before-\($0)") }
            let outcomes = try await engine.track(events, now: now)
            posted.withLock { $0 += outcomes.count { $0.isStored } }
        }
        // And while it works, more events for the same leads arrive from other callers.
        async let worked = engine.runDue(now: now, batchSize: 64)
        try await withThrowingTaskGroup(of: Int.self) { group in
            for (index, email) in leads.enumerated() {
                group.addTask {
                    try await engine.track([IncomingEvent(subject: .email(email), type: "page.viewed", at: now, properties: ["path": "/customers/a"], clientID: "during-\(index)")],
                                           now: now).count { $0.isStored }
                }
            }
            for try await stored in group { posted.withLock { $0 += stored } }
        }
        let pass = try await worked
        #expect(pass.leads == leads.count)
        #expect(store.conflicts > 0, "the events made the worker's commit conflict, so the redo path ran")
        print("concurrent work on \(backend): \(store.conflicts) conflicts redone, pass \(pass)")

        // Every lead's welcome step ran once: one message each, no lead skipped.
        let messages = try await inner.messages(status: nil, limit: 1_000)
        #expect(messages.count == leads.count)
        #expect(Set(messages.map(\.leadID)).count == leads.count)
        #expect(messages.allSatisfy { $0.stepID == "welcome-1" })
        // Every event is there once, and the scores count each of them once.
        #expect(posted.withLock { $0 } == 80)
        let counts = try await inner.counts()
        #expect(counts.events == leads.count + 80, "lead.created for each lead, and the 80 events once each")
        for email in leads {
            let (detail, card) = try #require(try await engine.detail(.email(email), now: now))
            let views = detail.work.state.events.filter { $0.type == "page.viewed" }
            let expected = leads.prefix(20).contains(email) ? 2 : 1
            #expect(views.count == expected, "\(email)")
            #expect(abs(detail.work.lead.score - (card?.total ?? 0)) < 0.01, "the stored score is the history's score for \(email): \(detail.work.lead.score) vs \(card?.total ?? 0) \(detail.work.state.events.map { "\($0.type) \($0.properties)" }) \(detail.work.state.scoring)")
            #expect(detail.work.enrollments.first { $0.campaignID == "welcome" }?.stepID != "welcome-1", "\(email) moved past its welcome")
        }
        if let postgres = inner as? PostgresStore { await postgres.close() }
    }
}

/// A store that runs a hook just before the first commit of due work under a lease, can hold
/// back the commits holding a given change, and counts the conflicts commits report;
/// everything else goes straight through.
final class InterleavingStore: LeadStore {
    let inner: any LeadStore
    private let state = Mutex<(hook: (@Sendable () async throws -> Void)?, conflicts: Int)>((nil, 0))
    private let slow = Mutex<(matching: (@Sendable (LeadChange) -> Bool)?, delay: Duration)>((nil, .zero))
    private let reads = Mutex<(holding: Int, released: Bool, log: [(keys: [LeadKey], whileHeld: Bool)])>((0, false, []))

    init(_ inner: any LeadStore) { self.inner = inner }

    func beforeFirstLeasedCommit(_ hook: @escaping @Sendable () async throws -> Void) { state.withLock { $0.hook = hook } }
    func delayCommits(holding matching: @escaping @Sendable (LeadChange) -> Bool, by delay: Duration) { slow.withLock { $0 = (matching, delay) } }
    var conflicts: Int { state.withLock { $0.conflicts } }
    /// The leads each snapshot read asked for, and whether a held-back commit was waiting then.
    var snapshotReads: [(keys: [LeadKey], whileHeld: Bool)] { reads.withLock { $0.log } }
    /// True while a commit is held back.
    var isHolding: Bool { reads.withLock { $0.holding > 0 } }
    /// Lets held-back commits go before their delay is over.
    func releaseHeldCommits() { reads.withLock { $0.released = true } }

    func commit(_ changes: [LeadChange], rotationAdvance: Int, now: Date) async throws -> [CommitOutcome] {
        let leased = changes.contains { if case .leased = $0.base { true } else { false } }
        if leased, let hook = state.withLock({ state in defer { state.hook = nil }; return state.hook }) { try await hook() }
        let (matching, delay) = slow.withLock { $0 }
        if let matching, changes.contains(where: matching) {
            reads.withLock { $0.holding += 1 }
            defer { reads.withLock { $0.holding -= 1 } }
            let until = ContinuousClock.now + delay
            while ContinuousClock.now < until, !reads.withLock({ $0.released }) { try await Task.sleep(for: .milliseconds(5)) }
        }
        let outcomes = try await inner.commit(changes, rotationAdvance: rotationAdvance, now: now)
        state.withLock { $0.conflicts += outcomes.count { $0 == .conflict } }
        return outcomes
    }

    func snapshots(_ keys: [LeadKey], window: HistoryWindow) async throws -> [LeadKey: LeadSnapshot] {
        reads.withLock { $0.log.append((keys, $0.holding > 0)) }
        return try await inner.snapshots(keys, window: window)
    }
    func rotationPosition() async throws -> Int { try await inner.rotationPosition() }
    func storedEventIDs(_ ids: [String]) async throws -> Set<String> { try await inner.storedEventIDs(ids) }
    func lead(id: String) async throws -> Lead? { try await inner.lead(id: id) }
    func lead(email: String) async throws -> Lead? { try await inner.lead(email: email) }
    func leadIDs(matching filter: RankingFilter?, after: String?, limit: Int) async throws -> [String] { try await inner.leadIDs(matching: filter, after: after, limit: limit) }
    func claimDueLeads(now: Date, limit: Int, owner: String, leaseUntil: Date, excluding: Set<String>) async throws -> [LeadLease] {
        try await inner.claimDueLeads(now: now, limit: limit, owner: owner, leaseUntil: leaseUntil, excluding: excluding)
    }
    func dueLeadIDs(at now: Date, limit: Int) async throws -> [String] { try await inner.dueLeadIDs(at: now, limit: limit) }
    func claimMessages(
        now: Date, limit: Int, owner: String, leaseUntil: Date, channels: Set<MessageChannel>?, sendsSince: Date,
        decide: @Sendable (ClaimCandidate) -> ClaimDecision
    ) async throws -> ClaimBatch {
        try await inner.claimMessages(now: now, limit: limit, owner: owner, leaseUntil: leaseUntil, channels: channels, sendsSince: sendsSince, decide: decide)
    }
    func finish(_ attempts: [FinishedAttempt], owner: String, now: Date) async throws -> [Bool] { try await inner.finish(attempts, owner: owner, now: now) }
    func release(_ messages: [(id: String, attempt: Int)], owner: String) async throws { try await inner.release(messages, owner: owner) }
    func messages(status: OutboxMessage.Status?, limit: Int) async throws -> [OutboxMessage] { try await inner.messages(status: status, limit: limit) }
    func message(id: String) async throws -> OutboxMessage? { try await inner.message(id: id) }
    func retryDeadLetters(ids: [String]?, now: Date) async throws -> Int { try await inner.retryDeadLetters(ids: ids, now: now) }
    func outboxCounts() async throws -> [String: Int] { try await inner.outboxCounts() }
    func oldestDueMessage(at now: Date) async throws -> Date? { try await inner.oldestDueMessage(at: now) }
    func suppress(address: String, channel: MessageChannel, _ suppression: Suppression, at: Date) async throws {
        try await inner.suppress(address: address, channel: channel, suppression, at: at)
    }
    func suppressions(address: String) async throws -> [MessageChannel: Suppression] { try await inner.suppressions(address: address) }
    func suppressionPage(after: SuppressionRecord?, limit: Int) async throws -> [SuppressionRecord] { try await inner.suppressionPage(after: after, limit: limit) }
    func liftSuppression(address: String, channel: MessageChannel) async throws -> Bool { try await inner.liftSuppression(address: address, channel: channel) }
    func forget(leadID: String, suppressing: [SuppressionChange], audit: PrivacyAudit) async throws -> ErasureCounts? {
        try await inner.forget(leadID: leadID, suppressing: suppressing, audit: audit)
    }
    func suppressedAddresses(among addresses: [String]) async throws -> Set<String> { try await inner.suppressedAddresses(among: addresses) }
    func recordPrivacyRequest(_ audit: PrivacyAudit) async throws { try await inner.recordPrivacyRequest(audit) }
    func privacyRequests(limit: Int) async throws -> [PrivacyAudit] { try await inner.privacyRequests(limit: limit) }
    func secret(named name: String) async throws -> Data { try await inner.secret(named: name) }
    func currentDeployment() async throws -> PlaybookDeployment? { try await inner.currentDeployment() }
    func recordDeployment(_ deployment: PlaybookDeployment, replacing expected: String?, moves: [StepMove]) async throws -> Bool {
        try await inner.recordDeployment(deployment, replacing: expected, moves: moves)
    }
    func stepOccupancy() async throws -> [StepOccupancy] { try await inner.stepOccupancy() }
    func announce(_ process: PlaybookProcess) async throws { try await inner.announce(process) }
    func withdraw(processID: String) async throws { try await inner.withdraw(processID: processID) }
    func processes() async throws -> [PlaybookProcess] { try await inner.processes() }
    func quietLeads(before cutoff: Date, after cursor: QuietCursor?, limit: Int) async throws -> [QuietCursor] {
        try await inner.quietLeads(before: cutoff, after: cursor, limit: limit)
    }
    func setting(named key: String) async throws -> Data? { try await inner.setting(named: key) }
    func personaResults(_ filter: CounterFilter) async throws -> [PersonaResult] { try await inner.personaResults(filter) }
    func setSetting(named key: String, to value: Data) async throws { try await inner.setSetting(named: key, to: value) }
    func rankingPage(by order: RankingOrder, filter: RankingFilter, after cursor: RankingCursor?, limit: Int) async throws -> [RankingRow] {
        try await inner.rankingPage(by: order, filter: filter, after: cursor, limit: limit)
    }
    func latestEvents(leadID: String, limit: Int) async throws -> [LeadEvent] { try await inner.latestEvents(leadID: leadID, limit: limit) }
    func latestMessages(leadID: String, limit: Int) async throws -> [OutboxMessage] { try await inner.latestMessages(leadID: leadID, limit: limit) }
    func scoreVersions() async throws -> [String: Int] { try await inner.scoreVersions() }
    func timeZoneSources() async throws -> [TimeZoneSource: Int] { try await inner.timeZoneSources() }
    func counts() async throws -> StoreCounts { try await inner.counts() }
    func campaignCounters(_ filter: CounterFilter) async throws -> [CampaignCounter] { try await inner.campaignCounters(filter) }
    func recountedCampaignCounters() async throws -> [CampaignCounter] { try await inner.recountedCampaignCounters() }
    func campaignControls() async throws -> CampaignControls { try await inner.campaignControls() }
    func pauseCampaign(_ pause: CampaignPause) async throws -> Bool { try await inner.pauseCampaign(pause) }
    func resumeCampaign(_ entry: CampaignJournalEntry) async throws -> Bool { try await inner.resumeCampaign(entry) }
    func markPauseNoticeSent(campaignID: String, at: Date) async throws { try await inner.markPauseNoticeSent(campaignID: campaignID, at: at) }
    func unparkUnpaused() async throws -> Int { try await inner.unparkUnpaused() }
    func decideExperiment(_ decision: ExperimentDecision) async throws -> Bool { try await inner.decideExperiment(decision) }
    func campaignJournal(campaignID: String?, limit: Int) async throws -> [CampaignJournalEntry] { try await inner.campaignJournal(campaignID: campaignID, limit: limit) }
}
