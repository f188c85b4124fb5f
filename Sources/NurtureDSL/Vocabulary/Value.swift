/// A typed value held in a lead attribute or an event property.
public enum Value: Sendable, Hashable, Codable, CustomStringConvertible,
    ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral, ExpressibleByBooleanLiteral
{
    case string(String)
    case number(Double)
    case bool(Bool)

    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .number(Double(value)) }
    public init(floatLiteral value: Double) { self = .number(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }

    /// Reads text the way a CSV cell or an event property arrives: numbers and booleans are
    /// recognised only when the declared type asks for them.
    public init?(parsing text: String, as type: AttributeType) {
        switch type {
        case .string: self = .string(text)
        case .number:
            guard let number = Double(text.trimmingSpaces) else { return nil }
            self = .number(number)
        case .bool:
            switch text.trimmingSpaces.lowercased() {
            case "true", "yes", "y", "1": self = .bool(true)
            case "false", "no", "n", "0": self = .bool(false)
            default: return nil
            }
        }
    }

    public var numberValue: Double? {
        switch self {
        case .number(let n): n
        case .string(let s): Double(s.trimmingSpaces)
        case .bool: nil
        }
    }

    public var textValue: String {
        switch self {
        case .string(let s): s
        case .number(let n): n.rounded() == n && abs(n) < 1e15 ? String(Int(n)) : String(n)
        case .bool(let b): b ? "true" : "false"
        }
    }

    public var description: String {
        switch self {
        case .string(let s): "\"\(s)\""
        default: textValue
        }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let b = try? container.decode(Bool.self) {
            self = .bool(b)
        } else if let n = try? container.decode(Double.self) {
            self = .number(n)
        } else {
            self = .string(try container.decode(String.self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .string(let s): try container.encode(s)
        case .number(let n): try container.encode(n)
        case .bool(let b): try container.encode(b)
        }
    }
}

/// The declared type of a lead attribute.
public enum AttributeType: String, Sendable, Hashable, Codable {
    case string, number, bool
}

extension String {
    var trimmingSpaces: Substring {
        var slice = self[...]
        while slice.first?.isWhitespace == true { slice.removeFirst() }
        while slice.last?.isWhitespace == true { slice.removeLast() }
        return slice
    }
}

extension Substring {
    func lowercased() -> String { String(self).lowercased() }
}
