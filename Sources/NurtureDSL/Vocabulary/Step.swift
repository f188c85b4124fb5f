/// One step of a campaign, as a plain value the engine runs, `validate` checks and `show` draws.
public struct Step: Sendable {
    /// Where a DSL value was written, for diagnostics only; identity is always an explicit string.
    public struct Location: Sendable, Hashable, CustomStringConvertible {
        public var file: String
        public var line: Int

        public init(file: String, line: Int) {
            self.file = file
            self.line = line
        }

        public init(fileID: String, line: UInt) {
            self.init(file: fileID, line: Int(line))
        }

        public var description: String { "\(file):\(line)" }
    }

    public enum Action: Sendable {
        case email(Message)
        case sms(Message)
        case wait(Span, window: SendWindow?)
        case waitUntil(TimeOfDay, days: Set<Weekday>)
        /// Waits for the first of the events its branches name; each has its own steps.
        case waitFor([EventBranch], timeout: Span?, onTimeout: [Step])
        case branch(Condition, then: [Step], otherwise: [Step])
        case adjustScore(Int, reason: String?)
        case setAttribute(String, Value)
        case setStage(Stage)
        case tag(String)
        case notifySales(note: String?)
        case moveTo(String)
        case exit(reason: String?)
        case exitCampaigns(CampaignSelection)
        case suppress(SuppressionScope, reason: String)
    }

    /// The stable id: explicit (`.id("…")`) or derived from what the step does, and unique within
    /// its campaign. Leads in flight are stored against it, so a redeployed campaign keeps them.
    public internal(set) var id: String
    public internal(set) var hasExplicitID: Bool
    public internal(set) var action: Action
    public let location: Location

    public init(_ action: Action, id: String? = nil, at location: Location) {
        self.action = action
        self.id = id ?? ""
        self.hasExplicitID = id != nil
        self.location = location
    }

    /// The nested blocks of a branching step, in display order with their labels.
    public var branches: [(label: String, steps: [Step])] {
        switch action {
        case .waitFor(let events, _, let onTimeout): events.map { ($0.label(among: events), $0.steps) } + [("on timeout", onTimeout)]
        case .branch(_, let then, let otherwise): [("then", then), ("else", otherwise)]
        default: []
        }
    }

    /// The kind of step, as `show` and `simulate` print it.
    public var kindName: String {
        switch action {
        case .email: "email"
        case .sms: "sms"
        case .wait, .waitUntil: "wait"
        case .waitFor: "wait-for"
        case .branch: "if"
        case .adjustScore: "score"
        case .setAttribute: "set"
        case .setStage: "stage"
        case .tag: "tag"
        case .notifySales: "notify-sales"
        case .moveTo: "move-to"
        case .exit: "exit"
        case .exitCampaigns: "exit-campaigns"
        case .suppress: "suppress"
        }
    }

    /// True for steps that hold the lead for some time (the only thing that breaks a `MoveTo` loop).
    public var holdsTheLead: Bool {
        switch action {
        case .wait(let span, _): !span.isZero
        case .waitUntil, .waitFor: true
        default: false
        }
    }

    /// What a step's positional id is made of: its kind, and the name it acts on where that name
    /// is what the step is (the attribute set, the tag, the campaign moved to). Numbered from one
    /// when the kind alone says nothing (`wait-1`); otherwise numbered only on repeats.
    var positionalKind: (name: String, numberedFromOne: Bool) {
        switch action {
        case .email: ("email", true)
        case .sms: ("sms", true)
        case .wait, .waitUntil: ("wait", true)
        case .waitFor: ("wait-for", true)
        case .branch: ("if", true)
        case .adjustScore: ("score", true)
        case .setAttribute(let name, _): ("set-\(name)", false)
        case .setStage: ("stage", true)
        case .tag(let tag): ("tag-\(tag)", false)
        case .notifySales: ("notify-sales", true)
        case .moveTo(let campaign): ("move-to-\(campaign)", false)
        case .exit: ("exit", true)
        case .exitCampaigns: ("exit-campaigns", true)
        case .suppress(let scope, _): ("suppress-\(scope)", false)
        }
    }

    /// The id this step got before ids were positional.
    var legacyDerivedID: String {
        switch action {
        case .email(let m), .sms(let m): m.template
        case .wait(let span, _): "wait-\(span)"
        case .waitUntil(let time, _): "wait-until-" + time.description.replacingColon
        case .waitFor(let events, _, _): "wait-for-\(events.first?.matcher.type ?? "")"
        case .branch(let condition, _, _): "if-\(condition.slug)"
        case .adjustScore(let points, _): points >= 0 ? "score+\(points)" : "score\(points)"
        case .setAttribute(let name, _): "set-\(name)"
        case .setStage(let stage): "stage-\(stage.name)"
        case .tag(let tag): "tag-\(tag)"
        case .notifySales: "notify-sales"
        case .moveTo(let campaign): "move-to-\(campaign)"
        case .exit: "exit"
        case .exitCampaigns: "exit-campaigns"
        case .suppress(let scope, _): "suppress-\(scope)"
        }
    }
}

