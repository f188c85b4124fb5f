import Foundation

/// The lead-scoring model, written in `Campaigns/Scoring.swift` in the same style as campaigns:
/// behaviour points that decay, profile points that do not, lead-source priors, and thresholds
/// that act once per upward crossing.
///
/// ```swift
/// let scoring = ScoringModel(version: "2026-11", behaviourHalfLife: .days(30)) {
///     Behaviour("Visited pricing", on: "page.viewed", where: .property("path", .hasPrefix("/pricing")),
///               points: 15, cap: 45, per: .days(7))
///     Profile("Senior title", when: .attribute("job_title", .contains("head")), points: 15)
///     SourcePriors.playbook
///     Threshold(60, rearmBelow: 50) { SetStage(.mql); NotifySales("Crossed the MQL line") }
/// }
/// ```
public struct ScoringModel: Sendable {
    /// Changes whenever the rules change, so stored scores know which model computed them.
    public let version: String
    /// Behaviour points lose half their value every `behaviourHalfLife`; nil means no decay.
    public let behaviourHalfLife: Span?
    public let rules: [ScoreRule]
    public let thresholds: [Threshold]
    /// Who owns a lead once sales hears of it; nil leaves alerts unassigned.
    public let owners: SalesOwners?
    public let location: Step.Location

    public init(
        version: String, behaviourHalfLife: Span?, fileID: String = #fileID, line: UInt = #line,
        @ScoringBuilder _ content: () -> [ScoringPart]
    ) {
        var rules: [ScoreRule] = [], thresholds: [Threshold] = [], owners: [SalesOwners] = []
        for part in content() {
            switch part {
            case .rule(let rule): rules.append(rule)
            case .threshold(let threshold): thresholds.append(threshold)
            case .owners(let list): owners.append(list)
            }
        }
        // Several `Owners` blocks read as one list, in order.
        self.owners = owners.isEmpty ? nil : SalesOwners(
            rules: owners.flatMap(\.rules), rotation: owners.flatMap(\.rotation), location: owners[0].location)
        self.version = version
        self.behaviourHalfLife = behaviourHalfLife
        self.rules = rules
        self.thresholds = thresholds.sorted { $0.points < $1.points }
        location = Step.Location(fileID: fileID, line: line)
    }
}

/// One source of points.
public struct ScoreRule: Sendable {
    public enum Kind: Sendable {
        /// Points per matching event, at most `cap` points (in magnitude) within any `per`
        /// window, or ever when there is no period.
        case behaviour(EventMatcher, cap: Int?, per: Span?)
        /// Points while the lead's profile matches; they do not decay.
        case profile(Condition)
        /// Points for a lead source (`referral`, `webinar`, …); they do not decay.
        case source(String)
        /// Points (usually negative) when the lead has done nothing for `after`.
        case inactivity(after: Span)
    }

    public let label: String
    public let points: Int
    public let kind: Kind
    public let location: Step.Location

    public var decays: Bool {
        if case .behaviour = kind { return true }
        return false
    }

    public var isSourcePrior: Bool {
        if case .source = kind { return true }
        return false
    }
}

/// Crossing `points` upward fires the actions once; they re-arm only after the score falls
/// below `rearmBelow`, so a score hovering at the line cannot cause an alert storm.
public struct Threshold: Sendable {
    public enum Action: Sendable, Hashable, CustomStringConvertible {
        case setStage(Stage)
        case notifySales(String?)
        case enroll(campaign: String)
        case tag(String)
        /// A step word that means nothing at a threshold; `validate` reports it.
        case unsupported(String)

        public var description: String {
            switch self {
            case .setStage(let stage): "set stage \(stage)"
            case .notifySales(let note): "notify sales" + (note.map { ": \($0)" } ?? "")
            case .enroll(let campaign): "enroll in \(campaign)"
            case .tag(let tag): "tag \(tag)"
            case .unsupported(let kind): "\(kind) (not allowed at a threshold)"
            }
        }
    }

