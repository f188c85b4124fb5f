public import Foundation
import NurtureDSL
public import NurtureStorage

/// When the deliverability watch pauses a campaign (`[auto_pause]` in nurture.toml): mailbox
/// providers start filtering a sender at about 0.1% complaints (Gmail's and Yahoo's bulk-sender
/// rules hold senders under 0.3%), and a hard-bounce rate over 2% means a list is stale or bought.
public struct AutoPausePolicy: Sendable, Hashable {
    public var enabled = true
    /// Paused above this share of sent email, in percent.
    public var complaintPercent = 0.1
    public var hardBouncePercent = 2.0
    /// No verdict on fewer sent emails than this: three complaints in a hundred is noise.
    public var minimumSends = 1_000
    /// The rolling window, in UTC days back from today (today included).
    public var windowDays = 7

    public init() {}
}

extension Engine {
    public struct UnknownControl: Error, CustomStringConvertible {
        public let description: String
    }

    /// Pauses a campaign by hand or by the watch; false when it was paused already.
    @discardableResult
    public func pause(campaign id: String, reason: String, by: String, now: Date) async throws -> Bool {
        guard playbook.campaign(id) != nil else { throw UnknownControl(description: "no campaign '\(id)' in this playbook") }
        return try await store.pauseCampaign(CampaignPause(campaignID: id, at: now, reason: reason, by: by))
    }

    /// Resumes a paused campaign; false when it was not paused. The journal keeps what the
    /// campaign's email counters held at this instant, so the watch judges it on what follows.
    @discardableResult
    public func resume(campaign id: String, by: String, now: Date) async throws -> Bool {
        guard playbook.campaign(id) != nil else { throw UnknownControl(description: "no campaign '\(id)' in this playbook") }
        let totals = DeliverabilityFigures(try await store.campaignCounters(CounterFilter(campaignID: id)))
        return try await store.resumeCampaign(CampaignJournalEntry(campaignID: id, type: "campaign.resumed", at: now, properties: [
            "by": .string(by), "sent": .number(Double(totals.sent)), "bounced": .number(Double(totals.bounced)),
            "complained": .number(Double(totals.complained)),
        ]))
    }

    /// Settles a split on `variant` by hand; false when it was decided before.
    @discardableResult
    public func decide(campaign id: String, step stepID: String, variant: String, by: String, now: Date) async throws -> Bool {
        guard let campaign = playbook.campaign(id) else { throw UnknownControl(description: "no campaign '\(id)' in this playbook") }
        guard let step = campaign.step(stepID), let message = step.message, message.variants.count >= 2 else {
            let splits = campaign.allSteps.filter { ($0.message?.variants.count ?? 0) >= 2 }.map(\.id)
            throw UnknownControl(description: "campaign '\(id)' has no A/B split '\(stepID)'"
                + (splits.isEmpty ? " (it has none)" : "; its splits: \(splits.joined(separator: ", "))"))
        }
        guard message.variants.contains(where: { $0.name == variant }) else {
            throw UnknownControl(description: "split '\(stepID)' has no variant '\(variant)'; its variants: \(message.variants.map(\.name).joined(separator: ", "))")
        }
        let stats = try await stats(CounterFilter(campaignID: id)).first?.experiments.first { $0.step == stepID }
        return try await store.decideExperiment(ExperimentDecision(campaignID: id, stepID: stepID, variant: variant, at: now, by: by,
                                                                   figures: stats?.figures ?? [:]))
    }

    /// What one look of the watch did.
    public struct WatchResult: Sendable, Hashable {
        public var paused: [CampaignPause] = []
        public var decided: [ExperimentDecision] = []
        /// Rows found parked under a campaign that is not paused, and moved back.
        public var unparked = 0
    }

    /// Looks at every campaign's counters once: pauses those whose complaint or hard-bounce rate
    /// crossed the policy's line over its window, and settles splits whose winner rule is met.
    /// Cheap enough to run every minute: it reads counters, not history.
    public func watchResults(policy: AutoPausePolicy, now: Date) async throws -> WatchResult {
        var result = WatchResult()
        result.unparked = try await store.unparkUnpaused()
        let controls = try await store.campaignControls()
        let counters = try await store.campaignCounters(CounterFilter())
        let byCampaign = Dictionary(grouping: counters, by: \.campaignID)
        let firstDay = CampaignStats.day(now.addingTimeInterval(-Double(max(1, policy.windowDays) - 1) * 86_400))
        for campaign in playbook.campaigns where policy.enabled && !controls.isPaused(campaign.id) {
            let mine = byCampaign[campaign.id] ?? []
            var figures = DeliverabilityFigures(mine.filter { $0.day >= firstDay })
            if let resumed = controls.resumes[campaign.id], CampaignStats.day(resumed.at) >= firstDay {
                figures = DeliverabilityFigures(mine).since(resumed)
            }
            guard let reason = figures.breach(of: policy) else { continue }
            let pause = CampaignPause(campaignID: campaign.id, at: now, reason: reason, by: "auto")
            if try await store.pauseCampaign(pause) { result.paused.append(pause) }
        }
        let stats = CampaignStats.build(playbook, counters: counters, filter: CounterFilter(), controls: controls)
        for (campaign, stats) in zip(playbook.campaigns, stats) {
            for experiment in stats.experiments where experiment.decision == nil {
                guard case .auto(_, _, let minimum)? = campaign.step(experiment.step)?.message?.winner,
                      let winner = experiment.winner(minimumPerVariant: minimum)
                else { continue }
                let decision = ExperimentDecision(campaignID: campaign.id, stepID: experiment.step, variant: winner, at: now, by: "auto",
                                                  figures: experiment.figures)
                if try await store.decideExperiment(decision) { result.decided.append(decision) }
            }
        }
        return result
    }
}

