public import Foundation
public import NurtureDSL
public import NurtureStorage

/// What `nurture stats`, `GET /v1/stats` and the dashboard show for one campaign: its funnel
/// (entered → each message step → each way out), each step's results and rates, each A/B
/// variant's, and the messages not sent with why. Built from the store's counters only, so it
/// costs the same over a million leads as over ten.
public struct CampaignStats: Sendable, Hashable, Encodable {
    /// The results of one message step (or of one variant of it).
    public struct StepResult: Sendable, Hashable, Encodable {
        public var step: String
        public var channel: String
        /// nil for the step as a whole; a variant's name for one arm of an A/B split.
        public var variant: String?
        public var queued = 0
        public var sent = 0
        public var delivered = 0
        public var bounced = 0
        public var softBounced = 0
        public var complained = 0
        public var failed = 0
        public var opened = 0
        public var clicked = 0
        public var dead = 0
        public var suppressed = 0
        /// Goals and conversions credited to this step as the lead's last touch, and their value.
        public var converted = 0
        /// Leads the step produced no message for (no consent, no address, suppressed, held out,
        /// cannot render), and times a frequency cap held the step back.
        public var skipped = 0
        public var capped = 0
        /// Unsubscribes credited to the step: the lead's last message on that channel before it.
        public var unsubscribed = 0
        var valueCents = 0
        public var revenue: Double { Double(valueCents) / 100 }
        /// What its sends cost at `[costs]`; nil when no cost is configured for its channel.
        public var cost: Double?
        /// (revenue − cost) / cost; nil without a cost.
        public var roi: Double? { cost.flatMap { $0 > 0 ? (revenue - $0) / $0 : nil } }

        /// Shares of what was sent: the denominators marketers use (an open rate over sends,
        /// as the tools they compare with report it).
        /// nil, not 0%, while no provider has reported on the step (the preview channel, a
        /// webhook receiver that sends no reports).
        public var deliveryRate: Double? { reports == 0 ? nil : Self.share(delivered, of: sent) }
        var reports: Int { delivered + bounced + softBounced + complained + failed }
        public var openRate: Double? { Self.share(opened, of: sent) }
        public var clickRate: Double? { Self.share(clicked, of: sent) }
        public var bounceRate: Double? { reports == 0 ? nil : Self.share(bounced, of: sent) }
        public var complaintRate: Double? { reports == 0 ? nil : Self.share(complained, of: sent) }

        static func share(_ part: Int, of whole: Int) -> Double? { whole == 0 ? nil : Double(part) / Double(whole) }

        /// Each count with its JSON key.
        static var counts: [(key: CodingKeys, path: KeyPath<StepResult, Int>)] { [
            (.queued, \.queued), (.sent, \.sent), (.delivered, \.delivered), (.bounced, \.bounced), (.softBounced, \.softBounced),
            (.complained, \.complained), (.failed, \.failed), (.opened, \.opened), (.clicked, \.clicked), (.dead, \.dead), (.suppressed, \.suppressed),
            (.converted, \.converted), (.skipped, \.skipped), (.capped, \.capped), (.unsubscribed, \.unsubscribed),
        ] }

        mutating func add(_ metric: String, _ count: Int) {
            switch metric {
            case "queued": queued += count
            case "sent": sent += count
            case "delivered": delivered += count
            case "bounced": bounced += count
            case "soft-bounced": softBounced += count
            case "complained": complained += count
            case "failed": failed += count
            case "opened": opened += count
            case "clicked": clicked += count
            case "dead": dead += count
            case "suppressed": suppressed += count
            case "converted": converted += count
            case "skipped": skipped += count
            case "capped": capped += count
            case "unsubscribed": unsubscribed += count
            case "value-cents": valueCents += count
            default: break
            }
        }

        enum CodingKeys: String, CodingKey {
            case step, channel, variant, queued, sent, delivered, bounced, softBounced = "soft_bounced", complained, failed, opened, clicked,
                 dead, suppressed, deliveryRate = "delivery_rate", openRate = "open_rate", clickRate = "click_rate", bounceRate = "bounce_rate",
                 complaintRate = "complaint_rate", converted, revenue, cost, roi, skipped, capped, unsubscribed
        }

