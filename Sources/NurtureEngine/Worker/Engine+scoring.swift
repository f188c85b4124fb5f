public import Foundation
public import NurtureDSL
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

    /// The best prospects by their score at `now`.
    public func top(limit: Int, stage: Stage? = nil, segments: [LeadRanking.Segment] = [], now: Date) async throws -> [RankedLead] {
        try await store.topLeads(LeadRanking(limit: limit, stage: stage, segments: segments, calculator: scoring), now: now)
    }

    /// A lead's profile, score card, enrollments and latest activity.
    public func detail(_ subject: IncomingEvent.Subject, now: Date, timelineLimit: Int = 30) async throws -> (detail: LeadDetail, card: ScoreCard?)? {
        guard let detail = try await store.leadDetail(subject, now: now, timelineLimit: timelineLimit) else { return nil }
        return (detail, processor.scoring?.score(detail.work.lead, events: detail.work.state.events, now: now))
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
            try await store.update(leadIDs: ids, now: now) { works in
                for index in works.indices {
                    let before = works[index].state.scoring, score = works[index].lead.score
                    processor.rescore(&works[index], now: now, act: act)
                    let fired = works[index].state.scoring.thresholds.fired.subtracting(before.thresholds.fired)
                    batch.add(changed: abs(works[index].lead.score - score) >= 1, crossed: thresholds.map(\.points).filter(fired.contains))
                }
            }
            summary.leads += ids.count
            summary.changed += batch.changed
            for (points, count) in batch.crossed { summary.crossed[points, default: 0] += count }
            progress(summary.leads)
        }
    }
}

/// Counts filled in from inside a store transaction's closure.
final class RecomputeTally: Sendable {
    private let state = Mutex((changed: 0, crossed: [Double: Int]()))

    func add(changed: Bool, crossed: [Double]) {
        state.withLock { state in
            if changed { state.changed += 1 }
            for points in crossed { state.crossed[points, default: 0] += 1 }
        }
    }

    var changed: Int { state.withLock { $0.changed } }
    var crossed: [Double: Int] { state.withLock { $0.crossed } }
}
