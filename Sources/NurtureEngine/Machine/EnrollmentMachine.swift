public import Foundation
public import NurtureDSL
public import NurtureStorage

/// Moves one lead through one campaign. Pure: it reads the lead, the enrollment and `now`, changes
/// them, and returns effects; its owner (the simulator, the worker) stores and performs them.
///
/// The same machine runs in `simulate` on a virtual clock and in the worker on the real one.
public struct EnrollmentMachine: Sendable {
    public let campaign: Campaign
    public let policy: SendingPolicy
    let program: Program
    /// While the campaign is paused: goals still end enrollments and an awaited event still
    /// moves one on to its branch, but no step runs.
    var holdsSteps = false
    /// Variants decided for split steps, by step id: leads not yet split there get the winner.
    var decidedVariants: [String: String] = [:]

    /// A guard against a campaign that never yields; validation already refuses such campaigns.
    static let maximumStepsPerAdvance = 1_000

    public init(campaign: Campaign, policy: SendingPolicy = .standard) {
        self.campaign = campaign
        self.policy = policy
        program = Program(campaign.steps)
    }

    /// A new enrollment at the first step; runs nothing yet.
    public func enroll(_ lead: Lead, at now: Date, trigger: [String: Value] = [:], sequence: Int = 1) -> Enrollment {
        var enrollment = Enrollment(leadID: lead.id, campaignID: campaign.id, sequence: sequence, firstStep: program.first, enrolledAt: now, trigger: trigger)
        if campaign.holdout > 0 {
            enrollment.variants[Enrollment.armKey] = Self.isHeldOut(leadID: lead.id, campaignID: campaign.id, percent: campaign.holdout)
                ? Enrollment.holdoutArm : Enrollment.treatmentArm
        }
        return enrollment
    }

    /// The same lead is in or out of a campaign's holdout every time it enters, on every machine.
    static func isHeldOut(leadID: String, campaignID: String, percent: Int) -> Bool {
        VariantChoice.fnv1a("\(leadID)|\(campaignID)|holdout") % 100 < UInt64(percent)
    }

    // MARK: - Advancing

    /// Runs steps until the lead is held (a wait, a window, an awaited event) or leaves the campaign.
    public func advance(_ enrollment: inout Enrollment, state: inout LeadState, now: Date) -> [Effect] {
        var effects: [Effect] = []
        guard enrollment.isActive else { return effects }
        if let goal = reachedGoal(enrollment, state: state, now: now) {
            return end(&enrollment, .exited, reason: goal.reason, because: goal.because, now: now)
        }
        if holdsSteps { return effects }
        let clock = LocalClock(zone: state.lead.zone)
        for _ in 0..<Self.maximumStepsPerAdvance {
            if let wake = enrollment.wakeAt, wake > now { return effects }
            guard let id = enrollment.stepID else {
                return effects + end(&enrollment, .completed, reason: "completed", now: now)
            }
            guard let node = program.nodes[id] else {
                // The step was removed by a redeploy: there is no safe place to resume.
                return effects + end(&enrollment, .exited, reason: "step '\(id)' no longer exists in the campaign", now: now)
            }
            switch enrollment.phase {
            case .waiting:
                move(&enrollment, to: node.next)
                continue
            case .waitingForEvent:
                effects.append(.timedOut(step: id))
                move(&enrollment, to: node.firstOfBranch(node.step.branches.count - 1) ?? node.next)
                continue
            case .ready, .held:
                let before = state.lead
                effects += run(node, &enrollment, state: &state, clock: clock, now: now)
                if !enrollment.isActive { return effects }
                if state.lead != before, let goal = reachedGoal(enrollment, state: state, now: now) {
                    return effects + end(&enrollment, .exited, reason: goal.reason, because: goal.because, now: now)
                }
            }
        }
        return effects + end(&enrollment, .exited, reason: "stopped after \(Self.maximumStepsPerAdvance) steps without a wait", now: now)
    }

