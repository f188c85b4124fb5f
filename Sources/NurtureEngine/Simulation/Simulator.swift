public import Foundation
public import NurtureDSL
public import NurtureStorage

/// Runs the real enrollment machines for one lead on a virtual clock and records what happens:
/// months of a campaign in milliseconds, without storing or sending anything.
///
/// The lead is enrolled in the chosen campaign at the start; scripted events are played at their
/// offsets, can fire goals, wake waits and enter the lead into other campaigns, exactly as the
/// worker would.
public struct Simulator: Sendable {
    public let playbook: Playbook
    public let processor: LeadProcessor

    /// Links in simulated messages point here and are signed with a throwaway key.
    static let previewLinks = LinkSigner(secret: Data("simulate".utf8), publicURL: "https://nurture.example")

    public init(playbook: Playbook, templates: TemplateLibrary, policy: SendingPolicy = .standard) {
        self.playbook = playbook
        processor = LeadProcessor(playbook: playbook, templates: templates, policy: policy, links: Self.previewLinks)
    }

    public var renderer: MessageRenderer { processor.renderer }

    public struct Options: Sendable {
        /// The campaign the lead is enrolled in at the start; nil: none, the lead is new at the
        /// start and enters every campaign its creation, its events and its silences lead it to.
        public var campaignID: String?
        public var lead: Lead
        public var trigger: [String: Value]
        public var start: Date
        public var days: Int
        public var events: [ScriptedEvent]

