public import Foundation
public import NurtureDSL
public import NurtureStorage

/// The events Nurture records about delivery and consent, and what each one changes. They go
/// through the same unit of work as any event, so a suppression commits with the event that
/// caused it, and a message claimed afterwards sees it.
public enum ComplianceEvent {
    public static let unsubscribed = "unsubscribed"
    public static let emailDelivered = "email.delivered"
    public static let emailBounced = "email.bounced"
    public static let emailComplained = "email.complained"
    public static let smsDelivered = "sms.delivered"
    public static let smsFailed = "sms.failed"
    public static let smsOptedOut = "sms.opted_out"
    public static let smsOptedIn = "sms.opted_in"
    public static let smsHelp = "sms.help"
    public static let emailOpened = "email.opened"
    public static let emailClicked = "email.clicked"
    /// A provider refused the address for good when a message was sent (`reason` says why).
    public static let emailRejected = "email.rejected"
    public static let smsRejected = "sms.rejected"

    /// The lead's own choice, made on the preferences page: `resubscribed` lifts its unsubscribe
    /// and opt-outs on a channel (not a bounce, a complaint or an erasure).
    public static let resubscribed = "resubscribed"
    /// Saved on the preferences page: `opted_out` lists the marketing kinds the lead no longer
    /// wants by email (comma-separated, empty for none); it replaces the opt-outs before it.
    public static let preferencesUpdated = "preferences.updated"

    /// What an unsubscribe stops: marketing email (receipts and invoices still go), every SMS
    /// (carriers' rules: an opted-out number gets nothing but the confirmation).
    public static func unsubscribe(on channel: OutgoingMessage.Channel, kinds: Set<String>? = nil) -> Suppression {
        if let kinds, channel == .email { return Suppression(.kinds(kinds), reason: "opted out") }
        return Suppression(channel == .email ? .marketing : .all, reason: "unsubscribed")
    }

    /// Whether the lead has unsubscribed there already (a sunset or a bounce is not its own choice).
    public static func isUnsubscribed(_ suppression: Suppression?) -> Bool {
        guard let suppression else { return false }
        return suppression.scope == .all || (suppression.stopsMarketing && suppression.reason == "unsubscribed")
    }

    /// Whether the lead's own resubscribe (or START) may lift it: what the lead chose, or a sunset;
    /// never a bounce, a complaint or an erasure.
    static func liftableByTheLead(_ suppression: Suppression) -> Bool {
        suppression.scope != .all || Suppression.liftable.contains(suppression.reason)
    }
}

/// The texts Nurture sends on its own in answer to SMS keywords. Never marketing: carriers and
/// the CTIA handbook allow one confirmation of an opt-out, and it must not sell.
public struct SMSReplies: Sendable, Hashable {
    public var stop: String
    public var start: String
    public var help: String

    public init(stop: String, start: String, help: String) {
        self.stop = stop
        self.start = start
        self.help = help
    }

    public init(brand: Brand) {
        stop = "\(brand.name): you are unsubscribed and will receive no more messages. Reply START to resubscribe."
        start = "\(brand.name): you are resubscribed. Reply STOP to unsubscribe, HELP for help."
        help = "\(brand.name): help at \(brand.supportEmail) or \(brand.supportPhone). Reply STOP to unsubscribe."
    }
}

extension LeadProcessor {
    /// An unsubscribe counts against the campaign message the lead got last on that channel
    /// (within the 14 days of sends a unit of work reads): the message it most likely answers.
    func creditUnsubscribe(on channel: OutgoingMessage.Channel, via: String, at: Date, _ work: inout LeadWork) {
        guard let last = work.state.sends.filter({ $0.channel == channel && $0.campaignID != nil && $0.stepID != nil && $0.at <= at }).max(by: { $0.at < $1.at }),
              let campaignID = last.campaignID, let stepID = last.stepID
        else { return }
        work.newStepFacts.append(StepFact(leadID: work.lead.id, campaignID: campaignID, stepID: stepID, variant: last.variant, channel: channel,
                                          kind: "unsubscribed", reason: via, at: at))
    }