    public let points: Double
    public let rearmBelow: Double
    public let actions: [Action]
    public let location: Step.Location

    public init(
        _ points: Double, rearmBelow: Double? = nil, fileID: String = #fileID, line: UInt = #line,
        @ThresholdActionBuilder _ actions: () -> [Action]
    ) {
        self.points = points
        // A margin of a tenth of the threshold unless told otherwise.
        self.rearmBelow = rearmBelow ?? points * 0.9
        self.actions = actions()
        location = Step.Location(fileID: fileID, line: line)
    }
}

public enum ScoringPart: Sendable {
    case rule(ScoreRule)
    case threshold(Threshold)
    case owners(SalesOwners)
}

/// Who owns a lead when sales first hears of it: the first `Assign` whose condition holds,
/// otherwise the next rep of the `RoundRobin`. The owner is stored on the lead and named in alerts.
///
/// ```swift
/// Owners {
///     Assign("ines@larkspur.example", when: .attribute("country", .oneOf(["PT", "ES"])))
///     RoundRobin(["maria@larkspur.example", "tom@larkspur.example"])
/// }
/// ```
public struct SalesOwners: Sendable {
    public struct Rule: Sendable {
        public let owner: String
        public let condition: Condition
        public let location: Step.Location
    }

    public let rules: [Rule]
    public let rotation: [String]
    public let location: Step.Location
}

public enum OwnerPart: Sendable {
    case rule(SalesOwners.Rule)
    case rotation([String], Step.Location)
}

@resultBuilder
public enum OwnerBuilder {
    public static func buildExpression(_ part: OwnerPart) -> [OwnerPart] { [part] }
    public static func buildBlock(_ parts: [OwnerPart]...) -> [OwnerPart] { parts.flatMap { $0 } }
}

public func Owners(fileID: String = #fileID, line: UInt = #line, @OwnerBuilder _ content: () -> [OwnerPart]) -> SalesOwners {
    var rules: [SalesOwners.Rule] = [], rotation: [String] = []
    for part in content() {
        switch part {
        case .rule(let rule): rules.append(rule)
        case .rotation(let reps, _): rotation += reps
        }
    }
    return SalesOwners(rules: rules, rotation: rotation, location: Step.Location(fileID: fileID, line: line))
}

/// Leads matching `condition` go to `owner` (territories, key accounts).
public func Assign(_ owner: String, when condition: Condition, fileID: String = #fileID, line: UInt = #line) -> OwnerPart {
    .rule(SalesOwners.Rule(owner: owner, condition: condition, location: Step.Location(fileID: fileID, line: line)))
}

/// Everyone else goes to these reps in turn.
public func RoundRobin(_ reps: [String], fileID: String = #fileID, line: UInt = #line) -> OwnerPart {
    .rotation(reps, Step.Location(fileID: fileID, line: line))
}

@resultBuilder
public enum ScoringBuilder {
    public static func buildExpression(_ rule: ScoreRule) -> [ScoringPart] { [.rule(rule)] }
    public static func buildExpression(_ rules: [ScoreRule]) -> [ScoringPart] { rules.map(ScoringPart.rule) }
    public static func buildExpression(_ threshold: Threshold) -> [ScoringPart] { [.threshold(threshold)] }
    public static func buildExpression(_ owners: SalesOwners) -> [ScoringPart] { [.owners(owners)] }
    public static func buildBlock(_ parts: [ScoringPart]...) -> [ScoringPart] { parts.flatMap { $0 } }
    public static func buildOptional(_ part: [ScoringPart]?) -> [ScoringPart] { part ?? [] }
    public static func buildEither(first part: [ScoringPart]) -> [ScoringPart] { part }
    public static func buildEither(second part: [ScoringPart]) -> [ScoringPart] { part }
    public static func buildArray(_ parts: [[ScoringPart]]) -> [ScoringPart] { parts.flatMap { $0 } }
}

