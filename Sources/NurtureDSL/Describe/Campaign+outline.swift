extension Campaign {
    /// The campaign as an indented tree with step ids, waits, branches and variants, for
    /// `nurture campaigns show`.
    public var outline: String {
        var lines = ["\(id) — \(name) [\(kind)]" + (isTransactional ? " transactional" : "")]
        for entry in entries { lines.append("  entry  \(entry.trigger)" + Self.captureNote(entry)) }
        for exit in exits { lines.append("  goal   exit \(exit.goal)") }
        lines.append("  re-entry \(reentry)" + (window.map { "; sends \($0)" } ?? ""))
        lines.append("  steps")
        Self.outline(steps, depth: 2, column: Self.idColumn(steps, depth: 2), into: &lines)
        return lines.joined(separator: "\n")
    }

    private static func captureNote(_ entry: Entry) -> String {
        entry.captures.isEmpty ? "" : " (keeps " + entry.captures.joined(separator: ", ") + ")"
    }

    /// Where the summaries start, so they line up however deep and long the ids are.
    private static func idColumn(_ steps: [Step], depth: Int) -> Int {
        steps.map { step in
            max(2 * depth + step.id.count, step.branches.map { idColumn($0.steps, depth: depth + 2) }.max() ?? 0)
        }.max() ?? 0
    }

    private static func outline(_ steps: [Step], depth: Int, column: Int, into lines: inout [String]) {
        let indent = String(repeating: "  ", count: depth)
        for step in steps {
            lines.append((indent + step.id).padding(to: column) + "  " + step.summary)
            for branch in step.branches {
                lines.append("\(indent)  \(branch.label):" + (branch.steps.isEmpty ? " (continue)" : ""))
                outline(branch.steps, depth: depth + 2, column: column, into: &lines)
            }
        }
    }
}

extension Step {
    /// One line saying what the step does: `email welcome-1 (A 50% / B 50%) window Mon–Fri 09:00–17:00`.
    public var summary: String {
        switch action {
        case .email(let m): (m.survey.map { "\($0) survey " } ?? "email ") + m.summary
        case .sms(let m): "sms \(m.summary)"
        case .wait(let span, let window): "wait \(span)" + (window.map { ", then within \($0)" } ?? "")
        case .waitUntil(let time, let days): "wait until \(time) \(days.summary)"
        case .waitFor(let events, let timeout, _): "wait for " + (events.count == 1 ? "" : "the first of ") + events.map(\.matcher.description).joined(separator: ", ") + (timeout.map { ", at most \($0)" } ?? " (no timeout)")
        case .branch(let condition, _, _): "if \(condition)"
        case .adjustScore(let points, let reason): "score \(points >= 0 ? "+" : "")\(points)" + (reason.map { " (\($0))" } ?? "")
        case .setAttribute(let name, let value): "set \(name) = \(value)"
        case .setStage(let stage): "set stage \(stage)"
        case .tag(let tag): "tag \(tag)"
        case .notifySales(let note): "notify sales" + (note.map { ": \($0)" } ?? "")
        case .moveTo(let campaign): "move to campaign \(campaign)"
        case .exitCampaigns(let selection): "end the lead's journeys in \(selection)"
        case .suppress(let scope, let reason): "suppress \(scope == .marketing ? "marketing" : "all") messages: \(reason)"
        case .exit(let reason): "exit campaign" + (reason.map { ": \($0)" } ?? "")
        }
    }
}

extension Message {
    var summary: String {
        var text = variants.isEmpty ? template : template + " (" + variants.map { "\($0.name) \($0.weight)% → \($0.template)" }.joined(separator: " / ") + ")"
        if let window { text += " within \(window)" }
        return text
    }
}

extension String {
    func padding(to width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}

extension Campaign {
    /// `welcome  welcome  Welcome series — 9 steps (5 email, 1 SMS), entry on lead.created`
    public var summaryLine: String {
        let steps = allSteps
        let emails = steps.count { if case .email = $0.action { true } else { false } }
        let texts = steps.count { if case .sms = $0.action { true } else { false } }
        let entry = entries.isEmpty ? "entered by MoveTo" : entries.map { "entry \($0.trigger)" }.joined(separator: "; ")
        return "\(id.padding(to: 18)) \(kind.name.padding(to: 11)) \(name) — \(steps.count) steps (\(emails) email, \(texts) SMS), \(entry)"
    }
}
