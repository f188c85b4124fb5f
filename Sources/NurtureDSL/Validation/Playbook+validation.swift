extension Playbook {
    /// Checks every campaign and template and returns every problem at once, errors and warnings,
    /// in file and line order. An empty result, or warnings only, means the playbook can run.
    public func validate(templates: TemplateCatalog) -> [Diagnostic] {
        var report = templates.problems
        report += duplicateCampaignIDs()
        report += attributeDeclarations()
        for campaign in campaigns {
            var rules = CampaignRules(campaign: campaign, playbook: self, templates: templates)
            report += rules.check()
        }
        report += moveToLoops()
        report += surveys(templates)
        report += personasAndSignals(templates)
        report += unusedTemplates(templates)
        if let scoring { report += validate(scoring) }
        return Array(Set(report)).sorted()
    }

    /// A survey's email must link every answer of its scale, and its scale's attribute must be
    /// declared (the answer is kept there, for conditions and scoring to read).
    private func surveys(_ templates: TemplateCatalog) -> [Diagnostic] {
        var report: [Diagnostic] = []
        for campaign in campaigns {
            for step in campaign.allSteps {
                guard case .email(let message) = step.action, let scale = message.survey else { continue }
                if attribute(scale.attribute) == nil {
                    report.append(.error(at: step.location, "a \(scale) survey keeps its answer in the attribute '\(scale.attribute)': declare "
                        + "Attribute(\"\(scale.attribute)\", .number, \"…\") in the playbook"))
                }
                guard let parts = templates.templates[message.template] else { continue }
                let linked = Set(parts.values.flatMap(\.variables).map(\.name))
                let missing = scale.answers.filter { !linked.contains(SurveyScale.linkVariable($0)) }
                if !missing.isEmpty {
                    report.append(.error(at: step.location, "'\(message.template)' is a \(scale) survey but does not link "
                        + (missing.count == scale.answers.count ? "any answer" : "every answer")
                        + ": write " + missing.map { "{{\(SurveyScale.linkVariable($0))}}" }.joined(separator: " ")))
                }
            }
        }
        return report
    }

    private func duplicateCampaignIDs() -> [Diagnostic] {
        var first: [String: Campaign] = [:]
        var report: [Diagnostic] = []
        for campaign in campaigns {
            if let earlier = first[campaign.id] {
                report.append(.error(at: campaign.location, "duplicate campaign id '\(campaign.id)' (first declared at \(earlier.location))"))
            } else {
                first[campaign.id] = campaign
            }
        }
        return report
    }

    private func attributeDeclarations() -> [Diagnostic] {
        var seen: Set<String> = []
        var report: [Diagnostic] = []
        for attribute in attributes {
            if LeadField.names.contains(attribute.name) {
                report.append(.error(at: attribute.location, "attribute '\(attribute.name)' is already a built-in lead field"))
            } else if !seen.insert(attribute.name).inserted {
                report.append(.error(at: attribute.location, "attribute '\(attribute.name)' is declared twice"))
            }
            if let value = attribute.defaultValue, !value.fits(attribute.type) {
                report.append(.error(at: attribute.location, "default \(value) of attribute '\(attribute.name)' is not a \(attribute.type.rawValue)"))
            }
        }
        return report
    }

    /// A lead moved between campaigns without ever being held would loop forever inside one pass
    /// of the worker; such loops are refused before they can run.
    private func moveToLoops() -> [Diagnostic] {
        let known = Set(campaigns.map(\.id))
        var edges: [String: [(target: String, step: Step)]] = [:]
        for campaign in campaigns {
            edges[campaign.id] = campaign.steps.immediateMoves().filter { known.contains($0.target) }
        }
        var report: [Diagnostic] = []
        var reported: Set<String> = []
        for campaign in campaigns {
            // Depth-first search for a path of immediate moves leading back to this campaign.
            var stack: [(id: String, path: [String], via: Step?)] = [(campaign.id, [campaign.id], nil)]
            var visited: Set<String> = []
            while let (current, path, via) = stack.popLast() {
                for (target, step) in edges[current] ?? [] {
                    let firstStep = via ?? step
                    if target == campaign.id {
                        let cycle = (path + [target]).joined(separator: " → ")
                        let key = Set(path).sorted().joined(separator: ",")
                        if reported.insert(key).inserted {
                            report.append(.error(at: firstStep.location, "MoveTo '\(firstStep.moveTarget ?? target)' can loop a lead without any wait: \(cycle)"))
                        }
                    } else if visited.insert(target).inserted {
                        stack.append((target, path + [target], firstStep))
                    }
                }
            }
        }
        return report
    }

    /// The scoring model's own rules: events and attributes it names, caps, thresholds.
    private func validate(_ model: ScoringModel) -> [Diagnostic] {
        var report: [Diagnostic] = []
        var labels: [String: Step.Location] = [:]
        for rule in model.rules {
            if let earlier = labels[rule.label] {
                report.append(.error(at: rule.location, "scoring rule '\(rule.label)' is declared twice (also at \(earlier))"))
            }
            labels[rule.label] = rule.location
            // A computed source prior of 0 is meaningful: that source converts like the average.
            if rule.points == 0, !rule.isSourcePrior {
                report.append(.warning(at: rule.location, "scoring rule '\(rule.label)' gives 0 points"))
            }
            switch rule.kind {
            case .behaviour(let matcher, let cap, let per):
                if !matcher.type.isEventType { report.append(.error(at: rule.location, "'\(matcher.type)' is not an event type (use dotted names such as page.viewed)")) }
                // A cap bounds the rule's total in either direction: +45 for pricing visits, −20 for bounces.
                if let cap, cap <= 0 || cap < abs(rule.points) {
                    report.append(.error(at: rule.location, "cap \(cap) of '\(rule.label)' must be positive and at least one event's \(abs(rule.points)) points"))
                }
                if per != nil, cap == nil { report.append(.error(at: rule.location, "'\(rule.label)' has a period (per:) but no cap")) }
            case .profile(let condition):
                report += checkProfileCondition(condition, at: rule.location)
            case .source(let source):
                if source.isEmpty { report.append(.error(at: rule.location, "a source rule needs a source name")) }
            case .inactivity(let span):
                if span.isZero { report.append(.error(at: rule.location, "inactivity needs a positive span")) }
            }
        }
        for threshold in model.thresholds {
            if threshold.rearmBelow > threshold.points {
                report.append(.error(at: threshold.location, "threshold \(Value.number(threshold.points)) re-arms at \(Value.number(threshold.rearmBelow)), above itself"))
            }
            if threshold.actions.isEmpty { report.append(.warning(at: threshold.location, "threshold \(Value.number(threshold.points)) does nothing")) }
            for action in threshold.actions {
                switch action {
                case .enroll(let campaign) where self.campaign(campaign) == nil:
                    report.append(.error(at: threshold.location, "threshold enrolls in unknown campaign '\(campaign)'" + Suggestion.hint(for: campaign, among: campaigns.map(\.id))))
                case .unsupported(let kind):
                    report.append(.error(at: threshold.location, "'\(kind)' cannot be used at a threshold (use SetStage, NotifySales, Tag or Enroll)"))
                default: break
                }
            }
        }
        if let owners = model.owners {
            for rule in owners.rules {
                if rule.owner.trimmingCharacters(in: .whitespaces).isEmpty { report.append(.error(at: rule.location, "Assign needs an owner")) }
                report += checkProfileCondition(rule.condition, at: rule.location)
            }
            if owners.rotation.isEmpty {
                report.append(.warning(at: owners.location, "no RoundRobin: leads no Assign matches stay unassigned"))
            }
            var seen: Set<String> = []
            for rep in owners.rotation where !seen.insert(rep.lowercased()).inserted {
                report.append(.error(at: owners.location, "'\(rep)' is twice in the RoundRobin (they would get twice the leads)"))
            }
            if owners.rotation.contains(where: { $0.trimmingCharacters(in: .whitespaces).isEmpty }) {
                report.append(.error(at: owners.location, "a RoundRobin entry is empty"))
            }
        }
        return report
    }

    /// Conditions on who a lead is (profile points, owner rules): declared attributes only, no engagement tests.
    private func checkProfileCondition(_ condition: Condition, at location: Step.Location) -> [Diagnostic] {
        var report: [Diagnostic] = []
        for part in condition.flattened {
            if case .attribute(let name, _) = part, !knowsLeadValue(name) {
                let candidates = LeadField.names.union(attributes.map(\.name))
                report.append(.error(at: location, "unknown attribute '\(name)'" + Suggestion.hint(for: name, among: candidates) + " (declare it in the playbook's attributes)"))
            }
            if case .engaged = part { report.append(.error(at: location, "profile rules cannot test opens or clicks of a step; use Behaviour")) }
        }
        return report
    }

    /// Personas and signals are declared once, with names templates can write; a template part
    /// written for a persona names a declared one.
    private func personasAndSignals(_ catalog: TemplateCatalog) -> [Diagnostic] {
        var report: [Diagnostic] = []
        var seen: [String: Step.Location] = [:]
        let named: [(String, String, Step.Location, Condition)] = personas.map { ("persona", $0.id, $0.location, $0.condition) }
            + signals.map { ("signal", $0.id, $0.location, $0.condition) }
        for (kind, id, location, condition) in named {
            if id.isEmpty || !id.unicodeScalars.allSatisfy({ $0.isASCII && (Character($0).isLetter || Character($0).isNumber || $0 == "-" || $0 == "_") }) {
                report.append(.error(at: location, "\(kind) name '\(id)' must be ASCII letters, digits, - and _ (templates write {{#\(kind == "persona" ? "persona" : "did").\(id)}})"))
            }
            if let earlier = seen["\(kind):\(id)"] { report.append(.error(at: location, "\(kind) '\(id)' is declared twice (also at \(earlier))")) }
            seen["\(kind):\(id)"] = location
            for part in condition.flattened {
                if case .attribute(let name, _) = part, !knowsLeadValue(name) || name == Persona.attribute {
                    report.append(.error(at: location, "\(kind) '\(id)' tests '\(name)', which is not a lead field or a declared attribute"))
                }
                if case .engaged = part { report.append(.error(at: location, "\(kind) '\(id)' cannot test opens or clicks of a campaign's step; use .did(\"email.clicked\", …)")) }
            }
        }
        let sent = sentTemplates
        for name in catalog.templates.keys.sorted() {
            // `a.v2` beside `a` is written for persona `v2`, unless a step sends `a.v2` itself.
            guard let dot = name.lastIndex(of: "."), let plain = catalog.templates[String(name[..<dot])], !sent.contains(name),
                  let parts = catalog.templates[name], let file = parts.sorted(by: { $0.key < $1.key }).first?.value
            else { continue }
            let persona = String(name[name.index(after: dot)...])
            guard self.persona(persona) != nil else {
                report.append(.error(at: Step.Location(file: file.path, line: 1), "'\(name)' is written for persona '\(persona)', which the playbook does not declare"
                    + Suggestion.hint(for: persona, among: personas.map(\.id))))
                continue
            }
            // Most mail clients show the HTML part: a persona's own text behind the plain HTML would go unseen.
            if parts[.text] != nil, parts[.html] == nil, let html = plain[.html] {
                report.append(.warning(at: Step.Location(file: parts[.text]!.path, line: 1), "'\(name)' has its own text but not its own HTML, "
                    + "so \(persona) leads get the plain HTML (\(html.path)), which most mail clients show; add \(name).html.mustache"))
            }
        }
        return report
    }

    /// The templates steps send (variants included).
    private var sentTemplates: Set<String> { Set(campaigns.flatMap { $0.allSteps.flatMap { $0.message?.templates ?? [] } }) }

    /// The templates of `catalog` written for one of the playbook's personas (`a.founder` beside
    /// `a`, which no step sends itself).
    public func personaParts(in catalog: TemplateCatalog) -> Set<String> {
        let sent = sentTemplates
        return Set(catalog.templates.keys.filter { name in
            guard let dot = name.lastIndex(of: "."), catalog.templates[String(name[..<dot])] != nil, !sent.contains(name) else { return false }
            return persona(String(name[name.index(after: dot)...])) != nil
        })
    }

    private func unusedTemplates(_ catalog: TemplateCatalog) -> [Diagnostic] {
        let plain = sentTemplates
        let used = plain.union(plain.flatMap { name in personas.map { "\(name).\($0.id)" } })
        return catalog.templates.keys.filter { !used.contains($0) }.sorted().compactMap { name in
            guard let file = catalog.templates[name]?.sorted(by: { $0.key < $1.key }).first?.value else { return nil }
            return .warning(at: Step.Location(file: file.path, line: 1), "template '\(name)' is not used by any campaign")
        }
    }
}

