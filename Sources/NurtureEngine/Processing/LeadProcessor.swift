public import Foundation
public import NurtureDSL
public import NurtureStorage

/// Runs a playbook's campaigns for one lead: enrolls, advances, hands events over, and turns
/// sends into rendered outbox messages. Pure: it changes a ``LeadWork`` and nothing else, so the
/// simulator and the durable worker run exactly the same logic.
public struct LeadProcessor: Sendable {
    public let playbook: Playbook
    public let renderer: MessageRenderer
    public let links: LinkSigner
    /// Nil when the playbook has no scoring model: scores then change only by `AdjustScore`.
    public let scoring: ScoreCalculator?
    /// What Nurture answers to STOP, START and HELP.
    public var smsReplies: SMSReplies
    /// How leads without a time zone get one.
    public let zones: ZoneInference
    let machines: [String: EnrollmentMachine]

    public init(playbook: Playbook, templates: TemplateLibrary, policy: SendingPolicy = .standard, links: LinkSigner) {
        self.playbook = playbook
        renderer = MessageRenderer(playbook: playbook, library: templates)
        self.links = links
        scoring = playbook.scoring.map(ScoreCalculator.init(model:))
        smsReplies = SMSReplies(brand: playbook.brand)
        zones = ZoneInference(defaultZone: policy.defaultTimeZone)
        machines = Dictionary(playbook.campaigns.map { ($0.id, EnrollmentMachine(campaign: $0, policy: policy)) }) { first, _ in first }
    }

    // MARK: - Entering

    /// Enrolls the lead if the campaign's re-entry policy allows, and runs it at once unless
    /// `advance` is false (bulk imports leave the first step to the worker, from `startingAt`
    /// when given: `leads enroll --at`).
    public func enroll(
        _ campaign: Campaign, trigger: [String: Value], because reason: String, _ work: inout LeadWork, now: Date, advance: Bool = true,
        startingAt start: Date? = nil
    ) {
        guard let machine = machines[campaign.id] else { return }
        let earlier = work.enrollments.filter { $0.campaignID == campaign.id }
        guard EntryRules.mayEnter(campaign, earlier: earlier, at: now, clock: LocalClock(zone: work.lead.zone)) else {
            work.log.append(.init(at: now, campaign: campaign.id, note: .notEntered(reason: "re-entry \(campaign.reentry) and the lead was already there")))
            return
        }
        if !campaign.isTransactional, let holder = work.enrollments.first(where: { $0.isActive && playbook.campaign($0.campaignID)?.exclusive == true }) {
            work.log.append(.init(at: now, campaign: campaign.id, note: .notEntered(reason: "the lead is in \(holder.campaignID), which runs alone")))
            return
        }
        var enrollment = machine.enroll(work.lead, at: now, trigger: trigger, sequence: (earlier.map(\.sequence).max() ?? 0) + 1)
        if !advance { enrollment.wakeAt = max(now, start ?? now) }
        work.enrollments.append(enrollment)
        work.log.append(.init(at: now, campaign: campaign.id, note: .entered(reason: reason)))
        // An exclusive campaign takes the lead over: its other marketing journeys end here.
        if campaign.exclusive { handOver(from: campaign.id, ending: { !$0.isTransactional }, &work, now: now) }
        if advance { run(campaign.id, &work, now: now) { machine, enrollment, state in machine.advance(&enrollment, state: &state, now: now) } }
    }

    // MARK: - Advancing

    /// Advances every enrollment that is due at `now`.
    public func advanceDue(_ work: inout LeadWork, now: Date) {
        refreshScore(&work, now: now)
        // A persona may rest on behaviour within a period, which ends with time.
        assignPersona(&work, now: now)
        // Earliest due first, so a step that has waited longest is not pre-empted by a newer
        // campaign's step competing for the same frequency cap.
        let due = work.enrollments.filter { $0.isDue(at: now) }
            .sorted { ($0.wakeAt ?? .distantPast, $0.campaignID) < ($1.wakeAt ?? .distantPast, $1.campaignID) }
            .map(\.campaignID)
        for campaignID in due {
            run(campaignID, &work, now: now) { machine, enrollment, state in
                enrollment.isDue(at: now) ? machine.advance(&enrollment, state: &state, now: now) : []
            }
        }
    }

