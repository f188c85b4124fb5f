/// A sequence of steps a lead goes through: entered on a trigger, left on a goal or at the end.
///
/// ```swift
/// let welcome = Campaign("welcome", kind: .welcome) {
///     Entry(on: "lead.created")
///     Exit(on: "demo.booked")
///     Email("welcome-1")
///     Wait(.days(2), window: .businessHours)
///     If(.opened("welcome-1")) { Email("welcome-2-case-study") } else: { SMS("welcome-nudge") }
/// }
/// ```
public struct Campaign: Sendable {
    /// The kind of sequence; reports group by it. Custom kinds are plain strings.
    public struct Kind: Sendable, Hashable, ExpressibleByStringLiteral, CustomStringConvertible {
        public var name: String
        public init(_ name: String) { self.name = name }
        public init(stringLiteral value: String) { name = value }
        public static let welcome = Kind("welcome")
        public static let nurture = Kind("nurture")
        public static let engagement = Kind("engagement")
        public static func custom(_ name: String) -> Kind { Kind(name) }
        public var description: String { name }
    }

    /// Whether a lead who already went through the campaign may enter it again.
    public enum Reentry: Sendable, Hashable, CustomStringConvertible {
        case never
        case after(Span)
        case always

        public var description: String {
            switch self {
            case .never: "never"
            case .after(let span): "after \(span)"
            case .always: "always"
            }
        }
    }

    /// Where a lead goes when a redeploy removes the step it is on.
    public enum RemovedStepRule: String, Sendable, Hashable, Codable, CustomStringConvertible {
        /// To the next step of the old journey that is still there (the end: the journey completes).
        case continueAtNext
        /// Out of the campaign, with the removed step as the reason.
        case exit
        public var description: String { self == .exit ? "exit" : "continue at the next step" }
    }

    public let id: String
    public let kind: Kind
    public let name: String
    public let reentry: Reentry
    /// Transactional sequences (invoices, receipts) are exempt from marketing frequency caps.
    public let isTransactional: Bool
    /// The send window every send step inherits unless it names its own.
    public let window: SendWindow?
    /// Whether emails carry an open pixel and tracked links; nil means the default for the kind
    /// (see ``effectiveTracking``).
    public let tracking: Tracking?
    /// The percentage of entrants kept out at random (stably per lead): enrolled as the holdout,
    /// they go through the journey's waits and branches but receive nothing, so `stats` can show
    /// the campaign's true lift on its goals. 0 keeps nobody out.
    public let holdout: Int
    public let entries: [Entry]
    public let exits: [Exit]
    /// Events that count as this campaign's conversions without ending the journey.
    public let conversions: [Conversion]
    /// How long after the lead's last message from this campaign a conversion is still credited
    /// to it (the last-touch rule `stats` reports); at most 14 days.
    public let attribution: Span
    public let steps: [Step]
    public let onRemovedStep: RemovedStepRule
    /// Runs alone: entering it ends the lead's journeys in every other campaign that is not
    /// transactional, and while the lead is in it no such campaign takes it in (a win-back, a
    /// sales conversation). Receipts and invoices still go.
    public let exclusive: Bool
    public let location: Step.Location

    public init(
        _ id: String, kind: Kind, name: String? = nil, reentry: Reentry = .never, transactional: Bool = false,
        window: SendWindow? = nil, tracking: Tracking? = nil, holdout: Int = 0, attribution: Span = .days(7),
        exclusive: Bool = false, onRemovedStep: RemovedStepRule = .continueAtNext, fileID: String = #fileID, line: UInt = #line,
        @CampaignBuilder _ content: () -> [CampaignPart]
    ) {
        var entries: [Entry] = [], exits: [Exit] = [], conversions: [Conversion] = [], steps: [Step] = []
        for part in content() {
            switch part {
            case .entry(let entry): entries.append(entry)
            case .exit(let exit): exits.append(exit)
            case .conversion(let conversion): conversions.append(conversion)
            case .step(let step): steps.append(step)
            }
        }
        self.id = id
        self.kind = kind
        self.name = name ?? id
        self.reentry = reentry
        self.isTransactional = transactional
        self.window = window
        self.tracking = tracking
        self.holdout = holdout
        self.attribution = attribution
        self.entries = entries
        self.exits = exits
        self.conversions = conversions
        self.steps = StepIDs.assign(steps)
        self.onRemovedStep = onRemovedStep
        self.exclusive = exclusive
        self.location = Step.Location(fileID: fileID, line: line)
    }

    /// Marketing mail is tracked unless a campaign says otherwise; transactional mail (receipts,
    /// password resets) never is unless it asks, because a rewritten link there looks like phishing.
    public var effectiveTracking: Tracking { tracking ?? (isTransactional ? .off : .opensAndClicks) }

    /// Every step, depth first in document order.
    public var allSteps: [Step] { steps.flattened }

    public func step(_ id: String) -> Step? { allSteps.first { $0.id == id } }

    /// Each step's id under the 0.x content-derived scheme, by its current id, where they differ:
    /// what a database written before positional ids holds.
    public var legacyStepIDs: [String: String] { StepIDs.legacy(steps).filter { $0.key != $0.value } }

