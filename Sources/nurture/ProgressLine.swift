import Foundation

/// How a long command reports while it runs: on a terminal, one line on standard error that
/// updates in place (count of total, percentage, rate, time left); elsewhere (CI, cron, a pipe)
/// nothing but the final summary, or a line a minute with `--progress`.
final class ProgressLine: @unchecked Sendable {
    enum Mode { case terminal, perMinute, quiet }

    private let lock = NSLock()
    private let noun: String
    private let mode: Mode
    private let started = Date()
    private var lastShown = Date.distantPast
    private var total: Double?
    private var shownWidth = 0
    /// Formats a count: a row count, or bytes as "12.3 MB" when the total is bytes.
    private let unit: (Double) -> String

    init(noun: String, total: Double? = nil, unit: @escaping (Double) -> String = ProgressLine.count, forced: Bool = false) {
        self.noun = noun
        self.total = total
        self.unit = unit
        mode = isatty(STDERR_FILENO) == 1 ? .terminal : forced ? .perMinute : .quiet
    }

    static func count(_ value: Double) -> String { Int(value).formatted(.number) }

    static func bytes(_ value: Double) -> String {
        value >= 1e9 ? String(format: "%.1f GB", value / 1e9) : value >= 1e6 ? String(format: "%.1f MB", value / 1e6) : String(format: "%.0f kB", value / 1e3)
    }

    /// `done` so far (of `total`, when it is known), and `items` processed for the rate when
    /// `done` counts something else (bytes of the file).
    func update(done: Double, items: Int? = nil) {
        lock.lock()
        defer { lock.unlock() }
        guard mode != .quiet else { return }
        let now = Date()
        guard now.timeIntervalSince(lastShown) >= (mode == .terminal ? 0.1 : 60) else { return }
        lastShown = now
        let elapsed = max(now.timeIntervalSince(started), 0.001)
        var parts: [String] = []
        let counted = items.map { "\(Self.count(Double($0))) \(noun)" }
        if let total, total > 0 {
            let fraction = min(1, done / total)
            parts.append((counted.map { $0 + " · " } ?? "") + "\(unit(done)) of \(unit(total)) (\(Int(fraction * 100))%)")
            let rate = Double(items ?? Int(done)) / elapsed
            parts.append("\(Self.count(rate))/s")
            if fraction > 0.01 { parts.append(Self.duration(elapsed / fraction - elapsed) + " left") }
        } else {
            parts.append(counted ?? "\(unit(done)) \(noun)")
            parts.append("\(Self.count(Double(items ?? Int(done)) / elapsed))/s")
        }
        let line = parts.joined(separator: " · ")
        switch mode {
        case .terminal:
            let padding = String(repeating: " ", count: max(0, shownWidth - line.count))
            FileHandle.standardError.write(Data("\r\(line)\(padding)".utf8))
            shownWidth = line.count
        case .perMinute:
            FileHandle.standardError.write(Data("\(line)\n".utf8))
        case .quiet:
            break
        }
    }

    /// Clears the line, so the summary that follows starts clean.
    func finish() {
        lock.lock()
        defer { lock.unlock() }
        if mode == .terminal, shownWidth > 0 {
            FileHandle.standardError.write(Data("\r\(String(repeating: " ", count: shownWidth))\r".utf8))
        }
    }

    static func duration(_ seconds: Double) -> String {
        let seconds = Int(seconds.rounded())
        return seconds >= 3600 ? "\(seconds / 3600) h \(seconds % 3600 / 60) min" : seconds >= 60 ? "\(seconds / 60) min \(seconds % 60) s" : "\(seconds) s"
    }
}
