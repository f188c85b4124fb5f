/// A typed test of one value: an attribute, an event property, the score.
public enum Comparison: Sendable, Hashable, CustomStringConvertible {
    case equals(Value)
    case notEquals(Value)
    case atLeast(Double)
    case atMost(Double)
    case greaterThan(Double)
    case lessThan(Double)
    case oneOf([Value])
    case hasPrefix(String)
    case contains(String)
    case exists
    case missing

    public static func between(_ low: Double, _ high: Double) -> [Comparison] { [.atLeast(low), .atMost(high)] }

    /// Whether `value` (nil when the lead or event has none) passes this test.
    ///
    /// Text comparisons ignore case, because marketers type `SaaS` and CRMs export `saas`.
    public func matches(_ value: Value?) -> Bool {
        switch self {
        case .exists: return value != nil
        case .missing: return value == nil
        case .equals(let expected): return value.map { Self.same($0, expected) } ?? false
        case .notEquals(let expected): return value.map { !Self.same($0, expected) } ?? true
        case .oneOf(let options): return value.map { v in options.contains { Self.same(v, $0) } } ?? false
        case .atLeast(let n): return value?.numberValue.map { $0 >= n } ?? false
        case .atMost(let n): return value?.numberValue.map { $0 <= n } ?? false
        case .greaterThan(let n): return value?.numberValue.map { $0 > n } ?? false
        case .lessThan(let n): return value?.numberValue.map { $0 < n } ?? false
        case .hasPrefix(let prefix): return value.map { CaseInsensitive.hasPrefix($0.textValue, prefix) } ?? false
        case .contains(let part): return value.map { CaseInsensitive.contains($0.textValue, part) } ?? false
        }
    }

    private static func same(_ a: Value, _ b: Value) -> Bool {
        switch (a, b) {
        case (.number(let x), _): return b.numberValue == x
        case (_, .number(let y)): return a.numberValue == y
        default: return CaseInsensitive.equal(a.textValue, b.textValue)
        }
    }

    public var description: String {
        switch self {
        case .equals(let v): "= \(v)"
        case .notEquals(let v): "≠ \(v)"
        case .atLeast(let n): "≥ \(Value.number(n))"
        case .atMost(let n): "≤ \(Value.number(n))"
        case .greaterThan(let n): "> \(Value.number(n))"
        case .lessThan(let n): "< \(Value.number(n))"
        case .oneOf(let vs): "in [" + vs.map(\.description).joined(separator: ", ") + "]"
        case .hasPrefix(let p): "starts with \"\(p)\""
        case .contains(let p): "contains \"\(p)\""
        case .exists: "is set"
        case .missing: "is not set"
        }
    }
}

/// A condition on one property of an event: `.property("path", .hasPrefix("/pricing"))`.
public struct PropertyCondition: Sendable, Hashable, CustomStringConvertible {
    public var name: String
    public var comparison: Comparison

    public static func property(_ name: String, _ comparison: Comparison) -> PropertyCondition {
        PropertyCondition(name: name, comparison: comparison)
    }

    public var description: String { "\(name) \(comparison)" }
}

/// Which events a trigger, goal or wait listens for: a type and conditions on its properties.
public struct EventMatcher: Sendable, Hashable, CustomStringConvertible {
    public var type: String
    public var conditions: [PropertyCondition]

    public init(_ type: String, where conditions: [PropertyCondition] = []) {
        self.type = type
        self.conditions = conditions
    }

    public func matches(type: String, properties: [String: Value]) -> Bool {
        type == self.type && conditions.allSatisfy { $0.comparison.matches(properties[$0.name]) }
    }

    public var description: String {
        conditions.isEmpty ? type : type + " where " + conditions.map(\.description).joined(separator: " and ")
    }
}

/// A test of the stage.
public enum StageComparison: Sendable, Hashable, CustomStringConvertible {
    case `is`(Stage)
    case atLeast(Stage)
    case below(Stage)

    public func matches(_ stage: Stage) -> Bool {
        switch self {
        case .is(let s): stage == s
        case .atLeast(let s): stage >= s
        case .below(let s): stage < s
        }
    }

    public var description: String {
        switch self {
        case .is(let s): "is \(s)"
        case .atLeast(let s): "at least \(s)"
        case .below(let s): "below \(s)"
        }
    }
}

/// What a lead did with an earlier message.
public enum Engagement: String, Sendable, Hashable {
    case opened, clicked

    /// The event Nurture records for it.
    public var eventType: String { "email.\(rawValue)" }
}

