public import Foundation
import Crypto
public import NurtureDSL
public import NurtureStorage

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
        // A sunset also stops marketing, but the lead's own unsubscribe is still recorded over it.
        if ComplianceEvent.isUnsubscribed(try await store.suppressions(address: address)[channel]) { return .alreadyUnsubscribed(lead) }
        let event = IncomingEvent(subject: .id(leadID), type: ComplianceEvent.unsubscribed, at: now,
                                  properties: ["channel": .string(channel.rawValue), "via": .string(via)])
        _ = try await track([event], now: now, via: "unsubscribe")
        return .unsubscribed(lead)
    }

    /// What an unsubscribe page shows: the lead's address on `channel` and whether it is already
    /// suppressed there; nil for an unknown lead.
    public func unsubscribeState(leadID: String, channel: OutgoingMessage.Channel) async throws -> (address: String, suppressed: Bool)? {
        guard let lead = try await store.lead(id: leadID) else { return nil }
        let address = (channel == .email ? lead.email : lead.phone) ?? ""
        return (address, ComplianceEvent.isUnsubscribed(try await store.suppressions(address: address)[channel]))
    }

    /// The event that records an open of a message, or nil when the message is unknown. Only the
    /// first open counts (its client id repeats): later ones, often mail scanners and image
    /// proxies, would only inflate engagement. Tracking hits are the busiest requests after a
    /// send, so the caller stores the event through its ``IngestQueue``.
    public func openEvent(messageID: String, now: Date) async throws -> IncomingEvent? {
        try await engagementEvent(ComplianceEvent.emailOpened, messageID: messageID, extra: [:], clientID: "open:\(messageID)", now: now)
    }

    /// The event that records a click of one link of a message; only the first click of each link counts.
    public func clickEvent(messageID: String, target: String, now: Date) async throws -> IncomingEvent? {
        let digest = SHA256.hash(data: Data(target.utf8)).prefix(8).map { String(format: "%02x", $0) }.joined()
        return try await engagementEvent(ComplianceEvent.emailClicked, messageID: messageID, extra: ["url": .string(target)],
                                         clientID: "click:\(messageID):\(digest)", now: now)
    }

    private func engagementEvent(_ type: String, messageID: String, extra: [String: Value], clientID: String, now: Date) async throws -> IncomingEvent? {
        guard let message = try await store.message(id: messageID) else { return nil }
        var properties: [String: Value] = ["message": .string(messageID), "campaign": .string(message.campaignID), "step": .string(message.stepID)]
        properties.merge(extra) { _, new in new }
        return IncomingEvent(subject: .id(message.leadID), type: type, at: now, properties: properties, clientID: clientID)
    }
}

/// The preferences page behind `{{preferences_url}}`: what the person gets by kind, and their
/// own choices: opt out of some kinds, of all marketing, or resubscribe.
extension Engine {
    public struct Preferences: Sendable {
        public var address: String
        /// The marketing kinds the playbook sends, in playbook order, with their campaigns' names.
        public var kinds: [(kind: String, campaigns: [String])]
        public var suppression: Suppression?

        /// Whether email of this kind reaches the person now.
        public func receives(_ kind: String) -> Bool { !(suppression?.stops(kind: kind, transactional: false) ?? false) }

        /// A bounce or a complaint: no choice on the page changes it.
        public var isBlocked: Bool { suppression.map { !ComplianceEvent.liftableByTheLead($0) } ?? false }
    }

    public enum PreferenceChoice: Sendable, Hashable {
        /// Receive only these marketing kinds (by email).
        case receive(Set<String>)
        case unsubscribeFromMarketing
        case resubscribe
    }