extension Step {
    var moveTarget: String? {
        if case .moveTo(let target) = action { return target }
        return nil
    }

    /// True when a lead that reaches this step never goes on to the next one in its block.
    var endsTheBlock: Bool {
        switch action {
        case .exit, .moveTo: return true
        case .branch(_, let then, let otherwise): return then.endsTheBlock && otherwise.endsTheBlock
        case .waitFor(let events, let timeout, let onTimeout):
            return events.allSatisfy(\.steps.endsTheBlock) && (timeout == nil || onTimeout.endsTheBlock)
        default: return false
        }
    }
}

extension Array where Element == Step {
    var endsTheBlock: Bool { contains { $0.endsTheBlock } }

    /// `MoveTo` steps a lead can reach from the start of these steps without being held.
    func immediateMoves() -> [(target: String, step: Step)] {
        var moves: [(target: String, step: Step)] = []
        for step in self {
            if let target = step.moveTarget { moves.append((target, step)) }
            if case .branch(_, let then, let otherwise) = step.action {
                moves += then.immediateMoves() + otherwise.immediateMoves()
            }
            if step.holdsTheLead || step.endsTheBlock { break }
        }
        return moves
    }
}

extension String {
    var isEventType: Bool { !isEmpty && allSatisfy { $0.isLetter || $0.isNumber || $0 == "." || $0 == "_" || $0 == "-" } }
}