    private func run(_ node: Program.Node, _ enrollment: inout Enrollment, state: inout LeadState, clock: LocalClock, now: Date) -> [Effect] {
        let step = node.step
        if enrollment.isHeldOut, step.actsOnTheLead {
            move(&enrollment, to: node.next)
            return [.skipped(step: step.id, reason: "held out: the campaign's holdout group receives nothing")]
        }
        switch step.action {
        case .email(let message):
            return send(message, channel: .email, node: node, &enrollment, state: &state, clock: clock, now: now)
        case .sms(let message):
            return send(message, channel: .sms, node: node, &enrollment, state: &state, clock: clock, now: now)
        case .wait(let span, let window):
            var until = clock.adding(span, to: now)
            if let window, let opening = clock.nextOpening(of: window, atOrAfter: until) { until = opening }
            return hold(&enrollment, phase: .waiting, until: until, effect: .waiting(step: step.id, until: until))
        case .waitUntil(let time, let days):
            guard let until = clock.next(time, on: days, atOrAfter: now) else {
                move(&enrollment, to: node.next)
                return [.skipped(step: step.id, reason: "no weekday to wait for")]
            }
            return hold(&enrollment, phase: .waiting, until: until, effect: .waiting(step: step.id, until: until))
        case .waitFor(let events, let timeout, _):
            let until = timeout.map { clock.adding($0, to: now) } ?? Date.distantFuture
            enrollment.phase = .waitingForEvent
            enrollment.wakeAt = until
            return [.waitingForEvent(step: step.id, matchers: events.map(\.matcher), until: until)]
        case .branch(let condition, _, _):
            let result = ConditionEvaluator(state: state, campaignID: campaign.id, now: now).evaluate(condition)
            move(&enrollment, to: node.firstOfBranch(result.holds ? 0 : 1) ?? node.next)
            return [.branched(step: step.id, taken: result.holds, because: result.because)]
        case .adjustScore(let points, _):
            state.lead.score += Double(points)
            move(&enrollment, to: node.next)
            return [.scoreAdjusted(step: step.id, by: points, to: state.lead.score)]
        case .setAttribute(let name, let value):
            state.lead.attributes[name] = value
            move(&enrollment, to: node.next)
            return [.attributeSet(step: step.id, name: name, value: value)]
        case .setStage(let stage):
            state.lead.stage = stage
            move(&enrollment, to: node.next)
            return [.stageSet(step: step.id, stage: stage)]
        case .tag(let tag):
            state.lead.tags.insert(tag)
            move(&enrollment, to: node.next)
            return [.tagged(step: step.id, tag: tag)]
        case .notifySales(let note):
            move(&enrollment, to: node.next)
            return [.salesNotified(step: step.id, note: note)]
        case .moveTo(let target):
            return [.moved(step: step.id, to: target)] + end(&enrollment, .exited, reason: "moved to campaign \(target)", now: now)
        case .exit(let reason):
            return end(&enrollment, .exited, reason: reason ?? "exit step '\(step.id)'", now: now)
        case .exitCampaigns(let selection):
            move(&enrollment, to: node.next)
            return [.campaignsExited(step: step.id, selection: selection)]
        case .suppress(let scope, let reason):
            move(&enrollment, to: node.next)
            return [.suppressed(step: step.id, scope: scope, reason: reason)]
        }
    }

