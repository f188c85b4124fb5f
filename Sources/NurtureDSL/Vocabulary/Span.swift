/// A length of time in a campaign: whole calendar days plus a clock duration.
///
/// Days are calendar days in the lead's own time zone, so `Wait(.days(2))` started at 09:00 ends at
/// 09:00 two days later even across a daylight-saving change; hours and minutes are exact.
public struct Span: Sendable, Hashable, Codable, CustomStringConvertible {
    public var days: Int
    public var seconds: Int

    public init(days: Int = 0, seconds: Int = 0) {
        self.days = days
        self.seconds = seconds
    }

    public static func weeks(_ n: Int) -> Span { Span(days: 7 * n) }
    public static func days(_ n: Int) -> Span { Span(days: n) }
    public static func hours(_ n: Int) -> Span { Span(seconds: 3600 * n) }
    public static func minutes(_ n: Int) -> Span { Span(seconds: 60 * n) }

    public static func + (lhs: Span, rhs: Span) -> Span {
        Span(days: lhs.days + rhs.days, seconds: lhs.seconds + rhs.seconds)
    }

    public var isZero: Bool { days == 0 && seconds == 0 }

    /// Rough length in seconds, for ordering and reports only (never for scheduling).
    public var approximateSeconds: Int { days * 86_400 + seconds }

    /// Compact form used in step ids and timelines: `2d`, `4h`, `1d12h`, `30m`.
    public var description: String {
        if isZero { return "0m" }
        var text = ""
        if days != 0 { text += days % 7 == 0 && seconds == 0 ? "\(days / 7)w" : "\(days)d" }
        let hours = seconds / 3600, minutes = (seconds % 3600) / 60, rest = seconds % 60
        if hours != 0 { text += "\(hours)h" }
        if minutes != 0 { text += "\(minutes)m" }
        if rest != 0 { text += "\(rest)s" }
        return text
    }

    /// Parses the compact form (`2d`, `3d4h`, `1w`, `90m`, `45s`); nil when malformed.
    public init?(compact text: String) {
        var days = 0, seconds = 0, number = "", sawUnit = false
        for character in text {
            if character.isASCII, character.isNumber {
                number.append(character)
                continue
            }
            guard let value = Int(number) else { return nil }
            switch character {
            case "w": days += 7 * value
            case "d": days += value
            case "h": seconds += 3600 * value
            case "m": seconds += 60 * value
            case "s": seconds += value
            default: return nil
            }
            number = ""
            sawUnit = true
        }
        guard number.isEmpty, sawUnit else { return nil }
        self.init(days: days, seconds: seconds)
    }
}

/// A wall-clock time in the lead's time zone.
public struct TimeOfDay: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    public var hour: Int
    public var minute: Int

    public init(_ hour: Int, _ minute: Int = 0) {
        self.hour = hour
        self.minute = minute
    }

    public static func at(_ hour: Int, _ minute: Int = 0) -> TimeOfDay { TimeOfDay(hour, minute) }

    public var minutesSinceMidnight: Int { hour * 60 + minute }
    public var isValid: Bool { (0...23).contains(hour) && (0...59).contains(minute) }

    public static func < (lhs: TimeOfDay, rhs: TimeOfDay) -> Bool {
        lhs.minutesSinceMidnight < rhs.minutesSinceMidnight
    }

    public var description: String {
        (hour < 10 ? "0" : "") + "\(hour):" + (minute < 10 ? "0" : "") + "\(minute)"
    }
}

/// Days of the week, numbered as Foundation's Gregorian calendar numbers them (Sunday = 1).
public enum Weekday: Int, Sendable, Hashable, Codable, CaseIterable, Comparable, CustomStringConvertible {
    case sunday = 1, monday, tuesday, wednesday, thursday, friday, saturday

    public static let workdays: Set<Weekday> = [.monday, .tuesday, .wednesday, .thursday, .friday]
    public static let everyDay: Set<Weekday> = Set(Weekday.allCases)

    public static func < (lhs: Weekday, rhs: Weekday) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String {
        switch self {
        case .sunday: "Sun"
        case .monday: "Mon"
        case .tuesday: "Tue"
        case .wednesday: "Wed"
        case .thursday: "Thu"
        case .friday: "Fri"
        case .saturday: "Sat"
        }
    }
}

extension Set where Element == Weekday {
    /// `Mon–Fri`, `every day`, or a list such as `Tue, Thu`.
    public var summary: String {
        if self == Weekday.everyDay { return "every day" }
        if self == Weekday.workdays { return "Mon–Fri" }
        return sorted().map(\.description).joined(separator: ", ")
    }
}

/// When a message may go out, in the lead's own time zone.
public struct SendWindow: Sendable, Hashable, Codable, CustomStringConvertible {
    public var days: Set<Weekday>
    public var opens: TimeOfDay
    public var closes: TimeOfDay

    public init(days: Set<Weekday> = Weekday.everyDay, from opens: TimeOfDay, until closes: TimeOfDay) {
        self.days = days
        self.opens = opens
        self.closes = closes
    }

    /// Monday to Friday, 09:00–17:00.
    public static let businessHours = SendWindow(days: Weekday.workdays, from: .at(9), until: .at(17))
    /// Every day, 09:00–20:00: polite for consumer mail and SMS.
    public static let daytime = SendWindow(from: .at(9), until: .at(20))
    /// Every hour of every day.
    public static let anytime = SendWindow(from: .at(0), until: .at(24))
    /// The hours in which SMS may reach a phone at all (08:00–21:00 local); the engine holds
    /// any SMS outside them whatever the campaign says.
    public static let smsQuietHoursAllowed = SendWindow(from: .at(8), until: .at(21))

    public var isAnytime: Bool { days == Weekday.everyDay && opens.minutesSinceMidnight == 0 && closes.hour >= 24 }

    /// True when every instant this window allows is also allowed by `other`.
    public func isWithin(_ other: SendWindow) -> Bool {
        days.isSubset(of: other.days) && opens >= other.opens && closes <= other.closes
    }

    /// The overlap of two windows (used to apply SMS quiet hours on top of a step's window).
    public func intersection(_ other: SendWindow) -> SendWindow {
        SendWindow(days: days.intersection(other.days), from: max(opens, other.opens), until: min(closes, other.closes))
    }

    public var description: String {
        if isAnytime { return "any time" }
        return "\(days.summary) \(opens)–\(closes)"
    }
}
