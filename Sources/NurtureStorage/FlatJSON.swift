public import NurtureDSL

/// Writes, and reads back, the small JSON the stores keep for maps and lists (objects of strings,
/// numbers and booleans, arrays of strings) without JSONEncoder or JSONDecoder, which cost more
/// than the query when a unit of work loads a lead's history. Reading anything else returns nil
/// and the caller falls back to JSONDecoder.
public enum FlatJSON {
    /// The JSON of an attribute or property map, written directly: it is stored for every lead,
    /// event and enrollment, and JSONEncoder costs more than the insert itself.
    public static func json(_ values: [String: Value]) -> String {
        if values.isEmpty { return "{}" }
        var out = "{"
        for (index, key) in values.keys.sorted().enumerated() {
            if index > 0 { out += "," }
            out += JSONString.quoted(key) + ":"
            switch values[key]! {
            case .string(let text): out += JSONString.quoted(text)
            case .number(let number): out += number.isFinite ? Value.number(number).textValue : "null"
            case .bool(let flag): out += flag ? "true" : "false"
            }
        }
        return out + "}"
    }

    public static func json(_ values: [String: String]) -> String {
        if values.isEmpty { return "{}" }
        return "{" + values.keys.sorted().map { JSONString.quoted($0) + ":" + JSONString.quoted(values[$0]!) }.joined(separator: ",") + "}"
    }

    public static func json(_ values: [String]) -> String {
        "[" + values.map(JSONString.quoted).joined(separator: ",") + "]"
    }

    public static func object(_ text: String) -> [String: Value]? {
        var text = text
        return text.withUTF8 { bytes -> [String: Value]? in
            var parser = Parser(bytes: bytes)
            return parser.object()
        }
    }

    public static func strings(_ text: String) -> [String]? {
        var text = text
        return text.withUTF8 { bytes -> [String]? in
            var parser = Parser(bytes: bytes)
            return parser.strings()
        }
    }

    struct Parser {
        let bytes: UnsafeBufferPointer<UInt8>
        var index = 0

        init(bytes: UnsafeBufferPointer<UInt8>) {
            self.bytes = bytes
        }

        mutating func object() -> [String: Value]? {
            skipSpace()
            guard take(UInt8(ascii: "{")) else { return nil }
            var result: [String: Value] = [:]
            skipSpace()
            if take(UInt8(ascii: "}")) { return end() ? result : nil }
            while true {
                skipSpace()
                guard let key = string() else { return nil }
                skipSpace()
                guard take(UInt8(ascii: ":")) else { return nil }
                skipSpace()
                guard let value = value() else { return nil }
                if case .some(let present) = value { result[key] = present }
                skipSpace()
                if take(UInt8(ascii: ",")) { continue }
                guard take(UInt8(ascii: "}")) else { return nil }
                return end() ? result : nil
            }
        }

        mutating func strings() -> [String]? {
            skipSpace()
            guard take(UInt8(ascii: "[")) else { return nil }
            var result: [String] = []
            skipSpace()
            if take(UInt8(ascii: "]")) { return end() ? result : nil }
            while true {
                skipSpace()
                guard let item = string() else { return nil }
                result.append(item)
                skipSpace()
                if take(UInt8(ascii: ",")) { continue }
                guard take(UInt8(ascii: "]")) else { return nil }
                return end() ? result : nil
            }
        }

        /// A scalar: `.some(nil)` for null (skipped, as JSONDecoder into Value? would), nil on error.
        mutating func value() -> Value?? {
            guard index < bytes.count else { return nil }
            switch bytes[index] {
            case UInt8(ascii: "\""): return string().map { .some(.string($0)) }
            case UInt8(ascii: "t"): return literal("true") ? .some(.bool(true)) : nil
            case UInt8(ascii: "f"): return literal("false") ? .some(.bool(false)) : nil
            case UInt8(ascii: "n"): return literal("null") ? .some(nil) : nil
            default:
                let start = index
                while index < bytes.count, Self.isNumberByte(bytes[index]) { index += 1 }
                guard index > start, let number = Double(String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)) else { return nil }
                return .some(.number(number))
            }
        }

        mutating func string() -> String? {
            guard take(UInt8(ascii: "\"")) else { return nil }
            let start = index
            // Fast path: no escapes, one copy.
            while index < bytes.count, bytes[index] != UInt8(ascii: "\""), bytes[index] != UInt8(ascii: "\\") { index += 1 }
            guard index < bytes.count else { return nil }
            if bytes[index] == UInt8(ascii: "\"") {
                defer { index += 1 }
                return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
            }
            var out = Array(bytes[start..<index])
            while index < bytes.count {
                let byte = bytes[index]
                index += 1
                switch byte {
                case UInt8(ascii: "\""): return String(decoding: out, as: UTF8.self)
                case UInt8(ascii: "\\"):
                    guard index < bytes.count else { return nil }
                    let escaped = bytes[index]
                    index += 1
                    switch escaped {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(escaped)
                    case UInt8(ascii: "n"): out.append(0x0A)
                    case UInt8(ascii: "t"): out.append(0x09)
                    case UInt8(ascii: "r"): out.append(0x0D)
                    case UInt8(ascii: "b"): out.append(0x08)
                    case UInt8(ascii: "f"): out.append(0x0C)
                    case UInt8(ascii: "u"):
                        guard var scalar = hex4() else { return nil }
                        if (0xD800..<0xDC00).contains(scalar) {
                            // A surrogate pair: \uD83D\uDE00.
                            guard take(UInt8(ascii: "\\")), take(UInt8(ascii: "u")), let low = hex4(), (0xDC00..<0xE000).contains(low) else { return nil }
                            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        }
                        guard let unicode = Unicode.Scalar(scalar) else { return nil }
                        out.append(contentsOf: Array(String(Character(unicode)).utf8))
                    default: return nil
                    }
                default:
                    out.append(byte)
                }
            }
            return nil
        }

        mutating func hex4() -> UInt32? {
            guard index + 4 <= bytes.count else { return nil }
            var value: UInt32 = 0
            for _ in 0..<4 {
                let byte = bytes[index]
                index += 1
                let digit: UInt8
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
                default: return nil
                }
                value = value << 4 | UInt32(digit)
            }
            return value
        }

        mutating func literal(_ word: StaticString) -> Bool {
            let count = word.utf8CodeUnitCount
            guard index + count <= bytes.count else { return false }
            for offset in 0..<count where bytes[index + offset] != word.utf8Start[offset] { return false }
            index += count
            return true
        }

        mutating func take(_ byte: UInt8) -> Bool {
            guard index < bytes.count, bytes[index] == byte else { return false }
            index += 1
            return true
        }

        mutating func skipSpace() {
            while index < bytes.count, bytes[index] == 0x20 || bytes[index] == 0x0A || bytes[index] == 0x0D || bytes[index] == 0x09 { index += 1 }
        }

        mutating func end() -> Bool {
            skipSpace()
            return index == bytes.count
        }

        static func isNumberByte(_ byte: UInt8) -> Bool {
            (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "+")
                || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E")
        }
    }
}
