import NurtureDSL

/// A template part compiled once, when the library loads, into runs of text and the values they
/// name, with its partials and `{{! default … }}` values folded in. Rendering it walks the plan and
/// appends bytes: no dynamic casts, no reflection, no context stack, no string concatenation.
///
/// It produces exactly what swift-mustache produces for the tags Nurture's templates use
/// (variables, `{{{x}}}`/`{{&x}}`, sections, inverted sections, partials, comments, standalone
/// lines, partial indentation); `TemplatePlanTests` renders every shipped template both ways. A
/// template using anything else (transforms, `{{.}}`, inheritance, bare `{{brand}}`) gets no plan
/// and keeps swift-mustache.
struct RenderPlan: Sendable {
    /// Where a tag's value comes from.
    enum Slot: Hashable, Sendable {
        /// A lead field or attribute, an attribute default, or one of Nurture's links.
        case name(String)
        case brand(String)
        case trigger(String)
        /// `{{#persona.NAME}}`: whether the lead has that persona.
        case persona(String)
        /// `{{#did.NAME}}`: whether the lead shows that declared signal.
        case signal(String)
    }

    indirect enum Node: Sendable {
        case text([UInt8])
        case value(Slot, escaped: Bool)
        case section(Slot, inverted: Bool, [Node])
        case partial([Node], indentation: [UInt8]?)
    }

    let nodes: [Node]
    /// The declared defaults of the file and its partials, by slot.
    let defaults: [Slot: String]
    let escapesHTML: Bool

    /// The value a slot has for one message; nil when the message has none.
    enum Resolved {
        case text(String)
        case bool(Bool)
    }

    func render(_ resolve: (Slot) -> Resolved?) -> String {
        String(decoding: renderBytes(resolve), as: UTF8.self)
    }

    /// The rendered part as UTF-8, for the steps after rendering that work on bytes.
    func renderBytes(_ resolve: (Slot) -> Resolved?) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(4_096)
        var memo: [Slot: Resolved?] = [:]
        func value(_ slot: Slot) -> Resolved? {
            if let known = memo[slot] { return known }
            var found = resolve(slot)
            if let fallback = defaults[slot] {
                switch found {
                case nil: found = .text(fallback)
                case .text(let text) where text.isEmpty: found = .text(fallback)
                default: break
                }
            }
            memo[slot] = found
            return found
        }
        render(nodes, indentation: [], into: &out, value: value)
        return out
    }

    /// swift-mustache indents a partial by writing its indentation before each token that renders
    /// something right after a newline the same template level wrote; this does the same.
    private func render(_ nodes: [Node], indentation: [UInt8], into out: inout [UInt8], value: (Slot) -> Resolved?) {
        let levelStart = out.count
        for node in nodes {
            let tokenStart = out.count
            let afterNewline = !indentation.isEmpty && tokenStart > levelStart && out[tokenStart - 1] == 0x0A
                && !(tokenStart - 1 > levelStart && out[tokenStart - 2] == 0x0D)
            switch node {
            case .text(let bytes):
                out.append(contentsOf: bytes)
            case .value(let slot, let escaped):
                switch value(slot) {
                case .text(let text): escaped && escapesHTML ? HTMLFromText.appendEscaped(text, to: &out) : out.append(contentsOf: text.utf8)
                case .bool(let flag): out.append(contentsOf: (flag ? "true" : "false").utf8)
                case nil: break
                }
            case .section(let slot, let inverted, let inner):
                let shown: Bool = switch value(slot) {
                case .bool(let flag): flag
                case .text: true
                case nil: false
                }
                if shown != inverted { render(inner, indentation: indentation, into: &out, value: value) }
            case .partial(let inner, let extra):
                render(inner, indentation: indentation + (extra ?? []), into: &out, value: value)
            }
            if afterNewline, out.count > tokenStart { out.insert(contentsOf: indentation, at: tokenStart) }
        }
    }
}

extension RenderPlan {
    /// Compiles `text` (the pragma line included, as the library parses it); nil when the
    /// template uses a tag the plan does not cover or does not parse.
    static func compile(
        _ text: String, part: TemplateCatalog.Part, partials: [String: String], defaults: [String: String]
    ) -> RenderPlan? {
        var compiler = Compiler(partials: partials)
        guard let nodes = compiler.template(text) else { return nil }
        var slots: [Slot: String] = [:]
        for (name, value) in defaults {
            guard let slot = Compiler.slot(name) else { return nil }
            slots[slot] = value
        }
        return RenderPlan(nodes: nodes, defaults: slots, escapesHTML: part == .html)
    }

    /// A port of swift-mustache's parser for the tags above, kept line for line close to it so
    /// that standalone lines and whitespace come out the same.
    private struct Compiler {
        let partials: [String: String]
        var including: [String] = []

        private struct Cursor {
            let characters: [Character]
            var position = 0
            var atEnd: Bool { position == characters.count }
            var current: Character { atEnd ? "\0" : characters[position] }
            mutating func skip(while matches: (Character) -> Bool) -> String {
                var read = ""
                while !atEnd, matches(characters[position]) { read.append(characters[position]); position += 1 }
                return read
            }
            mutating func consume(_ text: String) -> Bool {
                let wanted = Array(text)
                guard position + wanted.count <= characters.count, Array(characters[position..<position + wanted.count]) == wanted else { return false }
                position += wanted.count
                return true
            }
        }

        private static let nameCharacters = Set<Character>("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-_?*")
        private static let partialNameCharacters = Set<Character>("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-_?()*/")

        mutating func template(_ text: String) -> [Node]? {
            var cursor = Cursor(characters: Array(text))
            return parse(&cursor, section: nil, newLine: true)
        }