/// A campaign's email sends, hard bounces and complaints, added up from counters.
struct DeliverabilityFigures: Sendable, Hashable {
    var sent = 0
    var bounced = 0
    var complained = 0

    init(_ counters: some Sequence<CampaignCounter>) {
        for counter in counters where counter.channel == OutgoingMessage.Channel.email.rawValue {
            switch counter.metric {
            case "sent": sent += counter.count
            case "bounced": bounced += counter.count
            case "complained": complained += counter.count
            default: break
            }
        }
    }

    /// What happened after a resume, from the totals the resume recorded.
    func since(_ resume: CampaignJournalEntry) -> DeliverabilityFigures {
        func at(_ key: String) -> Int { Int(resume.properties[key]?.numberValue ?? 0) }
        var later = self
        later.sent = max(0, sent - at("sent"))
        later.bounced = max(0, bounced - at("bounced"))
        later.complained = max(0, complained - at("complained"))
        return later
    }

    /// Why the policy pauses on these figures, or nil. Strictly above the line: 1 complaint in
    /// 1,000 is 0.10% and stays.
    func breach(of policy: AutoPausePolicy) -> String? {
        guard sent >= policy.minimumSends, sent > 0 else { return nil }
        let complaints = 100 * Double(complained) / Double(sent), bounces = 100 * Double(bounced) / Double(sent)
        let window = "over the last \(policy.windowDays) days"
        if complaints > policy.complaintPercent {
            return "complaint rate \(Self.percent(complaints)) (\(complained) of \(sent) emails sent \(window)) is above \(Self.percent(policy.complaintPercent))"
        }
        if bounces > policy.hardBouncePercent {
            return "hard-bounce rate \(Self.percent(bounces)) (\(bounced) of \(sent) emails sent \(window)) is above \(Self.percent(policy.hardBouncePercent))"
        }
        return nil
    }

    static func percent(_ value: Double) -> String { String(format: "%.2f%%", value) }
}

extension Engine {
    /// Sends the alert channel a notice of every pause it has not heard of yet, and records each
    /// that arrived; one that fails is tried again at the next look. A crash between the two
    /// sends it again under the same id, which an idempotent receiver ignores.
    public func deliverPauseNotices(via channel: any DeliveryChannel, now: Date) async throws -> Int {
        var delivered = 0
        for pause in try await store.campaignControls().pauses.values.sorted(by: { $0.campaignID < $1.campaignID }) where pause.noticeSentAt == nil {
            guard case .delivered = await channel.deliver(pause.notice(name: playbook.campaign(pause.campaignID)?.name)) else { continue }
            try await store.markPauseNoticeSent(campaignID: pause.campaignID, at: now)
            delivered += 1
        }
        return delivered
    }
}

extension CampaignPause {
    /// What the alert channel receives: the readable text a Slack-compatible webhook posts, and
    /// a JSON body (`type: campaign.paused`) for the generic signed webhook.
    public func notice(name: String?) -> OutboxMessage {
        let who = by == "auto" ? "automatically" : "by hand (\(by))"
        let title = name.map { "\($0) (\(campaignID))" } ?? campaignID
        let text = "*Campaign paused: \(SlackText.escaped(title))*\nPaused \(who): \(SlackText.escaped(reason)).\n"
            + "Nothing more is sent from it; its leads keep their place. Resume with `nurture campaigns resume \(SlackText.escaped(campaignID))`."
        let payload = "{\"type\":\"campaign.paused\",\"campaign\":" + JSONString.quoted(campaignID) + ",\"reason\":" + JSONString.quoted(reason)
            + ",\"by\":" + JSONString.quoted(by) + ",\"at\":" + JSONString.quoted(ISO8601DateFormatter().string(from: at)) + "}"
        return OutboxMessage(
            id: "pause-\(campaignID)-\(Int(at.timeIntervalSince1970 * 1000))", leadID: "", campaignID: campaignID, stepID: "", channel: .sales,
            address: "alerts", variant: nil, subject: "Campaign paused: \(title)", preview: text, payload: payload, isTransactional: true, createdAt: at)
    }
}
