public import Foundation
public import NurtureDSL

/// Runs the real enrollment machines for one lead on a virtual clock and records what happens:
/// months of a campaign in milliseconds, without storing or sending anything.
///
/// The lead is enrolled in the chosen campaign at the start; scripted events are played at their
/// offsets, can fire goals, wake waits and enter the lead into other campaigns, exactly as the
/// worker would.
public struct Simulator: Sendable {
    public let playbook: Playbook
    public let renderer: MessageRenderer
    let machines: [String: EnrollmentMachine]

    public init(playbook: Playbook, templates: TemplateLibrary) {
        self.playbook = playbook
        renderer = MessageRenderer(playbook: playbook, library: templates)
        machines = Dictionary(playbook.campaigns.map { ($0.id, EnrollmentMachine(campaign: $0)) }) { first, _ in first }
    }

    public struct Options: Sendable {
        public var campaignID: String
        public var lead: Lead
        public var trigger: [String: Value]
        public var start: Date
        public var days: Int
        public var events: [ScriptedEvent]

        public init(campaignID: String, lead: Lead, trigger: [String: Value] = [:], start: Date, days: Int = 30, events: [ScriptedEvent] = []) {
            self.campaignID = campaignID
            self.lead = lead
            self.trigger = trigger
            self.start = start
            self.days = days
            self.events = events
        }
    }

    public enum Failure: Error, CustomStringConvertible {
        case unknownCampaign(String, suggestion: String?)
        case missingLeadValues([(name: String, location: Step.Location)])
        case runaway(at: Date)

        public var description: String {
            switch self {
            case .unknownCampaign(let id, let suggestion):
                "unknown campaign '\(id)'" + (suggestion.map { "; did you mean '\($0)'?" } ?? "") + " (see `nurture campaigns list`)"
            case .missingLeadValues(let missing):
                "the lead file lacks values the templates need and that have no default:\n"
                    + Self.grouped(missing).joined(separator: "\n")
            case .runaway:
                "the simulation did not settle: campaigns kept moving the lead without waiting"
            }
        }


    /// One line per missing value, at its first use: `  trigger.amount (used at …:7 and 4 more places)`.
        static func grouped(_ missing: [(name: String, location: Step.Location)]) -> [String] {
            var order: [String] = [], uses: [String: [Step.Location]] = [:]
            for (name, location) in missing {
                if uses[name] == nil { order.append(name) }
                uses[name, default: []].append(location)
            }
            return order.map { name in
                let places = uses[name]!, more = places.count - 1
                return "  \(name) (used at \(places[0])" + (more > 0 ? " and \(more) more place\(more == 1 ? "" : "s"))" : ")")
            }
        }
    }

    public func run(_ options: Options) throws(Failure) -> Timeline {
        guard let primary = playbook.campaign(options.campaignID) else {
            throw .unknownCampaign(options.campaignID, suggestion: Suggestion.closest(to: options.campaignID, among: playbook.campaigns.map(\.id)))
        }
        let missing = missingValues(startingAt: primary, lead: options.lead, trigger: options.trigger)
        guard missing.isEmpty else { throw .missingLeadValues(missing) }

        var world = World(simulator: self, state: LeadState(lead: options.lead), clock: LocalClock(zone: options.lead.zone))
        let end = world.clock.adding(.days(options.days), to: options.start)
        var pending = options.events
            .map { LeadEvent($0.type, at: world.clock.adding($0.offset, to: options.start), properties: $0.properties) }
            .sorted { $0.at < $1.at }
        world.enroll(primary, trigger: options.trigger, because: "enrolled by simulate", at: options.start)
        var iterations = 0
        while true {
            iterations += 1
            if iterations > 100_000 { throw .runaway(at: world.lines.last?.at ?? options.start) }
            let nextWake = world.enrollments.values.filter(\.isActive).compactMap { $0.wakeAt ?? options.start }.min()
            let nextEvent = pending.first?.at
            guard let now = [nextWake, nextEvent].compactMap({ $0 }).min(), now <= end else { break }
            // Due steps run before events at the same instant, so a WaitFor that starts at 09:00
            // hears an event played at 09:00.
            if nextWake.map({ $0 <= now }) ?? false {
                world.advanceDue(at: now)
            } else if let event = pending.first {
                pending.removeFirst()
                world.play(event)
            }
        }
        return Timeline(lead: options.lead, campaignID: primary.id, start: options.start, end: end, lines: world.lines,
                        enrollments: world.history + world.enrollments.values.sorted { $0.campaignID < $1.campaignID })
    }

