import Foundation
public import NurtureDSL
public import NurtureStorage

/// What deploying this build would do to the database: the step-by-step changes from the
/// deployed playbook, how many leads sit on each affected step, and where each group goes.
/// `nurture plan` prints it; `nurture deploy` and a starting worker apply its `moves`.
public struct DeploymentPlan: Sendable {
    public let built: PlaybookShape
    /// The build's fingerprint.
    public let fingerprint: String
    public let deployed: PlaybookDeployment?
    /// Nil when nothing was deployed before.
    public let changes: PlaybookChanges?
    /// Active enrollments by campaign and step, with their phases.
    public let occupancy: [String: [String: [Enrollment.Phase: Int]]]
    /// What the deployment does to the stored enrollments.
    public let moves: [StepMove]

    public init(built playbook: Playbook, templates: TemplateLibrary, deployed: PlaybookDeployment?, occupancy rows: [StepOccupancy]) {
        let shape = playbook.shape(templates: templates.digests)
        self.init(built: playbook, shape: shape, fingerprint: shape.fingerprint, deployed: deployed, occupancy: rows)
    }

    /// The same with the build's shape and its fingerprint already worked out.
    public init(built playbook: Playbook, shape: PlaybookShape, fingerprint: String, deployed: PlaybookDeployment?, occupancy rows: [StepOccupancy]) {
        built = shape
        self.fingerprint = fingerprint
        self.deployed = deployed
        var occupancy: [String: [String: [Enrollment.Phase: Int]]] = [:]
        for row in rows { occupancy[row.campaignID, default: [:]][row.stepID, default: [:]][row.phase, default: 0] += row.count }
        self.occupancy = occupancy
        guard let deployed else {
            // A database from before deployments were recorded holds the old content-derived ids.
            changes = nil
            moves = playbook.campaigns.flatMap { campaign in
                let current = Set(campaign.allSteps.map(\.id))
                return campaign.legacyStepIDs.compactMap { id, legacy -> StepMove? in
                    guard !current.contains(legacy) else { return nil }
                    return StepMove(campaignID: campaign.id, stepID: legacy, action: .rename(to: id))
                }.sorted { $0.stepID < $1.stepID }
            }
            return
        }
        let changes = PlaybookChanges(from: deployed.shape, to: built)
        self.changes = changes
        var moves: [StepMove] = []
        for campaign in changes.campaigns {
            // Every step whose leads would not stay put, occupied now or not: a lead may reach it
            // between this reading and the deployment's transaction.
            for step in campaign.deployed {
                let action: StepMove.Action? = switch step.destination {
                case .stays(let id): id == step.id ? nil : .rename(to: id)
                case .movesTo(let id): .restart(at: id)
                case .completes: .complete
                case .exits(let reason): .exit(reason: reason)
                }
                if let action { moves.append(StepMove(campaignID: campaign.id, stepID: step.id, action: action)) }
            }
        }
        // Enrollments on steps the deployed playbook never had (written by hand, or by a build
        // that was never recorded) are left for the engine, which ends them with the reason.
        self.moves = moves
    }

    /// Whether deploying changes anything recorded.
    public var isNoChange: Bool { deployed?.fingerprint == fingerprint }

    /// The leads the deployment moves off their step or out of their campaign (renames not counted).
    public var leadsMoved: Int {
        moves.reduce(0) { total, move in
            if case .rename = move.action { return total }
            return total + leadCount(move.campaignID, move.stepID)
        }
    }

    public func leadCount(_ campaign: String, _ step: String) -> Int {
        occupancy[campaign]?[step]?.values.reduce(0, +) ?? 0
    }

    // MARK: - Text

