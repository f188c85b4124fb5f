public import Foundation
public import NurtureDSL

/// One lead's place in one campaign: everything the worker must store to carry on after a restart.
public struct Enrollment: Sendable, Hashable, Codable {
    public enum Status: String, Sendable, Hashable, Codable {
        case active, completed, exited
    }

    /// What the lead is doing at `stepID`.
    public enum Phase: String, Sendable, Hashable, Codable {
        /// About to run `stepID` (at `wakeAt` if set).
        case ready
        /// Inside the `Wait` step `stepID` until `wakeAt`.
        case waiting
        /// Inside the `WaitFor` step `stepID`; `wakeAt` is its timeout.
        case waitingForEvent
        /// The send step `stepID` is held by a send window or quiet hours until `wakeAt`.
        case held
    }

    public var leadID: String
    public var campaignID: String
    /// 1 for a lead's first time in this campaign, 2 for its second, …
    public var sequence: Int
    public var status: Status
    public var stepID: String?
    public var phase: Phase
    public var wakeAt: Date?
    public var enrolledAt: Date
    public var endedAt: Date?
    public var endReason: String?
    /// The variant each split step chose for this lead, kept so a weight change never moves it.
    public var variants: [String: String]
    /// Properties of the entry event the campaign captured (`{{trigger.invoice_number}}`).
    public var trigger: [String: Value]
    /// How many messages this enrollment has produced; part of each message's stable id.
    public var messagesProduced: Int

    public init(
        leadID: String, campaignID: String, sequence: Int = 1, firstStep: String?, enrolledAt: Date, trigger: [String: Value] = [:]
    ) {
        self.leadID = leadID
        self.campaignID = campaignID
        self.sequence = sequence
        status = .active
        stepID = firstStep
        phase = .ready
        wakeAt = nil
        self.enrolledAt = enrolledAt
        variants = [:]
        self.trigger = trigger
        messagesProduced = 0
    }

    public var isActive: Bool { status == .active }

    /// The key of `variants` that holds the enrollment's arm in a campaign with a holdout: no
    /// step id can be `*`. Kept there so every store already keeps it and counts by it.
    public static let armKey = "*"
    public static let holdoutArm = "holdout", treatmentArm = "treatment"

    /// In its campaign's holdout: it receives nothing from the campaign.
    public var isHeldOut: Bool { variants[Self.armKey] == Self.holdoutArm }

    /// True when the worker should advance this enrollment at `now`.
    public func isDue(at now: Date) -> Bool {
        isActive && (wakeAt.map { $0 <= now } ?? (phase == .ready))
    }
}
