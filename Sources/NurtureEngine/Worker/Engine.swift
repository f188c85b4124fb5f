public import Foundation
public import NurtureDSL
@_exported public import NurtureStorage

/// The durable engine: the processor's logic applied to stored leads, each lead's work computed
/// outside any transaction and committed only if the lead did not change meanwhile (see
/// Engine+work.swift). The CLI, the worker and the HTTP API all go through it.
public struct Engine: Sendable {
    public let store: any LeadStore
    public let processor: LeadProcessor
    public var metrics = NurtureMetrics()
    /// Names this process's leases on due leads and outbox messages.
    public var owner: String
    /// How long a worker may hold due leads before another takes them over.
    public var leadLease: TimeInterval = 300
    /// What a message costs per channel, for cost and ROI in `stats`.
    public var costs = MessageCosts()
    /// The key forgotten people's addresses are hashed with, once read.
    let erasureKey = ErasureKeyCache()

    public init(store: any LeadStore, processor: LeadProcessor, owner: String = Dispatcher.defaultOwner()) {
        self.store = store
        self.processor = processor
        self.owner = owner
    }

    public var playbook: Playbook { processor.playbook }

    // MARK: - Leads and events

    /// Upserts leads; each new one records `lead.created` and enters the campaigns that start
    /// on it (whose first steps the worker then runs); a changed one fires goals and entries.
    /// `committingAfter` is awaited before the first commit: an import works out batch N+1
    /// while batch N commits, and still commits them in file order.
    public func upsert(
        _ patches: [LeadPatch], now: Date, committingAfter earlier: (@Sendable () async throws -> Void)? = nil
    ) async throws -> [UpsertOutcome] {
        try await upsertLeads(patches, now: now, committingAfter: earlier).map(\.outcome)
    }

    /// The same, with the id of each lead (new or found), for callers that answer with them.
    /// Patches for one email apply in order to one lead; a lead another batch created after
    /// this one looked is a conflict, worked out again as an update.
    public func upsertLeads(
        _ patches: [LeadPatch], now: Date, committingAfter earlier: (@Sendable () async throws -> Void)? = nil
    ) async throws -> [UpsertResult] {
        var earlier = earlier
        let now = Self.asStored(now)
        var results = [UpsertResult?](repeating: nil, count: patches.count)
        var byEmail: [String: [Int]] = [:]
        var emails: [String] = []
        for (index, patch) in patches.enumerated() {
            let email = patch.email.lowercased()
            if byEmail[email] == nil { emails.append(email) }
            byEmail[email, default: []].append(index)
        }
        let processor = self.processor
        for _ in 0..<Self.maxRedos {
            guard !emails.isEmpty else { break }
            let snapshots = try await store.snapshots(emails.map(LeadKey.email), window: Self.window(at: now))
            // Forgotten people's addresses: a new lead's email, and a phone a patch brings that its lead lacks.
            let newcomers = emails.filter { snapshots[.email($0)] == nil }
            let newPhones = emails.flatMap { email in
                byEmail[email]!.compactMap { patches[$0].phone }.filter { $0 != snapshots[.email(email)]?.lead.phone }
            }
            let erased = try await self.erased(among: newcomers + newPhones)
            let controls = try await store.campaignControls()
            let rotation = OwnerRotation(next: try await store.rotationPosition())
            let groups = emails.map { email in (email, byEmail[email]!.map { patches[$0] }, snapshots[.email(email)]) }
            let worked = await Self.inParallel(groups) { email, group, snapshot -> (String, UnitOfWork?, [UpsertResult]) in
                var unit = snapshot.map { UnitOfWork($0, base: .version($0.version), rotation: rotation, controls: controls) }
                var outcomes: [UpsertResult] = []
                for patch in group {
                    if var current = unit {
                        let before = current.work.lead
                        let updated = processor.zones.settled(patch.applied(to: before))
                        guard updated != before else {
                            outcomes.append(UpsertResult(.unchanged, leadID: before.id))
                            continue
                        }
                        current.work.lead = updated
                        if updated.phone != before.phone { Self.keepForgotten(&current.work, erased: erased) }
                        processor.leadUpdated(from: before, &current.work, now: now)
                        unit = current
                        outcomes.append(UpsertResult(.updated, leadID: before.id, zoneIsGuess: Self.isCountryGuess(updated)))
                    } else {
                        var created = UnitOfWork(newLead: patch.newLead(id: LeadPatch.newID(), zones: processor.zones), rotation: rotation, controls: controls)
                        Self.keepForgotten(&created.work, erased: erased)
                        processor.leadCreated(&created.work, now: now)
                        unit = created
                        outcomes.append(UpsertResult(.imported, leadID: created.work.lead.id, zoneIsGuess: Self.isCountryGuess(created.work.lead)))
                    }
                }
                // A lead every patch left as it was needs no commit.
                let changed = outcomes.contains { $0.outcome != .unchanged }
                return (email, changed ? unit : nil, outcomes)
            }
            let committing = worked.filter { $0.1 != nil }
            if let waiting = earlier {
                try await waiting()
                earlier = nil
            }
            let outcomes = try await store.commit(committing.map { $0.1!.change }, rotationAdvance: rotation.taken, now: now)
            var redo: Set<String> = []
            for ((email, _, _), outcome) in zip(committing, outcomes) where outcome != .committed { redo.insert(email) }
            for (email, _, outcomes) in worked where !redo.contains(email) {
                for (index, result) in zip(byEmail[email]!, outcomes) { results[index] = result }
            }
            emails = emails.filter(redo.contains)
        }
        if !emails.isEmpty { throw LeadKeptChanging(leadIDs: emails) }
        return results.map { $0! }
    }

