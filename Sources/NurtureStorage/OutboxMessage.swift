public import Foundation

/// A message written to the outbox in the same transaction that advanced its enrollment, then
/// dispatched. Its id is its idempotency key: derived from the enrollment, step and occurrence,
/// so it never changes across retries, restarts or a replay of the same step.
public struct OutboxMessage: Sendable, Hashable, Codable {
    public enum Status: String, Sendable, Hashable, Codable, CaseIterable {
        /// Waiting for its next attempt at `nextAttemptAt`.
        case pending
        /// Claimed by a worker until `leaseUntil`.
        case sending
        case sent
        /// Gave up after the retry horizon or a permanent failure; `dead-letters retry` revives it.
        case dead
        /// Not sent because the address was suppressed by the time it was claimed.
        case suppressed
    }

    public var id: String
    public var leadID: String
    public var campaignID: String
    public var stepID: String
    public var channel: MessageChannel
    public var address: String
    public var variant: String?
    public var subject: String?
    /// The text part (or the SMS body), for `nurture outbox`.
    public var preview: String
    /// The JSON body the webhook channel posts, rendered once when the message was produced.
    public var payload: String
    public var isTransactional: Bool
    public var createdAt: Date
    public var status: Status
    public var attempts: Int
    public var nextAttemptAt: Date
    public var lastError: String?
    public var leaseOwner: String?
    public var leaseUntil: Date?
    public var sentAt: Date?
    /// What the provider reported after sending: delivered, bounced, soft-bounced, complained, failed.
    public var delivery: String?

    public init(
        id: String, leadID: String, campaignID: String, stepID: String, channel: MessageChannel, address: String,
        variant: String?, subject: String?, preview: String, payload: String, isTransactional: Bool, createdAt: Date
    ) {
        self.id = id
        self.leadID = leadID
        self.campaignID = campaignID
        self.stepID = stepID
        self.channel = channel
        self.address = address
        self.variant = variant
        self.subject = subject
        self.preview = preview
        self.payload = payload
        self.isTransactional = isTransactional
        self.createdAt = createdAt
        status = .pending
        attempts = 0
        nextAttemptAt = createdAt
    }
}

extension OutboxMessage {
    /// The campaign id of messages Nurture sends on its own (SMS keyword replies), outside any
    /// campaign: frequency caps do not count them and suppressions do not hold them back.
    public static let systemCampaign = "_system"

    /// Whether a frequency cap counts this message: marketing, not transactional, not Nurture's own.
    public var countsTowardCaps: Bool { campaignID != Self.systemCampaign && !isTransactional }
}

/// A lead's messages on one channel: what a claim groups the sends its caps count by.
public struct SendKey: Hashable, Sendable {
    public let leadID: String
    public let channel: MessageChannel

    public init(leadID: String, channel: MessageChannel) {
        self.leadID = leadID
        self.channel = channel
    }
}

/// Where a message goes.
public enum MessageChannel: String, Sendable, Hashable, Codable, CaseIterable {
    case email, sms
    /// Alerts to the sales team; never capped or suppressed, never sent to the lead.
    case sales
}

/// A message produced for a lead, as frequency caps count it.
public struct SendRecord: Sendable, Hashable, Codable {
    public var channel: MessageChannel
    public var at: Date
    public var isTransactional: Bool
    /// Which campaign, step and variant it came from: the touch a conversion is credited to.
    /// Nil where only a frequency cap reads it.
    public var campaignID: String?
    public var stepID: String?
    public var variant: String?

    public init(channel: MessageChannel, at: Date, isTransactional: Bool, campaignID: String? = nil, stepID: String? = nil, variant: String? = nil) {
        self.channel = channel
        self.at = at
        self.isTransactional = isTransactional
        self.campaignID = campaignID
        self.stepID = stepID
        self.variant = variant
    }
}

/// A fact about a campaign step that has no outbox row of its own: a send step that produced no
/// message (no consent or address, the address suppressed, the lead held out, a template that
/// cannot render), a hold by a frequency cap, or an unsubscribe credited to the message that
/// preceded it. The facts behind `stats`' skips by reason and unsubscribes per step.
public struct StepFact: Sendable, Hashable, Codable {
    public var leadID: String
    public var campaignID: String
    public var stepID: String
    public var variant: String?
    public var channel: MessageChannel
    /// `skipped`, `capped` (once per hold) or `unsubscribed`.
    public var kind: String
    public var reason: String
    public var at: Date

    public init(leadID: String, campaignID: String, stepID: String, variant: String? = nil, channel: MessageChannel, kind: String, reason: String, at: Date) {
        self.leadID = leadID
        self.campaignID = campaignID
        self.stepID = stepID
        self.variant = variant
        self.channel = channel
        self.kind = kind
        self.reason = reason
        self.at = at
    }
}

/// A conversion credited to the campaign message that touched the lead last before it: the
/// facts behind conversions, revenue and ROI in `stats`.
public struct ConversionRecord: Sendable, Hashable, Codable {
    public var leadID: String
    public var campaignID: String
    public var stepID: String
    public var variant: String?
    public var channel: MessageChannel
    /// The event type of the goal or conversion.
    public var goal: String
    public var value: Double
    public var at: Date

    public init(leadID: String, campaignID: String, stepID: String, variant: String?, channel: MessageChannel, goal: String, value: Double, at: Date) {
        self.leadID = leadID
        self.campaignID = campaignID
        self.stepID = stepID
        self.variant = variant
        self.channel = channel
        self.goal = goal
        self.value = value
        self.at = at
    }
}