/// A typed question about a lead, answered by the engine at run time.
///
/// Conditions are values, never strings evaluated later, so `nurture validate` can check every
/// attribute, step and event they name.
public indirect enum Condition: Sendable, Hashable, CustomStringConvertible {
    case always
    /// A lead field (`job_title`, `industry`, `country`, …) or a declared attribute.
    case attribute(String, Comparison)
    case score(Comparison)
    case stage(StageComparison)
    case tagged(String)
    /// The lead had at least `count` matching events, within the last `window` if given.
    case did(EventMatcher, within: Span?, count: Int)
    /// The lead opened or clicked the message sent by step `step` of this campaign.
    case engaged(Engagement, step: String)
    case all([Condition])
    case any([Condition])
    case not(Condition)

    public static func opened(_ step: String) -> Condition { .engaged(.opened, step: step) }
    public static func clicked(_ step: String) -> Condition { .engaged(.clicked, step: step) }

    public static func did(
        _ type: String, where conditions: PropertyCondition..., within window: Span? = nil, atLeast count: Int = 1
    ) -> Condition {
        .did(EventMatcher(type, where: conditions), within: window, count: count)
    }

    public static func && (lhs: Condition, rhs: Condition) -> Condition { .all([lhs, rhs]) }
    public static func || (lhs: Condition, rhs: Condition) -> Condition { .any([lhs, rhs]) }
    public static prefix func ! (condition: Condition) -> Condition { .not(condition) }

    public var description: String {
        switch self {
        case .always: "always"
        case .attribute(let name, let c): "\(name) \(c)"
        case .score(let c): "score \(c)"
        case .stage(let c): "stage \(c)"
        case .tagged(let tag): "tagged \(tag)"
        case .did(let matcher, let window, let count):
            (count > 1 ? "did \(matcher) ×\(count)" : "did \(matcher)") + (window.map { " within \($0)" } ?? "")
        case .engaged(let kind, let step): "\(kind.rawValue) \(step)"
        case .all(let cs): cs.map { $0.isCompound ? "(\($0))" : $0.description }.joined(separator: " and ")
        case .any(let cs): cs.map { $0.isCompound ? "(\($0))" : $0.description }.joined(separator: " or ")
        case .not(let c): "not " + (c.isCompound ? "(\(c))" : c.description)
        }
    }

    var isCompound: Bool {
        switch self {
        case .all, .any: true
        default: false
        }
    }

    /// A short, stable slug for derived step ids: `opened-welcome-1`, `score`, `nps`.
    var slug: String {
        switch self {
        case .always: "always"
        case .attribute(let name, _): name
        case .score: "score"
        case .stage(let c):
            switch c {
            case .is(let s), .atLeast(let s), .below(let s): "stage-\(s.name)"
            }
        case .tagged(let tag): "tagged-\(tag)"
        case .did(let matcher, _, _): "did-\(matcher.type)"
        case .engaged(let kind, let step): "\(kind.rawValue)-\(step)"
        case .all(let cs), .any(let cs): cs.first?.slug ?? "all"
        case .not(let c): "not-\(c.slug)"
        }
    }

    /// Every sub-condition, this one included, depth first.
    public var flattened: [Condition] {
        switch self {
        case .all(let cs), .any(let cs): [self] + cs.flatMap(\.flattened)
        case .not(let c): [self] + c.flattened
        default: [self]
        }
    }
}

/// Text tests that ignore case, byte by byte when both sides are ASCII (job titles, industries,
/// emails, paths: nearly every value), and through full Unicode lowercasing otherwise. Scoring
/// runs these for every profile rule of every lead it scores, and `String.contains` on Linux
/// goes through Foundation's general search.
enum CaseInsensitive {
    static func contains(_ text: String, _ part: String) -> Bool {
        guard !part.isEmpty else { return true }
        return ascii(text, part) { text, part in
            guard part.count <= text.count else { return false }
            let first = lower(part[0])
            var start = 0
            while start + part.count <= text.count {
                if lower(text[start]) == first, same(text, from: start, part) { return true }
                start += 1
            }
            return false
        } ?? text.lowercased().contains(part.lowercased())
    }

    static func hasPrefix(_ text: String, _ prefix: String) -> Bool {
        ascii(text, prefix) { text, prefix in prefix.count <= text.count && same(text, from: 0, prefix) }
            ?? text.lowercased().hasPrefix(prefix.lowercased())
    }

    static func equal(_ a: String, _ b: String) -> Bool {
        ascii(a, b) { a, b in a.count == b.count && same(a, from: 0, b) } ?? (a.lowercased() == b.lowercased())
    }

    /// `body` over both texts' UTF-8 when both are ASCII; nil otherwise.
    private static func ascii(_ a: String, _ b: String, _ body: (UnsafeBufferPointer<UInt8>, UnsafeBufferPointer<UInt8>) -> Bool) -> Bool? {
        var a = a, b = b
        return a.withUTF8 { a in
            b.withUTF8 { b in
                guard a.allSatisfy({ $0 < 0x80 }), b.allSatisfy({ $0 < 0x80 }) else { return nil }
                return body(a, b)
            }
        }
    }

    private static func same(_ text: UnsafeBufferPointer<UInt8>, from start: Int, _ part: UnsafeBufferPointer<UInt8>) -> Bool {
        for offset in 0..<part.count where lower(text[start + offset]) != lower(part[offset]) { return false }
        return true
    }

    private static func lower(_ byte: UInt8) -> UInt8 {
        byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte
    }
}