    /// The page's state for a lead with an email address; nil for an unknown lead or one without email.
    public func preferences(leadID: String) async throws -> Preferences? {
        guard let lead = try await store.lead(id: leadID), let address = lead.email else { return nil }
        var kinds: [(kind: String, campaigns: [String])] = []
        for campaign in playbook.campaigns where !campaign.isTransactional {
            if let index = kinds.firstIndex(where: { $0.kind == campaign.kind.name }) {
                kinds[index].campaigns.append(campaign.name)
            } else {
                kinds.append((campaign.kind.name, [campaign.name]))
            }
        }
        return Preferences(address: address, kinds: kinds, suppression: try await store.suppressions(address: address)[.email])
    }

    /// Records the person's own choice as an event (the page's POST is their click) and applies it.
    public func choosePreferences(leadID: String, _ choice: PreferenceChoice, now: Date) async throws -> Preferences? {
        guard let current = try await preferences(leadID: leadID) else { return nil }
        let event: IncomingEvent
        switch choice {
        case .receive(let wanted):
            let optedOut = current.kinds.map(\.kind).filter { !wanted.contains($0) }
            event = IncomingEvent(subject: .id(leadID), type: ComplianceEvent.preferencesUpdated, at: now,
                                  properties: ["opted_out": .string(optedOut.joined(separator: ",")), "via": "preferences page"])
        case .unsubscribeFromMarketing:
            event = IncomingEvent(subject: .id(leadID), type: ComplianceEvent.unsubscribed, at: now,
                                  properties: ["channel": "email", "via": "preferences page"])
        case .resubscribe:
            event = IncomingEvent(subject: .id(leadID), type: ComplianceEvent.resubscribed, at: now,
                                  properties: ["channel": "email", "via": "preferences page"])
        }
        _ = try await track([event], now: now, via: "preferences")
        return try await preferences(leadID: leadID)
    }
}

/// The answer links of `Survey` emails: a page that asks for the click, which records it once.
extension Engine {
    public struct SurveyQuestion: Sendable, Hashable {
        public var scale: SurveyScale
        public var answer: Int
        public var leadID: String
        public var campaignID: String
        public var stepID: String
        /// Answered before (with this link or another of the same email).
        public var answered: Bool
    }

    /// What an answer link stands for; nil for a message that is not a survey, or an answer off its scale.
    public func surveyQuestion(messageID: String, answer: Int) async throws -> SurveyQuestion? {
        guard let message = try await store.message(id: messageID),
              case .email(let sent)? = playbook.campaign(message.campaignID)?.step(message.stepID)?.action,
              let scale = sent.survey, scale.answers.contains(answer)
        else { return nil }
        // One answer per journey: the reminder's links are refused once the first email was answered.
        var answered = !(try await store.storedEventIDs(["survey:\(messageID)"]).isEmpty)
        if !answered {
            let key = LeadKey.id(message.leadID)
            let journey = try await store.snapshots([key], window: Self.window(at: message.createdAt))[key]?.enrollments
                .filter { $0.campaignID == message.campaignID && $0.enrolledAt <= message.createdAt }.map(\.enrolledAt).max() ?? message.createdAt
            answered = try await store.latestEvents(leadID: message.leadID, limit: 500).contains {
                $0.type == SurveyAnswer.eventType && $0.properties["campaign"]?.textValue == message.campaignID && $0.at >= journey
            }
        }
        return SurveyQuestion(scale: scale, answer: answer, leadID: message.leadID, campaignID: message.campaignID, stepID: message.stepID, answered: answered)
    }

    /// Records the answer (once per survey email: a second answer, by any of its links, is refused).
    /// False when it was answered before.
    public func answerSurvey(_ question: SurveyQuestion, messageID: String, comment: String?, now: Date) async throws -> Bool {
        guard !question.answered else { return false }
        let answer = SurveyAnswer(scale: question.scale, answer: question.answer, campaignID: question.campaignID, stepID: question.stepID,
                                  messageID: messageID, comment: comment.map { String($0.prefix(2_000)) })
        let outcome = try await track([answer.event(leadID: question.leadID, at: now)], now: now, via: "survey")
        return outcome.first != .duplicate
    }
}