    /// Hands an event the lead did to every enrollment (goals, waits) and every entry.
    /// The caller has stored the event; this records it in the lead's recent history.
    public func receive(_ event: LeadEvent, _ work: inout LeadWork) {
        let now = event.at
        work.state.events.append(event)
        // Kept with or without a scoring model: the inactivity entries are measured from it. A
        // lead that never did anything is measured from its first event; its first own activity
        // (even one older, played back from a CRM) replaces that.
        if !ScoreCalculator.systemEvents.contains(event.type) {
            let ownBefore = work.state.events.dropLast().contains { !ScoreCalculator.systemEvents.contains($0.type) }
            work.state.scoring.lastActivityAt = ownBefore ? max(work.state.scoring.lastActivityAt ?? event.at, event.at) : event.at
        } else if work.state.scoring.lastActivityAt == nil {
            work.state.scoring.lastActivityAt = event.at
        }
        work.log.append(.init(at: now, campaign: "", note: .event(event)))
        applyCompliance(event, &work)
        if event.type == SalesOutcome.eventType { SalesOutcome(event: event)?.apply(to: &work.lead) }
        if event.type == SurveyAnswer.eventType, let answer = SurveyAnswer(event) { record(answer, &work, now: now) }
        creditConversion(event, &work)
        rescore(&work, now: now)
        assignPersona(&work, now: now)
        for campaignID in Set(work.enrollments.filter(\.isActive).map(\.campaignID)).sorted() {
            run(campaignID, &work, now: now) { machine, enrollment, state in
                machine.receive(event, &enrollment, state: &state, now: now)
            }
        }
        for campaign in playbook.campaigns where work.activeEnrollment(in: campaign.id) == nil {
            if let entry = EntryRules.entry(of: campaign, firedBy: event) {
                enroll(campaign, trigger: EntryRules.captures(of: entry, from: event), because: "entry \(entry.trigger)", &work, now: now)
            }
        }
    }

    /// Last touch: a goal or conversion event goes to the campaign message the lead got last
    /// before it, among the campaigns that count that event, if it came within that campaign's
    /// attribution window. Each event is credited once, so the campaigns' revenue adds up.
    func creditConversion(_ event: LeadEvent, _ work: inout LeadWork) {
        var best: (send: SendRecord, value: Double)?
        for campaign in playbook.campaigns {
            guard let value = campaign.conversionValue(of: (event.type, event.properties)) else { continue }
            let window = TimeInterval(campaign.attribution.approximateSeconds)
            let touch = work.state.sends.filter { send in
                send.campaignID == campaign.id && send.stepID != nil && send.at <= event.at && event.at.timeIntervalSince(send.at) <= window
            }.max { $0.at < $1.at }
            if let touch, touch.at > best?.send.at ?? .distantPast { best = (touch, value) }
        }
        guard let (send, value) = best, let campaignID = send.campaignID, let stepID = send.stepID else { return }
        work.newConversions.append(ConversionRecord(leadID: work.lead.id, campaignID: campaignID, stepID: stepID, variant: send.variant,
                                                    channel: send.channel, goal: event.type, value: value, at: event.at))
    }

    /// Records a send step that produced nothing (or a cap held), for the results. Other
    /// steps' skips (a weekday wait with no weekday) are not sends and are not counted.
    private func skipped(_ stepID: String, in campaignID: String, kind: String, reason: String, _ work: inout LeadWork, now: Date) {
        let channel: OutgoingMessage.Channel
        switch playbook.campaign(campaignID)?.step(stepID)?.action {
        case .email?: channel = .email
        case .sms?: channel = .sms
        default: return
        }
        work.newStepFacts.append(StepFact(leadID: work.lead.id, campaignID: campaignID, stepID: stepID, channel: channel, kind: kind, reason: reason, at: now))
    }

