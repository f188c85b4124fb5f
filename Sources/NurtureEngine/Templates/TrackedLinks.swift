import Foundation
public import NurtureDSL

/// Rewrites a rendered HTML email so engagement can be measured: every `http(s)` link goes
/// through a signed click redirect and a 1×1 pixel records opens. The unsubscribe and preferences
/// links are left alone (a tracked hop in front of it would confuse filters and people alike). Only links the
/// template wrote are kept: a link whose host came from a lead's value loses its `href`, so
/// nothing a lead typed can send a reader anywhere from the brand's mail, let alone through its
/// signed redirect.
public struct TrackedLinks: Sendable {
    public let links: LinkSigner
    public let tracking: Tracking
    public let messageID: String

    public init(links: LinkSigner, tracking: Tracking, messageID: String) {
        self.links = links
        self.tracking = tracking
        self.messageID = messageID
    }

    /// The HTML part as sent, from its rendered bytes (lead values still fenced, see
    /// `SubstitutedValue`): links
    /// rewritten, the open pixel added, the fences gone, in one pass and one string.
    func rendered(_ html: [UInt8]) -> String {
        var out = Self.rewriteLinks(html) { tracking == .off ? nil : tracked($0) }
        if tracking == .opensAndClicks {
            let pixel = "<img src=\"\(links.openURL(messageID: messageID))\" width=\"1\" height=\"1\" alt=\"\" style=\"display:none\">"
            out.insert(contentsOf: pixel.utf8, at: Self.lastBodyClose(in: out) ?? out.endIndex)
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Where the last `</body>` (any case) starts.
    private static func lastBodyClose(in html: [UInt8]) -> Int? {
        let tag = Array("</body>".utf8)
        func lowered(_ byte: UInt8) -> UInt8 { byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte }
        var index = html.endIndex
        var matched = tag.count
        while index > html.startIndex {
            index -= 1
            let byte = lowered(html[index])
            if byte == tag[matched - 1] {
                matched -= 1
                if matched == 0 { return index }
            } else {
                matched = byte == tag[tag.count - 1] ? tag.count - 1 : tag.count
            }
        }
        return nil
    }

    /// An untracked part as sent: the template's links kept, the ones a lead's value points dropped.
    static func untracked(_ html: [UInt8]) -> String { String(decoding: rewriteLinks(html) { _ in nil }, as: UTF8.self) }

    /// Replaces the value of every `href` attribute that is an absolute http(s) URL, drops the
    /// ones whose destination a lead's value supplies, and leaves out the fences everywhere.
    static func rewriteLinks(_ html: [UInt8], replacement: (String) -> String?) -> [UInt8] {
        html.withUnsafeBufferPointer { bytes in
            var out: [UInt8] = []
            out.reserveCapacity(bytes.count + 512)
            let href = Array("href=".utf8)
            var runStart = 0, index = 0
            while index < bytes.count {
                guard bytes[index] | 0x20 == UInt8(ascii: "h"), index + href.count < bytes.count, Self.matchesIgnoringCase(bytes, at: index, href),
                      index == 0 || !Self.isNameByte(bytes[index - 1])
                else {
                    index += 1
                    continue
                }
                let quote = bytes[index + href.count]
                guard quote == UInt8(ascii: "\"") || quote == UInt8(ascii: "'"),
                      let close = bytes[(index + href.count + 1)...].firstIndex(of: quote)
                else {
                    index += 1
                    continue
                }
                SubstitutedValue.appendUnfenced(UnsafeBufferPointer(rebasing: bytes[runStart..<index]), to: &out)
                let valueBytes = UnsafeBufferPointer(rebasing: bytes[(index + href.count + 1)..<close])
                let value = String(decoding: valueBytes, as: UTF8.self)
                index = close + 1
                runStart = index
                if valueBytes.contains(0xEE), value.unicodeScalars.contains(where: SubstitutedValue.isFence),
                   !SubstitutedValue.hasTemplateAuthority(value[...]) {
                    continue
                }
                out.append(contentsOf: href)
                out.append(quote)
                if let replaced = replacement(value) {
                    out.append(contentsOf: replaced.utf8)
                } else {
                    SubstitutedValue.appendUnfenced(valueBytes, to: &out)
                }
                out.append(quote)
            }
            SubstitutedValue.appendUnfenced(UnsafeBufferPointer(rebasing: bytes[runStart...]), to: &out)
            return out
        }
    }

    /// The tracked form of an attribute value, or nil to keep it as it is.
    private func tracked(_ attribute: String) -> String? {
        let target = Self.unescapeAttribute(SubstitutedValue.unfenced(attribute))
        let lowered = target.lowercased()
        guard lowered.hasPrefix("https://") || lowered.hasPrefix("http://"),
              !target.hasPrefix(links.publicURL + "/u/"), !target.hasPrefix(links.publicURL + "/p/"), !target.hasPrefix(links.publicURL + "/s/"),
              !target.hasPrefix(links.publicURL + "/t/")
        else { return nil }
        return links.clickURL(messageID: messageID, target: target)
    }

    /// The URL an attribute value stands for: the entities an HTML template writes in a link.
    static func unescapeAttribute(_ text: String) -> String {
        // Bytes: Foundation's `contains` on a String goes through CFStringFind (2% of a pass).
        guard text.utf8.contains(UInt8(ascii: "&")) else { return text }
        return text.replacingOccurrences(of: "&amp;", with: "&").replacingOccurrences(of: "&#39;", with: "'")
            .replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&#x3D;", with: "=")
            .replacingOccurrences(of: "&#61;", with: "=")
    }

    private static func matchesIgnoringCase(_ bytes: UnsafeBufferPointer<UInt8>, at index: Int, _ word: [UInt8]) -> Bool {
        for offset in word.indices where bytes[index + offset] | 0x20 != word[offset] | 0x20 { return false }
        return true
    }

    private static func isNameByte(_ byte: UInt8) -> Bool {
        (byte | 0x20 >= UInt8(ascii: "a") && byte | 0x20 <= UInt8(ascii: "z")) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
    }
}
