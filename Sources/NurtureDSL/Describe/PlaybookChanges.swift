/// How a build differs from the deployed playbook, step by step, and where the leads on each
/// deployed step go: what `nurture plan` prints and `nurture deploy` applies.
///
/// Steps are matched block by block. A pinned id (`.id("…")`) matches the deployed step of that
/// id wherever it is. The rest are lined up by what they do (the longest common run, preferring
/// equal ids), and a deployed step left over between two matched neighbours is the same step as
/// a new one of its kind left over there: a wait whose length changed, an email whose template
/// was renamed. What remains was removed or added.
public struct PlaybookChanges: Sendable {
    /// Where the leads on one deployed step go.
    public enum Destination: Sendable, Hashable, CustomStringConvertible {
        /// On the same step (under `id`, which may be new): nothing moves.
        case stays(String)
        /// On to `id`, run from its start, because their step was removed or changed kind.
        case movesTo(String)
        /// Their step was the last one left: the journey completes.
        case completes
        case exits(reason: String)

        public var description: String {
            switch self {
            case .stays: "stay"
            case .movesTo(let id): "move to \(id)"
            case .completes: "complete the campaign"
            case .exits(let reason): "exit (\(reason))"
            }
        }

        /// Whether leads end up somewhere other than where they were.
        public var movesLeads: Bool { if case .stays = self { false } else { true } }
    }

    /// One aspect of a step that differs: `wait 2d → 4d`.
    public struct Change: Sendable, Hashable, CustomStringConvertible {
        public var aspect: String
        public var old: String?
        public var new: String?
        public var description: String {
            func shown(_ value: String?) -> String { value.flatMap { $0.isEmpty ? nil : $0 } ?? "none" }
            return "\(aspect) \(shown(old)) → \(shown(new))"
        }
    }

    /// A deployed step and its fate.
    public struct DeployedStep: Sendable, Hashable {
        public var id: String
        public var kind: String
        public var destination: Destination
        /// For a step that stays: what changed about it (empty: unchanged).
        public var changes: [Change]
        public var removed: Bool
    }

    public struct CampaignChanges: Sendable {
        public enum Status: String, Sendable { case unchanged, changed, added, removed }
        public var id: String
        public var status: Status
        /// Every deployed step, in the deployed order.
        public var deployed: [DeployedStep]
        /// New steps with no deployed counterpart.
        public var added: [PlaybookShape.StepShape]
        /// The campaign's own settings that differ (entries, goals, re-entry, exclusive, …).
        public var settings: [Change] = []

        public func fate(of stepID: String) -> DeployedStep? { deployed.first { $0.id == stepID } }
    }

    public var campaigns: [CampaignChanges]
    /// Templates (`name.part`) whose text differs, was added or removed.
    public var templatesChanged: [String]
    /// The scoring model, when it changed.
    public var scoring: Change?

    public init(from deployed: PlaybookShape, to built: PlaybookShape) {
        var campaigns: [CampaignChanges] = []
        for old in deployed.campaigns {
            if let new = built.campaign(old.id) {
                campaigns.append(Self.compare(old, new))
            } else {
                let reason = "campaign \(old.id) removed from the playbook"
                campaigns.append(CampaignChanges(
                    id: old.id, status: .removed,
                    deployed: old.allSteps.map { DeployedStep(id: $0.id, kind: $0.kind, destination: .exits(reason: reason), changes: [], removed: true) },
                    added: []))
            }
        }
        for new in built.campaigns where deployed.campaign(new.id) == nil {
            campaigns.append(CampaignChanges(id: new.id, status: .added, deployed: [], added: new.allSteps))
        }
        self.campaigns = campaigns
        templatesChanged = Set(deployed.templates.keys).union(built.templates.keys)
            .filter { deployed.templates[$0] != built.templates[$0] }.sorted()
        scoring = deployed.scoring == built.scoring ? nil : Change(aspect: "scoring model", old: deployed.scoring, new: built.scoring)
    }

    public func campaign(_ id: String) -> CampaignChanges? { campaigns.first { $0.id == id } }

    /// The deployed steps whose leads the build moves or drops.
    public var moves: [(campaign: String, step: DeployedStep)] {
        campaigns.flatMap { campaign in campaign.deployed.filter(\.destination.movesLeads).map { (campaign.id, $0) } }
    }

    // MARK: - Matching