    /// Checks the templates of the campaign and every campaign it can move the lead to.
    func missingValues(startingAt campaign: Campaign, lead: Lead, trigger: [String: Value]) -> [(name: String, location: Step.Location)] {
        var seen: Set<String> = [], queue = [campaign], found: [(name: String, location: Step.Location)] = []
        while let current = queue.popLast() {
            guard seen.insert(current.id).inserted else { continue }
            for step in current.allSteps {
                switch step.action {
                case .email(let message):
                    for template in message.templates {
                        for part in [TemplateCatalog.Part.subject, .text, .html] {
                            found += renderer.missingValues(in: template, part: part, lead: lead, trigger: current.id == campaign.id ? trigger : [:])
                        }
                    }
                case .sms(let message) where lead.smsConsent:
                    for template in message.templates {
                        found += renderer.missingValues(in: template, part: .sms, lead: lead, trigger: current.id == campaign.id ? trigger : [:])
                    }
                case .moveTo(let target):
                    if let next = playbook.campaign(target) { queue.append(next) }
                default: break
                }
            }
        }
        var unique: Set<String> = []
        return found.filter { unique.insert("\($0.name)@\($0.location)").inserted }
    }
}

/// The simulated lead, its enrollments and the timeline so far.
struct World {
    let simulator: Simulator
    var state: LeadState
    let clock: LocalClock
    var enrollments: [String: Enrollment] = [:]
    var history: [Enrollment] = []
    var lines: [Timeline.Line] = []

    init(simulator: Simulator, state: LeadState, clock: LocalClock) {
        self.simulator = simulator
        self.state = state
        self.clock = clock
    }

    mutating func enroll(_ campaign: Campaign, trigger: [String: Value], because reason: String, at now: Date) {
        guard let machine = simulator.machines[campaign.id] else { return }
        let earlier = history.filter { $0.campaignID == campaign.id } + (enrollments[campaign.id].map { [$0] } ?? [])
        guard EntryRules.mayEnter(campaign, earlier: earlier, at: now, clock: clock) else {
            if reason.hasPrefix("moved") || reason.hasPrefix("enrolled by") {
                lines.append(.init(at: now, campaign: campaign.id, what: "not entered", step: nil, detail: "re-entry \(campaign.reentry) and the lead was already there"))
            }
            return
        }
        if let finished = enrollments.removeValue(forKey: campaign.id) { history.append(finished) }
        enrollments[campaign.id] = machine.enroll(state.lead, at: now, trigger: trigger)
        lines.append(.init(at: now, campaign: campaign.id, what: "entered", step: nil, detail: reason))
        advance(campaign.id, at: now)
    }

    mutating func advanceDue(at now: Date) {
        for id in enrollments.keys.sorted() where enrollments[id]?.isDue(at: now) == true {
            advance(id, at: now)
        }
    }

    private mutating func advance(_ id: String, at now: Date) {
        guard let machine = simulator.machines[id], var enrollment = enrollments[id] else { return }
        let before = state.lead
        let effects = machine.advance(&enrollment, state: &state, now: now)
        enrollments[id] = enrollment
        record(effects, of: enrollment, at: now)
        if state.lead != before { leadChanged(from: before, at: now, except: id) }
    }