/// What a send step sends: a template, optional A/B variants, and the window it may go out in.
public struct Message: Sendable, Hashable {
    public struct Variant: Sendable, Hashable {
        public var name: String
        public var weight: Int
        /// `<template>-<name in lower case>`: `welcome-3-reminder-a`.
        public var template: String
    }

    public var template: String
    public var variants: [Variant]
    public var window: SendWindow?

    public init(template: String, variants: KeyValuePairs<String, Int>, window: SendWindow?) {
        metric = .clicked
        self.template = template
        self.variants = variants.map { Variant(name: $0.key, weight: $0.value, template: "\(template)-\($0.key.lowercased())") }
        self.window = window
    }

    /// What the split is judged on.
    public var metric: SplitMetric
    /// Set for a `Survey` step: the email carries one signed link per answer on this scale.
    public var survey: SurveyScale?
    /// How the split ends: nil leaves it to a person (`nurture experiments decide`).
    public var winner: WinnerRule?

    public init(template: String, variants: KeyValuePairs<String, Int>, window: SendWindow?, metric: SplitMetric = .clicked, winner: WinnerRule? = nil) {
        self.init(template: template, variants: variants, window: window)
        if case .auto(let declared, _, _)? = winner { self.metric = declared } else { self.metric = metric }
        self.winner = winner
    }

    /// The templates this step may render: the variants' when split, otherwise its own.
    public var templates: [String] { variants.isEmpty ? [template] : variants.map(\.template) }
}

/// The customer metrics a `Survey` step asks for, as the playbook names them: how likely the
/// person is to recommend us (NPS, 0–10), how satisfied they were (CSAT, 1–5), how easy it was
/// (CES, 1–7). An answer is kept as the lead attribute of the scale's name.
public enum SurveyScale: String, Sendable, Hashable, Codable, CaseIterable, CustomStringConvertible {
    case nps, csat, ces

    public var answers: ClosedRange<Int> {
        switch self {
        case .nps: 0...10
        case .csat: 1...5
        case .ces: 1...7
        }
    }

    /// The lead attribute that keeps the latest answer.
    public var attribute: String { rawValue }

    /// The template variable holding the signed link of one answer: `{{survey_9}}`.
    public static func linkVariable(_ answer: Int) -> String { "survey_\(answer)" }

    public var description: String { rawValue.uppercased() }
}

/// What counts as a success in an A/B split, per message sent.
public enum SplitMetric: String, Sendable, Hashable, CustomStringConvertible {
    case opened, clicked
    /// The campaign's goals and conversions credited to the message (last touch, within the
    /// campaign's attribution window): the split judged on what it earned, not on attention.
    case converted
    public var description: String { rawValue }
}

/// How an A/B split picks its winner.
public enum WinnerRule: Sendable, Hashable {
    /// Once every variant has sent `minimumPerVariant` messages and one is better than every
    /// other on `metric` at `confidence` under the always-valid test, it wins: from then on every
    /// lead reaching the step gets it.
    case auto(metric: SplitMetric = .clicked, confidence: Double = 0.95, minimumPerVariant: Int = 200)
}

extension Step {
    /// What a send step sends; nil for other steps.
    public var message: Message? {
        switch action {
        case .email(let message), .sms(let message): message
        default: nil
        }
    }
}

/// One event a `WaitFor` waits for, and what a lead who does it first goes on to.
public struct EventBranch: Sendable {
    public var matcher: EventMatcher
    public var steps: [Step]

    public init(matcher: EventMatcher, steps: [Step]) {
        self.matcher = matcher
        self.steps = steps
    }

    /// `on event` when the step waits for one event; `on demo.booked` among several.
    func label(among all: [EventBranch]) -> String { all.count == 1 ? "on event" : "on \(matcher.type)" }

    /// The branch's segment in its steps' ids: `event`, or the event's type among several.
    func pathSegment(among all: [EventBranch]) -> String { all.count == 1 ? "event" : matcher.type }
}

/// Which campaigns an `ExitCampaigns` step ends.
public enum CampaignSelection: Sendable, Hashable, CustomStringConvertible {
    case kinds([Campaign.Kind])
    case campaigns([String])

    public func contains(_ campaign: Campaign) -> Bool {
        switch self {
        case .kinds(let kinds): kinds.contains(campaign.kind)
        case .campaigns(let ids): ids.contains(campaign.id)
        }
    }

    public var description: String {
        switch self {
        case .kinds(let kinds): "every " + kinds.map(\.name).joined(separator: " or ") + " campaign"
        case .campaigns(let ids): ids.joined(separator: ", ")
        }
    }
}

/// What a `Suppress` step stops: marketing (every campaign that is not transactional) or all.
public enum SuppressionScope: String, Sendable, Hashable, CustomStringConvertible {
    case marketing, all
    public var description: String { rawValue }
}

extension String {
    fileprivate var replacingColon: String { split(separator: ":").joined() }
}

extension Array where Element == Step {
    /// Every step in these blocks, depth first in document order.
    public var flattened: [Step] {
        flatMap { step in [step] + step.branches.flatMap { $0.steps.flattened } }
    }
}
