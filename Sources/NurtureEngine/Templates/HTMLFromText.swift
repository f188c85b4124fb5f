/// The HTML part for templates that only have a text part: the same words in a plain, readable
/// layout, every character escaped, the template's own links made clickable. Plain-looking mail
/// is what most B2B senders choose anyway; a `.html.mustache` file replaces it when a design is
/// wanted.
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
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count + 16)
        appendEscaped(text, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Byte by byte, so a quote followed by a combining mark (one Character to Swift, a quote to a
    /// browser) is escaped too; runs with nothing to escape are copied whole.
    static func appendEscaped(_ text: String, to out: inout [UInt8]) {
        var text = text
        text.withUTF8 { bytes in
            var runStart = 0
            for (index, byte) in bytes.enumerated() {
                let entity: StaticString
                switch byte {
                case UInt8(ascii: "&"): entity = "&amp;"
                case UInt8(ascii: "<"): entity = "&lt;"
                case UInt8(ascii: ">"): entity = "&gt;"
                case UInt8(ascii: "\""): entity = "&quot;"
                case UInt8(ascii: "'"): entity = "&#39;"
                default: continue
                }
                out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<index]))
                out.append(contentsOf: UnsafeBufferPointer(start: entity.utf8Start, count: entity.utf8CodeUnitCount))
                runStart = index + 1
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart...]))
        }
    }

    /// Wraps already-escaped `http(s)://` runs the template wrote in links; trailing punctuation
    /// stays outside. A URL inside a lead's value, or whose host a lead's value supplies, stays text.
    static func linkify(_ escaped: String) -> String {
        var out = "", rest = escaped[...]
        var insideValue = false
        while let start = nextURL(in: rest) {
            var end = rest[start...].firstIndex(where: { $0.isWhitespace }) ?? rest.endIndex
            let shortest = rest.index(start, offsetBy: 7)
            while end > shortest, ".,;:)".contains(rest[rest.index(before: end)]) { end = rest.index(before: end) }
            let before = rest[..<start], url = rest[start..<end]
            insideValue = Self.isInsideValue(after: before, from: insideValue)
            if insideValue || !SubstitutedValue.hasTemplateAuthority(url) {
                out += rest[..<end]
            } else {
                out += before + "<a href=\"\(url)\">\(url)</a>"
            }
            insideValue = Self.isInsideValue(after: url, from: insideValue)
            rest = rest[end...]
        }
        return out + rest
    }

    private static func nextURL(in text: Substring) -> Substring.Index? {
        let secure = text.firstRange(of: "https://")?.lowerBound, plain = text.firstRange(of: "http://")?.lowerBound
        guard let secure else { return plain }
        guard let plain else { return secure }
        return min(secure, plain)
    }

    private static func isInsideValue(after text: Substring, from state: Bool) -> Bool {
        var inside = state
        for character in text where SubstitutedValue.isFence(character) { inside = character == SubstitutedValue.open }
        return inside
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