extension Value {
    func fits(_ type: AttributeType) -> Bool {
        switch (self, type) {
        case (.string, .string), (.number, .number), (.bool, .bool): true
        default: false
        }
    }
}

/// The rules that concern one campaign.
struct CampaignRules {
    let campaign: Campaign
    let playbook: Playbook
    let templates: TemplateCatalog
    var report: [Diagnostic] = []

    init(campaign: Campaign, playbook: Playbook, templates: TemplateCatalog) {
        self.campaign = campaign
        self.playbook = playbook
        self.templates = templates
    }

    mutating func check() -> [Diagnostic] {
        if campaign.steps.isEmpty {
            report.append(.error(at: campaign.location, "campaign '\(campaign.id)' has no steps"))
        }
        if !(0...50).contains(campaign.holdout) {
            report.append(.error(at: campaign.location, "the holdout of '\(campaign.id)' must be a percentage from 0 to 50, not \(campaign.holdout)"))
        }
        if campaign.attribution.approximateSeconds <= 0 || campaign.attribution.approximateSeconds > 14 * 86_400 {
            report.append(.error(at: campaign.location, "the attribution window of '\(campaign.id)' must be more than 0 and at most 14 days (the sends a lead's work reads), not \(campaign.attribution)"))
        }
        if campaign.holdout > 0, campaign.isTransactional {
            report.append(.error(at: campaign.location, "transactional campaign '\(campaign.id)' cannot hold leads out: they are owed its messages"))
        }
        if campaign.holdout > 0, campaign.exits.isEmpty {
            report.append(.warning(at: campaign.location, "campaign '\(campaign.id)' holds out \(campaign.holdout)% but has no goal (Exit) to measure its lift on"))
        }
        checkEntries()
        checkExits()
        checkStepIDs()
        checkReachability(campaign.steps)
        for step in campaign.allSteps { check(step) }
        return report
    }

