public import Foundation
public import NurtureDSL
public import NurtureStorage

/// `nurture preview` and `nurture send-test`: a template rendered for a real lead (or a lead
/// file) exactly as a campaign would render it — persona parts, signals, links — without
/// enrolling anyone or writing anything.
extension LeadProcessor {
    public struct Preview: Sendable {
        public var template: String
        public var channel: OutgoingMessage.Channel
        public var rendered: RenderedMessage
        /// The lead's persona, whose own parts were chosen where the template has them.
        public var persona: String?
        public var signals: Set<String>
    }

    public struct UnknownTemplate: Error, CustomStringConvertible {
        public let name: String
        public let known: [String]
        public var description: String { "no template '\(name)'" + Suggestion.hint(for: name, among: known) + " in the templates folder" }
    }

    /// Renders `template` for `lead`, whose recent `events` decide its persona and signals.
    public func preview(_ template: String, for lead: Lead, events: [LeadEvent] = [], trigger: [String: Value] = [:], now: Date) throws -> Preview {
        let library = renderer.library
        let channel: OutgoingMessage.Channel
        if library.has(template, part: .subject) {
            channel = .email
        } else if library.has(template, part: .sms) {
            channel = .sms
        } else {
            throw UnknownTemplate(name: template, known: Array(library.catalog.templates.keys).sorted())
        }
        var work = LeadWork(state: LeadState(lead: lead, events: events))
        _ = refreshPersona(&work, now: now)
        let signals = signals(of: work, now: now)
        let outgoing = OutgoingMessage(channel: channel, leadID: lead.id, campaignID: "preview", stepID: template, template: template, variant: nil, occurrence: 0)
        // Inert links: a tester clicking unsubscribe, or an answer, in a preview or a test send
        // must not change a real lead (these paths answer 404).
        let base = self.links.publicURL
        var links = ["unsubscribe_url": "\(base)/u/preview-only", "preferences_url": "\(base)/p/preview-only"]
        for answer in 0...10 { links[SurveyScale.linkVariable(answer)] = "\(base)/s/preview-only-\(answer)" }
        let rendered = try renderer.render(outgoing, lead: work.lead, trigger: trigger, signals: signals, links: links)
        return Preview(template: template, channel: channel, rendered: rendered, persona: work.lead.attributes[Persona.attribute]?.textValue, signals: signals)
    }
}

extension OutboxMessage {
    /// A rendered template sent on its own to a tester (`nurture send-test`): marked as a test in
    /// its subject (or first words), under Nurture's own campaign, and never in the outbox, so
    /// neither stats nor frequency caps ever see it.
    public static func sendTest(_ preview: LeadProcessor.Preview, to address: String, now: Date) -> OutboxMessage {
        let id = "msg_test_" + String(UInt64.random(in: 0...UInt64.max), radix: 16)
        var body = WebhookBody(id: id, channel: preview.channel.rawValue, to: address, lead_id: "", campaign: systemCampaign,
                               step: "send-test", variant: nil)
        let subject = preview.rendered.subject.map { "[Test] " + $0 }
        if preview.channel == .email {
            body.subject = subject
            body.text = preview.rendered.text
            body.html = preview.rendered.html
        } else {
            body.body = "[Test] " + preview.rendered.text
        }
        return OutboxMessage(id: id, leadID: "", campaignID: systemCampaign, stepID: "send-test", channel: preview.channel, address: address, variant: nil,
                             subject: subject, preview: body.text ?? body.body ?? "", payload: body.json(), isTransactional: true, createdAt: now)
    }
}
