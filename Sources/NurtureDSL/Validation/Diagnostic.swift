/// One problem `nurture validate` reports, printed the way compilers print theirs so editors and
/// CI logs link straight to it: `Campaigns/Welcome.swift:12: error: unknown template 'welcom-1'`.
public struct Diagnostic: Sendable, Hashable, Comparable, CustomStringConvertible {
    public enum Severity: String, Sendable, Hashable {
        case error, warning
    }

    public var severity: Severity
    public var location: Step.Location
    public var message: String

    public init(_ severity: Severity, at location: Step.Location, _ message: String) {
        self.severity = severity
        self.location = location
        self.message = message
    }

    public static func error(at location: Step.Location, _ message: String) -> Diagnostic {
        Diagnostic(.error, at: location, message)
    }

    public static func warning(at location: Step.Location, _ message: String) -> Diagnostic {
        Diagnostic(.warning, at: location, message)
    }

    public var description: String { "\(location): \(severity.rawValue): \(message)" }

    public static func < (lhs: Diagnostic, rhs: Diagnostic) -> Bool {
        (lhs.location.file, lhs.location.line, lhs.message) < (rhs.location.file, rhs.location.line, rhs.message)
    }
}

/// Suggests the closest known name for a misspelt one.
public enum Suggestion {
    /// `; did you mean 'welcome'?`, or an empty string when nothing is close.
    public static func hint(for name: String, among candidates: some Sequence<String>) -> String {
        guard let best = closest(to: name, among: candidates) else { return "" }
        return "; did you mean '\(best)'?"
    }

    public static func closest(to name: String, among candidates: some Sequence<String>) -> String? {
        let limit = max(2, name.count / 3)
        return candidates
            .map { ($0, distance(name, $0)) }
            .filter { $0.1 <= limit }
            .min { ($0.1, $0.0) < ($1.1, $1.0) }?.0
    }

    /// Levenshtein distance over characters.
    static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
}