    /// A new lead whose address belongs to someone who asked to be forgotten gets nothing: the
    /// address is suppressed again, in the clear, since the lead holds it again anyway.
    static func keepForgotten(_ work: inout LeadWork, erased: Set<String>) {
        if let email = work.lead.email, erased.contains(email) { work.state.suppressions[.email] = ErasedAddresses.suppression }
        if let phone = work.lead.phone, erased.contains(phone) { work.state.suppressions[.sms] = ErasedAddresses.suppression }
    }

    static func isCountryGuess(_ lead: Lead) -> Bool {
        lead.timeZoneSource == .countryGuess || lead.timeZoneSource == .phoneGuess
    }

    /// Stores an event once (by client id) and lets it act at once: score, goals, waits, entries.
    public func track(_ event: IncomingEvent, now: Date) async throws -> IngestOutcome {
        try await track([event], now: now)[0]
    }

    /// Stores many events together, each acting as if it came alone.
    public func track(_ events: [IncomingEvent], now: Date, via source: String = "cli") async throws -> [IngestOutcome] {
        let outcomes = try await storeEvents(events, now: now)
        metrics.eventsIngested(outcomes.count(where: \.isStored), via: source)
        return outcomes
    }

    /// The transaction an ingest queue is committing while it works out the next one.
    struct InFlight: Sendable {
        /// The leads it holds: their events in the next batch are worked out after it commits.
        var subjects: Set<LeadKey>
        /// Returns once it has committed (or failed).
        var committed: @Sendable () async -> Void
        /// The owner rotation it leaves behind, where the next batch's turns start.
        var rotationNext: Int
    }