    private mutating func checkEntries() {
        let movedInto = playbook.campaigns.contains { other in other.allSteps.contains { $0.moveTarget == campaign.id } }
        if campaign.entries.isEmpty, !movedInto {
            report.append(.warning(at: campaign.location, "campaign '\(campaign.id)' has no Entry and no campaign moves leads into it: no lead can ever enter"))
        }
        for entry in campaign.entries {
            switch entry.trigger {
            case .event(let matcher):
                checkEventType(matcher.type, at: entry.location)
                if matcher.type == Entry.inactivityEvent {
                    report.append(.error(at: entry.location, "\(Entry.inactivityEvent) is recorded by the engine for Entry(whenInactiveFor:) campaigns only; "
                        + "write Entry(whenInactiveFor: .days(60)) instead"))
                }
            case .scoreReaches: break
            case .attributeChanges(let name, _): checkLeadValue(name, at: entry.location)
            case .inactiveFor(let span):
                if span.approximateSeconds < 86_400 {
                    report.append(.error(at: entry.location, "Entry(whenInactiveFor: \(span)) is shorter than a day: quiet is measured in days"))
                }
            }
        }
    }

    private mutating func checkExits() {
        for exit in campaign.exits {
            switch exit.goal {
            case .event(let matcher, let keys):
                checkEventType(matcher.type, at: exit.location)
                for key in keys where !campaign.capturedProperties.contains(key) {
                    report.append(.error(at: exit.location, "goal compares '\(key)' with the entry event, but no Entry captures it (add capturing: [\"\(key)\"])"))
                }
            case .condition(let condition): checkCondition(condition, at: exit.location)
            }
        }
    }

