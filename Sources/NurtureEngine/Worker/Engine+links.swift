public import Foundation
import Crypto
public import NurtureDSL

/// What the signed links in messages do: unsubscribe, and record opens and clicks.
extension Engine {
    public enum UnsubscribeResult: Sendable, Hashable {
        case unsubscribed(Lead)
        /// The address was already suppressed on that channel; nothing was recorded again.
        case alreadyUnsubscribed(Lead)
        case unknownLead
    }

    /// Suppresses the lead's address on `channel` and records `unsubscribed`, in one transaction:
    /// a message claimed after it commits is not sent.
    public func unsubscribe(leadID: String, channel: OutgoingMessage.Channel, via: String, now: Date) async throws -> UnsubscribeResult {
        guard let lead = try await store.lead(id: leadID) else { return .unknownLead }
        guard let address = channel == .email ? lead.email : lead.phone else { return .alreadyUnsubscribed(lead) }
        if try await store.suppressions(address: address)[channel] != nil { return .alreadyUnsubscribed(lead) }
        let event = IncomingEvent(subject: .id(leadID), type: ComplianceEvent.unsubscribed, at: now,
                                  properties: ["channel": .string(channel.rawValue), "via": .string(via)])
        _ = try await track([event], now: now, via: "unsubscribe")
        return .unsubscribed(lead)
    }

    /// Records the first open of a message (later ones, often mail scanners and image proxies,
    /// would only inflate engagement). False when the message is unknown.
    @discardableResult
    public func recordOpen(messageID: String, now: Date) async throws -> Bool {
        try await recordEngagement(ComplianceEvent.emailOpened, messageID: messageID, extra: [:], clientID: "open:\(messageID)", now: now)
    }

    /// Records the first click of each link in a message.
    @discardableResult
    public func recordClick(messageID: String, target: String, now: Date) async throws -> Bool {
        let digest = SHA256.hash(data: Data(target.utf8)).prefix(8).map { String(format: "%02x", $0) }.joined()
        return try await recordEngagement(ComplianceEvent.emailClicked, messageID: messageID, extra: ["url": .string(target)],
                                          clientID: "click:\(messageID):\(digest)", now: now)
    }

    private func recordEngagement(_ type: String, messageID: String, extra: [String: Value], clientID: String, now: Date) async throws -> Bool {
        guard let message = try await store.message(id: messageID) else { return false }
        var properties: [String: Value] = ["message": .string(messageID), "campaign": .string(message.campaignID), "step": .string(message.stepID)]
        properties.merge(extra) { _, new in new }
        let event = IncomingEvent(subject: .id(message.leadID), type: type, at: now, properties: properties, clientID: clientID)
        _ = try await track([event], now: now, via: "tracking")
        return true
    }
}
