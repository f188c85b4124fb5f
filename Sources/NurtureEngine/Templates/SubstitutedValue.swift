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

    /// The fences are EE 80 80 and EE 80 81 in UTF-8 (no other character's bytes contain them):
    /// searching bytes costs a fraction of comparing Characters, which normalise as they go.
    static func isFence(_ scalar: Unicode.Scalar) -> Bool { scalar.value == 0xE000 || scalar.value == 0xE001 }

    /// The text as it is sent. Runs over every rendered part of every message, so it looks at
    /// bytes first and rebuilds the string only when a fence is there.
    static func unfenced(_ text: String) -> String {
        var text = text
        guard text.withUTF8({ $0.contains(0xEE) }) else { return text }
        return text.withUTF8(unfencedText)
    }

    /// A rendered part's bytes as the text that is sent: one pass, one string.
    static func unfenced(_ bytes: [UInt8]) -> String {
        bytes.withUnsafeBufferPointer(unfencedText)
    }

    private static func unfencedText(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        guard bytes.contains(0xEE) else { return String(decoding: bytes, as: UTF8.self) }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        appendUnfenced(bytes, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Copies `bytes` without the fences (EE 80 80 and EE 80 81 in UTF-8; no other character's
    /// bytes contain them), in whole runs between them.
    static func appendUnfenced(_ bytes: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) {
        var index = 0
        var runStart = 0
        while index + 2 < bytes.count {
            if bytes[index] == 0xEE, bytes[index + 1] == 0x80, bytes[index + 2] & 0xFE == 0x80 {
                out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<index]))
                index += 3
                runStart = index
            } else {
                index += 1
            }
        }
        out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart...]))
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