    private mutating func checkStepIDs() {
        var first: [String: Step] = [:]
        for step in campaign.allSteps {
            if step.id.isEmpty || step.id.contains("*") {
                report.append(.error(at: step.location, "step id '\(step.id)' in campaign '\(campaign.id)' must be non-empty and without '*'"))
            }
            if let message = step.message, !step.hasExplicitID, step.id != message.template,
               let earlier = campaign.allSteps.first(where: { $0.message?.template == message.template })
            {
                // Told apart only by their order, so a step added between them would swap their leads.
                report.append(.error(at: step.location, "template '\(message.template)' is also sent at \(earlier.location) in campaign '\(campaign.id)'; "
                    + "give this step its own id, e.g. .id(\"\(step.id)\"), so edits cannot mistake one for the other"))
            }
            if let earlier = first[step.id] {
                report.append(.error(at: step.location, "duplicate step id '\(step.id)' in campaign '\(campaign.id)' (also at \(earlier.location))"))
            } else {
                first[step.id] = step
            }
        }
    }

    private mutating func checkReachability(_ steps: [Step]) {
        for (index, step) in steps.enumerated() {
            for branch in step.branches { checkReachability(branch.steps) }
            if step.endsTheBlock, index + 1 < steps.count {
                let next = steps[index + 1]
                report.append(.error(at: next.location, "step '\(next.id)' is unreachable: every lead has left the campaign at '\(step.id)' (\(step.location))"))
                return
            }
        }
    }

