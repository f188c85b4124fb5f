import NurtureDSL

/// Reads the tags of a Mustache file to learn what it needs: the variables it uses (with their
/// lines and enclosing sections), the defaults it declares and the partials it includes.
///
/// Defaults are Mustache comments, so the file stays plain Mustache:
/// `{{! default first_name = "there" }}`.
enum TemplateScanner {
    struct Result {
        var variables: [TemplateCatalog.VariableUse] = []
        var defaults: [String: String] = [:]
        var partials: [(name: String, line: Int)] = []
        var problems: [(line: Int, message: String)] = []
    }

    static func scan(_ text: String) -> Result {
        var result = Result()
        var sections: [(name: String, line: Int)] = []
        var line = 1
        var index = text.startIndex
        while let open = text[index...].firstRange(of: "{{") {
            line += text[index..<open.lowerBound].count { $0 == "\n" }
            let triple = text[open.upperBound...].hasPrefix("{")
            let closer = triple ? "}}}" : "}}"
            let contentStart = triple ? text.index(after: open.upperBound) : open.upperBound
            guard let close = text[contentStart...].firstRange(of: closer) else {
                result.problems.append((line, "'{{' is never closed"))
                return result
            }
            let content = text[contentStart..<close.lowerBound]
            let tagLine = line
            line += content.count { $0 == "\n" }
            index = close.upperBound
            let trimmed = content.trimmed
            guard let sigil = trimmed.first else {
                result.problems.append((tagLine, "empty tag '{{}}'"))
                continue
            }
            let rest = String(trimmed.dropFirst()).trimmed
            switch triple ? "{" : sigil {
            case "!":
                if let (name, value) = defaultDeclaration(rest) { result.defaults[name] = value }
            case "#", "^":
                let name = variableName(rest)
                result.variables.append(.init(name: name, line: tagLine, sections: sections.map(\.name), opensSection: true))
                sections.append((name, tagLine))
            case "/":
                let name = variableName(rest)
                if sections.last?.name == name {
                    sections.removeLast()
                } else {
                    result.problems.append((tagLine, "'{{/\(name)}}' closes a section that is not open" + (sections.last.map { " (open: '\($0.name)' from line \($0.line))" } ?? "")))
                }
            case ">":
                result.partials.append((rest, tagLine))
            case "%":
                continue
            case "=":
                result.problems.append((tagLine, "changing delimiters is not supported in Nurture templates"))
            case "&":
                result.variables.append(.init(name: variableName(rest), line: tagLine, sections: sections.map(\.name)))
            case "{":
                result.variables.append(.init(name: variableName(trimmed), line: tagLine, sections: sections.map(\.name)))
            default:
                result.variables.append(.init(name: variableName(trimmed), line: tagLine, sections: sections.map(\.name)))
            }
        }
        for open in sections {
            result.problems.append((open.line, "section '{{#\(open.name)}}' is never closed"))
        }
        return result
    }

    /// `uppercased(first_name)` uses `first_name`.
    private static func variableName(_ tag: String) -> String {
        guard let open = tag.firstIndex(of: "("), let close = tag.lastIndex(of: ")"), open < close else { return tag }
        return variableName(String(tag[tag.index(after: open)..<close]).trimmed)
    }

    /// `default first_name = "there"` → ("first_name", "there").
    private static func defaultDeclaration(_ comment: String) -> (String, String)? {
        guard comment.hasPrefix("default ") else { return nil }
        let body = comment.dropFirst("default ".count)
        guard let equals = body.firstIndex(of: "=") else { return nil }
        let name = String(body[..<equals]).trimmed
        var value = String(body[body.index(after: equals)...]).trimmed
        if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") { value = String(value.dropFirst().dropLast()) }
        guard !name.isEmpty, !name.contains(" ") else { return nil }
        return (name, value)
    }
}

extension StringProtocol {
    var trimmed: String {
        var slice = Substring(self)
        while slice.first?.isWhitespace == true { slice.removeFirst() }
        while slice.last?.isWhitespace == true { slice.removeLast() }
        return String(slice)
    }
}