    private static func compare(_ old: PlaybookShape.CampaignShape, _ new: PlaybookShape.CampaignShape) -> CampaignChanges {
        var pairs: [String: PlaybookShape.StepShape] = [:]
        let newPinned = Dictionary(new.allSteps.filter(\.pinned).map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        for step in old.allSteps { if let pinned = newPinned[step.id] { pairs[step.id] = pinned } }
        var claimed = Set(pairs.values.map(\.id))
        align(old.steps, new.steps, pairs: &pairs, claimed: &claimed)

        let next = successors(old.steps, continuation: nil)
        var deployed: [DeployedStep] = []
        for step in old.allSteps {
            if let match = pairs[step.id] {
                let destination: Destination = match.kind == step.kind ? .stays(match.id) : .movesTo(match.id)
                deployed.append(DeployedStep(id: step.id, kind: step.kind, destination: destination, changes: changes(step, match), removed: false))
            } else {
                deployed.append(DeployedStep(id: step.id, kind: step.kind,
                                             destination: removedDestination(step.id, rule: new.onRemovedStep, next: next, pairs: pairs),
                                             changes: [], removed: true))
            }
        }
        let added = new.allSteps.filter { !claimed.contains($0.id) }
        var settings: [Change] = []
        if old.name != new.name { settings.append(Change(aspect: "name", old: old.name, new: new.name)) }
        if old.kind != new.kind { settings.append(Change(aspect: "kind", old: old.kind, new: new.kind)) }
        // A record older than settings knows none: nothing to compare.
        if !old.settings.isEmpty {
            for aspect in Set(old.settings.keys).union(new.settings.keys).sorted() where old.settings[aspect] != new.settings[aspect] {
                settings.append(Change(aspect: aspect, old: old.settings[aspect], new: new.settings[aspect]))
            }
        }
        let unchanged = added.isEmpty && settings.isEmpty && deployed.allSatisfy { $0.destination == .stays($0.id) && $0.changes.isEmpty }
        var changes = CampaignChanges(id: old.id, status: unchanged ? .unchanged : .changed, deployed: deployed, added: added)
        changes.settings = settings
        return changes
    }

    /// Pairs the steps of one block, then the blocks inside each pair.
    private static func align(
        _ old: [PlaybookShape.StepShape], _ new: [PlaybookShape.StepShape],
        pairs: inout [String: PlaybookShape.StepShape], claimed: inout Set<String>
    ) {
        // A new step pinned to a new id takes part too: pinning a step is not moving it.
        let free = old.filter { pairs[$0.id] == nil }, open = new.filter { !claimed.contains($0.id) }
        // Heaviest common subsequence by content; equal ids weigh more, so ties keep ids.
        func weight(_ a: PlaybookShape.StepShape, _ b: PlaybookShape.StepShape) -> Int {
            guard a.kind == b.kind, a.details == b.details else { return 0 }
            return a.id == b.id ? 3 : 2
        }
        let n = free.count, m = open.count
        var best = Array(repeating: Array(repeating: 0, count: m + 1), count: n + 1)
        for i in stride(from: n - 1, through: 0, by: -1) {
            for j in stride(from: m - 1, through: 0, by: -1) {
                let w = weight(free[i], open[j])
                best[i][j] = max(best[i + 1][j], best[i][j + 1], w > 0 ? w + best[i + 1][j + 1] : 0)
            }
        }
        var anchors: [(Int, Int)] = []
        var i = 0, j = 0
        while i < n, j < m {
            let w = weight(free[i], open[j])
            if w > 0, best[i][j] == w + best[i + 1][j + 1] {
                anchors.append((i, j))
                i += 1
                j += 1
            } else if best[i + 1][j] >= best[i][j + 1] {
                i += 1
            } else {
                j += 1
            }
        }
        // Between two anchors, leftovers of one kind are the same steps, edited.
        var previous = (-1, -1)
        for anchor in anchors + [(n, m)] {
            var leftovers = Array(open[(previous.1 + 1)..<anchor.1])
            for step in free[(previous.0 + 1)..<anchor.0] {
                if let index = leftovers.firstIndex(where: { $0.kind == step.kind }) {
                    pairs[step.id] = leftovers[index]
                    claimed.insert(leftovers[index].id)
                    leftovers.removeSubrange(...index)
                }
            }
            if anchor.0 < n {
                pairs[free[anchor.0].id] = open[anchor.1]
                claimed.insert(open[anchor.1].id)
            }
            previous = anchor
        }
        for step in old {
            guard let match = pairs[step.id], match.kind == step.kind else { continue }
            // Branches by label (`then`, `on demo.booked`); the event branches left over (the
            // event awaited was changed) pair up in order.
            var unmatched = match.branches.filter { branch in !step.branches.contains { $0.label == branch.label } }
            for branch in step.branches {
                if let counterpart = match.branches.first(where: { $0.label == branch.label }) {
                    align(branch.steps, counterpart.steps, pairs: &pairs, claimed: &claimed)
                } else if branch.label.hasPrefix("on "), let index = unmatched.firstIndex(where: { $0.label.hasPrefix("on ") }) {
                    align(branch.steps, unmatched[index].steps, pairs: &pairs, claimed: &claimed)
                    unmatched.remove(at: index)
                }
            }
        }
    }

    private static func changes(_ old: PlaybookShape.StepShape, _ new: PlaybookShape.StepShape) -> [Change] {
        var changes: [Change] = []
        if old.kind != new.kind { changes.append(Change(aspect: "kind", old: old.kind, new: new.kind)) }
        for aspect in Set(old.details.keys).union(new.details.keys).sorted() where old.details[aspect] != new.details[aspect] {
            changes.append(Change(aspect: aspect, old: old.details[aspect], new: new.details[aspect]))
        }
        return changes
    }

    /// What runs after each deployed step once it is done, as the engine links them.
    private static func successors(_ steps: [PlaybookShape.StepShape], continuation: String?) -> [String: String?] {
        var next: [String: String?] = [:]
        for (index, step) in steps.enumerated() {
            let after = index + 1 < steps.count ? steps[index + 1].id : continuation
            next[step.id] = after
            for branch in step.branches { next.merge(successors(branch.steps, continuation: after)) { a, _ in a } }
        }
        return next
    }

    private static func removedDestination(
        _ id: String, rule: Campaign.RemovedStepRule, next: [String: String?], pairs: [String: PlaybookShape.StepShape]
    ) -> Destination {
        if rule == .exit { return .exits(reason: "step \(id) removed") }
        var cursor = next[id] ?? nil
        while let candidate = cursor {
            if let match = pairs[candidate] { return .movesTo(match.id) }
            cursor = next[candidate] ?? nil
        }
        return .completes
    }
}
