public import Foundation

/// A moment written as the wall clock shows it in a zone: `instant("2026-11-23 09:00", "Europe/Lisbon")`.
/// Tests state times the way a marketer reads them, whatever zone the machine runs in.
public func instant(_ local: String, _ zone: String = "Europe/Lisbon") -> Date {
    let formatter = DateFormatter()
    formatter.locale = Locale(identifier: "en_US_POSIX")
    formatter.timeZone = TimeZone(identifier: zone)
    formatter.dateFormat = "yyyy-MM-dd HH:mm"
    guard let date = formatter.date(from: local) else { preconditionFailure("not a yyyy-MM-dd HH:mm time: \(local)") }
    return date
}

/// The reverse: how a moment reads on the wall clock in a zone, `Mon 2026-11-23 09:00`.
public func localTime(_ date: Date, _ zone: String = "Europe/Lisbon") -> String {
    let formatter = DateFormatter()
    formatter.locale = Locale(identifier: "en_US_POSIX")
    formatter.timeZone = TimeZone(identifier: zone)
    formatter.dateFormat = "EEE yyyy-MM-dd HH:mm"
    return formatter.string(from: date)
}