@resultBuilder
public enum ThresholdActionBuilder {
    public static func buildExpression(_ enroll: Enroll) -> [Threshold.Action] { [.enroll(campaign: enroll.campaign)] }
    /// Step words read naturally here too; those that mean nothing at a threshold are kept as
    /// `.unsupported` so `validate` can point at them.
    public static func buildExpression(_ word: some SingleStep) -> [Threshold.Action] {
        switch word.step.action {
        case .setStage(let stage): [.setStage(stage)]
        case .notifySales(let note): [.notifySales(note)]
        case .tag(let tag): [.tag(tag)]
        default: [.unsupported(word.step.kindName)]
        }
    }
    public static func buildBlock(_ parts: [Threshold.Action]...) -> [Threshold.Action] { parts.flatMap { $0 } }
}

/// At a threshold: enroll the lead in a campaign (as if it had entered it).
public struct Enroll: Sendable {
    public let campaign: String
    public init(_ campaign: String) { self.campaign = campaign }
}

// MARK: - Rule words

/// Points per matching event: `Behaviour("Opened an email", on: "email.opened", points: 2, cap: 10, per: .days(30))`.
public func Behaviour(
    _ label: String, on eventType: String, where conditions: PropertyCondition..., points: Int, cap: Int? = nil, per: Span? = nil,
    fileID: String = #fileID, line: UInt = #line
) -> ScoreRule {
    ScoreRule(label: label, points: points, kind: .behaviour(EventMatcher(eventType, where: conditions), cap: cap, per: per),
              location: Step.Location(fileID: fileID, line: line))
}

/// Points while a condition on the profile holds: `Profile("Large company", when: .attribute("company_size", .atLeast(500)), points: 10)`.
public func Profile(_ label: String, when condition: Condition, points: Int, fileID: String = #fileID, line: UInt = #line) -> ScoreRule {
    ScoreRule(label: label, points: points, kind: .profile(condition), location: Step.Location(fileID: fileID, line: line))
}

/// Points for leads from one source: `Source("referral", points: 9)`.
public func Source(_ source: String, points: Int, fileID: String = #fileID, line: UInt = #line) -> ScoreRule {
    ScoreRule(label: "Source: \(source)", points: points, kind: .source(source), location: Step.Location(fileID: fileID, line: line))
}

/// Points when a lead has been silent for a while: `Inactivity(after: .days(60), points: -20)`.
public func Inactivity(after span: Span, points: Int, fileID: String = #fileID, line: UInt = #line) -> ScoreRule {
    ScoreRule(label: "No activity for \(span)", points: points, kind: .inactivity(after: span), location: Step.Location(fileID: fileID, line: line))
}

/// Lead-source priors from conversion rates.
public enum SourcePriors {
    /// Lead-to-customer rates by source from the playbook's B2B study (nearly 500 US companies).
    public static let playbookRates: [(source: String, rate: Double)] = [
        ("referral", 0.036), ("website", 0.016), ("social media", 0.015), ("advertising", 0.008), ("trade show", 0.006), ("webinar", 0.005),
    ]

    /// Points = round(10 × ln(odds of the source ÷ odds of the average rate)): a source that
    /// converts like the average scores 0, one with e times the odds scores +10. With the
    /// playbook's rates: referral +9, website +1, social media 0, advertising −6, trade show −9,
    /// webinar −11.
    public static func points(rates: [(source: String, rate: Double)], scale: Double = 10, fileID: String = #fileID, line: UInt = #line) -> [ScoreRule] {
        let average = rates.map(\.rate).reduce(0, +) / Double(max(1, rates.count))
        func odds(_ p: Double) -> Double { p / (1 - p) }
        return rates.map { entry in
            Source(entry.source, points: Int((scale * log(odds(entry.rate) / odds(average))).rounded()), fileID: fileID, line: line)
        }
    }

    public static func playbook(fileID: String = #fileID, line: UInt = #line) -> [ScoreRule] {
        points(rates: playbookRates, fileID: fileID, line: line)
    }
}