    private func send(
        _ message: Message, channel: OutgoingMessage.Channel, node: Program.Node, _ enrollment: inout Enrollment,
        state: inout LeadState, clock: LocalClock, now: Date
    ) -> [Effect] {
        let stepID = node.step.id, lead = state.lead
        if let reason = Self.cannotReach(lead, on: channel)
            ?? state.suppressions[channel].flatMap({ $0.stops(kind: campaign.kind.name, transactional: campaign.isTransactional) ? "the address is suppressed (\($0))" : nil })
        {
            move(&enrollment, to: node.next)
            return [.skipped(step: stepID, reason: reason)]
        }
        if let window = effectiveWindow(message, channel: channel), !clock.isInside(window, at: now) {
            guard let opening = clock.nextOpening(of: window, atOrAfter: now) else {
                move(&enrollment, to: node.next)
                return [.skipped(step: stepID, reason: "its send window \(window) never opens")]
            }
            let declared = message.window ?? campaign.window
            let heldOnlyByQuietHours = channel == .sms && (declared.map { clock.isInside($0, at: now) } ?? true)
            let reason = heldOnlyByQuietHours ? "SMS quiet hours (08:00–21:00 local)" : "send window \(window)"
            enrollment.phase = .held
            enrollment.wakeAt = opening
            return [.held(step: stepID, until: opening, reason: reason)]
        }
        if !campaign.isTransactional, let allowed = policy.nextAllowed(channel, after: state.sends, now: now, clock: clock) {
            // Deferred, never dropped: the step runs again once the cap has room.
            enrollment.phase = .held
            enrollment.wakeAt = allowed
            return [.held(step: stepID, until: allowed, reason: "frequency cap (\(channel.rawValue) \(policy.cap(for: channel)!))")]
        }
        let variant: String?
        if let chosen = enrollment.variants[stepID] {
            variant = chosen
        } else if let winner = decidedVariants[stepID], message.variants.contains(where: { $0.name == winner }) {
            enrollment.variants[stepID] = winner
            variant = winner
        } else if let chosen = VariantChoice.choose(message.variants, leadID: lead.id, campaignID: campaign.id, stepID: stepID) {
            enrollment.variants[stepID] = chosen.name
            variant = chosen.name
        } else {
            variant = nil
        }
        let template = message.variants.first { $0.name == variant }?.template ?? message.template
        let outgoing = OutgoingMessage(
            channel: channel, leadID: lead.id, campaignID: campaign.id, stepID: stepID, template: template,
            variant: variant, occurrence: enrollment.messagesProduced)
        enrollment.messagesProduced += 1
        state.sends.append(SendRecord(channel: channel, at: now, isTransactional: campaign.isTransactional, campaignID: campaign.id, stepID: stepID,
                                      variant: variant))
        move(&enrollment, to: node.next)
        return [.send(outgoing)]
    }

    /// When a message of step `stepID` may leave, asked again each time it is claimed: the
    /// step's window as the playbook says now (or the campaign's, for a step no longer there).
    public func sendingWindow(ofStep stepID: String, channel: OutgoingMessage.Channel) -> SendWindow? {
        switch program.nodes[stepID]?.step.action {
        case .email(let message)?, .sms(let message)?: effectiveWindow(message, channel: channel)
        default: channel == .sms ? (campaign.window ?? .anytime).intersection(.smsQuietHoursAllowed) : campaign.window
        }
    }

    /// The step's window, else the campaign's; SMS is always narrowed to 08:00–21:00 local.
    func effectiveWindow(_ message: Message, channel: OutgoingMessage.Channel) -> SendWindow? {
        let declared = message.window ?? campaign.window
        guard channel == .sms else { return declared }
        return (declared ?? .anytime).intersection(.smsQuietHoursAllowed)
    }

    /// Why a lead cannot receive anything on a channel, or nil when it can.
    static func cannotReach(_ lead: Lead, on channel: OutgoingMessage.Channel) -> String? {
        switch channel {
        case .email:
            if lead.email?.isEmpty ?? true { return "the lead has no email address" }
            if !lead.emailConsent { return "the lead has not consented to email" }
        case .sms:
            if lead.phone?.isEmpty ?? true { return "the lead has no phone number" }
            if !lead.smsConsent { return "the lead has not opted in to SMS" }
        case .sales:
            break
        }
        return nil
    }

    private func hold(_ enrollment: inout Enrollment, phase: Enrollment.Phase, until: Date, effect: Effect) -> [Effect] {
        enrollment.phase = phase
        enrollment.wakeAt = until
        return [effect]
    }

    private func move(_ enrollment: inout Enrollment, to stepID: String?) {
        enrollment.stepID = stepID
        enrollment.phase = .ready
        enrollment.wakeAt = nil
    }

    /// The stored reason names the goal or step alone, so the results count every lead that left
    /// one way under one reason; the effect (what `simulate` and timelines show) also says why.
    private func end(_ enrollment: inout Enrollment, _ status: Enrollment.Status, reason: String, because: String? = nil, now: Date) -> [Effect] {
        enrollment.status = status
        enrollment.endedAt = now
        enrollment.endReason = reason
        enrollment.wakeAt = nil
        return [status == .completed ? .completed : .exited(reason: because.map { "\(reason) (\($0))" } ?? reason)]
    }

    /// Ends the enrollment from outside the campaign: another campaign took the lead over.
    public func stop(_ enrollment: inout Enrollment, reason: String, now: Date) -> [Effect] {
        guard enrollment.isActive else { return [] }
        return end(&enrollment, .exited, reason: reason, now: now)
    }

    // MARK: - Events and goals

