import Foundation

/// One counted fact of a campaign's results: how many times `metric` happened to a campaign (and,
/// for message facts, one step, variant and channel) on one UTC day. Kept by the store in the
/// same transaction as the fact, so reports read these rows instead of the history.
///
/// Metrics: `entered`, `completed`, `exited` (detail: the reason, e.g. the goal's event) for
/// enrollments; `queued`, `sent`, `dead`, `suppressed` (detail: why), `delivered`, `bounced`,
/// `soft-bounced`, `complained`, `failed`, and the first `opened` and `clicked` of each message.
public struct CampaignCounter: Sendable, Hashable, Codable {
    public var campaignID: String
    /// "" for facts of the campaign as a whole (entries and exits).
    public var stepID: String
    public var variant: String
    public var channel: String
    public var metric: String
    public var detail: String
    /// `YYYY-MM-DD`, UTC.
    public var day: String
    public var count: Int

    public init(campaignID: String, stepID: String = "", variant: String = "", channel: String = "", metric: String, detail: String = "", day: String, count: Int) {
        self.campaignID = campaignID
        self.stepID = stepID
        self.variant = variant
        self.channel = channel
        self.metric = metric
        self.detail = detail
        self.day = day
        self.count = count
    }
}

/// Which counters a report reads: one campaign or all, and UTC days from `since` to `until`
/// (both `YYYY-MM-DD`, inclusive; nil leaves that side open).
public struct CounterFilter: Sendable, Hashable {
    public var campaignID: String?
    public var since: String?
    public var until: String?

    public init(campaignID: String? = nil, since: String? = nil, until: String? = nil) {
        self.campaignID = campaignID
        self.since = since
        self.until = until
    }
}

/// The campaign results a store keeps as it writes.
public protocol CampaignCounters: Sendable {
    /// The counters matching `filter`, one row per campaign, step, variant, channel, metric,
    /// detail and day.
    func campaignCounters(_ filter: CounterFilter) async throws -> [CampaignCounter]

    /// The same counted afresh from the enrollments and messages as they stand: what the kept
    /// counters must equal while no message has gone back to the queue (a dead letter retried
    /// counts `dead` once and `sent` once; the recount sees only where it ended).
    func recountedCampaignCounters() async throws -> [CampaignCounter]

    /// Emails sent, opened and clicked, and conversions, of `filter`'s campaigns and days, by the
    /// leads' persona now (`stats --by persona`). Read from the messages and conversions themselves.
    func personaResults(_ filter: CounterFilter) async throws -> [PersonaResult]
}

extension CampaignCounter {
    /// Counters with one identity (everything but the count) added together, in report order.
    public static func merged(_ counters: some Sequence<CampaignCounter>) -> [CampaignCounter] {
        var totals: [[String]: CampaignCounter] = [:]
        for counter in counters {
            totals[counter.identity, default: CampaignCounter(
                campaignID: counter.campaignID, stepID: counter.stepID, variant: counter.variant, channel: counter.channel,
                metric: counter.metric, detail: counter.detail, day: counter.day, count: 0)].count += counter.count
        }
        return totals.sorted { $0.key.lexicographicallyPrecedes($1.key) }.map(\.value)
    }

    var identity: [String] { [campaignID, stepID, variant, channel, metric, detail, day] }
}

extension CampaignCounter {
    /// What is counted once per message, the first time it happens, with the outbox column that
    /// marks it: a provider's reports (by the delivery value a report sets) and the first open and
    /// click. A report repeated, or one followed by another (delivered, then complained), keeps
    /// each first mark, so the counters and a recount from the marks agree.
    public static let deliveryMarks: [(metric: String, column: String)] = [
        ("delivered", "delivered_at"), ("bounced", "bounced_at"), ("soft-bounced", "soft_bounced_at"), ("complained", "complained_at"),
        ("failed", "failed_at"),
    ]
    public static let firstMarks = deliveryMarks + [("opened", "opened_at"), ("clicked", "clicked_at")]

    /// The column marking a delivery report's first arrival, for the reports that have one.
    public static func markColumn(forDelivery delivery: String) -> String? {
        deliveryMarks.first { $0.metric == delivery }?.column
    }
}

/// How the leads of one persona did in one campaign: the emails they were sent, opened and
/// clicked (opens and clicks are email's), and what they converted. By the lead's persona now, so a lead whose persona changed counts
/// under its new one.
public struct PersonaResult: Sendable, Hashable, Codable {
    public var campaignID: String
    /// Empty for leads no persona fits.
    public var persona: String
    public var sent: Int
    public var opened: Int
    public var clicked: Int
    public var converted: Int
    public var value: Double

    public init(campaignID: String, persona: String, sent: Int = 0, opened: Int = 0, clicked: Int = 0, converted: Int = 0, value: Double = 0) {
        self.campaignID = campaignID
        self.persona = persona
        self.sent = sent
        self.opened = opened
        self.clicked = clicked
        self.converted = converted
        self.value = value
    }

    /// Messages and conversions counted separately, merged into one row per campaign and persona.
    public static func merged(sends: [PersonaResult], conversions: [PersonaResult]) -> [PersonaResult] {
        var rows: [String: PersonaResult] = [:]
        for row in sends + conversions {
            let key = row.campaignID + "\u{1}" + row.persona
            var total = rows[key] ?? PersonaResult(campaignID: row.campaignID, persona: row.persona)
            total.sent += row.sent
            total.opened += row.opened
            total.clicked += row.clicked
            total.converted += row.converted
            total.value += row.value
            rows[key] = total
        }
        return rows.values.sorted { ($0.campaignID, $0.persona) < ($1.campaignID, $1.persona) }
    }
}

extension CounterFilter {
    /// The filter's days as instants, from the start of `since` to the end of `until` (UTC),
    /// bounding the same days as the counters' text comparison: a day past its month's end
    /// (2026-02-30) falls between the month's last day and the next month's first.
    public var instants: (from: Double?, until: Double?) {
        /// Where `day` starts and ends; a day past its month's end is an empty instant there.
        func bounds(_ day: String) -> (start: Double, end: Double)? {
            let parts = day.split(separator: "-").compactMap { Int($0) }
            guard parts.count == 3 else { return nil }
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = TimeZone(identifier: "UTC")!
            guard let first = calendar.date(from: DateComponents(year: parts[0], month: parts[1], day: 1)),
                  let days = calendar.range(of: .day, in: .month, for: first)?.count
            else { return nil }
            let end = first.timeIntervalSince1970 + Double(min(parts[2], days)) * 86_400
            return (parts[2] > days ? end : end - 86_400, end)
        }
        return (since.flatMap(bounds)?.start, until.flatMap(bounds)?.end)
    }
}
