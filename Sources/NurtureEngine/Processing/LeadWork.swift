public import Foundation
public import NurtureStorage

/// Everything one unit of work may read and change about one lead. Storage loads it inside a
/// transaction, the processor changes it, and storage writes it back in the same transaction:
/// the lead, its enrollments, the events it caused and the outbox messages it produced.
public struct LeadWork: Sendable {
    public var state: LeadState
    /// Every enrollment of the lead, ended ones too (re-entry rules read them).
    public var enrollments: [Enrollment]
    /// Events produced by the work itself (`sales.notified`, …), to be stored.
    public var newEvents: [LeadEvent] = []
    /// Messages to write to the outbox.
    public var newMessages: [OutboxMessage] = []
    /// What providers reported about sent messages: message id → delivered, bounced, …
    public var deliveryUpdates: [String: String] = [:]
    /// Goals and conversions credited to the campaign message that touched the lead last.
    public var newConversions: [ConversionRecord] = []
    /// Facts about steps without a message of their own: skips, cap holds, unsubscribes.
    public var newStepFacts: [StepFact] = []
    /// What happened, in order: what `simulate` prints and the worker logs.
    public var log: [Occurrence] = []
    /// The sales round-robin, shared by every lead of a transaction; nil assigns by rules only.
    public var rotation: OwnerRotation?
    /// Paused campaigns and decided splits, as read with the lead.
    public var controls = CampaignControls.none

    public init(state: LeadState, enrollments: [Enrollment] = []) {
        self.state = state
        self.enrollments = enrollments
    }

    public var lead: Lead {
        get { state.lead }
        set { state.lead = newValue }
    }

    public func activeEnrollment(in campaignID: String) -> Enrollment? {
        enrollments.last { $0.campaignID == campaignID && $0.isActive }
    }

    /// The earliest moment an active enrollment wants to run, if any.
    public var nextWake: Date? {
        enrollments.filter(\.isActive).compactMap { $0.wakeAt ?? ($0.phase == .ready ? Date.distantPast : nil) }.min()
    }

    /// One thing that happened to the lead.
    public struct Occurrence: Sendable {
        public var at: Date
        /// Empty for the lead's own events.
        public var campaign: String
        public var effect: Effect?
        public var note: Note?
        public var message: OutboxMessage?
        /// The persona whose own parts of the template the message was written from, if any.
        public var writtenFor: String?

        /// Things that are not a machine effect.
        public enum Note: Sendable, Hashable {
            case event(LeadEvent)
            case entered(reason: String)
            case notEntered(reason: String)
            /// The lead's persona became this one (nil: none fits any more).
            case persona(String?)
        }
    }
}