        public init(step: String, channel: String, variant: String?) {
            self.step = step
            self.channel = channel
            self.variant = variant
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(step, forKey: .step)
            try c.encode(channel, forKey: .channel)
            try c.encodeIfPresent(variant, forKey: .variant)
            for (key, path) in Self.counts { try c.encode(self[keyPath: path], forKey: key) }
            try c.encode(deliveryRate, forKey: .deliveryRate)
            try c.encode(openRate, forKey: .openRate)
            try c.encode(clickRate, forKey: .clickRate)
            try c.encode(bounceRate, forKey: .bounceRate)
            try c.encode(complaintRate, forKey: .complaintRate)
            try c.encode(revenue, forKey: .revenue)
            try c.encode(cost, forKey: .cost)
            try c.encode(roi, forKey: .roi)
        }
    }

    /// One way out of the campaign: a goal reached (a conversion), the journey's end, or another reason.
    public struct Outcome: Sendable, Hashable, Codable {
        public var status: String
        public var reason: String
        public var count: Int
        /// Of the leads that entered.
        public var rate: Double?
        /// Whether `reason` is one of the campaign's goals.
        public var isGoal: Bool

        enum CodingKeys: String, CodingKey { case status, reason, count, rate, isGoal = "goal" }
    }

    /// An A/B split's verdict so far: each arm's rate of the metric over what it sent, each arm
    /// against the first with an always-valid interval and p-value (``ExperimentStatistics``),
    /// and the sample ratio check of the arms' sizes against the split's weights.
    public struct Experiment: Sendable, Hashable, Codable {
        public struct Arm: Sendable, Hashable, Codable {
            public var variant: String
            public var weight: Int
            public var sent: Int
            public var conversions: Int
            public var rate: Double?
        }

        public struct Versus: Sendable, Hashable, Codable {
            public var variant: String
            public var baseline: String
            public var comparison: ExperimentStatistics.Comparison
            /// The interval leaves out 0 at the split's confidence.
            public var significant: Bool
        }

        public var step: String
        /// What counts as a success: a click (the default), an open, or a goal or conversion credited to the message.
        public var metric: String
        public var test: String
        public var confidence: Double
        public var arms: [Arm]
        public var versus: [Versus]
        public var sampleRatioPValue: Double?
        /// Under 0.001: the arms' sizes do not match the weights, so no verdict can be trusted.
        /// Not judged once the split is decided (from then on every lead gets the winner).
        public var sampleRatioMismatch: Bool
        /// `auto, at least N per variant`, or `manual`.
        public var winnerRule: String
        /// The variant the split settled on, when, by whom; nil while it runs.
        public var decision: Decision?

        public struct Decision: Sendable, Hashable, Codable {
            public var variant: String
            public var at: Date
            public var by: String
            /// The split as it stood when decided: each arm's sends and conversions, the differences and p-values.
            public var figures: [String: Value]
        }

        enum CodingKeys: String, CodingKey {
            case step, metric, test, confidence, arms, versus, sampleRatioPValue = "sample_ratio_p_value", sampleRatioMismatch = "sample_ratio_mismatch",
                 winnerRule = "winner_rule", decision
        }

        init(step: String, message: Message, results: [String: StepResult], decision: ExperimentDecision?) {
            var confidence = 0.95
            if case .auto(_, let declared, _)? = message.winner { confidence = declared }
            self.init(step: step, variants: message.variants.map { ($0.name, $0.weight) }, results: results, metric: message.metric.rawValue,
                      confidence: confidence)
            if case .auto(_, _, let minimum)? = message.winner { winnerRule = "auto, at least \(minimum) per variant" }
            self.decision = decision.map { Decision(variant: $0.variant, at: $0.at, by: $0.by, figures: $0.figures) }
            if decision != nil { sampleRatioMismatch = false }
        }