    /// Plays an event the lead did: stored, then offered to every enrollment and every entry.
    mutating func play(_ event: LeadEvent) {
        let now = event.at
        state.events.append(event)
        let detail = ([event.type] + event.properties.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value.textValue)" }).joined(separator: " ")
        lines.append(.init(at: now, campaign: "", what: "event", step: nil, detail: detail))
        for id in enrollments.keys.sorted() {
            guard let machine = simulator.machines[id], var enrollment = enrollments[id], enrollment.isActive else { continue }
            let before = state.lead
            let effects = machine.receive(event, &enrollment, state: &state, now: now)
            enrollments[id] = enrollment
            record(effects, of: enrollment, at: now)
            if state.lead != before { leadChanged(from: before, at: now, except: id) }
        }
        for campaign in simulator.playbook.campaigns where enrollments[campaign.id]?.isActive != true {
            if let entry = EntryRules.entry(of: campaign, firedBy: event) {
                enroll(campaign, trigger: EntryRules.captures(of: entry, from: event), because: "entry \(entry.trigger)", at: now)
            }
        }
    }

    private mutating func leadChanged(from old: Lead, at now: Date, except changer: String) {
        for id in enrollments.keys.sorted() where id != changer {
            guard let machine = simulator.machines[id], var enrollment = enrollments[id] else { continue }
            let effects = machine.leadChanged(&enrollment, state: state, now: now)
            enrollments[id] = enrollment
            record(effects, of: enrollment, at: now)
        }
        for campaign in simulator.playbook.campaigns where enrollments[campaign.id]?.isActive != true {
            if let entry = EntryRules.entry(of: campaign, firedByChangeFrom: old, to: state.lead) {
                enroll(campaign, trigger: [:], because: "entry \(entry.trigger)", at: now)
            }
        }
    }

    private mutating func record(_ effects: [Effect], of enrollment: Enrollment, at now: Date) {
        let id = enrollment.campaignID
        var movedTo: Campaign?
        defer {
            // Enter the next campaign only once this one's lines, its exit included, are recorded.
            if let movedTo { enroll(movedTo, trigger: [:], because: "moved from \(id)", at: now) }
        }
        for effect in effects {
            switch effect {
            case .send(let message):
                lines.append(sendLine(message, enrollment: enrollment, at: now))
                state.events.append(LeadEvent("\(message.channel.rawValue).sent", at: now, properties: [
                    "campaign": .string(id), "step": .string(message.stepID), "template": .string(message.template),
                ]))
            case .skipped(let step, let reason):
                lines.append(.init(at: now, campaign: id, what: "skipped", step: step, detail: reason))
            case .held(let step, let until, let reason):
                lines.append(.init(at: now, campaign: id, what: "held", step: step, detail: "until \(clock.format(until)): \(reason)"))
            case .waiting(let step, let until):
                lines.append(.init(at: now, campaign: id, what: "wait", step: step, detail: "until \(clock.format(until))"))
            case .waitingForEvent(let step, let matcher, let until):
                lines.append(.init(at: now, campaign: id, what: "wait for", step: step, detail: "\(matcher), at most until \(clock.format(until))"))
            case .eventArrived(let step, let event):
                lines.append(.init(at: now, campaign: id, what: "arrived", step: step, detail: "\(event): taking the on-event branch"))
            case .timedOut(let step):
                lines.append(.init(at: now, campaign: id, what: "timed out", step: step, detail: "taking the on-timeout branch"))
            case .branched(let step, let taken, let because):
                lines.append(.init(at: now, campaign: id, what: "branch", step: step, detail: (taken ? "then: " : "else: ") + because))
            case .scoreAdjusted(let step, let points, let score):
                lines.append(.init(at: now, campaign: id, what: "score", step: step, detail: "\(points >= 0 ? "+" : "")\(points) → \(Value.number(score).textValue)"))
            case .attributeSet(let step, let name, let value):
                lines.append(.init(at: now, campaign: id, what: "set", step: step, detail: "\(name) = \(value)"))
            case .stageSet(let step, let stage):
                lines.append(.init(at: now, campaign: id, what: "stage", step: step, detail: stage.name))
            case .tagged(let step, let tag):
                lines.append(.init(at: now, campaign: id, what: "tag", step: step, detail: tag))
            case .salesNotified(let step, let note):
                lines.append(.init(at: now, campaign: id, what: "sales", step: step, detail: "alert: " + (note ?? "lead needs attention")))
            case .moved(let step, let target):
                lines.append(.init(at: now, campaign: id, what: "move", step: step, detail: "to campaign \(target)"))
                movedTo = simulator.playbook.campaign(target)
            case .exited(let reason):
                lines.append(.init(at: now, campaign: id, what: "exited", step: nil, detail: reason))
            case .completed:
                lines.append(.init(at: now, campaign: id, what: "completed", step: nil, detail: "reached the end of the campaign"))
            }
        }
    }

