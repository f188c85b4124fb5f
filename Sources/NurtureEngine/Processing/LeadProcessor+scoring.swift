public import Foundation
import NurtureDSL
import NurtureStorage

/// Scoring inside the unit of work: the score is recomputed in the same transaction as the event
/// or change that moved it, and thresholds act there too.
extension LeadProcessor {
    /// Recomputes the lead's score from its history, re-arms the thresholds it fell below since
    /// it was last scored, and runs the actions of those it crosses now.
    ///
    /// Between two scorings a score only decays, monotonically, towards its fixed points, so its
    /// lowest value in between is at one of the two ends: checking the decayed old score before
    /// the new one re-arms exactly the thresholds a nightly rewrite would have re-armed.
    public func rescore(_ work: inout LeadWork, now: Date, act: Bool = true) {
        guard let scoring else { return }
        let before = work.lead
        var thresholds = work.state.scoring.thresholds
        var crossed: [Threshold] = []
        if work.state.scoring.scoredAt != nil {
            crossed += thresholds.update(score: scoring.current(work.state.scoring, now: now), thresholds: scoring.model.thresholds)
        }
        let card = scoring.score(work.lead, events: work.state.events, now: now)
        crossed += thresholds.update(score: card.total, thresholds: scoring.model.thresholds)
        var snapshot = ScoreSnapshot(card, at: now, thresholds: thresholds)
        // The events read reach back 180 days; the last activity may be older, and must not
        // move later because a system event (a send, a lead.inactive) is the oldest one read.
        let ownActivity = work.state.events.last { !ScoreCalculator.systemEvents.contains($0.type) && $0.at <= now }?.at
        snapshot.lastActivityAt = [work.state.scoring.lastActivityAt, ownActivity].compactMap { $0 }.max() ?? card.lastActivityAt
        snapshot.gainsRank = scoring.gainsRank(snapshot)
        work.state.scoring = snapshot
        work.lead.score = card.total
        if act {
            // A jump across several lines pages sales once, for the highest.
            let alerting = crossed.last { $0.actions.contains { if case .notifySales = $0 { true } else { false } } }?.points
            for threshold in crossed { cross(threshold, card: card, alerts: threshold.points == alerting, &work, now: now) }
        }
        if work.lead != before { leadChanged(from: before, &work, now: now, except: "") }
    }

    /// Brings the score to `now` from the stored parts (decay, inactivity) without the history,
    /// so due steps compare the score a lead has now. Thresholds act as in ``rescore(_:now:act:)``.
    public func refreshScore(_ work: inout LeadWork, now: Date) {
        guard let scoring, work.state.scoring.scoredAt != nil else { return }
        let score = scoring.current(work.state.scoring, now: now)
        guard abs(score - work.lead.score) >= 0.005 else { return }
        var thresholds = work.state.scoring.thresholds
        let crossed = thresholds.update(score: score, thresholds: scoring.model.thresholds)
        if thresholds != work.state.scoring.thresholds || !crossed.isEmpty {
            // Rare (a threshold re-arms or a penalty fades): worth the full computation.
            rescore(&work, now: now)
        } else {
            work.lead.score = score
        }
    }

    private func cross(_ threshold: Threshold, card: ScoreCard, alerts: Bool, _ work: inout LeadWork, now: Date) {
        let label = "score reached \(Value.number(threshold.points).textValue)"
        work.log.append(.init(at: now, campaign: "scoring", effect: .thresholdCrossed(points: threshold.points, score: card.total)))
        for action in threshold.actions {
            switch action {
            case .setStage(let stage):
                // A threshold moves a lead forward, never back: a customer stays a customer.
                guard work.lead.stage < stage else { continue }
                work.lead.stage = stage
                work.log.append(.init(at: now, campaign: "scoring", effect: .stageSet(step: label, stage: stage)))
            case .tag(let tag):
                guard work.lead.tags.insert(tag).inserted else { continue }
                work.log.append(.init(at: now, campaign: "scoring", effect: .tagged(step: label, tag: tag)))
            case .notifySales(let note):
                guard alerts else { continue }
                var occurrence = LeadWork.Occurrence(at: now, campaign: "scoring", effect: .salesNotified(step: label, note: note))
                occurrence.message = notifySales(
                    &work, trigger: "crossed \(Value.number(threshold.points).textValue)", note: note, threshold: threshold.points,
                    id: OutboxMessage.id(leadID: work.lead.id, campaignID: SalesAlert.campaignID, enrollment: 0,
                                         stepID: "threshold-\(threshold.points)", occurrence: Int(now.timeIntervalSince1970 * 1000)),
                    now: now, card: card)
                work.log.append(occurrence)
            case .enroll(let campaignID):
                if let campaign = playbook.campaign(campaignID), work.activeEnrollment(in: campaignID) == nil {
                    enroll(campaign, trigger: ["score": .number(card.total)], because: label, &work, now: now)
                }
            case .unsupported:
                continue
            }
        }
    }

    /// Records `sales.notified`, assigns an owner if the lead has none, and writes the alert to the
    /// outbox in the same transaction, so it is delivered once like any message.
    func notifySales(
        _ work: inout LeadWork, trigger: String, note: String?, threshold: Double?, id: String, now: Date, card: ScoreCard? = nil
    ) -> OutboxMessage {
        assignOwner(&work)
        let card = card ?? scoring?.score(work.lead, events: work.state.events, now: now)
        let recent = work.state.events.filter { !ScoreCalculator.systemEvents.contains($0.type) && $0.at <= now }.suffix(5).reversed()
        let alert = SalesAlert(
            id: id, lead: work.lead, trigger: trigger, note: note, score: card?.total ?? work.lead.score, threshold: threshold,
            reasons: card?.reasons ?? [], recent: Array(recent), at: now)
        var properties: [String: Value] = ["trigger": .string(trigger), "message": .string(id), "score": .number(ScoreText.rounded(alert.score))]
        if let note { properties["note"] = .string(note) }
        if let owner = work.lead.owner { properties["owner"] = .string(owner) }
        record(LeadEvent("sales.notified", at: now, properties: properties), &work)
        let message = alert.message
        work.newMessages.append(message)
        return message
    }

    /// The first `Assign` whose condition holds, else the next rep of the round-robin.
    func assignOwner(_ work: inout LeadWork) {
        guard work.lead.owner == nil, let owners = scoring?.model.owners else { return }
        let evaluator = ConditionEvaluator(state: work.state, campaignID: "", now: work.state.events.last?.at ?? .distantPast)
        if let rule = owners.rules.first(where: { evaluator.holds($0.condition) }) {
            work.lead.owner = rule.owner
        } else if !owners.rotation.isEmpty {
            let turn = work.rotation?.take() ?? Int(VariantChoice.fnv1a(work.lead.id) % UInt64(owners.rotation.count))
            work.lead.owner = owners.rotation[turn % owners.rotation.count]
        }
    }

    /// An event the work itself produced: stored with the work and visible to what follows.
    func record(_ event: LeadEvent, _ work: inout LeadWork) {
        work.newEvents.append(event)
        work.state.events.append(event)
    }

    func adjustmentReason(_ campaignID: String, _ stepID: String) -> String? {
        if case .adjustScore(_, let reason)? = playbook.campaign(campaignID)?.step(stepID)?.action { return reason }
        return nil
    }
}