        init(step: String, variants: [(name: String, weight: Int)], results: [String: StepResult], metric: String = "clicked", confidence: Double = 0.95) {
            self.step = step
            self.metric = metric
            self.test = "mSPRT, always valid under daily looks"
            self.confidence = confidence
            winnerRule = "manual"
            let arms = variants.map { variant in
                let result = results[variant.name]
                let sent = result?.sent ?? 0
                let conversions = switch metric {
                case SplitMetric.opened.rawValue: result?.opened ?? 0
                case SplitMetric.converted.rawValue: result?.converted ?? 0
                default: result?.clicked ?? 0
                }
                return Arm(variant: variant.name, weight: variant.weight, sent: sent, conversions: conversions,
                           rate: StepResult.share(conversions, of: sent))
            }
            self.arms = arms
            let alpha = 1 - confidence
            versus = arms.dropFirst().compactMap { arm in
                guard let baseline = arms.first,
                      let comparison = ExperimentStatistics.compare(baseline: (baseline.conversions, baseline.sent), variant: (arm.conversions, arm.sent), alpha: alpha)
                else { return nil }
                return Versus(variant: arm.variant, baseline: baseline.variant, comparison: comparison, significant: comparison.low > 0 || comparison.high < 0)
            }
            sampleRatioPValue = ExperimentStatistics.sampleRatioPValue(counts: arms.map(\.sent), weights: arms.map { Double($0.weight) })
            sampleRatioMismatch = (sampleRatioPValue ?? 1) < 0.001
        }

        /// The arm that beats every other arm at the split's confidence (each pair by the
        /// always-valid test at alpha shared out over the pairs, Bonferroni), once every arm has
        /// sent `minimumPerVariant`; nil while none does, or while the arms' sizes are off.
        public func winner(minimumPerVariant: Int) -> String? {
            guard arms.count >= 2, arms.allSatisfy({ $0.sent >= minimumPerVariant }), !sampleRatioMismatch,
                  let best = arms.max(by: { ($0.rate ?? 0) < ($1.rate ?? 0) })
            else { return nil }
            let alpha = (1 - confidence) / Double(arms.count - 1)
            for other in arms where other.variant != best.variant {
                guard let comparison = ExperimentStatistics.compare(baseline: (other.conversions, other.sent), variant: (best.conversions, best.sent), alpha: alpha),
                      comparison.low > 0
                else { return nil }
            }
            return best.variant
        }

        /// What a decision keeps of the split as it stood.
        public var figures: [String: Value] {
            var figures: [String: Value] = ["metric": .string(metric), "confidence": .number(confidence)]
            for arm in arms {
                figures["\(arm.variant).sent"] = .number(Double(arm.sent))
                figures["\(arm.variant).conversions"] = .number(Double(arm.conversions))
            }
            for pair in versus {
                figures["\(pair.variant).difference"] = .number(pair.comparison.difference)
                figures["\(pair.variant).p_value"] = .number(pair.comparison.pValue)
            }
            return figures
        }
    }

    public var campaign: String
    public var name: String
    public var since: String?
    public var until: String?
    public var entered = 0
    public var completed = 0
    public var exited = 0
    /// Entered and not yet out, over the period (every period's leads, when it is open on both sides).
    public var active: Int { max(0, entered - completed - exited) }
    public var outcomes: [Outcome] = []
    /// Message steps in journey order, each followed by its variants when it has them.
    public var steps: [StepResult] = []
    /// Messages not sent because their address was suppressed, by reason.
    public var suppressedBy: [String: Int] = [:]
    /// Send steps that produced no message, by reason (no consent, no address, suppressed when
    /// the step ran, held out, cannot render), and holds by a frequency cap.
    public var skippedBy: [String: Int] = [:]
    /// One per A/B split of the campaign, in journey order.
    public var experiments: [Experiment] = []
    /// The campaign day by day (UTC), for charts: days with nothing counted are left out.
    public var days: [Day] = []
    /// Goals and conversions credited to the campaign's messages (last touch), their value, what
    /// its messages cost, and the return on that cost.
    public var conversions = 0
    public var revenue: Double { Double(valueCents) / 100 }
    var valueCents = 0
    public var cost: Double?
    public var roi: Double? { cost.flatMap { $0 > 0 ? (revenue - $0) / $0 : nil } }
    /// The rule conversions are credited by, in words.
    public var attribution = ""
    /// Each goal or conversion event: how many were credited to the campaign and what they were worth.
    public var goals: [Goal] = []