    /// Applies what a delivery or consent event means before campaigns and scoring see it.
    func applyCompliance(_ event: LeadEvent, _ work: inout LeadWork) {
        let message = event.properties["message"]?.textValue
        switch event.type {
        case ComplianceEvent.unsubscribed:
            let channel = event.properties["channel"].flatMap { OutgoingMessage.Channel(rawValue: $0.textValue) } ?? .email
            let kinds = event.properties["kinds"].map { Set($0.textValue.split(separator: ",").map(String.init)) }
            let new = ComplianceEvent.unsubscribe(on: channel, kinds: kinds)
            let existing = work.state.suppressions[channel]
            if kinds == nil ? !ComplianceEvent.isUnsubscribed(existing) : (existing.map { $0.adding(new) } ?? new) != existing {
                work.state.suppressions[channel] = existing.map { $0.adding(new) } ?? new
                creditUnsubscribe(on: channel, via: event.properties["via"]?.textValue ?? "event", at: event.at, &work)
            }
        case ComplianceEvent.preferencesUpdated:
            let kinds = Set((event.properties["opted_out"]?.textValue ?? "").split(separator: ",").map(String.init))
            let existing = work.state.suppressions[.email]
            // A bounce or a complaint is not the lead's to lift.
            guard existing.map(ComplianceEvent.liftableByTheLead) ?? true else { return }
            let before: Set<String> = if case .kinds(let old)? = existing?.scope { old } else { [] }
            work.state.suppressions[.email] = kinds.isEmpty ? nil : Suppression(.kinds(kinds), reason: "opted out")
            if !kinds.subtracting(before).isEmpty { creditUnsubscribe(on: .email, via: "preferences", at: event.at, &work) }
        case ComplianceEvent.resubscribed:
            let channel = event.properties["channel"].flatMap { OutgoingMessage.Channel(rawValue: $0.textValue) } ?? .email
            if let existing = work.state.suppressions[channel], ComplianceEvent.liftableByTheLead(existing) {
                work.state.suppressions[channel] = nil
            }
            if channel == .email { work.lead.emailConsent = true }
        case ComplianceEvent.emailDelivered:
            if let message { work.deliveryUpdates[message] = "delivered" }
        case ComplianceEvent.emailBounced:
            let hard = event.properties["bounce"]?.textValue != "soft"
            if let message { work.deliveryUpdates[message] = hard ? "bounced" : "soft-bounced" }
            if hard {
                work.state.suppressions[.email] = Suppression(.all, reason: "hard bounce")
            } else if work.state.events.suffix(200).count(where: { $0.type == ComplianceEvent.emailBounced && $0.properties["bounce"]?.textValue == "soft"
                && event.at.timeIntervalSince($0.at) < 30 * 86_400 }) >= Self.softBouncesBeforeSuppression
            {
                suppressForGood(.email, reason: "repeated soft bounces", &work)
            }
        case ComplianceEvent.emailComplained:
            if let message { work.deliveryUpdates[message] = "complained" }
            work.state.suppressions[.email] = Suppression(.all, reason: "complaint")
        case ComplianceEvent.smsDelivered:
            if let message { work.deliveryUpdates[message] = "delivered" }
        case ComplianceEvent.smsFailed:
            if let message { work.deliveryUpdates[message] = "failed" }
        case ComplianceEvent.smsOptedOut:
            // One confirmation per opt-out: a second STOP finds the number already suppressed.
            guard work.state.suppressions[.sms]?.scope != .all else { return }
            work.state.suppressions[.sms] = Suppression(.all, reason: "SMS STOP")
            creditUnsubscribe(on: .sms, via: "SMS STOP", at: event.at, &work)
            reply(smsReplies.stop, step: "stop-confirmation", to: event, &work)
        case ComplianceEvent.smsOptedIn:
            if let existing = work.state.suppressions[.sms] {
                // A sunset is lifted by the lead's own START as an unsubscribe is.
                guard ComplianceEvent.liftableByTheLead(existing) else { return }
                work.state.suppressions[.sms] = nil
            }
            // Texting START is an explicit opt-in.
            work.lead.smsConsent = true
            reply(smsReplies.start, step: "start-confirmation", to: event, &work)
        case ComplianceEvent.smsHelp:
            reply(smsReplies.help, step: "help", to: event, &work)
        case ComplianceEvent.emailRejected, ComplianceEvent.smsRejected:
            // No confirmation to a number the carrier has already opted out: it would be refused too.
            let channel: OutgoingMessage.Channel = event.type == ComplianceEvent.emailRejected ? .email : .sms
            // An opt-out the provider holds (STOP sent to the carrier) is an SMS STOP here too, which START lifts.
            let reason = event.properties["opted_out"] == .bool(true) && channel == .sms
                ? "SMS STOP" : (event.properties["reason"]?.textValue ?? "refused by the provider")
            suppressForGood(channel, reason: reason, &work)
        default:
            break
        }
    }

