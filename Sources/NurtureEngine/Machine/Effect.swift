public import Foundation
public import NurtureDSL
public import NurtureStorage

/// A message a step asks to send. The durable engine writes it to the outbox in the same
/// transaction that advances the enrollment; `simulate` renders and prints it.
public struct OutgoingMessage: Sendable, Hashable {
    public typealias Channel = MessageChannel

    public var channel: Channel
    public var leadID: String
    public var campaignID: String
    public var stepID: String
    public var template: String
    public var variant: String?
    /// The enrollment's message counter at the time: with lead, campaign and step it makes an id
    /// that stays the same across retries and restarts.
    public var occurrence: Int
}

/// What happened when the machine moved an enrollment: what the owner must do (send, notify,
/// enroll elsewhere) and what it should record (branches taken, waits, exits).
public enum Effect: Sendable, Hashable {
    case send(OutgoingMessage)
    case skipped(step: String, reason: String)
    case held(step: String, until: Date, reason: String)
    case waiting(step: String, until: Date)
    case waitingForEvent(step: String, matchers: [EventMatcher], until: Date)
    case eventArrived(step: String, event: String)
    case timedOut(step: String)
    case branched(step: String, taken: Bool, because: String)
    case scoreAdjusted(step: String, by: Int, to: Double)
    case attributeSet(step: String, name: String, value: Value)
    case stageSet(step: String, stage: Stage)
    case tagged(step: String, tag: String)
    case salesNotified(step: String, note: String?)
    /// The score crossed a threshold upward; its actions follow.
    case thresholdCrossed(points: Double, score: Double)
    case moved(step: String, to: String)
    /// An `ExitCampaigns` step: the owner ends the lead's journeys in the campaigns selected.
    case campaignsExited(step: String, selection: CampaignSelection)
    /// A `Suppress` step: the owner suppresses the lead's addresses and ends what they stop.
    case suppressed(step: String, scope: SuppressionScope, reason: String)
    case exited(reason: String)
    case completed
}
