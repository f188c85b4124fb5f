import Foundation
import Synchronization
public import NurtureStorage
import NurtureDSL

/// What every storage backend must do, written against the storage protocols alone, so the
/// SQLite file, SQLite in memory and PostgreSQL run the very same checks. Each check gets a new,
/// empty store; the test targets run every check on every backend.
public enum StorageConformance {
    public struct Check: Sendable {
        public let name: String
        public let run: @Sendable (any LeadStore) async throws -> Void
    }

    public static var names: [String] { checks.map(\.name) }

    public static func run(_ name: String, on store: any LeadStore) async throws {
        guard let check = checks.first(where: { $0.name == name }) else { throw Failure("no conformance check named \(name)") }
        try await check.run(store)
    }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
        init(_ description: String, file: StaticString = #fileID, line: UInt = #line) {
            self.description = "\(file):\(line): \(description)"
        }
    }

    static func expect(_ condition: Bool, _ message: @autoclosure () -> String = "", file: StaticString = #fileID, line: UInt = #line) throws {
        if !condition { throw Failure("expectation failed " + message(), file: file, line: line) }
    }

    static func expect<T: Equatable>(_ actual: T, _ expected: T, file: StaticString = #fileID, line: UInt = #line) throws {
        if actual != expected { throw Failure("got \(actual), expected \(expected)", file: file, line: line) }
    }

    static func required<T>(_ value: T?, file: StaticString = #fileID, line: UInt = #line) throws -> T {
        guard let value else { throw Failure("expected a value, found nil", file: file, line: line) }
        return value
    }

    static func expectThrows(file: StaticString = #fileID, line: UInt = #line, _ body: () async throws -> Void) async throws {
        do { try await body() } catch { return }
        throw Failure("expected an error, none was thrown", file: file, line: line)
    }

    // MARK: - Fixtures

    static let t0 = Date(timeIntervalSince1970: 1_795_000_000)   // 2026-11-18
    static let window = HistoryWindow(eventsSince: t0.addingTimeInterval(-180 * 86_400), sendsSince: t0.addingTimeInterval(-14 * 86_400))

    static func lead(_ email: String, id: String? = nil, edit: (inout Lead) -> Void = { _ in }) -> Lead {
        var lead = Lead(id: id ?? "lead_" + email.prefix { $0 != "@" }.lowercased(), email: email, firstName: "Ana", timeZone: "Europe/Lisbon")
        edit(&lead)
        return lead
    }

    static func message(_ id: String, leadID: String, at: Date = t0, address: String = "ana@example.com", channel: MessageChannel = .email,
                        campaign: String = "welcome", transactional: Bool = false) -> OutboxMessage {
        OutboxMessage(id: id, leadID: leadID, campaignID: campaign, stepID: "a", channel: channel, address: address, variant: nil,
                      subject: "Hi", preview: "Hello", payload: #"{"id":"\#(id)"}"#, isTransactional: transactional, createdAt: at)
    }

    static func enrollment(_ leadID: String, wake: Date? = t0) -> Enrollment {
        var enrollment = Enrollment(leadID: leadID, campaignID: "welcome", firstStep: "a", enrolledAt: t0)
        enrollment.wakeAt = wake
        return enrollment
    }

    /// Inserts a new lead (with a due enrollment unless `due` is false) and returns its snapshot.
    @discardableResult
    static func insert(_ store: any LeadStore, _ lead: Lead, due: Bool = true, events: [NewEvent] = [LeadEvent("lead.created", at: t0)].map { NewEvent($0) },
                       messages: [OutboxMessage] = []) async throws -> LeadSnapshot {
        let change = LeadChange(base: .new, lead: lead, scoring: ScoreSnapshot(), leadChanged: true,
                                enrollments: due ? [enrollment(lead.id)] : [], events: events, messages: messages)
        try expect(try await store.commit([change], rotationAdvance: 0, now: t0), [.committed])
        return try await snapshot(store, .id(lead.id))
    }

    static func snapshot(_ store: any LeadStore, _ key: LeadKey, file: StaticString = #fileID, line: UInt = #line) async throws -> LeadSnapshot {
        guard let found = try await store.snapshots([key], window: window)[key] else { throw Failure("no lead for \(key)", file: file, line: line) }
        return found
    }

    /// A change to an existing lead at the version of `snapshot`.
    static func change(_ snapshot: LeadSnapshot, _ edit: (inout LeadChange) -> Void = { _ in }) -> LeadChange {
        var change = LeadChange(base: .version(snapshot.version), lead: snapshot.lead, scoring: snapshot.scoring, leadChanged: false)
        edit(&change)
        return change
    }

    static func commit(_ store: any LeadStore, _ changes: [LeadChange], now: Date = t0) async throws -> [CommitOutcome] {
        try await store.commit(changes, rotationAdvance: 0, now: now)
    }

    // MARK: - The checks

    public static let checks: [Check] = leads + dueWork + outbox + reads + settings + counting + controls + deployments

    static func deployment(_ campaigns: [PlaybookShape.CampaignShape], at: Date = t0) -> PlaybookDeployment {
        PlaybookDeployment(shape: PlaybookShape(campaigns: campaigns, templates: [:]), at: at, by: "check")
    }

    static let deployments: [Check] = [
        Check(name: "a deployment is recorded once per expected predecessor, and moves each lead once") { store in
            try expect(try await store.currentDeployment() == nil, true)
            // Leads on wait-1, wait-2, a removed step, a step removed with exit, and a last step.
            let steps = ["wait-1", "wait-2", "gone", "dropped", "last"]
            for (index, step) in steps.enumerated() {
                let inserted = try await insert(store, lead("lead\(index)@example.com"), due: false)
                var enrollment = Enrollment(leadID: inserted.lead.id, campaignID: "welcome", firstStep: step, enrolledAt: t0)
                enrollment.phase = .waiting
                enrollment.wakeAt = t0.addingTimeInterval(86_400)
                try expect(try await commit(store, [change(inserted) { $0.enrollments = [enrollment] }]), [.committed])
            }
            let occupancy = try await store.stepOccupancy()
            try expect(occupancy.map(\.stepID).sorted(), steps.sorted())
            try expect(occupancy.allSatisfy { $0.count == 1 && $0.phase == .waiting && $0.campaignID == "welcome" }, true)

            let first = deployment([PlaybookShape.CampaignShape(id: "welcome", name: "Welcome", kind: "welcome", steps: [])])
            try expect(try await store.recordDeployment(first, replacing: "someone-else", moves: []), false)
            try expect(try await store.recordDeployment(first, replacing: nil, moves: []), true)
            try expect(try await store.recordDeployment(first, replacing: nil, moves: []), false)
            try expect(try await store.currentDeployment()?.fingerprint, first.fingerprint)

            let before = try await snapshot(store, .id("lead_lead0"))
            let later = t0.addingTimeInterval(3_600)
            let second = deployment([PlaybookShape.CampaignShape(id: "welcome", name: "Welcome series", kind: "welcome", steps: [])], at: later)
            // A rename chain: each lead moves once, not along the chain.
            let moves = [
                StepMove(campaignID: "welcome", stepID: "wait-1", action: .rename(to: "wait-2")),
                StepMove(campaignID: "welcome", stepID: "wait-2", action: .rename(to: "wait-3")),
                StepMove(campaignID: "welcome", stepID: "gone", action: .restart(at: "last")),
                StepMove(campaignID: "welcome", stepID: "dropped", action: .exit(reason: "step dropped removed")),
                StepMove(campaignID: "welcome", stepID: "last", action: .complete),
            ]
            try expect(try await store.recordDeployment(second, replacing: first.fingerprint, moves: moves), true)
            try expect(try await store.currentDeployment()?.shape.campaigns.first?.name, "Welcome series")
            func enrollment(_ index: Int) async throws -> Enrollment { try required(try await snapshot(store, .id("lead_lead\(index)")).enrollments.first) }
            let renamed = try await enrollment(0)
            try expect(renamed.stepID, "wait-2")
            try expect(renamed.phase, .waiting)
            try expect(renamed.wakeAt, t0.addingTimeInterval(86_400))
            try expect(try await enrollment(1).stepID, "wait-3")
            let restarted = try await enrollment(2)
            try expect(restarted.stepID, "last")
            try expect(restarted.phase, .ready)
            try expect(restarted.wakeAt, later)
            let exited = try await enrollment(3)
            try expect(exited.status, .exited)
            try expect(exited.endReason, "step dropped removed")
            try expect(exited.stepID, "dropped")
            let completed = try await enrollment(4)
            try expect(completed.status, .completed)
            try expect(completed.endedAt, later)
            // Work computed before the deployment cannot commit over it.
            try expect(try await snapshot(store, .id("lead_lead0")).version > before.version, true)
            try expect(try await commit(store, [change(before) { $0.leadChanged = true }]), [.conflict])
            try expect(try await store.dueLeadIDs(at: later, limit: 10), ["lead_lead2"])
            let counters = try await store.campaignCounters(CounterFilter(campaignID: "welcome"))
            try expect(counters.filter { $0.metric == "exited" && $0.detail == "step dropped removed" }.map(\.count).reduce(0, +), 1)
        },
        Check(name: "a lead's zone is kept with where it came from, and counted by source") { store in
            _ = try await insert(store, lead("ana@example.com") { ($0.timeZone, $0.timeZoneSource) = ("America/Chicago", .countryGuess) })
            _ = try await insert(store, lead("ben@example.com"))
            try expect(try await snapshot(store, .email("ana@example.com")).lead.timeZoneSource, .countryGuess)
            try expect(try await store.lead(email: "ben@example.com")?.timeZoneSource, .given)
            var changed = try await snapshot(store, .email("ana@example.com"))
            changed.lead.timeZoneSource = .given
            let change = LeadChange(base: .version(changed.version), lead: changed.lead, scoring: changed.scoring, leadChanged: true)
            try expect(try await store.commit([change], rotationAdvance: 0, now: t0), [.committed])
            try expect(try await store.lead(id: changed.lead.id)?.timeZoneSource, .given)
            try expect(try await store.timeZoneSources(), [.given: 2])
        },
        Check(name: "forgetting a lead deletes it and what names it, and keeps a number another lead shares suppressed") { store in
            _ = try await insert(store, lead("ana@example.com") { $0.phone = "+351912345678" })
            _ = try await insert(store, lead("ben@example.com") { $0.phone = "+351912345678" })
            try await store.suppress(address: "+351912345678", channel: .sms, Suppression(.all, reason: "SMS STOP"), at: t0)
            try await store.suppress(address: "ana@example.com", channel: .email, Suppression(.marketing, reason: "unsubscribed"), at: t0)
            let hashed = SuppressionChange(address: "erased:00ff", channel: .email, suppression: Suppression(.all, reason: "asked to be forgotten"))
            let counts = try await store.forget(leadID: "lead_ana", suppressing: [hashed], audit: PrivacyAudit(action: .forget, leadID: "lead_ana", actor: "test", at: t0))
            try expect(counts?.events, 1)
            try expect(counts?.suppressions, 1)
            try expect(try await store.lead(id: "lead_ana") == nil, "the lead is gone")
            try expect(try await store.latestEvents(leadID: "lead_ana", limit: 10).isEmpty, "its events are gone")
            try expect(try await store.suppressions(address: "ana@example.com"), [:])
            try expect(try await store.suppressions(address: "+351912345678")[.sms]?.reason, "SMS STOP")
            try expect(try await store.suppressedAddresses(among: ["erased:00ff", "erased:11aa"]), ["erased:00ff"])
            try expect(try await store.privacyRequests(limit: 5).map(\.action), [.forget])
            try expect(try await store.privacyRequests(limit: 5).first?.counts?.events, 1)
            try expect(try await store.forget(leadID: "lead_ana", suppressing: [], audit: PrivacyAudit(action: .forget, leadID: "lead_ana", actor: "test", at: t0)) == nil,
                       "a second erasure finds nothing")
        },
        Check(name: "two first suppressions of one address at once keep the wider") { store in
            for n in 0..<20 {
                let address = "race\(n)@example.com"
                async let complaint: Void = store.suppress(address: address, channel: .email, Suppression(.all, reason: "complaint"), at: t0)
                async let unsubscribe: Void = store.suppress(address: address, channel: .email, Suppression(.marketing, reason: "unsubscribed"), at: t0)
                _ = try await (complaint, unsubscribe)
                try expect(try await store.suppressions(address: address)[.email]?.scope, .all)
            }
        },
        Check(name: "processes announce themselves, refresh, and withdraw") { store in
            let worker = PlaybookProcess(id: "w1", fingerprint: "abc", role: "worker", host: "h", pid: 7, startedAt: t0, seenAt: t0)
            try await store.announce(worker)
            var later = worker
            later.seenAt = t0.addingTimeInterval(10)
            try await store.announce(later)
            try await store.announce(PlaybookProcess(id: "w2", fingerprint: "def", role: "server", host: "h", pid: 8, startedAt: t0.addingTimeInterval(1), seenAt: t0.addingTimeInterval(1)))
            let listed = try await store.processes()
            try expect(listed.map(\.id), ["w1", "w2"])
            try expect(listed[0].seenAt, t0.addingTimeInterval(10))
            try expect(listed[0].isLive(at: t0.addingTimeInterval(30)), true)
            try expect(listed[0].isLive(at: t0.addingTimeInterval(60)), false)
            try await store.withdraw(processID: "w1")
            try expect(try await store.processes().map(\.id), ["w2"])
        },
    ]

    static let controls: [Check] = [
        Check(name: "a paused campaign's due work and queued messages wait in place, and come back exactly on resume") { store in
            let ana = try await insert(store, lead("ana@example.com"), messages: [message("msg_1", leadID: "lead_ana")])
            let ben = try await insert(store, lead("ben@example.com"), due: false,
                                       messages: [message("msg_2", leadID: "lead_ben", address: "ben@example.com", campaign: "nurture")])
            var nurture = Enrollment(leadID: "lead_ben", campaignID: "nurture", firstStep: "a", enrolledAt: t0)
            nurture.wakeAt = t0
            try expect(try await commit(store, [change(ben) { $0.enrollments = [nurture] }]), [.committed])
            let due = try await store.dueLeadIDs(at: t0, limit: 10)
            try expect(due.sorted(), ["lead_ana", "lead_ben"])
            try expect(try await store.pauseCampaign(CampaignPause(campaignID: "welcome", at: t0, reason: "checking", by: "cli")), true)
            try expect(try await store.pauseCampaign(CampaignPause(campaignID: "welcome", at: t0, reason: "again", by: "cli")), false)
            // Nothing of the paused campaign is due or claimable, however late it gets; the other campaign goes on.
            let later = t0.addingTimeInterval(30 * 86_400)
            try expect(try await store.dueLeadIDs(at: later, limit: 10), ["lead_ben"])
            try expect(try await store.claimMessages(now: later, limit: 10, owner: "w", leaseUntil: later.addingTimeInterval(30)).map(\.id), ["msg_2"])
            // Work read before the pause cannot commit over it.
            try expect(try await commit(store, [change(ana) { $0.leadChanged = true }]), [.conflict])
            let controls = try await store.campaignControls()
            try expect(controls.pauses["welcome"]?.reason, "checking")
            try expect(controls.pauses["welcome"]?.noticeSentAt == nil, true)
            try await store.markPauseNoticeSent(campaignID: "welcome", at: t0)
            try expect(try await store.campaignControls().pauses["welcome"]?.noticeSentAt != nil, true)

            let parked = try await snapshot(store, .id("lead_ana"))
            try expect(try await store.resumeCampaign(CampaignJournalEntry(campaignID: "welcome", type: "campaign.resumed", at: later, properties: ["sent": 0])), true)
            try expect(try await store.resumeCampaign(CampaignJournalEntry(campaignID: "welcome", type: "campaign.resumed", at: later)), false)
            let resumed = try await snapshot(store, .id("lead_ana"))
            try expect(resumed.version > parked.version, true)
            try expect(abs((resumed.enrollments[0].wakeAt ?? .distantFuture).timeIntervalSince(t0)) < 0.001, true)
            try expect(try await store.claimMessages(now: later, limit: 10, owner: "w", leaseUntil: later.addingTimeInterval(30)).map(\.id), ["msg_1"])
            let journal = try await store.campaignJournal(campaignID: "welcome", limit: 10)
            try expect(journal.map(\.type), ["campaign.resumed", "campaign.paused"])
            try expect(try await store.campaignControls().resumes["welcome"]?.at, later)
        },
        Check(name: "work parked under a campaign no longer paused is moved back; a paused campaign's stays") { store in
            // Work that read "paused" just before a resume enrolled a new lead and parked it.
            try await insert(store, lead("ana@example.com"), due: false)
            var stale = Enrollment(leadID: "lead_ana", campaignID: "welcome", firstStep: "a", enrolledAt: t0)
            stale.wakeAt = CampaignPause.parked(t0)
            var held = Enrollment(leadID: "lead_ana", campaignID: "nurture", firstStep: "a", enrolledAt: t0)
            held.wakeAt = CampaignPause.parked(t0)
            try expect(try await store.pauseCampaign(CampaignPause(campaignID: "nurture", at: t0, reason: "x", by: "cli")), true)
            try expect(try await commit(store, [change(try await snapshot(store, .id("lead_ana"))) { $0.enrollments = [stale, held] }]), [.committed])
            try expect(try await store.dueLeadIDs(at: t0, limit: 10), [])
            try expect(try await store.unparkUnpaused(), 1)
            try expect(try await store.dueLeadIDs(at: t0, limit: 10), ["lead_ana"])
            let after = try await snapshot(store, .id("lead_ana"))
            try expect(after.enrollments.first { $0.campaignID == "nurture" }.map { CampaignPause.isParked($0.wakeAt ?? t0) }, true)
            try expect(try await store.unparkUnpaused(), 0)
        },
        Check(name: "a message queued after a pause is parked at its claim, not sent") { store in
            try await insert(store, lead("ana@example.com"), due: false, messages: [message("msg_1", leadID: "lead_ana")])
            try expect(try await store.pauseCampaign(CampaignPause(campaignID: "other", at: t0, reason: "x", by: "cli")), true)
            // The pause of another campaign holds nothing of this one.
            try expect(try await store.claimMessages(now: t0, limit: 10, owner: "w", leaseUntil: t0.addingTimeInterval(30)).map(\.id), ["msg_1"])
            try expect(try await store.finish([FinishedAttempt(messageID: "msg_1", attempt: 1, result: .sent)], owner: "w", now: t0), [true])
            // A message written by work that read before the pause (parking did not see it) is parked at its claim.
            try expect(try await store.pauseCampaign(CampaignPause(campaignID: "welcome", at: t0, reason: "x", by: "cli")), true)
            let fresh = try await snapshot(store, .id("lead_ana"))
            try expect(try await commit(store, [change(fresh) { $0.messages = [message("msg_2", leadID: "lead_ana")] }]), [.committed])
            try expect(try await store.claimMessages(now: t0, limit: 10, owner: "w", leaseUntil: t0.addingTimeInterval(30)).map(\.id), [])
            try expect(try await store.message(id: "msg_2")?.status, .pending)
            try expect(try await store.resumeCampaign(CampaignJournalEntry(campaignID: "welcome", type: "campaign.resumed", at: t0)), true)
            try expect(try await store.claimMessages(now: t0, limit: 10, owner: "w", leaseUntil: t0.addingTimeInterval(30)).map(\.id), ["msg_2"])
        },
        Check(name: "entries and endings count under their holdout arm, and the counters equal a recount") { store in
            let ana = try await insert(store, lead("ana@example.com"), due: false)
            let ben = try await insert(store, lead("ben@example.com"), due: false)
            func enrolled(_ leadID: String, arm: String) -> Enrollment {
                var enrollment = Enrollment(leadID: leadID, campaignID: "nurture", firstStep: "a", enrolledAt: t0)
                enrollment.variants = [Enrollment.armKey: arm, "a": "B"]
                return enrollment
            }
            var held = enrolled("lead_ana", arm: Enrollment.holdoutArm)
            try expect(try await commit(store, [change(ana) { $0.enrollments = [held] }, change(ben) { $0.enrollments = [enrolled("lead_ben", arm: Enrollment.treatmentArm)] }]),
                       [.committed, .committed])
            held.status = .exited
            held.endReason = "goal reached: demo.booked"
            held.endedAt = t0
            try expect(try await commit(store, [change(try await snapshot(store, .id("lead_ana"))) { $0.enrollments = [held] }]), [.committed])
            let counted = try await store.campaignCounters(CounterFilter(campaignID: "nurture"))
            try expect(counted.filter { $0.metric == "entered" }.map(\.variant).sorted(), [Enrollment.holdoutArm, Enrollment.treatmentArm])
            try expect(counted.first { $0.metric == "exited" }?.variant, Enrollment.holdoutArm)
            try expect(CampaignCounter.merged(counted), CampaignCounter.merged(try await store.recountedCampaignCounters().filter { $0.campaignID == "nurture" }))
        },
        Check(name: "a split's first decision stands and is journalled") { store in
            let first = ExperimentDecision(campaignID: "welcome", stepID: "welcome-3", variant: "B", at: t0, by: "auto", figures: ["B.sent": 400])
            try expect(try await store.decideExperiment(first), true)
            try expect(try await store.decideExperiment(ExperimentDecision(campaignID: "welcome", stepID: "welcome-3", variant: "A", at: t0, by: "cli")), false)
            try expect(try await store.campaignControls().decisions["welcome"]?["welcome-3"], first)
            let journal = try await store.campaignJournal(campaignID: nil, limit: 10)
            try expect(journal.map(\.type), ["experiment.decided"])
            try expect(journal[0].properties["variant"], "B")
            try expect(journal[0].properties["B.sent"], 400)
        },
    ]

    static let counting: [Check] = [
        Check(name: "every fact is counted once, in its transaction, and the counters equal a recount") { store in
            // Two leads enter; one exits on a goal, one completes.
            let ana = try await insert(store, lead("ana@example.com"), messages: [
                message("msg_1", leadID: "lead_ana"), message("msg_2", leadID: "lead_ana"), message("msg_3", leadID: "lead_ana"),
            ])
            let ben = try await insert(store, lead("ben@example.com"), messages: [message("msg_4", leadID: "lead_ben", address: "ben@example.com")])
            var exited = ana.enrollments[0]
            exited.status = .exited
            exited.endReason = "demo.booked"
            exited.endedAt = t0.addingTimeInterval(86_400)
            var completed = ben.enrollments[0]
            completed.status = .completed
            completed.endedAt = t0.addingTimeInterval(86_400)
            try expect(try await commit(store, [change(ana) { $0.enrollments = [exited] }, change(ben) { $0.enrollments = [completed] }]),
                       [.committed, .committed])
            // A claim: msg_4's address is suppressed; the rest go out, one sent, one dead, one retried.
            try await store.suppress(address: "ben@example.com", channel: .email, Suppression(.all, reason: "unsubscribed"), at: t0)
            let claimed = try await store.claimMessages(now: t0, limit: 10, owner: "w", leaseUntil: t0.addingTimeInterval(30))
            try expect(claimed.map(\.id).sorted(), ["msg_1", "msg_2", "msg_3"])
            try expect(try await store.finish([
                FinishedAttempt(messageID: "msg_1", attempt: 1, result: .sent), FinishedAttempt(messageID: "msg_2", attempt: 1, result: .dead(error: "HTTP 404")),
                FinishedAttempt(messageID: "msg_3", attempt: 1, result: .retry(at: t0.addingTimeInterval(600), error: "HTTP 503")),
            ], owner: "w", now: t0.addingTimeInterval(5)), [true, true, true])
            // The provider reports a delivery; two opens and two clicks of one message count once each.
            let later = try await snapshot(store, .id("lead_ana"))
            let engaged = [
                NewEvent(LeadEvent("email.opened", at: t0.addingTimeInterval(60), properties: ["message": "msg_1"]), clientID: "open-1"),
                NewEvent(LeadEvent("email.opened", at: t0.addingTimeInterval(70), properties: ["message": "msg_1"]), clientID: "open-2"),
                NewEvent(LeadEvent("email.clicked", at: t0.addingTimeInterval(80), properties: ["message": "msg_1", "url": "https://a.example"]), clientID: "click-1"),
                NewEvent(LeadEvent("email.clicked", at: t0.addingTimeInterval(90), properties: ["message": "msg_1", "url": "https://b.example"]), clientID: "click-2"),
            ]
            try expect(try await commit(store, [change(later) { $0.events = engaged; $0.deliveries = ["msg_1": "delivered"] }]), [.committed])
            // A change refused for its version counts nothing.
            try expect(try await commit(store, [change(later) { $0.messages = [message("msg_5", leadID: "lead_ana")] }]), [.conflict])
            // An open that names only its step (a provider's report) marks the lead's message of that step.
            let cleo = try await insert(store, lead("cleo@example.com"), messages: [message("msg_6", leadID: "lead_cleo", address: "cleo@example.com")])
            let stepOnly = NewEvent(LeadEvent("email.opened", at: t0.addingTimeInterval(100), properties: ["step": "a"]), clientID: "open-step")
            try expect(try await commit(store, [change(cleo) { $0.events = [stepOnly] }]), [.committed])

            let counters = try await store.campaignCounters(CounterFilter())
            try expect(counters, try await store.recountedCampaignCounters())
            func total(_ metric: String, detail: String? = nil) -> Int {
                counters.filter { $0.metric == metric && (detail == nil || $0.detail == detail) }.map(\.count).reduce(0, +)
            }
            try expect(total("entered"), 3)
            try expect(total("exited", detail: "demo.booked"), 1)
            try expect(total("completed"), 1)
            try expect(total("queued"), 5)
            try expect(total("sent"), 1)
            try expect(total("dead"), 1)
            try expect(total("suppressed"), 1)
            try expect(total("delivered"), 1)
            try expect(total("opened"), 2)
            try expect(total("clicked"), 1)
            try expect(counters.filter { $0.metric == "exited" }.map(\.day), ["2026-11-19"])
            try expect(Set(counters.filter { $0.metric == "sent" }.map(\.stepID)), ["a"])
            // Filters: one campaign, a range of days.
            try expect(try await store.campaignCounters(CounterFilter(campaignID: "nurture")), [])
            try expect(try await store.campaignCounters(CounterFilter(since: "2026-11-19")).map(\.metric).sorted(), ["completed", "exited"])
            try expect(try await store.campaignCounters(CounterFilter(until: "2026-11-18")).contains { $0.metric == "exited" }, false)
        },
    ]

    static let leads: [Check] = [
        Check(name: "leads are found by id, by email whatever its case, and by phone") { store in
            try await insert(store, lead("ana@example.com") { $0.phone = "+351912345678" })
            let byEmail = try await store.snapshots([.email("ANA@Example.com"), .email("nobody@example.com")], window: window)
            try expect(byEmail.keys.sorted { "\($0)" < "\($1)" }, [.email("ANA@Example.com")])
            try expect(byEmail[.email("ANA@Example.com")]?.lead.id, "lead_ana")
            try expect(try await snapshot(store, .phone("+351912345678")).lead.id, "lead_ana")
            try expect(try await store.lead(id: "lead_ana")?.email, "ana@example.com")
            try expect(try await store.lead(email: "Ana@example.com")?.id, "lead_ana")
            try expect(try await store.counts().leads, 1)
        },
        Check(name: "a batch of snapshots gives each lead its own history, enrollments and suppressions") { store in
            // Stores read a batch with one query per table; nothing of one lead may reach another.
            let old = t0.addingTimeInterval(-200 * 86_400)
            try await insert(store, lead("ana@example.com") { $0.phone = "+351912345678" },
                             events: [NewEvent(LeadEvent("page.viewed", at: old)), NewEvent(LeadEvent("lead.created", at: t0)),
                                      NewEvent(LeadEvent("page.viewed", at: t0.addingTimeInterval(60), properties: ["path": "/pricing"]))],
                             messages: [message("msg_a1", leadID: "lead_ana"),
                                        message("msg_a2", leadID: "lead_ana", at: t0.addingTimeInterval(-30 * 86_400)),
                                        message("msg_a3", leadID: "lead_ana", campaign: OutboxMessage.systemCampaign)])
            try await insert(store, lead("ben@example.com"), due: false,
                             events: [NewEvent(LeadEvent("form.submitted", at: t0))],
                             messages: [message("msg_b1", leadID: "lead_ben", address: "ben@example.com", channel: .sms, campaign: "nurture")])
            try await insert(store, lead("cy@example.com"), events: [])
            var second = enrollment("lead_ana")
            second.campaignID = "nurture"
            second.enrolledAt = t0.addingTimeInterval(10)
            let ana = try await snapshot(store, .id("lead_ana"))
            try expect(try await commit(store, [change(ana) { $0.enrollments = [second] }]), [.committed])
            try await store.suppress(address: "+351912345678", channel: .sms, Suppression(.all, reason: "SMS STOP"), at: t0)
            try await store.suppress(address: "BEN@example.com", channel: .email, Suppression(.all, reason: "complaint"), at: t0)

            let keys: [LeadKey] = [.id("lead_ana"), .email("Ben@Example.com"), .id("lead_cy"), .id("lead_nobody"), .phone("+351912345678")]
            let batch = try await store.snapshots(keys, window: window)
            try expect(Set(batch.keys), Set([.id("lead_ana"), .email("Ben@Example.com"), .id("lead_cy"), .phone("+351912345678")]))
            let readAna = try required(batch[.id("lead_ana")])
            try expect(readAna.events.map(\.type), ["lead.created", "page.viewed"])
            try expect(readAna.events.last?.properties, ["path": "/pricing"])
            try expect(readAna.sends.map(\.at), [t0])
            try expect(readAna.enrollments.map(\.campaignID), ["welcome", "nurture"])
            try expect(readAna.suppressions, [.sms: Suppression(.all, reason: "SMS STOP")])
            try expect(batch[.phone("+351912345678")]?.lead.id, "lead_ana")
            let readBen = try required(batch[.email("Ben@Example.com")])
            try expect(readBen.lead.id, "lead_ben")
            try expect(readBen.events.map(\.type), ["form.submitted"])
            try expect(readBen.sends, [SendRecord(channel: .sms, at: t0, isTransactional: false, campaignID: "nurture", stepID: "a")])
            try expect(readBen.enrollments, [])
            try expect(readBen.suppressions, [.email: Suppression(.all, reason: "complaint")])
            let readCy = try required(batch[.id("lead_cy")])
            try expect(readCy.events, [])
            try expect(readCy.sends, [])
            try expect(readCy.enrollments.map(\.leadID), ["lead_cy"])
            try expect(readCy.suppressions, [:])
        },
        Check(name: "a new lead whose email was taken meanwhile is a conflict") { store in
            try await insert(store, lead("ana@example.com"))
            let again = LeadChange(base: .new, lead: lead("ANA@example.com", id: "lead_other"), scoring: ScoreSnapshot(), leadChanged: true,
                                   events: [NewEvent(LeadEvent("lead.created", at: t0))])
            try expect(try await commit(store, [again]), [.conflict])
            try expect(try await store.counts().leads, 1)
            try expect(try await store.counts().events, 1)
        },
        Check(name: "a commit at the version read writes everything together and moves the version") { store in
            let read = try await insert(store, lead("ana@example.com"))
            try expect(read.enrollments.map(\.stepID), ["a"])
            try expect(read.events.map(\.type), ["lead.created"])
            var moved = read.enrollments[0]
            moved.stepID = "b"
            moved.phase = .waiting
            moved.wakeAt = t0.addingTimeInterval(86_400)
            var changed = read.lead
            changed.score = 12
            let outcome = try await commit(store, [change(read) {
                $0.lead = changed
                $0.leadChanged = true
                $0.enrollments = [moved]
                $0.messages = [message("msg_1", leadID: read.lead.id)]
                $0.events = [NewEvent(LeadEvent("sales.notified", at: t0, properties: ["note": "hot"]))]
            }])
            try expect(outcome, [.committed])
            let after = try await snapshot(store, .id(read.lead.id))
            try expect(after.version != read.version, "the version moved")
            try expect(after.lead.score, 12)
            try expect(after.enrollments.map(\.stepID), ["b"])
            try expect(after.events.map(\.type), ["lead.created", "sales.notified"])
            try expect(after.events.last?.properties, ["note": "hot"])
            try expect(after.sends, [SendRecord(channel: .email, at: t0, isTransactional: false, campaignID: "welcome", stepID: "a")])
            try expect(try await store.dueLeadIDs(at: t0, limit: 10), [])
            try expect(try await store.dueLeadIDs(at: t0.addingTimeInterval(86_400), limit: 10), [read.lead.id])
            try expect(try await store.messages(status: .pending, limit: 10).map(\.id), ["msg_1"])
        },
        Check(name: "a commit at a version that moved meanwhile is refused and writes nothing") { store in
            let read = try await insert(store, lead("ana@example.com"))
            let first = change(read) { $0.events = [NewEvent(LeadEvent("page.viewed", at: t0))] }
            var renamed = read.lead
            renamed.firstName = "Stale"
            let stale = change(read) {
                $0.lead = renamed
                $0.leadChanged = true
                $0.events = [NewEvent(LeadEvent("stale.event", at: t0))]
                $0.messages = [message("msg_stale", leadID: read.lead.id)]
            }
            try expect(try await commit(store, [first, stale]), [.committed, .conflict])
            let after = try await snapshot(store, .id(read.lead.id))
            try expect(after.lead.firstName, "Ana")
            try expect(after.events.map(\.type), ["lead.created", "page.viewed"])
            try expect(try await store.message(id: "msg_stale") == nil, "the stale commit's message was not written")
        },
        Check(name: "an event id is stored once: a change holding a stored one writes nothing") { store in
            let read = try await insert(store, lead("ana@example.com"))
            let first = change(read) { $0.events = [NewEvent(LeadEvent("page.viewed", at: t0), clientID: "evt-1")] }
            try expect(try await commit(store, [first]), [.committed])
            try expect(try await store.storedEventIDs(["evt-1", "evt-2"]), ["evt-1"])
            let again = try await snapshot(store, .id(read.lead.id))
            var scored = again.lead
            scored.score = 99
            let duplicate = change(again) {
                $0.lead = scored
                $0.leadChanged = true
                $0.events = [NewEvent(LeadEvent("page.viewed", at: t0), clientID: "evt-2"), NewEvent(LeadEvent("page.viewed", at: t0), clientID: "evt-1")]
            }
            try expect(try await commit(store, [duplicate]), [.duplicateEvent(clientID: "evt-1")])
            let after = try await snapshot(store, .id(read.lead.id))
            try expect(after.lead.score, 0)
            try expect(after.version, again.version)
            try expect(try await store.storedEventIDs(["evt-2"]), [])
            // In a batch, the duplicate's change alone writes nothing; the others go through.
            let ben = try await insert(store, lead("ben@example.com"))
            let cleo = try await insert(store, lead("cleo@example.com"))
            let batch = [
                duplicate,
                change(ben) { $0.events = [NewEvent(LeadEvent("page.viewed", at: t0), clientID: "evt-3")] },
                change(cleo) { $0.events = [NewEvent(LeadEvent("page.viewed", at: t0), clientID: "evt-4")] },
            ]
            try expect(try await commit(store, batch), [.duplicateEvent(clientID: "evt-1"), .committed, .committed])
            try expect(try await store.storedEventIDs(["evt-2", "evt-3", "evt-4"]), ["evt-3", "evt-4"])
            // Two changes of one batch carrying one new id: the first stores it, the second is its duplicate.
            let benAgain = try await snapshot(store, .id(ben.lead.id)), cleoAgain = try await snapshot(store, .id(cleo.lead.id))
            let twice = [
                change(benAgain) { $0.events = [NewEvent(LeadEvent("page.viewed", at: t0), clientID: "evt-5")] },
                change(cleoAgain) { $0.events = [NewEvent(LeadEvent("page.viewed", at: t0), clientID: "evt-5")] },
            ]
            let eventsBefore = try await store.counts().events
            let outcomes = try await commit(store, twice)
            try expect(outcomes.filter { $0 == .committed }.count, 1)
            try expect(outcomes.filter { $0 == .duplicateEvent(clientID: "evt-5") }.count, 1)
            try expect(try await store.counts().events, eventsBefore + 1)
        },
        Check(name: "a string with NUL is refused, never stored cut") { store in
            let read = try await insert(store, lead("ana@example.com"))
            try await expectThrows { _ = try await commit(store, [LeadChange(base: .new, lead: lead("ben@example.com") { $0.firstName = "Ben\u{0}Evil" }, scoring: ScoreSnapshot(), leadChanged: true)]) }
            try expect(try await store.lead(email: "ben@example.com") == nil, "nothing stored for ben")
            try await expectThrows { _ = try await commit(store, [change(read) { $0.events = [NewEvent(LeadEvent("page.viewed", at: t0), clientID: "a\u{0}b")] }]) }
            try await expectThrows { _ = try await store.storedEventIDs(["a\u{0}b"]) }
            try expect(try await store.counts().events, 1)
        },
        Check(name: "the same message id is stored once") { store in
            var read = try await insert(store, lead("ana@example.com"))
            for _ in 0..<3 {
                try expect(try await commit(store, [change(read) { $0.messages = [message("msg_same", leadID: read.lead.id)] }]), [.committed])
                read = try await snapshot(store, .id(read.lead.id))
            }
            try expect(try await store.messages(status: nil, limit: 10).count, 1)
        },
        Check(name: "suppressions belong to addresses and are seen by the lead's snapshot") { store in
            let read = try await insert(store, lead("ana@example.com") { $0.phone = "+351912345678" })
            let unsubscribed = Suppression(.marketing, reason: "unsubscribed")
            try await store.suppress(address: "ANA@example.com", channel: .email, unsubscribed, at: t0)
            try expect(try await store.suppressions(address: "ana@example.com"), [.email: unsubscribed])
            try expect(try await snapshot(store, .id(read.lead.id)).suppressions, [.email: unsubscribed])
            let stop = Suppression(.all, reason: "SMS STOP")
            let lift = change(try await snapshot(store, .id(read.lead.id))) {
                $0.suppressions = [SuppressionChange(address: "ana@example.com", channel: .email, suppression: nil),
                                   SuppressionChange(address: "+351912345678", channel: .sms, suppression: stop)]
            }
            try expect(try await commit(store, [lift]), [.committed])
            try expect(try await snapshot(store, .id(read.lead.id)).suppressions, [.sms: stop])
        },
        Check(name: "a suppression added over another keeps the wider scope, and kinds gather") { store in
            try await store.suppress(address: "ben@example.com", channel: .email, Suppression(.kinds(["nurture"]), reason: "opted out"), at: t0)
            try await store.suppress(address: "ben@example.com", channel: .email, Suppression(.kinds(["engagement"]), reason: "opted out"), at: t0)
            try expect(try await store.suppressions(address: "ben@example.com")[.email], Suppression(.kinds(["nurture", "engagement"]), reason: "opted out"))
            try await store.suppress(address: "ben@example.com", channel: .email, Suppression(.marketing, reason: "unsubscribed"), at: t0)
            try await store.suppress(address: "ben@example.com", channel: .email, Suppression(.kinds(["welcome"]), reason: "opted out"), at: t0)
            try expect(try await store.suppressions(address: "ben@example.com")[.email], Suppression(.marketing, reason: "unsubscribed"))
            try await store.suppress(address: "ben@example.com", channel: .email, Suppression(.all, reason: "complaint"), at: t0)
            try await store.suppress(address: "ben@example.com", channel: .email, Suppression(.marketing, reason: "unsubscribed"), at: t0)
            try expect(try await store.suppressions(address: "ben@example.com")[.email], Suppression(.all, reason: "complaint"))
            try await store.suppress(address: "+351912345678", channel: .sms, Suppression(.all, reason: "SMS STOP"), at: t0)
            try await store.suppress(address: "ana@example.com", channel: .email, Suppression(.marketing, reason: "sunset"), at: t0)
            let first = try await store.suppressionPage(after: nil, limit: 2)
            try expect(first.map(\.address), ["+351912345678", "ana@example.com"])
            let rest = try await store.suppressionPage(after: first.last, limit: 2)
            try expect(rest.map(\.address), ["ben@example.com"])
            try expect(rest.first?.suppression.scope, .all)
            try expect(try await store.liftSuppression(address: "Ana@Example.com", channel: .email), true)
            try expect(try await store.liftSuppression(address: "ana@example.com", channel: .email), false)
            try expect(try await store.suppressions(address: "ana@example.com"), [:])
        },
        Check(name: "attributes, tags and properties round-trip whatever they contain") { store in
            let tricky = "quote \" backslash \\ newline \n tab \t bell \u{07} 🙂 é"
            let attributes: [String: Value] = ["note": .string(tricky), "nps": 9.5, "vip": true, tricky: "key"]
            let read = try await insert(store, lead("ana@example.com") { $0.attributes = attributes; $0.tags = [tricky, "plain"] },
                                        events: [NewEvent(LeadEvent("x.y", at: t0, properties: ["p": .string(tricky)]))])
            try expect(read.lead.attributes, attributes)
            try expect(read.lead.tags, [tricky, "plain"])
            try expect(read.events.first?.properties, ["p": .string(tricky)])
        },
        Check(name: "the sales round-robin moves by what each commit took") { store in
            try expect(try await store.rotationPosition(), 0)
            _ = try await store.commit([], rotationAdvance: 2, now: t0)
            _ = try await store.commit([], rotationAdvance: 3, now: t0)
            try expect(try await store.rotationPosition(), 5)
        },
        Check(name: "lead ids page in id order") { store in
            for name in ["cy", "ana", "ben"] { try await insert(store, lead("\(name)@example.com"), due: false) }
            try expect(try await store.leadIDs(after: nil, limit: 2), ["lead_ana", "lead_ben"])
            try expect(try await store.leadIDs(after: "lead_ben", limit: 2), ["lead_cy"])
        },
    ]

    static let dueWork: [Check] = [
        Check(name: "due leads are leased to one worker at a time, soonest first") { store in
            try await insert(store, lead("ana@example.com"))
            try await insert(store, lead("ben@example.com"))
            try await insert(store, lead("cy@example.com"), due: false)
            try expect(try await store.dueLeadIDs(at: t0, limit: 10).sorted(), ["lead_ana", "lead_ben"])
            try expect(try await store.dueLeadIDs(at: t0.addingTimeInterval(-1), limit: 10), [])
            let first = try await store.claimDueLeads(now: t0, limit: 1, owner: "w1", leaseUntil: t0.addingTimeInterval(60))
            try expect(first.count, 1)
            let second = try await store.claimDueLeads(now: t0, limit: 10, owner: "w2", leaseUntil: t0.addingTimeInterval(60))
            try expect(second.map(\.leadID), ["lead_ana", "lead_ben"].filter { $0 != first[0].leadID })
            try expect(try await store.claimDueLeads(now: t0.addingTimeInterval(30), limit: 10, owner: "w3", leaseUntil: t0.addingTimeInterval(90)), [])
            let held = try await snapshot(store, .id(first[0].leadID))
            try expect(held.leaseOwner, "w1")
            try expect(held.leaseToken, first[0].token)
        },
        Check(name: "a worker whose lease expired cannot commit; its successor can") { store in
            try await insert(store, lead("ana@example.com"))
            let old = try await store.claimDueLeads(now: t0, limit: 10, owner: "w1", leaseUntil: t0.addingTimeInterval(60))
            try expect(old.map(\.leadID), ["lead_ana"])
            let read = try await snapshot(store, .id("lead_ana"))
            // The lease runs out before w1 commits; w2 takes the lead over under a new token.
            let taken = try await store.claimDueLeads(now: t0.addingTimeInterval(61), limit: 10, owner: "w2", leaseUntil: t0.addingTimeInterval(120))
            try expect(taken.map(\.leadID), ["lead_ana"])
            try expect(taken[0].token > old[0].token, "a new fencing token")
            var done = read.enrollments[0]
            done.status = .completed
            let late = LeadChange(base: .leased(version: read.version, token: old[0].token, owner: "w1"), lead: read.lead, scoring: read.scoring,
                                  leadChanged: false, enrollments: [done], messages: [message("msg_late", leadID: "lead_ana")])
            try expect(try await commit(store, [late], now: t0.addingTimeInterval(62)), [.conflict])
            try expect(try await store.message(id: "msg_late") == nil, "the stale worker wrote nothing")
            // Even with the right token, an expired lease commits nothing.
            let expired = LeadChange(base: .leased(version: read.version, token: taken[0].token, owner: "w2"), lead: read.lead, scoring: read.scoring,
                                     leadChanged: false, enrollments: [done])
            try expect(try await commit(store, [expired], now: t0.addingTimeInterval(121)), [.conflict])
            let current = LeadChange(base: .leased(version: read.version, token: taken[0].token, owner: "w2"), lead: read.lead, scoring: read.scoring,
                                     leadChanged: false, enrollments: [done], messages: [message("msg_1", leadID: "lead_ana")])
            try expect(try await commit(store, [current], now: t0.addingTimeInterval(63)), [.committed])
            let after = try await snapshot(store, .id("lead_ana"))
            try expect(after.leaseOwner == nil && after.leaseUntil == nil, "the commit freed the lease")
            try expect(after.enrollments.map(\.status), [.completed])
            try expect(try await store.dueLeadIDs(at: t0.addingTimeInterval(63), limit: 10), [])
        },
        Check(name: "an event committed while a worker holds the lead makes the worker's commit a conflict") { store in
            try await insert(store, lead("ana@example.com"))
            let lease = try await store.claimDueLeads(now: t0, limit: 10, owner: "w1", leaseUntil: t0.addingTimeInterval(60))[0]
            let read = try await snapshot(store, .id("lead_ana"))
            // The API's event does not wait for the lease.
            try expect(try await commit(store, [change(read) { $0.events = [NewEvent(LeadEvent("demo.requested", at: t0), clientID: "evt-1")] }]), [.committed])
            let worker = LeadChange(base: .leased(version: read.version, token: lease.token, owner: "w1"), lead: read.lead, scoring: read.scoring,
                                    leadChanged: false, messages: [message("msg_1", leadID: "lead_ana")])
            try expect(try await commit(store, [worker]), [.conflict])
            // Read again, the lease is still the worker's and the event is there to act on.
            let again = try await snapshot(store, .id("lead_ana"))
            try expect(again.leaseToken == lease.token && again.leaseOwner == "w1", "the lease survives the event")
            try expect(again.events.map(\.type), ["lead.created", "demo.requested"])
            let redone = LeadChange(base: .leased(version: again.version, token: lease.token, owner: "w1"), lead: again.lead, scoring: again.scoring,
                                    leadChanged: false, messages: [message("msg_1", leadID: "lead_ana")])
            try expect(try await commit(store, [redone]), [.committed])
            try expect(try await store.messages(status: nil, limit: 10).map(\.id), ["msg_1"])
        },
        Check(name: "a worker whose round failed takes its own leased leads again, under a new token") { store in
            try await insert(store, lead("ana@example.com"))
            let lost = try await store.claimDueLeads(now: t0, limit: 10, owner: "w1", leaseUntil: t0.addingTimeInterval(300))
            try expect(lost.map(\.leadID), ["lead_ana"])
            // Another worker may not; the one that holds it may, without waiting for the lease to end.
            try expect(try await store.claimDueLeads(now: t0.addingTimeInterval(1), limit: 10, owner: "w2", leaseUntil: t0.addingTimeInterval(301)), [])
            let again = try await store.claimDueLeads(now: t0.addingTimeInterval(1), limit: 10, owner: "w1", leaseUntil: t0.addingTimeInterval(301))
            try expect(again.map(\.leadID), ["lead_ana"])
            try expect(again[0].token > lost[0].token, "a new fencing token, so the failed round's work can no longer commit")
        },
        Check(name: "a claim passes over the leads its owner says it is still committing") { store in
            try await insert(store, lead("ana@example.com"))
            try await insert(store, lead("ben@example.com"))
            let first = try await store.claimDueLeads(now: t0, limit: 1, owner: "w1", leaseUntil: t0.addingTimeInterval(300))
            let next = try await store.claimDueLeads(now: t0, limit: 10, owner: "w1", leaseUntil: t0.addingTimeInterval(300),
                                                     excluding: Set(first.map(\.leadID)))
            try expect(next.map(\.leadID), ["lead_ana", "lead_ben"].filter { $0 != first[0].leadID })
            try expect(try await snapshot(store, .id(first[0].leadID)).leaseToken, first[0].token)
        },
        Check(name: "concurrent claims of due leads never hand one lead to two workers") { store in
            for index in 0..<40 { try await insert(store, lead("lead\(index)@example.com")) }
            let claims = try await withThrowingTaskGroup(of: [LeadLease].self) { group in
                for worker in 0..<4 {
                    group.addTask { try await store.claimDueLeads(now: t0, limit: 15, owner: "w\(worker)", leaseUntil: t0.addingTimeInterval(60)) }
                }
                var all: [LeadLease] = []
                for try await part in group { all += part }
                return all
            }
            try expect(claims.count, 40)
            try expect(Set(claims.map(\.leadID)).count, 40)
        },
    ]

    static let outbox: [Check] = [
        Check(name: "claims lease messages and only the owner of the attempt can finish it") { store in
            try await insert(store, lead("ana@example.com"), messages: [message("msg_1", leadID: "lead_ana"), message("msg_2", leadID: "lead_ana", at: t0.addingTimeInterval(60))])
            let claimed = try await store.claimMessages(now: t0, limit: 10, owner: "w1", leaseUntil: t0.addingTimeInterval(30))
            try expect(claimed.map(\.id), ["msg_1"])
            try expect(claimed.first?.attempts, 1)
            try expect(try await store.claimMessages(now: t0.addingTimeInterval(10), limit: 10, owner: "w2", leaseUntil: t0.addingTimeInterval(40)).isEmpty, "held by w1")
            let takenOver = try await store.claimMessages(now: t0.addingTimeInterval(31), limit: 1, owner: "w2", leaseUntil: t0.addingTimeInterval(90))
            try expect(takenOver.map(\.id), ["msg_1"])
            try expect(takenOver.first?.attempts, 2)
            let sent = LeadHistoryEntry(leadID: "lead_ana", event: LeadEvent("email.sent", at: t0.addingTimeInterval(33), properties: ["message": "msg_1"]))
            try expect(try await store.finish([FinishedAttempt(messageID: "msg_1", attempt: 1, result: .sent, historyEvent: sent)], owner: "w1", now: t0.addingTimeInterval(32)), [false])
            try expect(try await store.finish([FinishedAttempt(messageID: "msg_1", attempt: 2, result: .sent, historyEvent: sent)], owner: "w2", now: t0.addingTimeInterval(33)), [true])
            let message = try await store.message(id: "msg_1")
            try expect(message?.status, .sent)
            try expect(message?.sentAt, t0.addingTimeInterval(33))
            // The history event joins the lead once, with the attempt that was recorded.
            let events = try await snapshot(store, .id("lead_ana")).events
            try expect(events.filter { $0.type == "email.sent" }.map(\.properties), [["message": "msg_1"]])
        },
        Check(name: "the oldest message waiting to be sent is found, and only if it is due") { store in
            try expect(try await store.oldestDueMessage(at: t0), nil)
            try await insert(store, lead("ana@example.com"), messages: [
                message("msg_1", leadID: "lead_ana", at: t0.addingTimeInterval(-30)), message("msg_2", leadID: "lead_ana", at: t0.addingTimeInterval(60)),
            ])
            try expect(try await store.oldestDueMessage(at: t0), t0.addingTimeInterval(-30))
            try expect(try await store.oldestDueMessage(at: t0.addingTimeInterval(-31)), nil)
            _ = try await store.claimMessages(now: t0, limit: 1, owner: "w", leaseUntil: t0.addingTimeInterval(30))
            try expect(try await store.oldestDueMessage(at: t0) == nil, "a claimed message is not waiting")
            try expect(try await store.oldestDueMessage(at: t0.addingTimeInterval(90)), t0.addingTimeInterval(60))
        },
        Check(name: "retries and dead letters keep their ids") { store in
            try await insert(store, lead("ana@example.com"), messages: [message("msg_1", leadID: "lead_ana")])
            _ = try await store.claimMessages(now: t0, limit: 1, owner: "w", leaseUntil: t0.addingTimeInterval(30))
            try expect(try await store.finish(messageID: "msg_1", attempt: 1, owner: "w", result: .retry(at: t0.addingTimeInterval(120), error: "HTTP 503"), now: t0), true)
            try expect(try await store.claimMessages(now: t0.addingTimeInterval(60), limit: 1, owner: "w", leaseUntil: t0.addingTimeInterval(90)).isEmpty, "not due yet")
            let retried = try await store.claimMessages(now: t0.addingTimeInterval(120), limit: 1, owner: "w", leaseUntil: t0.addingTimeInterval(150))
            try expect(retried.first?.lastError, "HTTP 503")
            try expect(try await store.finish(messageID: "msg_1", attempt: 2, owner: "w", result: .dead(error: "HTTP 404"), now: t0), true)
            try expect(try await store.messages(status: .dead, limit: 10).map(\.lastError), ["HTTP 404"])
            try expect(try await store.retryDeadLetters(ids: ["msg_1", "msg_unknown"], now: t0.addingTimeInterval(200)), 1)
            try expect(try await store.claimMessages(now: t0.addingTimeInterval(200), limit: 1, owner: "w", leaseUntil: t0.addingTimeInterval(230)).map(\.id), ["msg_1"])
        },
        Check(name: "a claim hands each message to its decision with the suppression, zone and sends it needs") { store in
            try await insert(store, lead("ana@example.com") { $0.timeZone = "America/Chicago" }, messages: [
                message("msg_old", leadID: "lead_ana", at: t0.addingTimeInterval(-3_600)),
                message("msg_1", leadID: "lead_ana"), message("msg_2", leadID: "lead_ana"), message("msg_3", leadID: "lead_ana"),
            ])
            _ = try await store.claimMessages(now: t0.addingTimeInterval(-3_600), limit: 1, owner: "w", leaseUntil: t0)
            try expect(try await store.finish(messageID: "msg_old", attempt: 1, owner: "w", result: .sent, now: t0.addingTimeInterval(-3_000)), true)
            try await store.suppress(address: "ana@example.com", channel: .sms, Suppression(.all, reason: "SMS STOP"), at: t0)
            let seen = Recorder<ClaimCandidate>()
            let batch = try await store.claimMessages(now: t0, limit: 10, owner: "w", leaseUntil: t0.addingTimeInterval(30), channels: [.email],
                                                      sendsSince: t0.addingTimeInterval(-86_400)) { candidate in
                seen.add(candidate)
                return switch candidate.message.id {
                case "msg_2": .deferred(until: t0.addingTimeInterval(600), reason: "frequency cap")
                case "msg_3": .suppressed(reason: "suppressed: test")
                default: .send
                }
            }
            try expect(batch.messages.map(\.id), ["msg_1"])
            try expect(batch.examined, 3)
            let first = seen.all.first { $0.message.id == "msg_1" }
            try expect(first?.timeZone, "America/Chicago")
            try expect(first?.suppression == nil, "email is not suppressed")
            try expect(first?.sends.map(\.at), [t0.addingTimeInterval(-3_000)])
            // Later candidates count the messages claimed before them as in flight.
            try expect(seen.all.last?.sends.count, 2)
            try expect(try await store.message(id: "msg_2")?.status, .pending)
            try expect(try await store.message(id: "msg_2")?.lastError, "deferred: frequency cap")
            try expect(try await store.message(id: "msg_2")?.attempts, 0)
            try expect(try await store.message(id: "msg_3")?.status, .suppressed)
            // An address suppressed as the provider wrote it holds the message whatever its case.
            try await store.suppress(address: "Ana@Example.COM", channel: .email, Suppression(.all, reason: "unsubscribed"), at: t0)
            _ = try await store.claimMessages(now: t0.addingTimeInterval(600), limit: 10, owner: "w", leaseUntil: t0.addingTimeInterval(630), channels: nil,
                                              sendsSince: t0) { candidate in
                seen.add(candidate)
                return .send
            }
            try expect(seen.all.last?.suppression?.reason, "unsubscribed")
        },
        Check(name: "released messages go back to the queue as if never claimed") { store in
            try await insert(store, lead("ana@example.com"), messages: [message("msg_1", leadID: "lead_ana")])
            let claimed = try await store.claimMessages(now: t0, limit: 1, owner: "w", leaseUntil: t0.addingTimeInterval(30))
            try await store.release([(id: "msg_1", attempt: claimed[0].attempts)], owner: "someone else")
            try expect(try await store.message(id: "msg_1")?.status, .sending)
            try await store.release([(id: "msg_1", attempt: claimed[0].attempts)], owner: "w")
            let back = try await store.message(id: "msg_1")
            try expect(back?.status, .pending)
            try expect(back?.attempts, 0)
        },
        Check(name: "concurrent claims of messages never hand one message to two workers") { store in
            let messages = (0..<60).map { message("msg_\($0)", leadID: "lead_ana") }
            try await insert(store, lead("ana@example.com"), messages: messages)
            let claims = try await withThrowingTaskGroup(of: [OutboxMessage].self) { group in
                for worker in 0..<4 {
                    group.addTask { try await store.claimMessages(now: t0, limit: 20, owner: "w\(worker)", leaseUntil: t0.addingTimeInterval(60)) }
                }
                var all: [OutboxMessage] = []
                for try await part in group { all += part }
                return all
            }
            try expect(claims.count, 60)
            try expect(Set(claims.map(\.id)).count, 60)
            try expect(try await store.outboxCounts(), ["sending": 60])
        },
    ]

    static let reads: [Check] = [
        Check(name: "ranking pages walk best first, ties by id, resume after the cursor and filter") { store in
            func scored(_ name: String, fixed: Double, rank: Double?, stage: Stage = .lead, tags: Set<String> = []) -> Lead {
                lead("\(name)@example.com") { $0.stage = stage; $0.tags = tags; $0.attributes = ["plan": .string(name == "ana" ? "Trial" : "free")] }
            }
            let rows: [(String, Double, Double?, Stage, Set<String>)] = [
                ("ana", 30, 5, .lead, ["vip"]), ("ben", 30, nil, .mql, []), ("cy", 50, 1, .lead, []), ("dee", 10, 9, .customer, ["vip"]), ("eve", 20, 2, .sql, []),
            ]
            for (name, fixed, rank, stage, tags) in rows {
                var scoring = ScoreSnapshot()
                scoring.fixedPoints = fixed
                scoring.gainsRank = rank
                let change = LeadChange(base: .new, lead: scored(name, fixed: fixed, rank: rank, stage: stage, tags: tags), scoring: scoring, leadChanged: true)
                try expect(try await commit(store, [change]), [.committed])
            }
            let prospects = RankingFilter(stages: Set(Stage.allCases.filter { $0 != .customer }))
            let byFixed = try await store.rankingPage(by: .fixedPoints, filter: prospects, after: nil, limit: 2)
            try expect(byFixed.map(\.id), ["lead_cy", "lead_ana"])
            try expect(byFixed.map(\.scoring.fixedPoints), [50, 30])
            let next = try await store.rankingPage(by: .fixedPoints, filter: prospects, after: RankingCursor(value: 30, id: "lead_ana"), limit: 10)
            try expect(next.map(\.id), ["lead_ben", "lead_eve"])
            let byGains = try await store.rankingPage(by: .gainsRank, filter: prospects, after: nil, limit: 10)
            try expect(byGains.map(\.id), ["lead_ana", "lead_eve", "lead_cy"])
            try expect(try await store.rankingPage(by: .gainsRank, filter: prospects, after: RankingCursor(value: 2, id: "lead_eve"), limit: 10).map(\.id), ["lead_cy"])
            let vip = RankingFilter(stages: Set(Stage.allCases), segments: [RankingFilter.Segment(name: "tag", value: "vip")])
            try expect(try await store.rankingPage(by: .fixedPoints, filter: vip, after: nil, limit: 10).map(\.id), ["lead_ana", "lead_dee"])
            let trial = RankingFilter(stages: [.lead], segments: [RankingFilter.Segment(name: "plan", value: "trial")])
            try expect(try await store.rankingPage(by: .fixedPoints, filter: trial, after: nil, limit: 10).map(\.id), ["lead_ana"])
            let mql = RankingFilter(stages: [.mql], segments: [RankingFilter.Segment(name: "first_name", value: "ANA")])
            try expect(try await store.rankingPage(by: .fixedPoints, filter: mql, after: nil, limit: 10).map(\.id), ["lead_ben"])
            try await expectThrows {
                _ = try await store.rankingPage(by: .fixedPoints, filter: RankingFilter(stages: [.lead], segments: [RankingFilter.Segment(name: "x') OR 1=1 --", value: "1")]), after: nil, limit: 10)
            }
        },
        Check(name: "a lead's latest events and messages come newest first") { store in
            try await insert(store, lead("ana@example.com"), events: (0..<5).map { NewEvent(LeadEvent("e\($0)", at: t0.addingTimeInterval(Double($0)))) },
                             messages: (0..<3).map { message("msg_\($0)", leadID: "lead_ana", at: t0.addingTimeInterval(Double($0))) })
            try expect(try await store.latestEvents(leadID: "lead_ana", limit: 2).map(\.type), ["e4", "e3"])
            try expect(try await store.latestMessages(leadID: "lead_ana", limit: 2).map(\.id), ["msg_2", "msg_1"])
        },
        Check(name: "a snapshot holds the window's events and sends only") { store in
            let old = t0.addingTimeInterval(-200 * 86_400)
            try await insert(store, lead("ana@example.com"), events: [NewEvent(LeadEvent("old", at: old)), NewEvent(LeadEvent("recent", at: t0))],
                             messages: [message("msg_old", leadID: "lead_ana", at: t0.addingTimeInterval(-20 * 86_400)), message("msg_new", leadID: "lead_ana"),
                                        message("msg_system", leadID: "lead_ana", channel: .sms, campaign: OutboxMessage.systemCampaign)])
            let read = try await snapshot(store, .id("lead_ana"))
            try expect(read.events.map(\.type), ["recent"])
            // Each send names the campaign and step it came from: the touch a conversion is credited to.
            try expect(read.sends, [SendRecord(channel: .email, at: t0, isTransactional: false, campaignID: "welcome", stepID: "a")])
            try expect(try await store.latestEvents(leadID: "lead_ana", limit: 10).map(\.type), ["recent", "old"])
        },
        Check(name: "counts and score versions report the whole store") { store in
            var scored = ScoreSnapshot()
            scored.modelVersion = "2026-11"
            try expect(try await commit(store, [LeadChange(base: .new, lead: lead("ana@example.com"), scoring: scored, leadChanged: true, enrollments: [enrollment("lead_ana")]),
                                                LeadChange(base: .new, lead: lead("ben@example.com"), scoring: ScoreSnapshot(), leadChanged: true)]), [.committed, .committed])
            try expect(try await store.scoreVersions(), ["2026-11": 1, "": 1])
            let counts = try await store.counts()
            try expect(counts.leads, 2)
            try expect(counts.activeEnrollments, 1)
        },
    ]

    static let settings: [Check] = [
        Check(name: "secrets are created once and kept") { store in
            let first = try await store.secret(named: "links")
            try expect(first.count, 32)
            try expect(try await store.secret(named: "links"), first)
            try expect(try await store.secret(named: "other") != first, "each name has its own secret")
        },
    ]
}

/// Collects values from a `@Sendable` closure.
final class Recorder<Value: Sendable>: Sendable {
    private let values = Mutex<[Value]>([])
    func add(_ value: Value) { values.withLock { $0.append(value) } }
    var all: [Value] { values.withLock { $0 } }
}
