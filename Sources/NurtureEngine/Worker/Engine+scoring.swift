public import Foundation
public import NurtureDSL
public import NurtureStorage
import Synchronization

/// The scoring side of the engine: ranking, explanations, sales' verdicts and recomputes.
extension Engine {
    public struct NoScoringModel: Error, CustomStringConvertible {
        public var description: String { "the playbook has no scoring model (add Campaigns/Scoring.swift and name it in the Playbook)" }
    }

    public var scoring: ScoreCalculator {
        get throws {
            guard let scoring = processor.scoring else { throw NoScoringModel() }
            return scoring
        }
    }

    /// The best prospects by their score at `now`, `stage` only or every stage but customer.
    ///
    /// Without decaying every lead: a lead's score at any instant is its fixed points plus its
    /// behaviour gains decayed (minus losses, plus inactivity), and the store keeps both parts in
    /// an index — fixed points directly, gains through a rank that orders them at any common
    /// instant. Reading both walks best-first and stopping when no unseen lead can beat the
    /// current top N is Fagin's threshold algorithm: exact, and it reads a few thousand rows, not
    /// a million.
    public func top(limit: Int, stage: Stage? = nil, segments: [RankingFilter.Segment] = [], now: Date) async throws -> [RankedLead] {
        try await top(limit: limit, filter: RankingFilter(stages: stage.map { [$0] } ?? Set(Stage.allCases.filter { $0 != .customer }), segments: segments), now: now)
    }

    /// The same, for a segment written as `LeadSegment` reads it.
    public func top(limit: Int, filter: RankingFilter, now: Date) async throws -> [RankedLead] {
        let calculator = try scoring
        let now = Self.asStored(now)
        guard limit > 0 else { return [] }
        var seen: Set<String> = []
        // Best first; at most `limit` entries.
        var best: [(id: String, score: Double, scoring: ScoreSnapshot)] = []
        func consider(_ row: RankingRow) {
            guard seen.insert(row.id).inserted else { return }
            let score = calculator.current(row.scoring, now: now)
            if best.count == limit, let last = best.last, score <= last.score { return }
            let index = best.firstIndex { score > $0.score || (score == $0.score && row.id < $0.id) } ?? best.endIndex
            best.insert((row.id, score, row.scoring), at: index)
            if best.count > limit { best.removeLast() }
        }
        var fixedCursor: RankingCursor?, rankCursor: RankingCursor?
        var fixedBound = Double.infinity, rankBound = Double.infinity
        var gainsExhausted = false
        let page = max(32, min(limit, 512))
        while true {
            let byFixed = try await store.rankingPage(by: .fixedPoints, filter: filter, after: fixedCursor, limit: page)
            byFixed.forEach(consider)
            if let last = byFixed.last {
                fixedBound = last.scoring.fixedPoints
                fixedCursor = RankingCursor(value: last.scoring.fixedPoints, id: last.id)
            }
            // Every lead matching the filter has been read through the first walk.
            if byFixed.count < page { break }
            if !gainsExhausted {
                let byGains = try await store.rankingPage(by: .gainsRank, filter: filter, after: rankCursor, limit: page)
                byGains.forEach(consider)
                if let last = byGains.last, let rank = last.scoring.gainsRank {
                    rankBound = rank
                    rankCursor = RankingCursor(value: rank, id: last.id)
                }
                gainsExhausted = byGains.count < page
            }
            // No unseen lead has more fixed points than the last read, nor more gains than the
            // last read gains (or none, once that walk is exhausted); losses only subtract.
            let unseenBest = fixedBound + (gainsExhausted ? 0 : calculator.gains(rank: rankBound, now: now)) + calculator.largestInactivityBonus
            if best.count == limit, let last = best.last, last.score >= unseenBest { break }
        }
        let snapshots = try await store.snapshots(best.map { .id($0.id) }, window: Self.window(at: now))
        return best.compactMap { entry in
            snapshots[.id(entry.id)].map { RankedLead(lead: $0.lead, score: entry.score, scoring: entry.scoring, events: $0.events) }
        }
    }

