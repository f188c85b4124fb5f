public import Foundation
public import NurtureDSL
import Synchronization

/// The durable engine: the processor's logic applied to stored leads, one transaction per
/// unit of work. The CLI, the worker and the HTTP API all go through it.
public struct Engine: Sendable {
    public let store: any LeadStore
    public let processor: LeadProcessor
    public var metrics = NurtureMetrics()

    public init(store: any LeadStore, processor: LeadProcessor) {
        self.store = store
        self.processor = processor
    }

    public var playbook: Playbook { processor.playbook }

    // MARK: - Leads and events

    /// Upserts leads; each new one records `lead.created` and enters the campaigns that start
    /// on it (whose first steps the worker then runs); a changed one fires goals and entries.
    public func upsert(_ patches: [LeadPatch], now: Date) async throws -> [UpsertOutcome] {
        try await upsertLeads(patches, now: now).map(\.outcome)
    }

    /// The same, with the id of each lead (new or found), for callers that answer with them.
    public func upsertLeads(_ patches: [LeadPatch], now: Date) async throws -> [UpsertResult] {
        let processor = self.processor
        return try await store.upsertLeads(patches, now: now) { work, before in
            if let before {
                processor.leadUpdated(from: before, &work, now: now)
            } else {
                processor.leadCreated(&work, now: now)
            }
        }
    }

    /// Stores an event once (by client id) and lets it act at once: score, goals, waits, entries.
    public func track(_ event: IncomingEvent, now: Date) async throws -> IngestOutcome {
        try await track([event], now: now)[0]
    }

    /// Stores many events in one transaction, each acting as if it came alone.
    public func track(_ events: [IncomingEvent], now: Date, via source: String = "cli") async throws -> [IngestOutcome] {
        let outcomes = try await storeEvents(events, now: now)
        metrics.eventsIngested(outcomes.count(where: \.isStored), via: source)
        return outcomes
    }

    func storeEvents(_ events: [IncomingEvent], now: Date) async throws -> [IngestOutcome] {
        let processor = self.processor
        return try await store.ingest(events, now: now, created: { work in processor.leadCreated(&work, now: now) }) { work, stored in
            processor.receive(stored, &work)
        }
    }

    // MARK: - Provider reports and operations

    /// A message this Nurture produced, for mapping a provider's report back to its lead.
    public func message(id: String) async throws -> OutboxMessage? {
        try await store.message(id: id)
    }

    /// A provider's report about an address no lead has: a hard bounce, a complaint or an SMS
    /// STOP still binds the address, so a lead created later is never sent to. True when it
    /// suppressed.
    public func reportWithoutLead(_ event: IncomingEvent, now: Date) async throws -> Bool {
        let hardBounce = event.type == ComplianceEvent.emailBounced && event.properties["bounce"]?.textValue == "hard"
        let reasons = [ComplianceEvent.emailComplained: "complaint", ComplianceEvent.smsOptedOut: "SMS STOP"]
        guard let reason = hardBounce ? "hard bounce" : reasons[event.type], let address = event.subject.address else { return false }
        try await store.suppress(address: address, channel: event.type.hasPrefix("sms") ? .sms : .email, reason: reason, at: now)
        return true
    }

    /// Outbox messages by status, for health checks and the queue-depth metric.
    public func outboxCounts() async throws -> [String: Int] {
        try await store.outboxCounts()
    }

    // MARK: - Due work

    public struct Pass: Sendable, Hashable {
        public init() {}
        public var leads = 0
        public var messages = 0
    }

    /// Advances every enrollment due at `now`, `batchSize` leads per transaction, until none is
    /// due or `stopping` says so (checked between transactions, so a shutdown waits for one batch).
    public func runDue(now: Date, batchSize: Int = 256, stopping: @Sendable () -> Bool = { false }) async throws -> Pass {
        var pass = Pass()
        var seen: Set<String> = []
        while !stopping() {
            let ids = try await store.dueLeadIDs(at: now, limit: batchSize).filter { !seen.contains($0) }
            guard !ids.isEmpty else { return pass }
            seen.formUnion(ids)
            let processor = self.processor
            let produced = Counter()
            try await store.update(leadIDs: ids, now: now) { works in
                var messages = 0
                for index in works.indices {
                    processor.advanceDue(&works[index], now: now)
                    messages += works[index].newMessages.count
                }
                produced.add(messages)
            }
            pass.leads += ids.count
            pass.messages += produced.value
        }
        return pass
    }
}

extension LeadProcessor {
    /// A lead was just created: record it and enroll it where `lead.created` is an entry,
    /// leaving the first step to the worker so bulk imports stay fast.
    public func leadCreated(_ work: inout LeadWork, now: Date) {
        let event = LeadEvent("lead.created", at: now)
        work.newEvents.append(event)
        work.state.events.append(event)
        for campaign in playbook.campaigns {
            if let entry = EntryRules.entry(of: campaign, firedBy: event) {
                enroll(campaign, trigger: EntryRules.captures(of: entry, from: event), because: "entry \(entry.trigger)", &work, now: now, advance: false)
            }
        }
        rescore(&work, now: now)
    }
}

/// A count filled in from inside a store transaction's closure.
final class Counter: Sendable {
    private let storage = Mutex(0)
    func add(_ n: Int) { storage.withLock { $0 += n } }
    var value: Int { storage.withLock { $0 } }
}
