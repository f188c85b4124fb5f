/// The one rule for text that comes from outside (CSV cells, API bodies, CLI arguments): no
/// NUL or other C0 control characters, nor DEL. Free text (string attributes, event property
/// values) may hold tabs and line breaks; names, addresses, ids and types may not. Checked at
/// the boundary so a bad value is a per-field error, never a silently changed one downstream.
public enum InputText {
    public enum Kind: Sendable {
        /// Names, addresses, ids, types, keys: one line.
        case singleLine
        /// Notes and property values: tab, LF and CR allowed.
        case freeText
    }

    /// Why `text` is refused, or nil when it is fine.
    public static func problem(in text: String, _ kind: Kind = .singleLine) -> String? {
        // Control characters are single UTF-8 bytes that never occur inside a longer sequence,
        // so the bytes are enough; the position is counted only for the message.
        guard let offset = text.utf8.firstIndex(where: { byte in
            (byte < 0x20 || byte == 0x7F) && !(kind == .freeText && (byte == 0x09 || byte == 0x0A || byte == 0x0D))
        }) else { return nil }
        let value = text.utf8[offset]
        let hex = String(value, radix: 16, uppercase: true)
        let code = "U+" + String(repeating: "0", count: 4 - hex.count) + hex
        let name = names[value].map { " (\($0))" } ?? ""
        let position = text.unicodeScalars.distance(from: text.unicodeScalars.startIndex, to: offset) + 1
        return "contains the control character \(code)\(name) at character \(position)"
    }

    static let names: [UInt8: String] = [0x00: "NUL", 0x09: "tab", 0x0A: "line feed", 0x0D: "carriage return", 0x1B: "escape", 0x7F: "DEL"]
}