    /// A lead's profile, score card, enrollments and latest activity.
    public func detail(_ subject: IncomingEvent.Subject, now: Date, timelineLimit: Int = 30) async throws -> (detail: LeadDetail, card: ScoreCard?)? {
        try TextWithNUL.refuse([("lead", subject.text)])
        let now = Self.asStored(now)
        let key = subject.normalised
        guard let snapshot = try await store.snapshots([key], window: Self.window(at: now))[key] else { return nil }
        let work = UnitOfWork(snapshot, base: .version(snapshot.version), rotation: nil, controls: .none).work
        let detail = LeadDetail(
            work: work, timeline: try await store.latestEvents(leadID: snapshot.lead.id, limit: timelineLimit),
            messages: try await store.latestMessages(leadID: snapshot.lead.id, limit: timelineLimit))
        return (detail, processor.scoring?.score(work.lead, events: work.state.events, now: now))
    }

    /// Records sales' verdict on a lead as a `sales.outcome` event.
    public func mark(_ subject: IncomingEvent.Subject, outcome: SalesOutcome, note: String? = nil, by: String? = nil, now: Date) async throws -> IngestOutcome {
        try await track(outcome.event(for: subject, note: note, by: by, at: now), now: now)
    }

    public struct Recompute: Sendable, Hashable {
        public var leads = 0
        /// Leads whose score moved by at least a point.
        public var changed = 0
        /// Leads that crossed a threshold upward, by threshold.
        public var crossed: [Double: Int] = [:]
        public init() {}
    }

    /// Scores every lead again under the deployed model, `batchSize` leads per transaction.
    /// With `act` false thresholds are marked as crossed without alerting anyone: a model change
    /// should not page sales about hundreds of leads at once.
    public func recomputeScores(now: Date, batchSize: Int = 500, act: Bool = false, progress: @Sendable (Int) -> Void = { _ in }) async throws -> Recompute {
        let processor = self.processor
        let thresholds = try scoring.model.thresholds
        var summary = Recompute()
        var after: String?
        while true {
            let ids = try await store.leadIDs(after: after, limit: batchSize)
            guard let last = ids.last else { return summary }
            after = last
            let batch = RecomputeTally()
            try await updateLeads(ids: ids, now: now) { work in
                let before = work.state.scoring, score = work.lead.score
                processor.rescore(&work, now: now, act: act)
                let fired = work.state.scoring.thresholds.fired.subtracting(before.thresholds.fired)
                batch.add(leadID: work.lead.id, changed: abs(work.lead.score - score) >= 1, crossed: thresholds.map(\.points).filter(fired.contains))
            }
            summary.leads += ids.count
            summary.changed += batch.changed
            for (points, count) in batch.crossed { summary.crossed[points, default: 0] += count }
            progress(summary.leads)
        }
    }
}

/// Counts filled in by units of work, by lead, so a unit redone after a conflict counts once.
final class RecomputeTally: Sendable {
    private let state = Mutex([String: (changed: Bool, crossed: [Double])]())

    func add(leadID: String, changed: Bool, crossed: [Double]) {
        state.withLock { $0[leadID] = (changed, crossed) }
    }

    var changed: Int { state.withLock { $0.values.count(where: \.changed) } }
    var crossed: [Double: Int] {
        state.withLock { byLead in
            var counts: [Double: Int] = [:]
            for points in byLead.values.flatMap(\.crossed) { counts[points, default: 0] += 1 }
            return counts
        }
    }
}

public struct RankedLead: Sendable {
    public var lead: Lead
    /// The score at the ranking's instant.
    public var score: Double
    public var scoring: ScoreSnapshot
    /// The lead's recent history (the same window a unit of work loads), to explain its score.
    public var events: [LeadEvent]

    public init(lead: Lead, score: Double, scoring: ScoreSnapshot, events: [LeadEvent] = []) {
        self.lead = lead
        self.score = score
        self.scoring = scoring
        self.events = events
    }
}

public struct LeadDetail: Sendable {
    /// The lead's state as a unit of work would see it (recent history, enrollments, score parts).
    public var work: LeadWork
    /// The latest events, newest first, whatever their age.
    public var timeline: [LeadEvent]
    /// The latest messages to and about the lead, newest first.
    public var messages: [OutboxMessage]

    public init(work: LeadWork, timeline: [LeadEvent], messages: [OutboxMessage]) {
        self.work = work
        self.timeline = timeline
        self.messages = messages
    }
}