    /// What `event` is worth to this campaign when it is one of its event goals or conversions
    /// (the first that matches); nil when it is neither.
    public func conversionValue(of event: (type: String, properties: [String: Value])) -> Double? {
        for exit in exits {
            if case .event(let matcher, _) = exit.goal, matcher.matches(type: event.type, properties: event.properties) {
                return exit.value.amount(of: event.properties)
            }
        }
        for conversion in conversions where conversion.matcher.matches(type: event.type, properties: event.properties) {
            return conversion.value.amount(of: event.properties)
        }
        return nil
    }

    /// How long without activity enters a lead, when the campaign has such an entry.
    public var inactivityEntry: Span? {
        entries.lazy.compactMap { if case .inactiveFor(let span) = $0.trigger { span } else { nil } }.first
    }

    /// The properties of the entry event that templates may use as `{{trigger.NAME}}`.
    public var capturedProperties: Set<String> {
        Set(entries.flatMap(\.captures))
    }
}

/// How a lead enters a campaign.
public struct Entry: Sendable {
    public enum Trigger: Sendable, Hashable, CustomStringConvertible {
        case event(EventMatcher)
        /// Crossing upward to at least this score.
        case scoreReaches(Double)
        /// A change of this attribute, optionally to a value passing the comparison.
        case attributeChanges(String, to: Comparison?)
        /// This long without any activity of the lead's own (opens, clicks, visits, forms; not
        /// what Nurture sent or heard about delivery), as the engine sees it: once per quiet spell.
        case inactiveFor(Span)

        public var description: String {
            switch self {
            case .event(let matcher): "on \(matcher)"
            case .scoreReaches(let points): "when score reaches \(Value.number(points))"
            case .attributeChanges(let name, let comparison):
                "when \(name) changes" + (comparison.map { " to \($0)" } ?? "")
            case .inactiveFor(let span):
                "after \(span) without activity"
            }
        }
    }

    public let trigger: Trigger
    /// Properties of the triggering event kept with the enrollment, for templates and goals.
    public let captures: [String]
    public let location: Step.Location

    /// `Entry(on: "page.viewed", where: .property("path", .hasPrefix("/pricing")))`
    public init(
        on eventType: String, where conditions: PropertyCondition..., capturing captures: [String] = [],
        fileID: String = #fileID, line: UInt = #line
    ) {
        trigger = .event(EventMatcher(eventType, where: conditions))
        self.captures = captures
        location = Step.Location(fileID: fileID, line: line)
    }

    /// `Entry(whenScoreReaches: 60)`: fires once per upward crossing.
    public init(whenScoreReaches points: Double, fileID: String = #fileID, line: UInt = #line) {
        trigger = .scoreReaches(points)
        captures = []
        location = Step.Location(fileID: fileID, line: line)
    }

    /// What the engine records when a lead has been quiet long enough for an
    /// `Entry(whenInactiveFor:)`; refused from outside.
    public static let inactivityEvent = "lead.inactive"

    /// `Entry(whenInactiveFor: .days(60))`: the engine enters a lead once it has done nothing for
    /// that long, and again after its next quiet spell if the re-entry policy allows.
    public init(whenInactiveFor span: Span, fileID: String = #fileID, line: UInt = #line) {
        trigger = .inactiveFor(span)
        captures = []
        location = Step.Location(fileID: fileID, line: line)
    }

    /// `Entry(whenAttributeChanges: "nps", to: .atLeast(9))`
    public init(
        whenAttributeChanges name: String, to comparison: Comparison? = nil, fileID: String = #fileID, line: UInt = #line
    ) {
        trigger = .attributeChanges(name, to: comparison)
        captures = []
        location = Step.Location(fileID: fileID, line: line)
    }
}

/// A goal: when it is reached the lead leaves the campaign, whichever step it is on.
public struct Exit: Sendable {
    public enum Goal: Sendable, Hashable, CustomStringConvertible {
        /// A matching event; `sameAs` names properties that must equal the entry event's
        /// (the invoice that was paid is the invoice this enrollment chases).
        case event(EventMatcher, sameAs: [String])
        /// A condition on the lead, checked whenever the lead changes.
        case condition(Condition)

        public var description: String {
            switch self {
            case .event(let matcher, let keys):
                "on \(matcher)" + (keys.isEmpty ? "" : " with the same " + keys.joined(separator: ", "))
            case .condition(let condition): "when \(condition)"
            }
        }
    }

    public let goal: Goal
    /// What reaching it is worth, for revenue and ROI (event goals only).
    public let value: GoalValue
    public let location: Step.Location

    /// `Exit(on: "deal.won", value: .property("amount"))`
    public init(
        on eventType: String, where conditions: PropertyCondition..., sameAs keys: [String] = [], value: GoalValue = 0,
        fileID: String = #fileID, line: UInt = #line
    ) {
        goal = .event(EventMatcher(eventType, where: conditions), sameAs: keys)
        self.value = value
        location = Step.Location(fileID: fileID, line: line)
    }

