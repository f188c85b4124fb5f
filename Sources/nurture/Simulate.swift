import ArgumentParser
import Foundation
import NurtureDSL
import NurtureEngine

struct Simulate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a campaign (or every campaign, with --campaigns all) for one lead on a virtual clock and print the timeline. Sends nothing.",
        discussion: """
            Events are OFFSET:TYPE [key=value ...], separated by commas, offsets from the start:
              --events "2d:email.opened step=welcome-1,3d4h:page.viewed path=/pricing"
            """)

    @OptionGroup var options: PlaybookOptions
    @Argument(help: "Campaign id; omit with --campaigns all.") var id: String?
    @Option(help: "all: start the lead as new and follow it through every campaign it enters (hand-overs included).")
    var campaigns: String?
    @Option(help: "A JSON file describing the lead (same fields as a CSV import).") var lead: String
    @Option(help: "Events the lead does, at offsets from the start.") var events: String = ""
    @Option(help: "How many days to simulate.") var days: Int = 30
    @Option(help: "Start time, ISO 8601; without a zone it is the lead's local time. Default: now.") var start: String?

    func run() async throws {
        guard days > 0 else { throw ValidationError("--days must be at least 1") }
        if let campaigns, campaigns != "all" { throw ValidationError("--campaigns takes 'all' (or name one campaign as the argument)") }
        guard (id == nil) != (campaigns == nil) else {
            throw ValidationError(id == nil ? "name a campaign, or pass --campaigns all" : "name a campaign or pass --campaigns all, not both")
        }
        do {
            let script = try ScriptedEvent.parse(events)
            let file = try LeadFile.load(lead)
            if campaigns != nil, !file.trigger.isEmpty {
                throw ValidationError("\(lead): \"trigger\" gives one campaign's entry event; with --campaigns all, play that event instead "
                    + "(--events \"0d:invoice.issued invoice_number=…\")")
            }
            let startDate = try start.map { try Self.parseStart($0, zone: file.lead.zone) } ?? Self.nowToTheMinute()
            let simulator = Simulator(playbook: options.playbook, templates: try options.loadTemplates())
            let timeline = try simulator.run(.init(
                campaignID: id, lead: file.lead, trigger: file.trigger, start: startDate, days: days, events: script))
            print(timeline.render())
        } catch let error as ValidationError {
            throw error
        } catch {
            printError("error: \(error)")
            throw ExitCode.failure
        }
    }

    static func parseStart(_ text: String, zone: TimeZone) throws -> Date {
        let withZone = ISO8601DateFormatter()
        if let date = withZone.date(from: text) { return date }
        let local = DateFormatter()
        local.locale = Locale(identifier: "en_US_POSIX")
        local.timeZone = zone
        for format in ["yyyy-MM-dd'T'HH:mm:ss", "yyyy-MM-dd'T'HH:mm", "yyyy-MM-dd"] {
            local.dateFormat = format
            if let date = local.date(from: text) { return date }
        }
        throw ValidationError("--start '\(text)' is not an ISO 8601 time (e.g. 2026-11-23T09:00 or 2026-11-23T09:00:00Z)")
    }

    static func nowToTheMinute() -> Date {
        Date(timeIntervalSince1970: (Date().timeIntervalSince1970 / 60).rounded(.down) * 60)
    }
}