        /// What a tag's name points at; nil for names the plan leaves to swift-mustache.
        static func slot(_ name: String) -> Slot? {
            let parts = name.split(separator: ".", omittingEmptySubsequences: false)
            guard !name.isEmpty, parts.allSatisfy({ !$0.isEmpty }) else { return nil }
            if parts.count == 1 { return ["brand", "trigger", "did"].contains(name) ? nil : .name(name) }
            guard parts.count == 2 else { return nil }
            switch parts[0] {
            case "brand": return .brand(String(parts[1]))
            case "trigger": return .trigger(String(parts[1]))
            case "persona": return .persona(String(parts[1]))
            case "did": return .signal(String(parts[1]))
            default: return nil
            }
        }

        private static func text(_ string: String) -> Node { .text(Array(string.utf8)) }

        private func lineFinished(_ cursor: inout Cursor) -> Bool {
            if cursor.atEnd { return true }
            var ahead = cursor
            _ = ahead.skip { $0 == " " || $0 == "\t" }
            guard ahead.current.isNewline else { return false }
            ahead.position += 1
            cursor.position = ahead.position
            return true
        }

        private func name(_ cursor: inout Cursor) -> String? {
            _ = cursor.skip(while: \.isWhitespace)
            let name = cursor.skip { Self.nameCharacters.contains($0) }
            _ = cursor.skip(while: \.isWhitespace)
            guard cursor.consume("}}") else { return nil }
            return name
        }

        private mutating func parse(_ cursor: inout Cursor, section: String?, newLine startsOnNewLine: Bool) -> [Node]? {
            var nodes: [Node] = []
            var newLine = startsOnNewLine
            var whiteSpaceBefore = ""
            while !cursor.atEnd {
                if newLine { whiteSpaceBefore = cursor.skip { $0 == " " || $0 == "\t" } }
                var text = ""
                while !cursor.atEnd {
                    text += cursor.skip { $0 != "\n" && $0 != "\r\n" && $0 != "{" }
                    if cursor.current.isNewline { break }
                    if cursor.current == "{" {
                        if cursor.consume("{{") { break }
                        text.append("{")
                        cursor.position += 1
                    }
                }
                if cursor.current.isNewline {
                    nodes.append(Self.text(whiteSpaceBefore + text + String(cursor.current)))
                    newLine = true
                    cursor.position += 1
                    continue
                }
                if !text.isEmpty {
                    nodes.append(Self.text(whiteSpaceBefore + text))
                    whiteSpaceBefore = ""
                    newLine = false
                }
                if cursor.atEnd { break }
                var setNewLine = false
                switch cursor.current {
                case "#", "^":
                    let inverted = cursor.current == "^"
                    cursor.position += 1
                    guard let name = name(&cursor), let slot = Self.slot(name) else { return nil }
                    if (newLine && lineFinished(&cursor)) {
                        setNewLine = true
                    } else if !whiteSpaceBefore.isEmpty {
                        nodes.append(Self.text(whiteSpaceBefore))
                        whiteSpaceBefore = ""
                    }
                    guard let inner = parse(&cursor, section: name, newLine: newLine && setNewLine) else { return nil }
                    nodes.append(.section(slot, inverted: inverted, inner))
                case "/":
                    cursor.position += 1
                    guard let name = name(&cursor), name == section else { return nil }
                    if !(newLine && lineFinished(&cursor)), !whiteSpaceBefore.isEmpty {
                        nodes.append(Self.text(whiteSpaceBefore))
                    }
                    return nodes
                case "!", "%":
                    cursor.position += 1
                    var closed = false
                    while !cursor.atEnd, !closed { closed = cursor.consume("}}"); if !closed { cursor.position += 1 } }
                    guard closed else { return nil }
                    setNewLine = (newLine && lineFinished(&cursor))
                case "{", "&":
                    let triple = cursor.current == "{"
                    if !whiteSpaceBefore.isEmpty {
                        nodes.append(Self.text(whiteSpaceBefore))
                        whiteSpaceBefore = ""
                    }
                    cursor.position += 1
                    guard let name = name(&cursor), let slot = Self.slot(name) else { return nil }
                    if triple, !cursor.consume("}") { return nil }
                    nodes.append(.value(slot, escaped: false))
                case ">":
                    cursor.position += 1
                    _ = cursor.skip(while: \.isWhitespace)
                    guard cursor.current != "*" else { return nil }
                    let name = cursor.skip { Self.partialNameCharacters.contains($0) }
                    _ = cursor.skip(while: \.isWhitespace)
                    guard cursor.consume("}}"), !including.contains(name) else { return nil }
                    if !whiteSpaceBefore.isEmpty { nodes.append(Self.text(whiteSpaceBefore)) }
                    let isStandalone = (newLine && lineFinished(&cursor))
                    setNewLine = isStandalone
                    if let source = partials[name] {
                        including.append(name)
                        defer { including.removeLast() }
                        guard let inner = template(source) else { return nil }
                        nodes.append(.partial(inner, indentation: isStandalone ? Array(whiteSpaceBefore.utf8) : nil))
                    }
                    whiteSpaceBefore = ""
                case "=", "<", "$":
                    return nil
                default:
                    if !whiteSpaceBefore.isEmpty {
                        nodes.append(Self.text(whiteSpaceBefore))
                        whiteSpaceBefore = ""
                    }
                    guard let name = name(&cursor), let slot = Self.slot(name) else { return nil }
                    nodes.append(.value(slot, escaped: true))
                }
                newLine = setNewLine
            }
            return section == nil ? nodes : nil
        }
    }
}