    public init(when condition: Condition, fileID: String = #fileID, line: UInt = #line) {
        goal = .condition(condition)
        value = 0
        location = Step.Location(fileID: fileID, line: line)
    }
}

/// An event that counts as a conversion of the campaign (credited to its last message, within
/// the campaign's attribution window) without ending the lead's journey:
/// `Conversion("trial.started", value: 0)`.
public struct Conversion: Sendable {
    public let matcher: EventMatcher
    public let value: GoalValue
    public let location: Step.Location

    public init(_ eventType: String, where conditions: PropertyCondition..., value: GoalValue = 0, fileID: String = #fileID, line: UInt = #line) {
        matcher = EventMatcher(eventType, where: conditions)
        self.value = value
        location = Step.Location(fileID: fileID, line: line)
    }
}

/// What a conversion is worth: a fixed amount, or a numeric property of the event.
public enum GoalValue: Sendable, Hashable, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral, CustomStringConvertible {
    case fixed(Double)
    case property(String)

    public init(integerLiteral value: Int) { self = .fixed(Double(value)) }
    public init(floatLiteral value: Double) { self = .fixed(value) }

    /// The amount for one event; a missing or non-numeric property is worth 0.
    public func amount(of properties: [String: Value]) -> Double {
        switch self {
        case .fixed(let amount): amount
        case .property(let name): properties[name]?.numberValue.flatMap { $0.isFinite ? $0 : nil } ?? 0
        }
    }

    public var description: String {
        switch self {
        case .fixed(let amount): Value.number(amount).textValue
        case .property(let name): "property \(name)"
        }
    }
}

/// Gives every step an id that ordinary edits leave alone. Explicit ids stay as written. A send
/// step is named by its template (`welcome-1`), which is what its messages, `.opened("welcome-1")`
/// and the webhook's `step` carry. Any other step is named by where it stands: its kind numbered
/// among the steps of that kind in its block (`wait-1`, `if-1`, `wait-for-1`, `tag-sunset`), under
/// the path of the branch holding it (`wait-for-1/timeout/wait-1`). So changing a wait's length or
/// a window, or adding a step of another kind, keeps every id; renaming a template or adding a step
/// of the same kind is matched up by `nurture plan` against the deployed playbook.
enum StepIDs {
    static func assign(_ steps: [Step]) -> [Step] {
        var sends: [String: Int] = [:]
        return assign(steps, path: "", sends: &sends)
    }

    private static func assign(_ steps: [Step], path: String, sends: inout [String: Int]) -> [Step] {
        var kinds: [String: Int] = [:]
        return steps.map { original in
            var step = original
            if let message = step.message {
                // Counted even when pinned, so a pinned repeat cannot shift the ids after it.
                let seen = sends[message.template, default: 0] + 1
                sends[message.template] = seen
                if !step.hasExplicitID { step.id = seen == 1 ? message.template : "\(message.template)-\(seen)" }
            } else {
                let base = step.positionalKind
                let seen = kinds[base.name, default: 0] + 1
                kinds[base.name] = seen
                if !step.hasExplicitID {
                    step.id = path + (base.numberedFromOne ? "\(base.name)-\(seen)" : seen == 1 ? base.name : "\(base.name)-\(seen)")
                }
            }
            switch step.action {
            case .waitFor(let events, let timeout, let onTimeout):
                let branches = events.map { branch in
                    EventBranch(matcher: branch.matcher, steps: assign(branch.steps, path: "\(step.id)/\(branch.pathSegment(among: events))/", sends: &sends))
                }
                let t = assign(onTimeout, path: "\(step.id)/timeout/", sends: &sends)
                step.action = .waitFor(branches, timeout: timeout, onTimeout: t)
            case .branch(let condition, let then, let otherwise):
                let a = assign(then, path: "\(step.id)/then/", sends: &sends)
                let b = assign(otherwise, path: "\(step.id)/else/", sends: &sends)
                step.action = .branch(condition, then: a, otherwise: b)
            default: break
            }
            return step
        }
    }

    /// The ids the steps had before ids were positional (0.x databases store these): derived from
    /// content, `-2`, `-3` on repeats. Keyed by the step's current id, for the one-time migration.
    static func legacy(_ steps: [Step]) -> [String: String] {
        var taken = Set(steps.flattened.filter(\.hasExplicitID).map(\.id))
        var legacy: [String: String] = [:]
        func walk(_ steps: [Step]) {
            for step in steps {
                if !step.hasExplicitID {
                    let base = step.legacyDerivedID
                    var candidate = base, n = 2
                    while taken.contains(candidate) {
                        candidate = "\(base)-\(n)"
                        n += 1
                    }
                    taken.insert(candidate)
                    legacy[step.id] = candidate
                }
                for branch in step.branches { walk(branch.steps) }
            }
        }
        walk(steps)
        return legacy
    }
}

/// What Nurture adds to a campaign's HTML emails to measure engagement.
public enum Tracking: String, Sendable, Hashable {
    /// A 1×1 pixel records opens and links go through signed redirects that record clicks.
    case opensAndClicks
    /// Links are tracked, no pixel (opens are unreliable since mail apps prefetch images).
    case clicks
    case off
}
