import Foundation
public import NurtureStorage

/// What the state machine may read about a lead: its profile and its recent history.
public struct LeadState: Sendable {
    public var lead: Lead
    /// Events in time order (the durable engine loads a bounded recent window).
    public var events: [LeadEvent]
    /// Messages recently produced for the lead, for frequency caps.
    public var sends: [SendRecord]
    /// Channels on which the lead's address is suppressed, with the reason.
    public var suppressions: [OutgoingMessage.Channel: Suppression]
    /// The parts the lead's score was last computed from, so it can be decayed to any instant.
    public var scoring: ScoreSnapshot

    public init(
        lead: Lead, events: [LeadEvent] = [], sends: [SendRecord] = [], suppressions: [OutgoingMessage.Channel: Suppression] = [:],
        scoring: ScoreSnapshot = ScoreSnapshot()
    ) {
        self.lead = lead
        self.events = events
        self.sends = sends
        self.suppressions = suppressions
        self.scoring = scoring
    }
}