    /// Runs one machine operation on the lead's active enrollment in a campaign, then follows
    /// its consequences: messages, moves, and what the lead's changes mean to other campaigns.
    private func run(
        _ campaignID: String, _ work: inout LeadWork, now: Date,
        _ operation: (EnrollmentMachine, inout Enrollment, inout LeadState) -> [Effect]
    ) {
        guard var machine = machines[campaignID],
              let index = work.enrollments.lastIndex(where: { $0.campaignID == campaignID && $0.isActive })
        else { return }
        let paused = work.controls.isPaused(campaignID)
        machine.holdsSteps = paused
        if let decided = work.controls.decisions[campaignID] { machine.decidedVariants = decided.mapValues(\.variant) }
        let before = work.lead
        var enrollment = work.enrollments[index]
        var effects = operation(machine, &enrollment, &work.state)
        if paused, enrollment.isActive, !CampaignPause.isParked(enrollment.wakeAt ?? now) {
            // Out of the due index until the campaign resumes, with its due time kept.
            enrollment.wakeAt = CampaignPause.parked(enrollment.wakeAt ?? now)
            effects.append(.held(step: enrollment.stepID ?? "", until: CampaignPause.unparked(enrollment.wakeAt!), reason: "campaign paused"))
        }
        work.enrollments[index] = enrollment
        // A step that changed the lead (a tag, a stage) may change its persona before a send
        // later in the same advance is rendered.
        if work.lead != before { refreshPersona(&work, now: now) }
        var movedTo: Campaign?
        var adjusted = false
        // Evaluated once for all the sends of this advance, and only if there is one.
        var signals: Set<String>?
        for effect in effects {
            var occurrence = LeadWork.Occurrence(at: now, campaign: campaignID, effect: effect)
            switch effect {
            case .send(let outgoing):
                let shown = signals ?? self.signals(of: work, now: now)
                signals = shown
                switch message(for: outgoing, enrollment: enrollment, lead: work.lead, signals: shown, now: now) {
                case .success(let message):
                    occurrence.message = message
                    let persona = work.lead.attributes[Persona.attribute]?.textValue
                    let parts: [TemplateCatalog.Part] = outgoing.channel == .email ? [.subject, .text, .html] : [.sms]
                    if parts.contains(where: { renderer.written(outgoing.template, $0, for: persona) != outgoing.template }) {
                        occurrence.writtenFor = persona
                    }
                    work.newMessages.append(message)
                case .failure(let problem):
                    occurrence.effect = .skipped(step: outgoing.stepID, reason: "cannot render: \(problem)")
                    skipped(outgoing.stepID, in: campaignID, kind: "skipped", reason: "cannot render", &work, now: now)
                }
            case .skipped(let step, let reason):
                skipped(step, in: campaignID, kind: "skipped", reason: reason, &work, now: now)
            case .held(let step, _, let reason) where reason.hasPrefix("frequency cap"):
                skipped(step, in: campaignID, kind: "capped", reason: reason, &work, now: now)
            case .salesNotified(let step, let note):
                occurrence.message = notifySales(
                    &work, trigger: "campaign \(campaignID), step \(step)", note: note, threshold: nil,
                    id: OutboxMessage.id(leadID: work.lead.id, campaignID: campaignID, enrollment: enrollment.sequence, stepID: step,
                                         occurrence: enrollment.messagesProduced),
                    now: now)
            case .scoreAdjusted(let step, let points, _) where scoring != nil:
                record(LeadEvent(ScoreCalculator.adjustmentEvent, at: now, properties: [
                    "points": .number(Double(points)), "campaign": .string(campaignID), "step": .string(step),
                    "reason": .string(adjustmentReason(campaignID, step) ?? "Campaign \(campaignID): \(step)"),
                ]), &work)
                adjusted = true
            case .moved(_, let target):
                movedTo = playbook.campaign(target)
            case .campaignsExited(_, let selection):
                handOver(from: campaignID, ending: { selection.contains($0) }, &work, now: now)
            case .suppressed(_, let scope, let reason):
                suppress(scope, reason: reason, from: campaignID, &work, now: now)
            default:
                break
            }
            work.log.append(occurrence)
        }
        if adjusted {
            rescore(&work, now: now)
            // Show the score the adjustment led to under the model, not the bare sum.
            for index in work.log.indices.reversed() {
                guard case .scoreAdjusted(let step, let by, _)? = work.log[index].effect else { continue }
                work.log[index].effect = .scoreAdjusted(step: step, by: by, to: work.lead.score)
                break
            }
        }
        if work.lead != before { leadChanged(from: before, &work, now: now, except: campaignID) }
        if let movedTo { enroll(movedTo, trigger: [:], because: "moved from \(campaignID)", &work, now: now) }
    }

    /// Ends the lead's journeys in the campaigns `ending` selects, other than `campaignID`, with
    /// the hand-over as the reason.
    func handOver(from campaignID: String, ending: (Campaign) -> Bool, reason: String? = nil, _ work: inout LeadWork, now: Date) {
        let reason = reason ?? "handed over to \(campaignID)"
        for other in playbook.campaigns where other.id != campaignID && ending(other) && work.activeEnrollment(in: other.id) != nil {
            run(other.id, &work, now: now) { machine, enrollment, _ in machine.stop(&enrollment, reason: reason, now: now) }
        }
    }