    public struct Goal: Sendable, Hashable, Codable {
        public var event: String
        public var conversions: Int
        public var revenue: Double
    }
    /// Why and since when nothing is sent from the campaign, while it is paused.
    public var paused: CampaignPause?
    /// The campaign against its holdout, when it keeps one.
    public var holdout: Holdout?

    /// The true lift of a campaign: entrants who got it against entrants kept out at random,
    /// on the share of each that reached a goal, by the same always-valid test as the splits.
    public struct Holdout: Sendable, Hashable, Codable {
        public struct Arm: Sendable, Hashable, Codable {
            public var entered = 0
            /// Reached one of the campaign's goals.
            public var converted = 0
            public var rate: Double? { StepResult.share(converted, of: entered) }

            enum CodingKeys: String, CodingKey { case entered, converted, rate }

            public func encode(to encoder: any Encoder) throws {
                var c = encoder.container(keyedBy: CodingKeys.self)
                try c.encode(entered, forKey: .entered)
                try c.encode(converted, forKey: .converted)
                try c.encode(rate, forKey: .rate)
            }

            public init() {}

            public init(from decoder: any Decoder) throws {
                let c = try decoder.container(keyedBy: CodingKeys.self)
                entered = try c.decode(Int.self, forKey: .entered)
                converted = try c.decode(Int.self, forKey: .converted)
            }
        }

        public var percent: Int
        public var treatment = Arm()
        public var holdout = Arm()
        /// Treatment's goal rate minus the holdout's, with its 95% always-valid interval.
        public var lift: ExperimentStatistics.Comparison?
        /// The interval leaves out 0.
        public var significant = false
        public var test = "mSPRT, always valid under daily looks"
    }

    public struct Day: Sendable, Hashable, Codable {
        public var day: String
        public var entered = 0
        public var sent = 0
        public var opened = 0
        public var clicked = 0
        /// Leads that reached one of the campaign's goals that day.
        public var conversions = 0
    }

    /// One `Survey` step's answers: how many answered of those it was sent to, the average, and
    /// for NPS the score — the percentage of promoters (9–10) minus that of detractors (0–6).
    public struct SurveyResult: Sendable, Hashable, Encodable {
        public var step: String
        public var scale: SurveyScale
        public var sent: Int
        /// Answers by value.
        public var answers: [Int: Int]

        public var responses: Int { answers.values.reduce(0, +) }
        public var responseRate: Double? { StepResult.share(responses, of: sent) }
        public var average: Double? { responses == 0 ? nil : Double(answers.reduce(0) { $0 + $1.key * $1.value }) / Double(responses) }
        public var promoters: Int { answers.filter { $0.key >= 9 }.values.reduce(0, +) }
        public var passives: Int { answers.filter { (7...8).contains($0.key) }.values.reduce(0, +) }
        public var detractors: Int { answers.filter { $0.key <= 6 }.values.reduce(0, +) }
        /// −100 to 100; nil for other scales and before any answer.
        public var nps: Double? {
            guard scale == .nps, responses > 0 else { return nil }
            return (Double(promoters) - Double(detractors)) / Double(responses) * 100
        }

