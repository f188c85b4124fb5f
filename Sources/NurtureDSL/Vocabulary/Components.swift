/// Anything that can stand in a campaign's step list.
public protocol StepConvertible: Sendable {
    func makeSteps() -> [Step]
}

extension StepConvertible {
    /// Gives a step an explicit, stable id (for example before renaming its template).
    public func id(_ id: String) -> IdentifiedStep { IdentifiedStep(steps: makeSteps(), id: id) }
}

/// A DSL word that stands for exactly one step.
public protocol SingleStep: StepConvertible {
    var step: Step { get }
}

extension SingleStep {
    public func makeSteps() -> [Step] { [step] }
}

/// A step with an id set by `.id(_:)`.
public struct IdentifiedStep: StepConvertible {
    let steps: [Step]
    let id: String

    public func makeSteps() -> [Step] {
        guard var first = steps.first else { return [] }
        first.id = id
        first.hasExplicitID = true
        return [first] + steps.dropFirst()
    }
}

/// Sends an email from `Templates/<template>.{subject,text,html}.mustache`.
///
/// With `variants: ["A": 50, "B": 50]` each lead gets one variant, chosen deterministically from
/// its id, from `Templates/<template>-a.*` or `Templates/<template>-b.*`. The split is judged on
/// `metric` (clicks unless it says opens); `winner: .auto(confidence: 0.95, minimumPerVariant: 200)`
/// lets the engine settle it, otherwise `nurture experiments decide` does.
public struct Email: SingleStep {
    public let step: Step

    public init(
        _ template: String, variants: KeyValuePairs<String, Int> = [:], window: SendWindow? = nil, metric: SplitMetric = .clicked,
        winner: WinnerRule? = nil, fileID: String = #fileID, line: UInt = #line
    ) {
        step = Step(.email(Message(template: template, variants: variants, window: window, metric: metric, winner: winner)),
                    at: .init(fileID: fileID, line: line))
    }

}

/// Sends a one-question survey by email: its template links every answer of the scale
/// (`{{survey_0}}` … `{{survey_10}}` for NPS), each a signed link to a page where the person's
/// click sends that answer. The answer is recorded once, as a `survey.answered` event and the lead
/// attribute of the scale's name (`nps`), for scoring, entries and goals to act on; `stats`
/// reports each survey's response rate and score.
public struct Survey: SingleStep {
    public let step: Step

    public init(_ scale: SurveyScale, _ template: String, window: SendWindow? = nil, fileID: String = #fileID, line: UInt = #line) {
        var message = Message(template: template, variants: [:], window: window)
        message.survey = scale
        step = Step(.email(message), at: .init(fileID: fileID, line: line))
    }
}

/// Sends an SMS from `Templates/<template>.sms.mustache`, only to leads who opted in, and only
/// between 08:00 and 21:00 in their time zone (the engine holds it otherwise).
public struct SMS: SingleStep {
    public let step: Step

    public init(
        _ template: String, variants: KeyValuePairs<String, Int> = [:], window: SendWindow? = nil, metric: SplitMetric = .clicked,
        winner: WinnerRule? = nil, fileID: String = #fileID, line: UInt = #line
    ) {
        step = Step(.sms(Message(template: template, variants: variants, window: window, metric: metric, winner: winner)),
                    at: .init(fileID: fileID, line: line))
    }

}

/// Holds the lead for a time, or until a time of day on given weekdays, in the lead's time zone.
public struct Wait: SingleStep {
    public let step: Step

    /// `Wait(.days(2), window: .businessHours)`: two days, then the next moment inside the window.
    public init(_ span: Span, window: SendWindow? = nil, fileID: String = #fileID, line: UInt = #line) {
        step = Step(.wait(span, window: window), at: .init(fileID: fileID, line: line))
    }

    /// `Wait(until: .at(9), on: Weekday.workdays)`: the next 09:00 on a workday, local time.
    public init(
        until time: TimeOfDay, on days: Set<Weekday> = Weekday.everyDay, fileID: String = #fileID, line: UInt = #line
    ) {
        step = Step(.waitUntil(time, days: days), at: .init(fileID: fileID, line: line))
    }

}

/// Waits for the lead to do something, with a branch for when they do and one for when they don't.
public struct WaitFor: SingleStep {
    public let step: Step

    public init(
        _ eventType: String, where conditions: PropertyCondition..., timeout: Span? = nil,
        fileID: String = #fileID, line: UInt = #line,
        @StepBuilder onEvent: () -> [Step] = { [] },
        @StepBuilder onTimeout: () -> [Step] = { [] }
    ) {
        step = Step(
            .waitFor([EventBranch(matcher: EventMatcher(eventType, where: conditions), steps: onEvent())], timeout: timeout, onTimeout: onTimeout()),
            at: .init(fileID: fileID, line: line))
    }

