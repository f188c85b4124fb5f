public import Foundation
public import NurtureDSL

/// Calendar arithmetic in one lead's time zone: waits, windows and times of day are local to the
/// lead, so a 09:00 send stays 09:00 across daylight-saving changes.
public struct LocalClock: Sendable {
    public let zone: TimeZone
    let calendar: Calendar

    public init(zone: TimeZone) {
        self.zone = zone
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        self.calendar = calendar
    }

    /// Adds calendar days (same wall-clock time) and then exact seconds.
    public func adding(_ span: Span, to date: Date) -> Date {
        let shifted = span.days == 0 ? date : calendar.date(byAdding: .day, value: span.days, to: date) ?? date
        return shifted.addingTimeInterval(TimeInterval(span.seconds))
    }

    public func weekday(of date: Date) -> Weekday {
        Weekday(rawValue: calendar.component(.weekday, from: date)) ?? .monday
    }

    public func minutesSinceMidnight(of date: Date) -> Int {
        let parts = calendar.dateComponents([.hour, .minute], from: date)
        return (parts.hour ?? 0) * 60 + (parts.minute ?? 0)
    }

    public func isInside(_ window: SendWindow, at date: Date) -> Bool {
        let minutes = minutesSinceMidnight(of: date)
        return window.days.contains(weekday(of: date))
            && minutes >= window.opens.minutesSinceMidnight && minutes < window.closes.minutesSinceMidnight
    }

    /// `date` itself when the window is open, otherwise the next moment it opens; nil when it never does.
    public func nextOpening(of window: SendWindow, atOrAfter date: Date) -> Date? {
        if isInside(window, at: date) { return date }
        guard !window.days.isEmpty, window.opens < window.closes else { return nil }
        return next(window.opens, on: window.days, atOrAfter: date)
    }

    /// The first moment at or after `date` when the local clock shows `time` on one of `days`.
    public func next(_ time: TimeOfDay, on days: Set<Weekday>, atOrAfter date: Date) -> Date? {
        guard !days.isEmpty else { return nil }
        let today = calendar.startOfDay(for: date)
        for offset in 0...8 {
            guard let day = calendar.date(byAdding: .day, value: offset, to: today),
                  days.contains(weekday(of: day)),
                  let candidate = calendar.date(bySettingHour: time.hour, minute: time.minute, second: 0, of: day,
                                                matchingPolicy: .nextTime, repeatedTimePolicy: .first, direction: .forward)
            else { continue }
            if candidate >= date { return candidate }
        }
        return nil
    }

    /// `Mon 23 Nov 09:00 WET`, the way timelines show a moment to a marketer.
    public func format(_ date: Date, withZone: Bool = false) -> String {
        // Alerts and timelines format many dates; a DateFormatter costs more to create than the
        // rest of an alert, so the common form is built from calendar parts.
        if !withZone {
            let parts = calendar.dateComponents([.weekday, .day, .month, .hour, .minute], from: date)
            let weekday = Self.weekdays[((parts.weekday ?? 1) - 1) % 7], month = Self.months[((parts.month ?? 1) - 1) % 12]
            let hour = parts.hour ?? 0, minute = parts.minute ?? 0
            return "\(weekday) \(parts.day ?? 1) \(month) \(hour < 10 ? "0" : "")\(hour):\(minute < 10 ? "0" : "")\(minute)"
        }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_GB_POSIX")
        formatter.timeZone = zone
        formatter.dateFormat = withZone ? "EEE d MMM yyyy HH:mm zzz" : "EEE d MMM HH:mm"
        return formatter.string(from: date)
    }

    static let weekdays = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
}

extension Date {
    /// `2026-11-23T09:00:00Z`, without creating a formatter.
    var iso8601UTC: String {
        var seconds = time_t(timeIntervalSince1970.rounded(.down))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))Z"
    }
}