        enum CodingKeys: String, CodingKey {
            case step, scale, sent, responses, responseRate = "response_rate", average, answers, nps, promoters, passives, detractors
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(step, forKey: .step)
            try c.encode(scale.rawValue, forKey: .scale)
            try c.encode(sent, forKey: .sent)
            try c.encode(responses, forKey: .responses)
            try c.encode(responseRate, forKey: .responseRate)
            try c.encode(average, forKey: .average)
            try c.encode(Dictionary(uniqueKeysWithValues: answers.map { (String($0.key), $0.value) }), forKey: .answers)
            if scale == .nps {
                try c.encode(nps, forKey: .nps)
                try c.encode(promoters, forKey: .promoters)
                try c.encode(passives, forKey: .passives)
                try c.encode(detractors, forKey: .detractors)
            }
        }
    }

    public var surveys: [SurveyResult] = []

    enum CodingKeys: String, CodingKey {
        case campaign, name, since, until, entered, active, completed, exited, outcomes, steps, suppressedBy = "suppressed_by", skippedBy = "skipped_by", experiments, days, paused,
             holdout, conversions, revenue, cost, roi, attribution, goals, surveys
    }

    struct PauseJSON: Encodable {
        let at: Date, reason: String, by: String
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(campaign, forKey: .campaign)
        try c.encode(name, forKey: .name)
        try c.encode(since, forKey: .since)
        try c.encode(until, forKey: .until)
        try c.encode(entered, forKey: .entered)
        try c.encode(active, forKey: .active)
        try c.encode(completed, forKey: .completed)
        try c.encode(exited, forKey: .exited)
        try c.encode(outcomes, forKey: .outcomes)
        try c.encode(steps, forKey: .steps)
        try c.encode(suppressedBy, forKey: .suppressedBy)
        try c.encode(skippedBy, forKey: .skippedBy)
        try c.encode(experiments, forKey: .experiments)
        try c.encode(days, forKey: .days)
        try c.encode(paused.map { PauseJSON(at: $0.at, reason: $0.reason, by: $0.by) }, forKey: .paused)
        try c.encode(holdout, forKey: .holdout)
        try c.encode(conversions, forKey: .conversions)
        try c.encode(revenue, forKey: .revenue)
        try c.encode(cost, forKey: .cost)
        try c.encode(roi, forKey: .roi)
        try c.encode(attribution, forKey: .attribution)
        try c.encode(goals, forKey: .goals)
        try c.encode(surveys, forKey: .surveys)
    }

    init(campaign: Campaign, filter: CounterFilter) {
        self.campaign = campaign.id
        self.name = campaign.name
        self.since = filter.since
        self.until = filter.until
    }

