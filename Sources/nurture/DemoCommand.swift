import ArgumentParser
import Foundation
import NurtureDSL
import NurtureEngine

/// `nurture demo`: the real durable engine on an accelerated clock, so a newcomer watches the
/// shipped campaigns work through demo leads in seconds. Sends go to the preview outbox only.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Import the demo leads, play demo events and run the worker on a fast virtual clock (preview only).")

    @OptionGroup var runtime: RuntimeOptions
    @Option(help: "Virtual days to run.") var days = 21
    @Option(name: .customLong("hours-per-second"), help: "Speed of the virtual clock; 0 runs flat out.") var hoursPerSecond = 72.0
    @Option(help: "Demo leads.") var leads = "Demo/leads.csv"
    @Option(help: "Demo events (hours,email,type,k=v;k=v).") var events = "Demo/events.csv"

    func run() async throws {
        // A database of its own, recreated each run, unless --database names one.
        let database = runtime.database ?? "nurture-demo.sqlite"
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: database + suffix) }
        // The demo never sends anywhere: whatever nurture.toml says, channels are previews.
        let live = try await runtime.makeRuntime(previewOnly: true, database: database, role: "demo")
        let start = ISO8601DateFormatter().date(from: "2026-11-23T08:00:00Z")!
        let report = try await LeadImporter(engine: live.engine).run(path: leads, source: nil, defaultCountry: "GB", rejectsPath: nil, now: start)
        for (line, column, reason) in report.warnings.prefix(20) { printError("\(leads):\(line):\(column): warning: \(reason)") }
        for (line, reason) in report.rejected.prefix(20) { printError("\(leads):\(line): rejected: \(reason)") }
        if report.rejectedCount > 20 { printError("… and \(report.rejectedCount - 20) more rejected rows") }
        let rejected = report.rejectedCount == 0 ? "" : " (\(report.rejectedCount) of \(report.rows) rows rejected, listed above)"
        print("Imported \(report.imported) demo leads into \(database)\(rejected); running \(days) virtual days from Mon 23 Nov 2026 08:00 UTC.\n")
        var script = try Self.loadEvents(events, start: start)
        var shown: Set<String> = []
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_GB_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE d MMM HH:mm"
        for hour in 0...(days * 24) {
            let now = start.addingTimeInterval(Double(hour) * 3600)
            while let next = script.first, next.at <= now {
                script.removeFirst()
                print("\(formatter.string(from: next.at))  \("event".padding(toLength: 6, withPad: " ", startingAt: 0))  \(next.email)  \(next.type) \(next.summary)")
                if next.type == "attribute" {
                    var patch = LeadPatch(email: next.email)
                    patch.attributes = next.properties
                    _ = try await live.engine.upsert([patch], now: now)
                } else {
                    _ = try await live.engine.track(IncomingEvent(subject: .email(next.email), type: next.type, at: min(next.at, now), properties: next.properties), now: now)
                }
            }
            if hour % 24 == 0 { _ = try await live.engine.enterQuietLeads(now: now) }
            _ = try await live.engine.runDue(now: now)
            _ = try await live.dispatcher(now: { now }).dispatchDue()
            for message in try await live.store.messages(status: .sent, limit: 200).reversed() where !shown.contains(message.id) {
                shown.insert(message.id)
                let what = message.subject.map { "“\($0)”" } ?? "“\(message.preview)”"
                print("\(formatter.string(from: message.createdAt))  \(message.channel.rawValue.padding(toLength: 6, withPad: " ", startingAt: 0))  \(message.address)  \(message.campaignID)/\(message.stepID)  \(what)")
            }
            if hoursPerSecond > 0 { try await Task.sleep(for: .milliseconds(Int(1000 / hoursPerSecond))) }
        }
        let counts = try await live.store.counts()
        print("\n\(shown.count) messages in the preview outbox, \(counts.activeEnrollments) enrollments still running.")
        print("Read them with: nurture outbox --database \(database) --full")
    }

    struct ScriptedDemoEvent {
        var at: Date
        var email: String
        var type: String
        var properties: [String: Value]
        var summary: String { properties.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value.textValue)" }.joined(separator: " ") }
    }

    static func loadEvents(_ path: String, start: Date) throws -> [ScriptedDemoEvent] {
        let reader = try CSVReader(path: path)
        _ = try reader.next()
        var events: [ScriptedDemoEvent] = []
        while let record = try reader.next() {
            guard record.fields.count >= 3, let hours = Double(record.fields[0]) else {
                throw ValidationError("\(path):\(record.line): expected hours,email,type,properties")
            }
            var properties: [String: Value] = [:]
            for pair in (record.fields.count > 3 ? record.fields[3] : "").split(separator: ";") {
                let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
                guard parts.count == 2 else { throw ValidationError("\(path):\(record.line): '\(pair)' is not key=value") }
                properties[parts[0]] = Double(parts[1]).map(Value.number) ?? .string(parts[1])
            }
            events.append(.init(at: start.addingTimeInterval(hours * 3600), email: record.fields[1], type: record.fields[2], properties: properties))
        }
        return events.sorted { $0.at < $1.at }
    }
}