    private func sendLine(_ message: OutgoingMessage, enrollment: Enrollment, at now: Date) -> Timeline.Line {
        let variant = message.variant.map { " [variant \($0)]" } ?? ""
        do {
            let rendered = try simulator.renderer.render(message, lead: state.lead, trigger: enrollment.trigger, links: Self.previewLinks)
            let detail = message.channel == .email
                ? "“\(rendered.subject ?? "")”\(variant)"
                : "“\(rendered.text)”\(variant) (\(rendered.segments?.description ?? ""))"
            return .init(at: now, campaign: message.campaignID, what: message.channel.rawValue, step: message.stepID, detail: detail, isSend: true)
        } catch {
            return .init(at: now, campaign: message.campaignID, what: message.channel.rawValue, step: message.stepID, detail: "cannot render: \(error)\(variant)", isSend: true)
        }
    }

    static let previewLinks = ["unsubscribe_url": "https://nurture.example/u/preview", "preferences_url": "https://nurture.example/p/preview"]
}

/// What a simulation saw, in order.
public struct Timeline: Sendable {
    public struct Line: Sendable, Hashable {
        public var at: Date
        /// Empty for the lead's own events.
        public var campaign: String
        public var what: String
        public var step: String?
        public var detail: String
        public var isSend = false
    }

    public let lead: Lead
    public let campaignID: String
    public let start: Date
    public let end: Date
    public let lines: [Line]
    /// Every enrollment the lead had, ended ones first.
    public let enrollments: [Enrollment]

    public var sends: [Line] { lines.filter(\.isSend) }

    /// The timeline as `simulate` prints it, times in the lead's zone.
    public func render() -> String {
        let clock = LocalClock(zone: lead.zone)
        let who = [lead.firstName, lead.lastName].compactMap { $0 }.joined(separator: " ")
        var out = ["Simulating '\(campaignID)' for \(who.isEmpty ? lead.id : who)" + (lead.email.map { " <\($0)>" } ?? "")
                    + " in \(lead.timeZone), \(clock.format(start, withZone: true)) → \(clock.format(end, withZone: true))", ""]
        let campaignWidth = lines.map(\.campaign.count).max() ?? 4
        let stepWidth = min(28, lines.compactMap { $0.step?.count }.max() ?? 0)
        for line in lines {
            let campaign = line.campaign.isEmpty ? "lead" : line.campaign
            out.append([clock.format(line.at).pad(16), campaign.pad(campaignWidth), line.what.pad(9), (line.step ?? "").pad(stepWidth), line.detail]
                .joined(separator: "  ").trimmed)
        }
        let emails = sends.count { $0.what == "email" }, texts = sends.count { $0.what == "sms" }
        out.append("")
        var summary = "\(emails) email\(emails == 1 ? "" : "s"), \(texts) SMS"
        for enrollment in enrollments {
            switch enrollment.status {
            case .active: summary += "; still in \(enrollment.campaignID) at \(enrollment.stepID ?? "the end")"
            case .completed: summary += "; completed \(enrollment.campaignID)"
            case .exited: summary += "; left \(enrollment.campaignID) (\(enrollment.endReason ?? "exited"))"
            }
        }
        out.append(summary)
        return out.joined(separator: "\n")
    }
}

extension String {
    fileprivate func pad(_ width: Int) -> String { count >= width ? self : self + String(repeating: " ", count: width - count) }
}