    /// The stats of every campaign of the playbook (or the one `filter` names), in playbook
    /// order, from the counters a store kept. Counters of steps or campaigns the playbook no
    /// longer has still count in their campaign's totals.
    public static func build(
        _ playbook: Playbook, counters: [CampaignCounter], filter: CounterFilter, controls: CampaignControls = .none, costs: MessageCosts = MessageCosts()
    ) -> [CampaignStats] {
        let byCampaign = Dictionary(grouping: counters, by: \.campaignID)
        return playbook.campaigns.filter { filter.campaignID == nil || $0.id == filter.campaignID }.map { campaign in
            var stats = CampaignStats(campaign: campaign, filter: filter)
            stats.paused = controls.pauses[campaign.id]
            let window = campaign.attribution.seconds == 0 ? "\(campaign.attribution.days) day\(campaign.attribution.days == 1 ? "" : "s")" : "\(campaign.attribution)"
            stats.attribution = "last touch: a goal or conversion goes to the campaign message the lead got last, up to \(window) after it"
            let mine = byCampaign[campaign.id] ?? []
            struct Way: Hashable { let status: String, reason: String }
            var outcomes: [Way: Int] = [:]
            var steps: [String: StepResult] = [:]
            var variants: [String: [String: StepResult]] = [:]
            for counter in mine {
                switch counter.metric {
                case "entered": stats.entered += counter.count
                case "completed", "exited":
                    if counter.metric == "completed" { stats.completed += counter.count } else { stats.exited += counter.count }
                    outcomes[Way(status: counter.metric, reason: counter.detail), default: 0] += counter.count
                default:
                    guard !counter.stepID.isEmpty else { continue }
                    steps[counter.stepID, default: StepResult(step: counter.stepID, channel: counter.channel, variant: nil)].add(counter.metric, counter.count)
                    if !counter.variant.isEmpty {
                        variants[counter.stepID, default: [:]][counter.variant, default: StepResult(step: counter.stepID, channel: counter.channel, variant: counter.variant)]
                            .add(counter.metric, counter.count)
                    }
                    if counter.metric == "suppressed" { stats.suppressedBy[counter.detail.isEmpty ? "suppressed" : counter.detail, default: 0] += counter.count }
                    if counter.metric == "skipped" || counter.metric == "capped" { stats.skippedBy[counter.detail, default: 0] += counter.count }
                }
            }
            // Journey order first, then whatever the counters hold that the playbook no longer has.
            let messageSteps = campaign.allSteps.compactMap { step -> (id: String, message: Message)? in
                switch step.action {
                case .email(let message), .sms(let message): (step.id, message)
                default: nil
                }
            }
            let journey = messageSteps.map(\.id)
            for step in messageSteps {
                guard let scale = step.message.survey else { continue }
                var answers: [Int: Int] = [:]
                for counter in mine where counter.metric == "answered" && counter.stepID == step.id {
                    if let value = Int(counter.detail) { answers[value, default: 0] += counter.count }
                }
                stats.surveys.append(SurveyResult(step: step.id, scale: scale, sent: steps[step.id]?.sent ?? 0, answers: answers))
            }
            stats.experiments = messageSteps.filter { $0.message.variants.count >= 2 }.map { step in
                Experiment(step: step.id, message: step.message, results: variants[step.id] ?? [:], decision: controls.decisions[campaign.id]?[step.id])
            }
            for id in journey + steps.keys.filter({ !journey.contains($0) }).sorted() {
                guard var step = steps[id] else { continue }
                step.cost = costs.cost(of: step)
                stats.conversions += step.converted
                stats.valueCents += step.valueCents
                if let cost = step.cost { stats.cost = (stats.cost ?? 0) + cost }
                stats.steps.append(step)
                stats.steps += (variants[id] ?? [:]).values.sorted { ($0.variant ?? "") < ($1.variant ?? "") }.map { variant in
                    var variant = variant
                    variant.cost = costs.cost(of: variant)
                    return variant
                }
            }
            let goals = Set(campaign.exits.map { EnrollmentMachine.goalReason($0.goal) })
            var days: [String: Day] = [:]
            for counter in mine {
                var day = days[counter.day] ?? Day(day: counter.day)
                switch counter.metric {
                case "entered": day.entered += counter.count
                case "sent": day.sent += counter.count
                case "opened": day.opened += counter.count
                case "clicked": day.clicked += counter.count
                case "exited" where goals.contains(counter.detail): day.conversions += counter.count
                default: continue
                }
                days[counter.day] = day
            }
            stats.days = days.values.sorted { $0.day < $1.day }
            var credited: [String: (count: Int, cents: Int)] = [:]
            // Each credit is one counter row (under its step and variant), so adding them all counts it once.
            for counter in mine where counter.metric == "converted" || counter.metric == "value-cents" {
                switch counter.metric {
                case "converted": credited[counter.detail, default: (0, 0)].count += counter.count
                case "value-cents": credited[counter.detail, default: (0, 0)].cents += counter.count
                default: break
                }
            }
            stats.goals = credited.map { Goal(event: $0.key, conversions: $0.value.count, revenue: Double($0.value.cents) / 100) }
                .sorted { ($0.revenue, $0.conversions, $1.event) > ($1.revenue, $1.conversions, $0.event) }
            if campaign.holdout > 0 {
                var holdout = Holdout(percent: campaign.holdout)
                for counter in mine {
                    let arm: WritableKeyPath<Holdout, Holdout.Arm>
                    switch counter.variant {
                    case Enrollment.holdoutArm: arm = \.holdout
                    case Enrollment.treatmentArm: arm = \.treatment
                    default: continue
                    }
                    if counter.metric == "entered" { holdout[keyPath: arm].entered += counter.count }
                    if counter.metric == "exited", goals.contains(counter.detail) { holdout[keyPath: arm].converted += counter.count }
                }
                holdout.lift = ExperimentStatistics.compare(baseline: (holdout.holdout.converted, holdout.holdout.entered),
                                                            variant: (holdout.treatment.converted, holdout.treatment.entered))
                holdout.significant = holdout.lift.map { $0.low > 0 || $0.high < 0 } ?? false
                stats.holdout = holdout
            }
            stats.outcomes = outcomes.map { way, count in
                Outcome(status: way.status, reason: way.reason, count: count, rate: StepResult.share(count, of: stats.entered),
                        isGoal: goals.contains(way.reason))
            }.sorted { ($0.count, $1.reason) > ($1.count, $0.reason) }
            return stats
        }
    }
}