    private mutating func check(_ step: Step) {
        switch step.action {
        case .email(let message): checkMessage(message, channel: .email, step: step)
        case .sms(let message):
            checkMessage(message, channel: .sms, step: step)
            let window = message.window ?? campaign.window
            if !(window.map { $0.isWithin(.smsQuietHoursAllowed) } ?? false) {
                report.append(.warning(at: step.location, "SMS '\(step.id)' could fire outside 08:00–21:00 in the lead's time zone; the engine will hold it until 08:00 (give it window: .daytime)"))
            }
        case .wait(let span, let window):
            if span.days < 0 || span.seconds < 0 {
                report.append(.error(at: step.location, "wait of \(span) is negative"))
            }
            if let window { checkWindow(window, at: step.location) }
        case .waitUntil(let time, let days):
            if !time.isValid { report.append(.error(at: step.location, "\(time) is not a time of day")) }
            if days.isEmpty { report.append(.error(at: step.location, "wait until \(time) on no weekday never ends")) }
        case .waitFor(let events, let timeout, _):
            let named = events.map(\.matcher.type).joined(separator: "' or '")
            if events.isEmpty { report.append(.error(at: step.location, "WaitFor(any: []) waits for no event")) }
            var seen: Set<String> = []
            for event in events {
                checkEventType(event.matcher.type, at: step.location)
                if !seen.insert(event.matcher.type).inserted {
                    report.append(.error(at: step.location, "WaitFor names '\(event.matcher.type)' twice: only the first branch could ever run"))
                }
            }
            if timeout == nil {
                report.append(.error(at: step.location, "WaitFor '\(named)' has no timeout: a lead who never does it would wait forever (add timeout: .days(N))"))
            } else if let timeout, timeout.isZero || timeout.days < 0 || timeout.seconds < 0 {
                report.append(.error(at: step.location, "WaitFor '\(named)' needs a positive timeout"))
            }
        case .branch(let condition, _, _): checkCondition(condition, at: step.location)
        case .setAttribute(let name, let value):
            if let attribute = playbook.attribute(name) {
                if !value.fits(attribute.type) {
                    report.append(.error(at: step.location, "attribute '\(name)' is a \(attribute.type.rawValue); \(value) does not fit"))
                }
            } else {
                report.append(.error(at: step.location, "SetAttribute of undeclared attribute '\(name)'" + Suggestion.hint(for: name, among: playbook.attributes.map(\.name))))
            }
        case .moveTo(let target):
            if playbook.campaign(target) == nil {
                report.append(.error(at: step.location, "MoveTo unknown campaign '\(target)'" + Suggestion.hint(for: target, among: playbook.campaigns.map(\.id))))
            }
        case .exitCampaigns(.campaigns(let ids)):
            for id in ids where playbook.campaign(id) == nil {
                report.append(.error(at: step.location, "ExitCampaigns names unknown campaign '\(id)'" + Suggestion.hint(for: id, among: playbook.campaigns.map(\.id))))
            }
        case .exitCampaigns(.kinds(let kinds)):
            for kind in kinds where !playbook.campaigns.contains(where: { $0.kind == kind }) {
                report.append(.warning(at: step.location, "ExitCampaigns(kind: \(kind)) ends nothing: no campaign is of kind '\(kind)'"))
            }
        case .suppress(let scope, let reason):
            if reason.trimmingCharacters(in: .whitespaces).isEmpty {
                report.append(.error(at: step.location, "Suppress needs a reason: it is what the suppression list and the lead's timeline show"))
            }
            if scope == .marketing, campaign.isTransactional {
                report.append(.warning(at: step.location, "Suppress(.marketing) in transactional campaign '\(campaign.id)' stops other campaigns, not this one"))
            }
        case .adjustScore, .setStage, .tag, .notifySales, .exit: break
        }
    }

    private mutating func checkWindow(_ window: SendWindow, at location: Step.Location) {
        if window.days.isEmpty || window.opens >= window.closes {
            report.append(.error(at: location, "send window \(window) never opens"))
        }
    }