    /// Waits for the first of several events, with a branch for each (`On`) and one for none:
    ///
    /// ```swift
    /// WaitFor(any: ["demo.booked", "trial.started"], timeout: .days(7)) {
    ///     On("demo.booked") { NotifySales("Booked a demo from the nurture series") }
    ///     On("trial.started") { Email("trial-tips") }
    /// } onTimeout: {
    ///     Email("nurture-4-tutorial")
    /// }
    /// ```
    ///
    /// The earliest event wins; events at the same instant count in the order they were sent
    /// (one request's events, in its order). An event listed without an `On` goes on after the step.
    public init(
        any eventTypes: [String], timeout: Span? = nil, fileID: String = #fileID, line: UInt = #line,
        @EventBranchBuilder _ branches: () -> [On] = { [] },
        @StepBuilder onTimeout: () -> [Step] = { [] }
    ) {
        let declared = branches()
        var events = eventTypes.map { type in
            declared.first { $0.matcher.type == type }.map { EventBranch(matcher: $0.matcher, steps: $0.steps) }
                ?? EventBranch(matcher: EventMatcher(type), steps: [])
        }
        for branch in declared where !eventTypes.contains(branch.matcher.type) {
            events.append(EventBranch(matcher: branch.matcher, steps: branch.steps))
        }
        step = Step(.waitFor(events, timeout: timeout, onTimeout: onTimeout()), at: .init(fileID: fileID, line: line))
    }
}

/// The branch of a `WaitFor(any:)` for one of its events.
public struct On: Sendable {
    let matcher: EventMatcher
    let steps: [Step]

    public init(_ eventType: String, where conditions: PropertyCondition..., @StepBuilder then steps: () -> [Step]) {
        matcher = EventMatcher(eventType, where: conditions)
        self.steps = steps()
    }
}

@resultBuilder
public enum EventBranchBuilder {
    public static func buildExpression(_ branch: On) -> [On] { [branch] }
    public static func buildBlock(_ parts: [On]...) -> [On] { parts.flatMap { $0 } }
}

/// Branches on a condition about the lead, checked when the lead reaches this step.
public struct If: SingleStep {
    public let step: Step

    public init(
        _ condition: Condition, fileID: String = #fileID, line: UInt = #line,
        @StepBuilder then: () -> [Step], @StepBuilder else otherwise: () -> [Step] = { [] }
    ) {
        step = Step(.branch(condition, then: then(), otherwise: otherwise()), at: .init(fileID: fileID, line: line))
    }

}

public struct AdjustScore: SingleStep {
    public let step: Step

    public init(_ points: Int, reason: String? = nil, fileID: String = #fileID, line: UInt = #line) {
        step = Step(.adjustScore(points, reason: reason), at: .init(fileID: fileID, line: line))
    }

}

public struct SetAttribute: SingleStep {
    public let step: Step

    public init(_ name: String, to value: Value, fileID: String = #fileID, line: UInt = #line) {
        step = Step(.setAttribute(name, value), at: .init(fileID: fileID, line: line))
    }

}

public struct SetStage: SingleStep {
    public let step: Step

    public init(_ stage: Stage, fileID: String = #fileID, line: UInt = #line) {
        step = Step(.setStage(stage), at: .init(fileID: fileID, line: line))
    }

}

public struct Tag: SingleStep {
    public let step: Step

    public init(_ tag: String, fileID: String = #fileID, line: UInt = #line) {
        step = Step(.tag(tag), at: .init(fileID: fileID, line: line))
    }

}

/// Alerts sales about this lead, with an optional note saying why.
public struct NotifySales: SingleStep {
    public let step: Step

    public init(_ note: String? = nil, fileID: String = #fileID, line: UInt = #line) {
        step = Step(.notifySales(note: note), at: .init(fileID: fileID, line: line))
    }

}

/// Ends this campaign for the lead and enrolls it at the start of another.
public struct MoveTo: SingleStep {
    public let step: Step

    public init(_ campaign: String, fileID: String = #fileID, line: UInt = #line) {
        step = Step(.moveTo(campaign), at: .init(fileID: fileID, line: line))
    }

}

/// Ends this campaign for the lead here.
public struct ExitCampaign: SingleStep {
    public let step: Step

    public init(_ reason: String? = nil, fileID: String = #fileID, line: UInt = #line) {
        step = Step(.exit(reason: reason), at: .init(fileID: fileID, line: line))
    }

}

/// Ends the lead's journeys in other campaigns here: a hand-over. `ExitCampaigns(kind: .nurture)`
/// ends every nurture series it is in; `ExitCampaigns(["nurture", "engagement"])` ends those
/// campaigns. The campaign running the step is never ended by it.
public struct ExitCampaigns: SingleStep {
    public let step: Step

    public init(kind: Campaign.Kind, fileID: String = #fileID, line: UInt = #line) {
        step = Step(.exitCampaigns(.kinds([kind])), at: .init(fileID: fileID, line: line))
    }

    public init(kinds: [Campaign.Kind], fileID: String = #fileID, line: UInt = #line) {
        step = Step(.exitCampaigns(.kinds(kinds)), at: .init(fileID: fileID, line: line))
    }

    public init(_ campaigns: [String], fileID: String = #fileID, line: UInt = #line) {
        step = Step(.exitCampaigns(.campaigns(campaigns)), at: .init(fileID: fileID, line: line))
    }
}

/// Stops messages to the lead from here on: `Suppress(.marketing, reason: "sunset")` stops every
/// campaign that is not transactional (its journeys there end), while receipts and invoice
/// reminders still go; `Suppress(.all, …)` stops those too.
public struct Suppress: SingleStep {
    public let step: Step

    public init(_ scope: SuppressionScope, reason: String, fileID: String = #fileID, line: UInt = #line) {
        step = Step(.suppress(scope, reason: reason), at: .init(fileID: fileID, line: line))
    }
}