extension CampaignStats {
    /// One CSV row per step and variant, for spreadsheets: campaign totals repeat on each row.
    public static let csvHeader = [
        "campaign", "step", "variant", "channel", "entered", "completed", "exited", "queued", "sent", "delivered", "bounced", "soft_bounced",
        "complained", "failed", "opened", "clicked", "dead", "suppressed", "delivery_rate", "open_rate", "click_rate", "converted", "revenue", "cost", "roi",
    ]

    public var csvRows: [[String]] {
        steps.map { step in
            [campaign, step.step, step.variant ?? "", step.channel, "\(entered)", "\(completed)", "\(exited)", "\(step.queued)", "\(step.sent)",
             "\(step.delivered)", "\(step.bounced)", "\(step.softBounced)", "\(step.complained)", "\(step.failed)", "\(step.opened)",
             "\(step.clicked)", "\(step.dead)", "\(step.suppressed)"]
                + [step.deliveryRate, step.openRate, step.clickRate].map { $0.map { String(format: "%.4f", $0) } ?? "" }
                + ["\(step.converted)", String(format: "%.2f", step.revenue), step.cost.map { String(format: "%.4f", $0) } ?? "",
                   step.roi.map { String(format: "%.4f", $0) } ?? ""]
        }
    }

    /// `YYYY-MM-DD`, or nil: the days a stats period is given in.
    public static func isDay(_ text: String) -> Bool {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
              let month = Int(parts[1]), let day = Int(parts[2]), Int(parts[0]) != nil else { return false }
        // Days are compared as text (the API's schema says as much), so 2026-02-30 is a bound
        // between February's last day and March's first; `CounterFilter.instants` reads it so too.
        return (1...12).contains(month) && (1...31).contains(day)
    }
}

/// What one message costs per channel (`[costs]` in nurture.toml); nil where none is set.
public struct MessageCosts: Sendable, Hashable {
    public var email: Double?
    public var sms: Double?

    public init(email: Double? = nil, sms: Double? = nil) {
        self.email = email
        self.sms = sms
    }

    func cost(of step: CampaignStats.StepResult) -> Double? {
        let each = switch step.channel {
        case OutgoingMessage.Channel.email.rawValue: email
        case OutgoingMessage.Channel.sms.rawValue: sms
        default: Double?.none
        }
        return each.map { $0 * Double(step.sent) }
    }
}

extension CampaignStats {
    /// The UTC day a counter of `date` is kept under.
    public static func day(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = calendar.dateComponents([.year, .month, .day], from: date)
        return String(format: "%04d-%02d-%02d", parts.year ?? 0, parts.month ?? 0, parts.day ?? 0)
    }
}

extension Engine {
    /// The results of every campaign (or one), over UTC days in `filter`, from the kept counters,
    /// with each campaign's pause and each split's decision.
    public func stats(_ filter: CounterFilter) async throws -> [CampaignStats] {
        let controls = try await store.campaignControls()
        return CampaignStats.build(playbook, counters: try await store.campaignCounters(filter), filter: filter, controls: controls, costs: costs)
    }
}