    /// Tells the enrollment that the lead did something (already appended to `state.events` and
    /// applied to the lead). Fires goals, wakes a matching `WaitFor`, and runs on from there.
    public func receive(_ event: LeadEvent, _ enrollment: inout Enrollment, state: inout LeadState, now: Date) -> [Effect] {
        guard enrollment.isActive else { return [] }
        if let goal = goalReached(by: event, enrollment) {
            return end(&enrollment, .exited, reason: goal, now: now)
        }
        // The first event to come wins; later ones find the enrollment no longer waiting.
        if enrollment.phase == .waitingForEvent, let id = enrollment.stepID, let node = program.nodes[id],
           case .waitFor(let events, _, _) = node.step.action,
           let branch = events.firstIndex(where: { $0.matcher.matches(type: event.type, properties: event.properties) })
        {
            move(&enrollment, to: node.firstOfBranch(branch) ?? node.next)
            return [.eventArrived(step: id, event: event.type)] + advance(&enrollment, state: &state, now: now)
        }
        if let goal = reachedGoal(enrollment, state: state, now: now) {
            return end(&enrollment, .exited, reason: goal.reason, because: goal.because, now: now)
        }
        return []
    }

    /// Checks condition goals after the lead changed outside this campaign (another campaign's
    /// step, an import, the API).
    public func leadChanged(_ enrollment: inout Enrollment, state: LeadState, now: Date) -> [Effect] {
        guard enrollment.isActive, let goal = reachedGoal(enrollment, state: state, now: now) else { return [] }
        return end(&enrollment, .exited, reason: goal.reason, because: goal.because, now: now)
    }

    private func goalReached(by event: LeadEvent, _ enrollment: Enrollment) -> String? {
        for exit in campaign.exits {
            guard case .event(let matcher, let keys) = exit.goal,
                  matcher.matches(type: event.type, properties: event.properties),
                  keys.allSatisfy({ key in enrollment.trigger[key].map { Comparison.equals($0).matches(event.properties[key]) } ?? false })
            else { continue }
            return Self.goalReason(exit.goal)
        }
        return nil
    }

    /// The reason an enrollment that reached `goal` ends with: what the results count as that goal's conversions.
    public static func goalReason(_ goal: Exit.Goal) -> String {
        switch goal {
        case .event(let matcher, _): "goal reached: \(matcher.type)"
        case .condition(let condition): "goal reached: \(condition)"
        }
    }

    private func reachedGoal(_ enrollment: Enrollment, state: LeadState, now: Date) -> (reason: String, because: String)? {
        let evaluator = ConditionEvaluator(state: state, campaignID: campaign.id, now: now)
        for exit in campaign.exits {
            guard case .condition(let condition) = exit.goal else { continue }
            let result = evaluator.evaluate(condition)
            if result.holds { return (Self.goalReason(exit.goal), result.because) }
        }
        return nil
    }
}

/// The campaign's step tree linked for navigation: each step knows what runs after it.
struct Program: Sendable {
    struct Node: Sendable {
        let step: Step
        /// The step after this one once it is done, or nil at the end of the campaign.
        let next: String?

        /// The first step of branch `index` (0: then / on event, 1: else / on timeout).
        func firstOfBranch(_ index: Int) -> String? {
            let branches = step.branches
            return index < branches.count ? branches[index].steps.first?.id : nil
        }
    }

    private(set) var nodes: [String: Node] = [:]
    let first: String?

    init(_ steps: [Step]) {
        first = steps.first?.id
        link(steps, continuation: nil)
    }

    private mutating func link(_ steps: [Step], continuation: String?) {
        for (index, step) in steps.enumerated() {
            let next = index + 1 < steps.count ? steps[index + 1].id : continuation
            if nodes[step.id] == nil { nodes[step.id] = Node(step: step, next: next) }
            for branch in step.branches { link(branch.steps, continuation: next) }
        }
    }
}

extension Step {
    /// Steps a holdout skips: everything that reaches the lead or changes it (and moving on to
    /// another campaign). Waits, branches and exits still run, so the holdout keeps the journey's
    /// timing and leaves it where the others do.
    var actsOnTheLead: Bool {
        switch action {
        case .email, .sms, .adjustScore, .setAttribute, .setStage, .tag, .notifySales, .moveTo, .exitCampaigns, .suppress: true
        case .wait, .waitUntil, .waitFor, .branch, .exit: false
        }
    }
}
