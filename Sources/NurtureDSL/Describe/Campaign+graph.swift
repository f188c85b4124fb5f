/// A journey diagram of a campaign, for `nurture campaigns graph`.
public enum GraphFormat: String, Sendable, CaseIterable {
    /// Renders in GitHub Markdown inside a ```mermaid block.
    case mermaid
    /// Renders with Graphviz: `nurture campaigns graph welcome --format dot | dot -Tsvg`.
    case dot
}

extension Campaign {
    public func graph(format: GraphFormat) -> String {
        var builder = JourneyGraph()
        builder.add(self)
        return format == .mermaid ? builder.mermaid() : builder.dot(title: id)
    }
}

/// Nodes and labelled edges of a journey, built once and printed in either format.
struct JourneyGraph {
    enum Shape { case start, send, wait, decision, action, end }
    struct Node { var id: String; var label: String; var shape: Shape }
    struct Edge { var from: String; var to: String; var label: String? }

    var nodes: [Node] = []
    var edges: [Edge] = []

    mutating func add(_ campaign: Campaign) {
        let entry = campaign.entries.map { "\($0.trigger)" }.joined(separator: "\\n")
        nodes.append(Node(id: "start", label: entry.isEmpty ? "entered by MoveTo" : entry, shape: .start))
        nodes.append(Node(id: "done", label: "done", shape: .end))
        for (index, exit) in campaign.exits.enumerated() {
            nodes.append(Node(id: "goal\(index)", label: "goal: exit \(exit.goal)", shape: .end))
        }
        let ends = chain(campaign.steps, from: [("start", nil)])
        for (from, label) in ends { edges.append(Edge(from: from, to: "done", label: label)) }
    }

    /// Links `steps` after the loose ends in `from`, returning the loose ends after them.
    private mutating func chain(_ steps: [Step], from: [(String, String?)]) -> [(String, String?)] {
        var loose = from
        for step in steps {
            let node = "s_" + step.id.map { $0.isLetter || $0.isNumber ? String($0) : "_" }.joined()
            nodes.append(Node(id: node, label: "\(step.id)\\n\(step.summary)", shape: step.shape))
            for (source, label) in loose { edges.append(Edge(from: source, to: node, label: label)) }
            switch step.action {
            case .branch(_, let then, let otherwise):
                loose = chain(then, from: [(node, "yes")]) + chain(otherwise, from: [(node, "no")])
            case .waitFor(let events, _, let onTimeout):
                loose = events.flatMap { chain($0.steps, from: [(node, events.count == 1 ? "event" : $0.matcher.type)]) }
                    + chain(onTimeout, from: [(node, "timeout")])
            case .exit, .moveTo:
                loose = []
            default:
                loose = [(node, nil)]
            }
        }
        return loose
    }

    func mermaid() -> String {
        var lines = ["flowchart TD"]
        for node in nodes {
            let text = "\"" + node.label.replacingOccurrences("\\n", with: "<br/>").replacingOccurrences("\"", with: "#quot;") + "\""
            let shaped = switch node.shape {
            case .start: "([\(text)])"
            case .send: "[\(text)]"
            case .wait: "[/\(text)/]"
            case .decision: "{\(text)}"
            case .action: "[[\(text)]]"
            case .end: "((\(text)))"
            }
            lines.append("    \(node.id)\(shaped)")
        }
        for edge in edges {
            lines.append("    \(edge.from) -->" + (edge.label.map { "|\($0)|" } ?? "") + " \(edge.to)")
        }
        return lines.joined(separator: "\n")
    }

    func dot(title: String) -> String {
        var lines = ["digraph \"\(title)\" {", "    rankdir=TB;", "    node [fontname=\"Helvetica\"];"]
        for node in nodes {
            let shape = switch node.shape {
            case .start: "oval"
            case .send: "box"
            case .wait: "parallelogram"
            case .decision: "diamond"
            case .action: "box, style=rounded"
            case .end: "doublecircle"
            }
            lines.append("    \(node.id) [label=\"\(node.label.replacingOccurrences("\"", with: "\\\""))\", shape=\(shape)];")
        }
        for edge in edges {
            lines.append("    \(edge.from) -> \(edge.to)" + (edge.label.map { " [label=\"\($0)\"]" } ?? "") + ";")
        }
        lines.append("}")
        return lines.joined(separator: "\n")
    }
}

extension Step {
    fileprivate var shape: JourneyGraph.Shape {
        switch action {
        case .email, .sms: .send
        case .wait, .waitUntil, .waitFor: .wait
        case .branch: .decision
        case .exit: .end
        default: .action
        }
    }
}

extension String {
    /// Foundation-free replacement, so the DSL stays a pure module.
    func replacingOccurrences(_ target: String, with replacement: String) -> String {
        guard !target.isEmpty else { return self }
        var result = "", rest = self[...]
        while let range = rest.firstRange(of: target) {
            result += rest[..<range.lowerBound] + replacement
            rest = rest[range.upperBound...]
        }
        return result + rest
    }
}
