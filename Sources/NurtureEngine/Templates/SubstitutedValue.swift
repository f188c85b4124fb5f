/// A lead's own values travel through rendering fenced by two private-use characters, so the
/// steps after Mustache can tell what the template wrote from what a lead supplied: only URLs
/// the template wrote may become links or be tracked. The fences never leave the renderer.
enum SubstitutedValue {
    static let open: Character = "\u{E000}"
    static let close: Character = "\u{E001}"

    /// The value fenced; fence characters a lead smuggled in are dropped so it cannot close early.
    static func fenced(_ text: String) -> String {
        text.isEmpty ? text : String(open) + unfenced(text) + String(close)
    }

    static func isFence(_ character: Character) -> Bool { character == open || character == close }

    /// The text as it is sent.
    static func unfenced(_ text: String) -> String {
        text.contains(where: isFence) ? String(text.filter { !isFence($0) }) : text
    }

    /// True when the URL's scheme and host come from the template: a lead's value may fill a
    /// path, query or fragment, never the place a link goes.
    static func hasTemplateAuthority(_ url: Substring) -> Bool {
        guard let scheme = url.range(of: "://"), !url[..<scheme.lowerBound].contains(where: isFence) else { return false }
        for character in url[scheme.upperBound...] {
            if isFence(character) { return false }
            if character == "/" || character == "?" || character == "#" { return true }
        }
        return true
    }
}