    /// Stops everything to the address, keeping the reason of a suppression that already did.
    private func suppressForGood(_ channel: OutgoingMessage.Channel, reason: String, _ work: inout LeadWork) {
        if work.state.suppressions[channel]?.scope == .all { return }
        work.state.suppressions[channel] = Suppression(.all, reason: reason)
    }

    /// Soft bounces (a full mailbox, a greylisting server) within 30 days before the address is
    /// treated as dead.
    static let softBouncesBeforeSuppression = 3

    private func reply(_ text: String, step: String, to event: LeadEvent, _ work: inout LeadWork) {
        guard let phone = work.lead.phone else { return }
        let id = OutboxMessage.id(leadID: work.lead.id, campaignID: OutboxMessage.systemCampaign, enrollment: 0, stepID: step,
                                  occurrence: Int(event.at.timeIntervalSince1970 * 1000))
        var body = WebhookBody(id: id, channel: OutgoingMessage.Channel.sms.rawValue, to: phone, lead_id: work.lead.id,
                               campaign: OutboxMessage.systemCampaign, step: step, variant: nil)
        body.body = text
        work.newMessages.append(OutboxMessage(
            id: id, leadID: work.lead.id, campaignID: OutboxMessage.systemCampaign, stepID: step, channel: .sms, address: phone,
            variant: nil, subject: nil, preview: text, payload: body.json(), isTransactional: true, createdAt: event.at))
    }
}

extension LeadProcessor {
    /// The last word before a message leaves, taken in the claiming transaction at its first
    /// attempt and at every retry: a backlog, an outage or a long retry must not carry a
    /// message out of its send window or the SMS hours, nor past a frequency cap that counts
    /// what was really sent. Such a message waits for the next moment it may go; it is never
    /// dropped for it.
    public func claimDecision(_ candidate: ClaimCandidate, now: Date) -> ClaimDecision {
        let message = candidate.message
        guard message.channel != .sales, let machine = machines[message.campaignID] else { return .send }
        let clock = LocalClock(zone: TimeZone(identifier: candidate.timeZone) ?? TimeZone(identifier: "UTC")!)
        if let window = machine.sendingWindow(ofStep: message.stepID, channel: message.channel), !clock.isInside(window, at: now) {
            let reason = message.channel == .sms && !clock.isInside(.smsQuietHoursAllowed, at: now)
                ? "SMS quiet hours (08:00–21:00 local)" : "outside its send window \(window)"
            // A window that never opens was refused when the message was produced; a day's
            // pause keeps a message that slipped through from spinning.
            return .deferred(until: clock.nextOpening(of: window, atOrAfter: now) ?? now.addingTimeInterval(86_400), reason: reason)
        }
        if !message.isTransactional, !machine.campaign.isTransactional,
           let allowed = machine.policy.nextAllowed(message.channel, after: candidate.sends, now: now, clock: clock)
        {
            return .deferred(until: allowed, reason: "frequency cap (\(message.channel.rawValue) \(machine.policy.cap(for: message.channel)!), counted by sends)")
        }
        return .send
    }
}