    /// Events of one lead act in order on one unit of work; an event whose client id was stored
    /// before (or appears earlier in the batch) is a duplicate and does nothing.
    ///
    /// With `after`, the batch is worked out while that transaction commits, except the leads it
    /// holds, which are read once it has committed; `computed` hears the rotation this batch
    /// leaves behind just before its first commit, so the caller can start the next batch.
    func storeEvents(
        _ events: [IncomingEvent], now: Date, after inFlight: InFlight? = nil, computed: (@Sendable (_ rotationNext: Int) -> Void)? = nil
    ) async throws -> [IngestOutcome] {
        var inFlight = inFlight, computed = computed
        let now = Self.asStored(now)
        var outcomes = [IngestOutcome?](repeating: nil, count: events.count)
        for event in events {
            try TextWithNUL.refuse([("lead", event.subject.text), ("event id", event.clientID)])
        }
        let stored = try await store.storedEventIDs(events.compactMap(\.clientID))
        var seen: Set<String> = stored
        var bySubject: [LeadKey: [Int]] = [:]
        var subjects: [LeadKey] = []
        for (index, event) in events.enumerated() {
            if let clientID = event.clientID, !seen.insert(clientID).inserted {
                outcomes[index] = .duplicate
                continue
            }
            let key = event.subject.normalised
            if bySubject[key] == nil { subjects.append(key) }
            bySubject[key, default: []].append(index)
        }
        let processor = self.processor
        func work(_ keys: [LeadKey], rotation: OwnerRotation) async throws -> [(LeadKey, UnitOfWork?, [(Int, IngestOutcome)])] {
            guard !keys.isEmpty else { return [] }
            let snapshots = try await store.snapshots(keys, window: Self.window(at: now))
            let erased = try await self.erased(among: keys.compactMap { key in
                guard snapshots[key] == nil, case .email(let email) = key, bySubject[key]!.contains(where: { events[$0].createsLead }) else { return nil }
                return email
            })
            let controls = try await store.campaignControls()
            let groups = keys.map { key in (key, bySubject[key]!, snapshots[key]) }
            return await Self.inParallel(groups) { key, indices, snapshot -> (LeadKey, UnitOfWork?, [(Int, IngestOutcome)]) in
                var unit = snapshot.map { UnitOfWork($0, base: .version($0.version), rotation: rotation, controls: controls) }
                var results: [(Int, IngestOutcome)] = []
                for index in indices {
                    let event = events[index]
                    if unit == nil {
                        guard event.createsLead, case .email(let email) = event.subject else {
                            results.append((index, .unknownLead))
                            continue
                        }
                        var created = UnitOfWork(newLead: LeadPatch(email: email).newLead(id: LeadPatch.newID(), zones: processor.zones), rotation: rotation, controls: controls)
                        Self.keepForgotten(&created.work, erased: erased)
                        processor.leadCreated(&created.work, now: now)
                        unit = created
                        results.append((index, .created(leadID: created.work.lead.id)))
                    } else {
                        results.append((index, .stored(leadID: unit!.work.lead.id)))
                    }
                    unit!.receive(LeadEvent(event.type, at: Self.asStored(event.at), properties: event.properties), clientID: event.clientID, processor: processor)
                }
                return (key, unit, results)
            }
        }
        for _ in 0..<Self.maxRedos {
            guard !subjects.isEmpty else { break }
            var worked: [(LeadKey, UnitOfWork?, [(Int, IngestOutcome)])]
            let rotation: OwnerRotation
            if let earlier = inFlight {
                inFlight = nil
                rotation = OwnerRotation(next: max(try await store.rotationPosition(), earlier.rotationNext))
                worked = try await work(subjects.filter { !earlier.subjects.contains($0) }, rotation: rotation)
                await earlier.committed()
                worked += try await work(subjects.filter(earlier.subjects.contains), rotation: rotation)
            } else {
                rotation = OwnerRotation(next: try await store.rotationPosition())
                worked = try await work(subjects, rotation: rotation)
            }
            if let notify = computed {
                notify(rotation.next)
                computed = nil
            }
            let committing = worked.filter { $0.1 != nil }
            let commitOutcomes = try await store.commit(committing.map { $0.1!.change }, rotationAdvance: rotation.taken, now: now)
            var redo: Set<LeadKey> = []
            for ((key, _, _), outcome) in zip(committing, commitOutcomes) {
                switch outcome {
                case .committed: break
                case .conflict: redo.insert(key)
                case .duplicateEvent(let clientID):
                    // Stored meanwhile by someone else: that event is a duplicate, the rest are redone.
                    if let index = bySubject[key]!.first(where: { events[$0].clientID == clientID }) {
                        outcomes[index] = .duplicate
                        bySubject[key]!.removeAll { $0 == index }
                    }
                    if !bySubject[key]!.isEmpty { redo.insert(key) }
                }
            }
            for (key, _, results) in worked where !redo.contains(key) {
                for (index, outcome) in results where outcomes[index] == nil { outcomes[index] = outcome }
            }
            subjects = subjects.filter(redo.contains)
        }
        if !subjects.isEmpty { throw LeadKeptChanging(leadIDs: subjects.compactMap(\.text)) }
        if let earlier = inFlight { await earlier.committed() }
        return outcomes.map { $0! }
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
        let reasons = [ComplianceEvent.emailComplained: "complaint", ComplianceEvent.smsOptedOut: "SMS STOP", ComplianceEvent.unsubscribed: "unsubscribed"]
        guard let reason = hardBounce ? "hard bounce" : reasons[event.type], let address = event.subject.address else { return false }
        // A late report about someone forgotten must not write their address down again: the
        // keyed hash already stops everything to it.
        if try await !erased(among: [address]).isEmpty { return true }
        let channel: OutgoingMessage.Channel = event.type == ComplianceEvent.unsubscribed
            ? (event.properties["channel"].flatMap { OutgoingMessage.Channel(rawValue: $0.textValue) } ?? .email)
            : (event.type.hasPrefix("sms") ? .sms : .email)
        let suppression = event.type == ComplianceEvent.unsubscribed ? ComplianceEvent.unsubscribe(on: channel) : Suppression(.all, reason: reason)
        try await store.suppress(address: address, channel: channel, suppression, at: now)
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

    /// Advances every enrollment due at `now`, `batchSize` leads at a time, until none is due or
    /// `stopping` says so (checked between batches, so a shutdown waits for one batch). Each
    /// batch is leased to this process, worked on every core outside any transaction, and
    /// committed under the lease: a lead an event changed meanwhile is read again and redone.
    /// One batch is committed while the next is claimed, read and computed, so the database's
    /// writer and the cores that render work at the same time.
    public func runDue(
        now: Date, batchSize: Int = 256, stopping: @Sendable () -> Bool = { false }, progress: @Sendable (Pass) -> Void = { _ in }
    ) async throws -> Pass {
        let now = Self.asStored(now)
        var pass = Pass()
        var seen: Set<String> = []
        var committing: (leads: Set<String>, task: Task<Int, any Error>)?
        // Owner turns the batch in flight has taken but may not have stored yet.
        var rotationExpected = 0
        // A failure waits for the batch in flight, so no commit outlives the pass that made it.
        func finishing<T>(_ step: () async throws -> T) async throws -> T {
            do { return try await step() } catch {
                if let inFlight = committing { _ = try? await inFlight.task.value }
                throw error
            }
        }
        // The next batch is claimed while the writer is free, before this one's commit starts, so
        // that commit runs while the next batch is read and computed. (Claiming after the commit
        // had started queued the claim behind it, and nothing overlapped.)
        func claim(excluding inFlight: Set<String>) async throws -> [LeadLease] {
            guard !stopping() else { return [] }
            return try await finishing {
                try await store.claimDueLeads(now: now, limit: batchSize, owner: owner, leaseUntil: now.addingTimeInterval(leadLease), excluding: inFlight)
            }
        }
        var leases = try await claim(excluding: [])
        while !leases.isEmpty {
            // A lead still due after its own work ran (a step due at this very instant) waits for the next pass.
            let fresh = leases.filter { !seen.contains($0.leadID) }
            let again = Set(leases.map(\.leadID).filter(seen.contains))
            seen.formUnion(fresh.map(\.leadID))
            let expected = rotationExpected
            let current = leases
            let batch = try await finishing {
                try await dueWork(Dictionary(uniqueKeysWithValues: current.map { ($0.leadID, $0.token) }), again: again, now: now,
                                  rotation: OwnerRotation(next: max(try await store.rotationPosition(), expected)))
            }
            if let previous = committing {
                committing = nil
                pass.messages += try await previous.task.value
            }
            let leads = Set(current.map(\.leadID))
            do {
                leases = fresh.isEmpty ? [] : try await claim(excluding: leads)
            } catch {
                // This batch's work is done: it is committed before the error goes up.
                _ = try? await commitDue(batch, again: again, now: now)
                throw error
            }
            rotationExpected = batch.rotation.next
            committing = (leads, Task { try await self.commitDue(batch, again: again, now: now) })
            pass.leads += fresh.count
            progress(pass)
        }
        if let last = committing {
            committing = nil
            pass.messages += try await last.task.value
        }
        return pass
    }

    private struct DueBatch: Sendable {
        var units: [UnitOfWork]
        var rotation: OwnerRotation
    }

    /// Reads the leased leads and advances, on every core, those whose lease this process still
    /// holds; another worker took over the rest.
    private func dueWork(_ pending: [String: Int], again: Set<String>, now: Date, rotation: OwnerRotation) async throws -> DueBatch {
        let snapshots = try await store.snapshots(pending.keys.sorted().map(LeadKey.id), window: Self.window(at: now))
        // Read after the leads: a resume between the two moves their versions, so this batch cannot commit parked work.
        let controls = try await store.campaignControls()
        let owner = self.owner, processor = self.processor
        let held = pending.compactMap { id, token -> (LeadSnapshot, Int, Bool)? in
            guard let snapshot = snapshots[.id(id)], snapshot.leaseToken == token, snapshot.leaseOwner == owner,
                  let until = snapshot.leaseUntil, until >= now else { return nil }
            return (snapshot, token, again.contains(id))
        }
        let units = await Self.inParallel(held) { snapshot, token, isRepeat in
            var unit = UnitOfWork(snapshot, base: .leased(version: snapshot.version, token: token, owner: owner), rotation: rotation, controls: controls)
            if !isRepeat { processor.advanceDue(&unit.work, now: now) }
            return unit
        }
        return DueBatch(units: units, rotation: rotation)
    }

    /// Commits a batch and redoes the leads that changed meanwhile; returns the messages queued.
    /// A lead that changes on every attempt is left, still leased, to the next pass after its
    /// lease runs out: nothing of it is lost, and the rest of the batch is not held up.
    private func commitDue(_ batch: DueBatch, again: Set<String>, now: Date) async throws -> Int {
        var batch = batch
        var messages = 0
        for attempt in 0..<Self.maxRedos {
            let outcomes = try await store.commit(batch.units.map(\.change), rotationAdvance: batch.rotation.taken, now: now)
            var pending: [String: Int] = [:]
            for (unit, outcome) in zip(batch.units, outcomes) {
                if outcome == .committed {
                    messages += unit.work.newMessages.count
                } else if case .leased(_, let token, _) = unit.base {
                    pending[unit.work.lead.id] = token
                }
            }
            guard !pending.isEmpty, attempt + 1 < Self.maxRedos else { break }
            batch = try await dueWork(pending, again: again, now: now, rotation: OwnerRotation(next: try await store.rotationPosition()))
        }
        return messages
    }
}

extension LeadProcessor {
    /// A lead was just created: record it and enroll it where `lead.created` is an entry,
    /// leaving the first step to the worker so bulk imports stay fast.
    public func leadCreated(_ work: inout LeadWork, now: Date) {
        let event = LeadEvent("lead.created", at: now)
        work.newEvents.append(event)
        work.state.events.append(event)
        // Quiet from the start until it does something: the inactivity entries count from here.
        if work.state.scoring.lastActivityAt == nil { work.state.scoring.lastActivityAt = now }
        for campaign in playbook.campaigns {
            if let entry = EntryRules.entry(of: campaign, firedBy: event) {
                enroll(campaign, trigger: EntryRules.captures(of: entry, from: event), because: "entry \(entry.trigger)", &work, now: now, advance: false)
            }
        }
        rescore(&work, now: now)
        // Set quietly, as an imported attribute is: a new lead's persona is not a change.
        refreshPersona(&work, now: now)
    }
}