    private mutating func checkEventType(_ type: String, at location: Step.Location) {
        let valid = !type.isEmpty && type.allSatisfy { $0.isLetter || $0.isNumber || $0 == "." || $0 == "_" || $0 == "-" }
        if !valid {
            report.append(.error(at: location, "'\(type)' is not an event type (use dotted names such as page.viewed)"))
        }
    }

    private mutating func checkLeadValue(_ name: String, at location: Step.Location) {
        if !playbook.knowsLeadValue(name) {
            let candidates = LeadField.names.union(playbook.attributes.map(\.name))
            report.append(.error(at: location, "unknown attribute '\(name)'" + Suggestion.hint(for: name, among: candidates) + " (declare it in the playbook's attributes)"))
        }
    }

    private mutating func checkCondition(_ condition: Condition, at location: Step.Location) {
        let emailSteps = campaign.allSteps.filter { if case .email = $0.action { true } else { false } }.map(\.id)
        for part in condition.flattened {
            switch part {
            case .attribute(let name, _): checkLeadValue(name, at: location)
            case .engaged(let kind, let stepID):
                if !emailSteps.contains(stepID) {
                    report.append(.error(at: location, "'\(kind.rawValue)(\"\(stepID)\")' names no email step of campaign '\(campaign.id)'" + Suggestion.hint(for: stepID, among: emailSteps)))
                }
            case .did(let matcher, _, let count):
                checkEventType(matcher.type, at: location)
                if count < 1 { report.append(.error(at: location, "an event count must be at least 1")) }
            case .all(let cs), .any(let cs):
                if cs.isEmpty { report.append(.error(at: location, "an empty all/any condition is always \(part.isAll)")) }
            default: break
            }
        }
    }

    private enum Channel { case email, sms }

    private mutating func checkMessage(_ message: Message, channel: Channel, step: Step) {
        if let window = message.window { checkWindow(window, at: step.location) }
        if !message.variants.isEmpty {
            let total = message.variants.reduce(0) { $0 + $1.weight }
            if total != 100 {
                let listed = message.variants.map { "\($0.name): \($0.weight)" }.joined(separator: ", ")
                report.append(.error(at: step.location, "variant weights of '\(step.id)' sum to \(total), not 100 (\(listed))"))
            }
            if message.variants.contains(where: { $0.weight <= 0 }) {
                report.append(.error(at: step.location, "every variant of '\(step.id)' needs a positive weight"))
            }
            if Set(message.variants.map { $0.name.lowercased() }).count != message.variants.count {
                report.append(.error(at: step.location, "variant names of '\(step.id)' repeat"))
            }
        }
        if case .auto(_, let confidence, let minimum)? = message.winner {
            if message.variants.count < 2 {
                report.append(.error(at: step.location, "'\(step.id)' declares a winner rule but has no A/B variants to pick from"))
            }
            if !(confidence > 0.5 && confidence < 1) {
                report.append(.error(at: step.location, "the winner confidence of '\(step.id)' must be between 0.5 and 1 (e.g. 0.95), not \(confidence)"))
            }
            if minimum < 1 {
                report.append(.error(at: step.location, "the winner of '\(step.id)' needs a minimum of at least 1 message per variant, not \(minimum)"))
            }
        }
        let required: [TemplateCatalog.Part] = channel == .email ? [.subject, .text] : [.sms]
        for name in message.templates {
            guard let parts = templates.templates[name], required.contains(where: { parts[$0] != nil }) else {
                let known = templates.templates.filter { parts in required.allSatisfy { parts.value[$0] != nil } }.keys
                let what = channel == .email ? "email template" : "SMS template"
                let files = required.map { "Templates/\(name).\($0.rawValue).mustache" }.joined(separator: ", ")
                report.append(.error(at: step.location, "unknown \(what) '\(name)'" + Suggestion.hint(for: name, among: known) + " (expected \(files))"))
                continue
            }
            for part in required where parts[part] == nil {
                report.append(.error(at: step.location, "template '\(name)' has no \(part.rawValue) part (Templates/\(name).\(part.rawValue).mustache)"))
            }
            let used: [TemplateCatalog.Part] = channel == .email ? [.subject, .text, .html] : [.sms]
            for part in used { if let file = parts[part] { checkVariables(in: file, part: part, step: step, seen: []) } }
            for persona in playbook.personas {
                guard let written = templates.templates["\(name).\(persona.id)"] else { continue }
                for part in used { if let file = written[part] { checkVariables(in: file, part: part, step: step, seen: []) } }
            }
        }
    }

