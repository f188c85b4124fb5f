import Foundation

/// What a deployment records of the playbook it runs: every campaign's steps with their ids and
/// what they do, and a digest of each template's text. Stored in the database at each deploy, it
/// is what `nurture plan` compares the next build with, and its fingerprint is what two
/// processes on one database must agree on.
public struct PlaybookShape: Sendable, Hashable, Codable {
    public struct StepShape: Sendable, Hashable, Codable {
        public struct Branch: Sendable, Hashable, Codable {
            public var label: String
            public var steps: [StepShape]
        }

        public var id: String
        public var kind: String
        /// Written `.id("…")` in the campaign: matched by id alone, whatever it does now.
        public var pinned: Bool
        /// What the step does, by aspect (`template`, `wait`, `window`, `condition`, …): what a
        /// plan reports as changed.
        public var details: [String: String]
        public var branches: [Branch]

        public init(id: String, kind: String, pinned: Bool = false, details: [String: String] = [:], branches: [Branch] = []) {
            self.id = id
            self.kind = kind
            self.pinned = pinned
            self.details = details
            self.branches = branches
        }

        /// This step and every step inside it, depth first.
        public var flattened: [StepShape] { [self] + branches.flatMap { $0.steps.flatMap(\.flattened) } }
    }

    public struct CampaignShape: Sendable, Hashable, Codable {
        public var id: String
        public var name: String
        public var kind: String
        public var onRemovedStep: Campaign.RemovedStepRule
        /// Entries, goals, re-entry, window, exclusivity and the rest, by name: what the plan
        /// reports as the campaign's own changes. (Absent from records older than it: empty.)
        public var settings: [String: String]
        public var steps: [StepShape]

        public init(
            id: String, name: String, kind: String, onRemovedStep: Campaign.RemovedStepRule = .continueAtNext, settings: [String: String] = [:],
            steps: [StepShape]
        ) {
            self.id = id
            self.name = name
            self.kind = kind
            self.onRemovedStep = onRemovedStep
            self.settings = settings
            self.steps = steps
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            id = try container.decode(String.self, forKey: .id)
            name = try container.decode(String.self, forKey: .name)
            kind = try container.decode(String.self, forKey: .kind)
            onRemovedStep = try container.decodeIfPresent(Campaign.RemovedStepRule.self, forKey: .onRemovedStep) ?? .continueAtNext
            settings = try container.decodeIfPresent([String: String].self, forKey: .settings) ?? [:]
            steps = try container.decode([StepShape].self, forKey: .steps)
        }

        public var allSteps: [StepShape] { steps.flatMap(\.flattened) }

        /// A digest of the campaign as deployed: the campaign's version.
        public var version: String { PlaybookShape.digest(of: self) }
    }

    public var campaigns: [CampaignShape]
    /// `name.part` → digest of the template's text.
    public var templates: [String: String]
    /// The scoring model's version, if the playbook scores leads.
    public var scoring: String?

    public init(campaigns: [CampaignShape], templates: [String: String], scoring: String? = nil) {
        self.campaigns = campaigns
        self.templates = templates
        self.scoring = scoring
    }

    public func campaign(_ id: String) -> CampaignShape? { campaigns.first { $0.id == id } }

    /// One digest for the whole playbook: the same campaigns and template texts give the same
    /// fingerprint whatever the Swift files' formatting.
    public var fingerprint: String { Self.digest(of: self) }

    static func digest(of value: some Encodable) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return CampaignSources.digest((try? encoder.encode(value)) ?? Data())
    }
}

extension Playbook {
    /// The shape of this playbook with the given template digests (`name.part` → digest).
    public func shape(templates: [String: String]) -> PlaybookShape {
        PlaybookShape(
            campaigns: campaigns.map { campaign in
                PlaybookShape.CampaignShape(id: campaign.id, name: campaign.name, kind: campaign.kind.name,
                                            onRemovedStep: campaign.onRemovedStep, settings: campaign.settings, steps: campaign.steps.map(\.deployedShape))
            },
            templates: templates, scoring: scoring.map { "\($0.version) (\(PlaybookShape.digest(of: String(describing: $0.rules.map(\.label)) + String(describing: $0.thresholds.map(\.points)))))" })
    }
}

extension Campaign {
    /// The campaign's own settings, as a deployment records them.
    var settings: [String: String] {
        var settings: [String: String] = [
            "entries": entries.map(\.trigger.description).joined(separator: "; "),
            "goals": exits.map(\.goal.description).joined(separator: "; "),
            "conversions": conversions.map(\.matcher.description).joined(separator: "; "),
            "re-entry": reentry.description,
            "window": window?.description ?? "none",
            "tracking": effectiveTracking.rawValue,
            "attribution": attribution.description,
        ]
        if isTransactional { settings["transactional"] = "yes" }
        if exclusive { settings["exclusive"] = "yes" }
        if holdout > 0 { settings["holdout"] = "\(holdout)%" }
        return settings
    }
}

extension Step {
    var deployedShape: PlaybookShape.StepShape {
        // An event branch is labelled by its event even alone, so a WaitFor that becomes a
        // WaitFor(any:) keeps the leads inside its branch.
        let labels: [String] = if case .waitFor(let events, _, _) = action {
            events.map { "on \($0.matcher.type)" } + ["on timeout"]
        } else {
            branches.map(\.label)
        }
        return PlaybookShape.StepShape(
            id: id, kind: kindName, pinned: hasExplicitID, details: details,
            branches: zip(labels, branches).map { PlaybookShape.StepShape.Branch(label: $0, steps: $1.steps.map(\.deployedShape)) })
    }

    /// What the step does, aspect by aspect, as a plan names its changes.
    var details: [String: String] {
        var details: [String: String] = [:]
        switch action {
        case .email(let message), .sms(let message):
            details["template"] = message.template
            if !message.variants.isEmpty { details["variants"] = message.variants.map { "\($0.name) \($0.weight)%" }.joined(separator: " / ") }
            if let window = message.window { details["window"] = window.description }
            if let survey = message.survey { details["survey"] = survey.description }
        case .wait(let span, let window):
            details["wait"] = span.description
            if let window { details["window"] = window.description }
        case .waitUntil(let time, let days):
            details["wait"] = "until \(time) \(days.summary)"
        case .waitFor(let events, let timeout, _):
            details["event"] = events.map(\.matcher.description).joined(separator: " or ")
            details["timeout"] = timeout?.description ?? "none"
        case .branch(let condition, _, _):
            details["condition"] = condition.description
        case .adjustScore(let points, _):
            details["points"] = String(points)
        case .setAttribute(let name, let value):
            details["value"] = "\(name) = \(value)"
        case .setStage(let stage):
            details["stage"] = stage.name
        case .tag(let tag):
            details["tag"] = tag
        case .notifySales(let note):
            if let note { details["note"] = note }
        case .exitCampaigns(let selection):
            details["campaigns"] = selection.description
        case .suppress(let scope, let reason):
            details["scope"] = scope.rawValue
            details["reason"] = reason
        case .moveTo(let campaign):
            details["campaign"] = campaign
        case .exit(let reason):
            if let reason { details["reason"] = reason }
        }
        return details
    }
}
