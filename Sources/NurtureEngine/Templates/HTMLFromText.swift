/// The HTML part for templates that only have a text part: the same words in a plain, readable
/// layout, every character escaped, links made clickable. Plain-looking mail is what most B2B
/// senders choose anyway; a `.html.mustache` file replaces it when a design is wanted.
public enum HTMLFromText {
    static func render(_ text: String) -> String {
        let paragraphs = text.componentsSeparatedByBlankLines.map { paragraph in
            "<p>" + paragraph.split(separator: "\n", omittingEmptySubsequences: false).map { linkify(escape(String($0))) }
                .joined(separator: "<br>\n") + "</p>"
        }
        return """
            <!doctype html>
            <html><body style="margin:0;padding:0">
            <div style="max-width:560px;margin:0 auto;padding:24px;font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;font-size:16px;line-height:1.6;color:#222">
            \(paragraphs.joined(separator: "\n"))
            </div>
            </body></html>
            """
    }

    /// Escapes the five characters that matter in HTML text and attributes, the apostrophe included.
    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.count)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }

    /// Wraps already-escaped `http(s)://` runs in links; trailing punctuation stays outside.
    static func linkify(_ escaped: String) -> String {
        var out = "", rest = escaped[...]
        while let start = rest.firstRange(of: "https://") ?? rest.firstRange(of: "http://") {
            out += rest[..<start.lowerBound]
            var end = rest[start.lowerBound...].firstIndex(where: { $0.isWhitespace }) ?? rest.endIndex
            while end > start.upperBound, ".,;:)".contains(rest[rest.index(before: end)]) { end = rest.index(before: end) }
            let url = rest[start.lowerBound..<end]
            out += "<a href=\"\(url)\">\(url)</a>"
            rest = rest[end...]
        }
        return out + rest
    }
}

extension String {
    /// Paragraphs: runs of lines separated by one or more blank lines.
    fileprivate var componentsSeparatedByBlankLines: [String] {
        var paragraphs: [String] = [], current: [Substring] = []
        for line in split(separator: "\n", omittingEmptySubsequences: false) {
            if line.allSatisfy(\.isWhitespace) {
                if !current.isEmpty { paragraphs.append(current.joined(separator: "\n")) }
                current = []
            } else {
                current.append(line)
            }
        }
        if !current.isEmpty { paragraphs.append(current.joined(separator: "\n")) }
        return paragraphs
    }
}
