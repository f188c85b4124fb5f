public import NurtureDSL

/// An event `simulate` plays at an offset from the start:
/// `2d:email.opened step=welcome-1` or `3d4h:page.viewed path=/pricing`.
public struct ScriptedEvent: Sendable, Hashable {
    public var offset: Span
    public var type: String
    public var properties: [String: Value]

    public init(offset: Span, type: String, properties: [String: Value] = [:]) {
        self.offset = offset
        self.type = type
        self.properties = properties
    }

    /// Parses a comma-separated list of `OFFSET:TYPE [key=value ...]`.
    public static func parse(_ script: String) throws(EventScriptError) -> [ScriptedEvent] {
        var events: [ScriptedEvent] = []
        for fragment in script.split(separator: ",") where !fragment.trimmed.isEmpty {
            events.append(try parseOne(fragment.trimmed))
        }
        return events
    }

    static func parseOne(_ fragment: String) throws(EventScriptError) -> ScriptedEvent {
        guard let colon = fragment.firstIndex(of: ":") else {
            throw EventScriptError(fragment: fragment, reason: "expected OFFSET:TYPE, such as 2d:email.opened")
        }
        let offsetText = String(fragment[..<colon]).trimmed
        guard let offset = Span(compact: offsetText) else {
            throw EventScriptError(fragment: fragment, reason: "'\(offsetText)' is not an offset (use 2d, 3d4h, 90m)")
        }
        let words = fragment[fragment.index(after: colon)...].split(separator: " ").map(String.init)
        guard let type = words.first, type.allSatisfy({ $0.isLetter || $0.isNumber || "._-".contains($0) }) else {
            throw EventScriptError(fragment: fragment, reason: "missing or malformed event type after ':'")
        }
        var properties: [String: Value] = [:]
        for word in words.dropFirst() {
            guard let equals = word.firstIndex(of: "="), equals != word.startIndex else {
                throw EventScriptError(fragment: fragment, reason: "'\(word)' is not a property (use key=value)")
            }
            properties[String(word[..<equals])] = .string(String(word[word.index(after: equals)...]))
        }
        return ScriptedEvent(offset: offset, type: type, properties: properties)
    }
}

public struct EventScriptError: Error, CustomStringConvertible {
    public let fragment: String
    public let reason: String
    public var description: String { "malformed event '\(fragment)': \(reason)" }
}