    /// Suppresses the lead's addresses for marketing or for everything, and ends the journeys
    /// that can no longer send it anything.
    private func suppress(_ scope: SuppressionScope, reason: String, from campaignID: String, _ work: inout LeadWork, now: Date) {
        for channel in [OutgoingMessage.Channel.email, .sms] {
            // A suppression already there that reaches as far (an unsubscribe, a STOP that START
            // may lift, a bounce) is kept with its own reason.
            let new = Suppression(scope == .all ? .all : .marketing, reason: reason)
            if let existing = work.state.suppressions[channel], existing.scope.reaches(new.scope) { continue }
            work.state.suppressions[channel] = work.state.suppressions[channel].map { $0.adding(new) } ?? new
        }
        handOver(from: campaignID, ending: { scope == .all || !$0.isTransactional }, reason: "suppressed by \(campaignID): \(reason)", &work, now: now)
    }

    /// The lead was changed from outside the campaigns (an import, the API, a CRM sync):
    /// goals may be reached and attribute or score entries may fire.
    public func leadUpdated(from old: Lead, _ work: inout LeadWork, now: Date) {
        rescore(&work, now: now)
        leadChanged(from: old, &work, now: now, except: "")
    }

    func leadChanged(from old: Lead, _ work: inout LeadWork, now: Date, except changer: String) {
        // Seen by the goals and entries below as part of the same change.
        refreshPersona(&work, now: now)
        for campaignID in Set(work.enrollments.filter(\.isActive).map(\.campaignID)).sorted() where campaignID != changer {
            let state = work.state
            run(campaignID, &work, now: now) { machine, enrollment, _ in machine.leadChanged(&enrollment, state: state, now: now) }
        }
        for campaign in playbook.campaigns where work.activeEnrollment(in: campaign.id) == nil {
            if let entry = EntryRules.entry(of: campaign, firedByChangeFrom: old, to: work.lead) {
                enroll(campaign, trigger: [:], because: "entry \(entry.trigger)", &work, now: now)
            }
        }
    }

    // MARK: - Messages

    struct RenderProblem: Error, CustomStringConvertible {
        let description: String
    }

    private func message(
        for outgoing: OutgoingMessage, enrollment: Enrollment, lead: Lead, signals: Set<String>, now: Date
    ) -> Result<OutboxMessage, RenderProblem> {
        let unsubscribe = links.unsubscribeURL(leadID: lead.id, channel: outgoing.channel)
        let id = OutboxMessage.id(leadID: lead.id, campaignID: outgoing.campaignID, enrollment: enrollment.sequence,
                                  stepID: outgoing.stepID, occurrence: outgoing.occurrence)
        let campaign = playbook.campaign(outgoing.campaignID)
        var linked = ["unsubscribe_url": unsubscribe, "preferences_url": links.preferencesURL(leadID: lead.id)]
        if case .email(let sent)? = campaign?.step(outgoing.stepID)?.action, let scale = sent.survey {
            for answer in scale.answers { linked[SurveyScale.linkVariable(answer)] = links.surveyURL(messageID: id, answer: answer) }
        }
        let rendered: RenderedMessage
        do {
            rendered = try renderer.render(
                outgoing, lead: lead, trigger: enrollment.trigger, signals: signals, links: linked,
                tracker: TrackedLinks(links: links, tracking: campaign?.effectiveTracking ?? .off, messageID: id))
        } catch {
            return .failure(RenderProblem(description: "\(error)"))
        }
        let address = (outgoing.channel == .email ? lead.email : lead.phone) ?? ""
        var body = WebhookBody(id: id, channel: outgoing.channel.rawValue, to: address, lead_id: lead.id,
                               campaign: outgoing.campaignID, step: outgoing.stepID, variant: outgoing.variant)
        switch outgoing.channel {
        case .email:
            body.subject = rendered.subject
            body.html = rendered.html
            body.text = rendered.text
            body.headers = ["List-Unsubscribe": "<\(unsubscribe)>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"]
        case .sms, .sales:
            body.body = rendered.text
        }
        return .success(OutboxMessage(
            id: id, leadID: lead.id, campaignID: outgoing.campaignID, stepID: outgoing.stepID, channel: outgoing.channel,
            address: address, variant: outgoing.variant, subject: rendered.subject, preview: rendered.text, payload: body.json(),
            isTransactional: campaign?.isTransactional ?? false, createdAt: now))
    }
}