        public init(campaignID: String?, lead: Lead, trigger: [String: Value] = [:], start: Date, days: Int = 30, events: [ScriptedEvent] = []) {
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
        let clock = LocalClock(zone: options.lead.zone)
        let end = clock.adding(.days(options.days), to: options.start)
        var pending = options.events
            .map { LeadEvent($0.type, at: clock.adding($0.offset, to: options.start), properties: $0.properties) }
            .sorted { $0.at < $1.at }
        var work = LeadWork(state: LeadState(lead: options.lead))
        // The lead starts with its persona, set quietly as at creation; templates are checked as
        // they will be written to it.
        processor.refreshPersona(&work, now: options.start)
        let lead = work.lead
        if let campaignID = options.campaignID {
            guard let primary = playbook.campaign(campaignID) else {
                throw .unknownCampaign(campaignID, suggestion: Suggestion.closest(to: campaignID, among: playbook.campaigns.map(\.id)))
            }
            let missing = missingValues(startingAt: primary, lead: lead, trigger: options.trigger)
            guard missing.isEmpty else { throw .missingLeadValues(missing) }
            processor.enroll(primary, trigger: options.trigger, because: "enrolled by simulate", &work, now: options.start)
        } else {
            // Every campaign the lead can be seen to enter, with what its entry event carries.
            var missing: [(name: String, location: Step.Location)] = []
            let created = LeadEvent("lead.created", at: options.start)
            let played = [created] + pending.filter { $0.at <= end }
            for campaign in playbook.campaigns {
                let firing = played.lazy.compactMap { event in EntryRules.entry(of: campaign, firedBy: event).map { (event, $0) } }.first
                if let (event, entry) = firing {
                    missing += missingValues(startingAt: campaign, lead: lead, trigger: EntryRules.captures(of: entry, from: event))
                } else if let span = campaign.inactivityEntry, clock.adding(span, to: options.start) <= end {
                    missing += missingValues(startingAt: campaign, lead: lead, trigger: [:])
                }
            }
            guard missing.isEmpty else { throw .missingLeadValues(missing) }
            processor.leadCreated(&work, now: options.start)
        }
        var iterations = 0
        // Quiet spells already recorded, as the worker's walk records each once.
        var spells: Set<String> = []
        func nextQuiet() -> (at: Date, event: LeadEvent, spell: String)? {
            let since = work.state.scoring.lastActivityAt ?? options.start
            return playbook.campaigns.compactMap { campaign -> (at: Date, event: LeadEvent, spell: String)? in
                guard let span = campaign.inactivityEntry, !spells.contains("\(campaign.id)@\(since)") else { return nil }
                let at = clock.adding(span, to: since)
                guard let (event, _) = EntryRules.inactivity(of: options.lead.id, quietSince: since, campaign: campaign, now: at) else { return nil }
                return (at, event, "\(campaign.id)@\(since)")
            }.min { $0.at < $1.at }
        }
        while true {
            iterations += 1
            if iterations > 100_000 { throw .runaway(at: work.log.last?.at ?? options.start) }
            let nextWake = work.nextWake.map { max($0, options.start) }
            let quiet = nextQuiet()
            guard let now = [nextWake, pending.first?.at, quiet?.at].compactMap({ $0 }).min(), now <= end else { break }
            // Due steps run before events at the same instant, so a WaitFor that starts at 09:00
            // hears an event played at 09:00.
            if nextWake.map({ $0 <= now }) ?? false {
                processor.advanceDue(&work, now: now)
            } else if let next = pending.first, next.at <= now {
                processor.receive(pending.removeFirst(), &work)
            } else if let quiet {
                spells.insert(quiet.spell)
                processor.receive(quiet.event, &work)
            }
        }
        return Timeline(lead: options.lead, campaignID: options.campaignID, start: options.start, end: end,
                        lines: work.log.map { Timeline.Line($0, clock: clock) }, enrollments: work.enrollments)
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

extension Timeline.Line {
    /// What one occurrence looks like in a timeline.
    init(_ occurrence: LeadWork.Occurrence, clock: LocalClock) {
        let at = occurrence.at, campaign = occurrence.campaign
        if let note = occurrence.note {
            switch note {
            case .event(let event):
                let detail = ([event.type] + event.properties.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value.textValue)" }).joined(separator: " ")
                self.init(at: at, campaign: "", what: "event", step: nil, detail: detail)
            case .entered(let reason):
                self.init(at: at, campaign: campaign, what: "entered", step: nil, detail: reason)
            case .notEntered(let reason):
                self.init(at: at, campaign: campaign, what: "not entered", step: nil, detail: reason)
            case .persona(let id):
                self.init(at: at, campaign: "", what: "persona", step: nil,
                          detail: id.map { "\($0): templates use the parts and blocks written for it" } ?? "none fits any more")
            }
            return
        }
        switch occurrence.effect {
        case .send(let outgoing):
            let variant = (outgoing.variant.map { " [variant \($0)]" } ?? "") + (occurrence.writtenFor.map { " [written for \($0)]" } ?? "")
            let message = occurrence.message
            let detail = outgoing.channel == .email
                ? "“\(message?.subject ?? "")”\(variant)"
                : "“\(message?.preview ?? "")”\(variant) (\(SMSSegments(message?.preview ?? "").description))"
            self.init(at: at, campaign: campaign, what: outgoing.channel.rawValue, step: outgoing.stepID, detail: detail, isSend: true)
        case .skipped(let step, let reason):
            self.init(at: at, campaign: campaign, what: "skipped", step: step, detail: reason)
        case .held(let step, let until, let reason):
            self.init(at: at, campaign: campaign, what: "held", step: step, detail: "until \(clock.format(until)): \(reason)")
        case .waiting(let step, let until):
            self.init(at: at, campaign: campaign, what: "wait", step: step, detail: "until \(clock.format(until))")
        case .waitingForEvent(let step, let matchers, let until):
            self.init(at: at, campaign: campaign, what: "wait for", step: step,
                      detail: matchers.map(\.description).joined(separator: " or ") + ", at most until \(clock.format(until))")
        case .eventArrived(let step, let event):
            self.init(at: at, campaign: campaign, what: "arrived", step: step, detail: "\(event): taking its branch")
        case .timedOut(let step):
            self.init(at: at, campaign: campaign, what: "timed out", step: step, detail: "taking the on-timeout branch")
        case .branched(let step, let taken, let because):
            self.init(at: at, campaign: campaign, what: "branch", step: step, detail: (taken ? "then: " : "else: ") + because)
        case .scoreAdjusted(let step, let points, let score):
            self.init(at: at, campaign: campaign, what: "score", step: step, detail: "\(points >= 0 ? "+" : "")\(points) → \(ScoreText.points(score))")
        case .attributeSet(let step, let name, let value):
            self.init(at: at, campaign: campaign, what: "set", step: step, detail: "\(name) = \(value)")
        case .stageSet(let step, let stage):
            self.init(at: at, campaign: campaign, what: "stage", step: step, detail: stage.name)
        case .tagged(let step, let tag):
            self.init(at: at, campaign: campaign, what: "tag", step: step, detail: tag)
        case .salesNotified(let step, let note):
            let owner = occurrence.message.map { " → \($0.address)" } ?? ""
            self.init(at: at, campaign: campaign, what: "sales", step: step, detail: "alert: " + (note ?? "lead needs attention") + owner)
        case .thresholdCrossed(let points, let score):
            self.init(at: at, campaign: campaign, what: "threshold", step: nil,
                      detail: "score \(ScoreText.points(score)) crossed \(Value.number(points).textValue)")
        case .moved(let step, let target):
            self.init(at: at, campaign: campaign, what: "move", step: step, detail: "to campaign \(target)")
        case .campaignsExited(let step, let selection):
            self.init(at: at, campaign: campaign, what: "hand over", step: step, detail: "ends the lead's journeys in \(selection)")
        case .suppressed(let step, let scope, let reason):
            self.init(at: at, campaign: campaign, what: "suppress", step: step,
                      detail: (scope == .marketing ? "marketing messages stop (transactional still go): " : "every message stops: ") + reason)
        case .exited(let reason):
            self.init(at: at, campaign: campaign, what: "exited", step: nil, detail: reason)
        case .completed:
            self.init(at: at, campaign: campaign, what: "completed", step: nil, detail: "reached the end of the campaign")
        case nil:
            self.init(at: at, campaign: campaign, what: "", step: nil, detail: "")
        }
    }
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
    /// Nil when the lead went through every campaign it would enter.
    public let campaignID: String?
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
        var out = ["Simulating " + (campaignID.map { "'\($0)'" } ?? "every campaign") + " for \(who.isEmpty ? lead.id : who)" + (lead.email.map { " <\($0)>" } ?? "")
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
