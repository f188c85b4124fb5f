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
    func update(done: Double, items: Int? = nil, force: Bool = false) {
        lock.lock()
        defer { lock.unlock() }
        guard mode != .quiet else { return }
        let now = Date()
        guard force || now.timeIntervalSince(lastShown) >= (mode == .terminal ? 0.1 : 60) else { return }
        lastShown = now
        let elapsed = max(now.timeIntervalSince(started), 0.001)
        let processed = Double(items ?? Int(done))
        var parts: [String] = []
        if let total, total > 0 {
            let fraction = min(1, done / total)
            let share = "\(unit(done)) of \(unit(total)) (\(Int(fraction * 100))%)"
            parts.append(items.map { "\(Self.count(Double($0))) \(noun) · " + share } ?? "\(noun): " + share)
            parts.append("\(Self.count(processed / elapsed))/s")
            if fraction > 0.01, fraction < 1 { parts.append(Self.duration(elapsed / fraction - elapsed) + " left") }
        } else {
            parts.append("\(Self.count(processed)) \(noun)")
            parts.append("\(Self.count(processed / elapsed))/s")
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

    /// Clears the line, so the summary that follows starts clean; or, `keeping` it, ends it
    /// where it stands.
    func finish(keeping: Bool = false) {
        lock.lock()
        defer { lock.unlock() }
        guard mode == .terminal, shownWidth > 0 else { return }
        FileHandle.standardError.write(Data((keeping ? "\n" : "\r" + String(repeating: " ", count: shownWidth) + "\r").utf8))
    }

    static func duration(_ seconds: Double) -> String {
        let seconds = Int(seconds.rounded())
        return seconds >= 3600 ? "\(seconds / 3600) h \(seconds % 3600 / 60) min" : seconds >= 60 ? "\(seconds / 60) min \(seconds % 60) s" : "\(seconds) s"
    }
}

/// A progress line per stage of a command (each table a migration copies), each left on the
/// terminal, complete, when the next begins.
final class ProgressLines: @unchecked Sendable {
    private let lock = NSLock()
    private let forced: Bool
    private var current: (name: String, line: ProgressLine)?

    init(forced: Bool) {
        self.forced = forced
    }

    func update(_ name: String, done: Int, total: Int) {
        lock.lock()
        defer { lock.unlock() }
        if current?.name != name {
            current?.line.finish(keeping: true)
            current = (name, ProgressLine(noun: name, total: Double(total), forced: forced))
        }
        current?.line.update(done: Double(done), force: done == total)
    }

    func finish() {
        lock.lock()
        defer { lock.unlock() }
        current?.line.finish(keeping: true)
    }
}