    /// The plan as `nurture plan` prints it.
    public var text: String {
        var lines: [String] = []
        let fingerprint = String(self.fingerprint.prefix(12))
        guard let deployed, let changes else {
            lines.append("Nothing is deployed on this database yet: deploying records playbook \(fingerprint).")
            if moves.contains(where: { leadCount($0.campaignID, $0.stepID) > 0 }) {
                lines.append("Its enrollments carry step ids from before ids were positional; they are renamed, and every lead stays where it is:")
                for move in moves where leadCount(move.campaignID, move.stepID) > 0 {
                    if case .rename(let id) = move.action {
                        lines.append("  \(move.campaignID): \(move.stepID) → \(id) (\(Self.leads(leadCount(move.campaignID, move.stepID))))")
                    }
                }
            }
            return lines.joined(separator: "\n")
        }
        if isNoChange {
            return "Playbook \(fingerprint) is the one deployed (\(Self.stamp(deployed.at)), by \(deployed.by)): nothing to change."
        }
        lines.append("Deployed playbook \(deployed.fingerprint.prefix(12)) (\(Self.stamp(deployed.at)), by \(deployed.by)) → this build \(fingerprint)")
        for campaign in changes.campaigns {
            switch campaign.status {
            case .unchanged:
                lines.append("")
                lines.append("\(campaign.id): unchanged")
            case .added:
                lines.append("")
                lines.append("\(campaign.id): added (\(campaign.added.count) steps); leads enter it from now on")
            case .removed:
                lines.append("")
                let held = campaign.deployed.reduce(0) { $0 + leadCount(campaign.id, $1.id) }
                lines.append("\(campaign.id): removed; " + (held == 0 ? "no lead is in it" : "\(Self.leads(held)) in it exit (campaign \(campaign.id) removed from the playbook)"))
            case .changed:
                lines.append("")
                lines.append("\(campaign.id): changed")
                for change in campaign.settings { lines.append("  * \(change) (for leads entering or in it from now on)") }
                lines += campaignLines(campaign)
            }
        }
        if let scoring = changes.scoring {
            lines.append("")
            lines.append("Scoring: \(scoring) (stored scores stay until `nurture scores recompute`)")
        }
        if !changes.templatesChanged.isEmpty {
            lines.append("")
            lines.append("Template text changed: " + changes.templatesChanged.joined(separator: ", ") + " (messages not yet rendered use the new text)")
        }
        lines.append("")
        let moved = leadsMoved
        lines.append(moved == 0 ? "No lead is moved or dropped." : "\(Self.leads(moved)) moved or dropped: review before `nurture deploy`.")
        return lines.joined(separator: "\n")
    }

    private func campaignLines(_ campaign: PlaybookChanges.CampaignChanges) -> [String] {
        var rows: [(mark: String, id: String, what: String, leads: String)] = []
        for step in campaign.deployed {
            let count = leadCount(campaign.id, step.id)
            let on = count == 0 ? "no lead on it" : phases(campaign.id, step.id)
            switch step.destination {
            case .stays(let id):
                guard id != step.id || !step.changes.isEmpty else { continue }
                let what = ([id == step.id ? nil : "id \(step.id) → \(id)"].compactMap { $0 } + step.changes.map(\.description)).joined(separator: "; ")
                rows.append(("~", step.id, what, count == 0 ? on : "\(on): stay" + Self.stayNote(step)))
            case .movesTo(let id):
                let what = step.removed ? "removed" : step.changes.map(\.description).joined(separator: "; ")
                rows.append((step.removed ? "-" : "~", step.id, what, count == 0 ? on : "\(on): move to \(id)"))
            case .completes:
                rows.append(("-", step.id, "removed", count == 0 ? on : "\(on): complete the campaign (nothing follows)"))
            case .exits(let reason):
                rows.append(("-", step.id, "removed", count == 0 ? on : "\(on): exit (\(reason))"))
            }
        }
        for step in campaign.added {
            rows.append(("+", step.id, "added: " + step.kind + (step.details["template"].map { " \($0)" } ?? step.details["wait"].map { " \($0)" } ?? ""), ""))
        }
        let idWidth = rows.map(\.id.count).max() ?? 0, whatWidth = min(60, rows.map(\.what.count).max() ?? 0)
        func pad(_ text: String, _ width: Int) -> String { text.padding(toLength: max(width, text.count), withPad: " ", startingAt: 0) }
        return rows.map { row in
            let head = "  \(row.mark) " + pad(row.id, idWidth) + "  "
            return row.leads.isEmpty ? head + row.what : head + pad(row.what, whatWidth) + "  " + row.leads
        }
    }

    private static func stayNote(_ step: PlaybookChanges.DeployedStep) -> String {
        if step.changes.contains(where: { $0.aspect == "wait" || $0.aspect == "timeout" }) { return ", keeping the wake time they have (leads arriving later get the new one)" }
        if case .stays(let id) = step.destination, id != step.id { return " (renamed)" }
        return ""
    }

    /// `1 lead waiting`, `5 leads (3 waiting, 2 held by a window or cap)`.
    private func phases(_ campaign: String, _ step: String) -> String {
        let byPhase = occupancy[campaign]?[step] ?? [:]
        let total = byPhase.values.reduce(0, +)
        if byPhase.count == 1, let phase = byPhase.keys.first { return Self.leads(total) + " " + Self.phaseName(phase) }
        return Self.leads(total) + " (" + byPhase.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.value) \(Self.phaseName($0.key))" }.joined(separator: ", ") + ")"
    }

    private static func phaseName(_ phase: Enrollment.Phase) -> String {
        switch phase {
        case .ready: "due"
        case .waiting: "waiting"
        case .waitingForEvent: "awaiting the event"
        case .held: "held by a window or cap"
        }
    }

    public static func leads(_ count: Int) -> String { count == 1 ? "1 lead" : "\(count) leads" }

    static func stamp(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withFullDate, .withTime, .withColonSeparatorInTime, .withSpaceBetweenDateAndTime]
        return formatter.string(from: date) + " UTC"
    }
}
