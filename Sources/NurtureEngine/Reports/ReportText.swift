import Foundation

/// How reports write figures, the same in `nurture stats` and on the dashboard: thousands
/// grouped, shares as percentages, amounts to the cent, "–" where there is nothing to show.
public enum ReportText {
    public static func number(_ value: Int) -> String {
        let digits = String(value.magnitude)
        var grouped = ""
        for (index, digit) in digits.enumerated() {
            if index > 0, (digits.count - index) % 3 == 0 { grouped.append(",") }
            grouped.append(digit)
        }
        return (value < 0 ? "-" : "") + grouped
    }

    public static func percent(_ share: Double?, digits: Int = 1) -> String {
        share.map { String(format: "%.\(digits)f%%", $0 * 100) } ?? "–"
    }

    public static func amount(_ value: Double?) -> String {
        guard let value else { return "–" }
        let cents = Int((value * 100).rounded())
        return (cents < 0 ? "-" : "") + number(abs(cents) / 100) + String(format: ".%02d", abs(cents) % 100)
    }
}