    /// Every variable a template uses must be something a lead, the brand, the entry event or
    /// Nurture itself can provide, unless the template gives it a default.
    private mutating func checkVariables(in file: TemplateCatalog.File, part: TemplateCatalog.Part, step: Step, seen: Set<String>) {
        for use in file.variables where !provides(use, defaults: file.defaults) {
            let parts = use.name.split(separator: ".", maxSplits: 1).map(String.init)
            if parts.count == 2, parts[0] == "persona" || parts[0] == "did" {
                let (what, known) = parts[0] == "persona" ? ("persona", playbook.personas.map(\.id)) : ("signal", playbook.signals.map(\.id))
                report.append(.error(at: Step.Location(file: file.path, line: use.line),
                                     "{{#\(use.name)}} names no declared \(what)" + Suggestion.hint(for: parts[1], among: known)
                                         + (known.isEmpty ? " (the playbook declares none)" : "")))
                continue
            }
            report.append(.error(at: Step.Location(file: file.path, line: use.line),
                                 "{{\(use.name)}} is not a lead field, a declared attribute, a brand value or a captured trigger property, and has no default (used by step '\(step.id)' of campaign '\(campaign.id)')" + Suggestion.hint(for: use.name, among: knownVariables)))
        }
        for partial in file.partials {
            guard let included = templates.partials[partial.name]?[part] else {
                report.append(.error(at: Step.Location(file: file.path, line: partial.line), "unknown partial '\(partial.name)' (expected Templates/_\(partial.name).\(part.rawValue).mustache)"))
                continue
            }
            guard !seen.contains(partial.name) else { continue }
            checkVariables(in: included, part: part, step: step, seen: seen.union([partial.name]))
        }
    }

    private var knownVariables: [String] {
        Array(LeadField.names) + playbook.attributes.map(\.name) + Brand.templateKeys.map { "brand.\($0)" }
            + campaign.capturedProperties.map { "trigger.\($0)" } + Array(LeadField.systemVariables)
    }

    private func provides(_ use: TemplateCatalog.VariableUse, defaults: [String: String]) -> Bool {
        // Inside {{#brand}}…{{/brand}} a name may be relative to any enclosing section.
        var candidates = [use.name]
        for depth in use.sections.indices {
            candidates.append((use.sections[...depth] + [use.name]).joined(separator: "."))
        }
        return candidates.contains { name in
            if defaults[name] != nil || name == "." { return true }
            if playbook.knowsLeadValue(name) || LeadField.systemVariables.contains(name) { return true }
            let parts = name.split(separator: ".", maxSplits: 1).map(String.init)
            guard parts.count == 2 || ["brand", "trigger"].contains(name) else { return false }
            if parts.count == 1 { return true }
            switch parts[0] {
            case "brand": return Brand.templateKeys.contains(parts[1])
            case "trigger": return campaign.capturedProperties.contains(parts[1])
            case "persona": return playbook.persona(parts[1]) != nil
            case "did": return playbook.signal(parts[1]) != nil
            default: return false
            }
        }
    }
}

extension Condition {
    fileprivate var isAll: Bool {
        if case .all = self { return true }
        return false
    }
}
