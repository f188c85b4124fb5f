public import Foundation
public import NurtureDSL
public import NurtureStorage

/// Rules a sender keeps whatever a campaign says: frequency caps across all campaigns.
/// Quiet hours for SMS and consent live in the machine itself; suppressions come with the lead.
public struct SendingPolicy: Sendable, Hashable {
    public struct Cap: Sendable, Hashable, CustomStringConvertible {
        public var messages: Int
        public var per: Span

        public init(_ messages: Int, per: Span) {
            self.messages = messages
            self.per = per
        }

        public var description: String { "\(messages) per \(per)" }
    }

    public var emailCap: Cap?
    public var smsCap: Cap?
    /// `[sending] default_timezone`: the zone of a lead with no zone, country or phone to infer one from.
    public var defaultTimeZone = "UTC"

    /// One marketing email per lead per 24 hours and one SMS per 72 hours.
    public static let standard = SendingPolicy(emailCap: Cap(1, per: .hours(24)), smsCap: Cap(1, per: .hours(72)))
    public static let unlimited = SendingPolicy(emailCap: nil, smsCap: nil)

    public init(emailCap: Cap?, smsCap: Cap?) {
        self.emailCap = emailCap
        self.smsCap = smsCap
    }

    public func cap(for channel: OutgoingMessage.Channel) -> Cap? {
        channel == .email ? emailCap : smsCap
    }

    /// The earliest moment another marketing message may go to this lead on `channel`, or nil
    /// when it may go now. Transactional campaigns are exempt and their sends do not count.
    public func nextAllowed(_ channel: OutgoingMessage.Channel, after sends: [SendRecord], now: Date, clock: LocalClock) -> Date? {
        guard let cap = cap(for: channel), cap.messages > 0 else { return nil }
        let windowStart = clock.adding(Span(days: -cap.per.days, seconds: -cap.per.seconds), to: now)
        let counted = sends.filter { $0.channel == channel && !$0.isTransactional && $0.at > windowStart && $0.at <= now }
            .map(\.at).sorted()
        guard counted.count >= cap.messages else { return nil }
        // The oldest send in the window has to age out before there is room again.
        return clock.adding(cap.per, to: counted[counted.count - cap.messages])
    }
}
