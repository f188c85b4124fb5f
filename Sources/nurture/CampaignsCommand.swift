import ArgumentParser
import Foundation
import NurtureDeployment
import NurtureDSL
import NurtureEngine

struct CampaignsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "campaigns",
        abstract: "List, show, draw, pause and resume campaigns.",
        subcommands: [List.self, Show.self, Graph.self, Pause.self, Resume.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One line per campaign.")
        @OptionGroup var options: PlaybookOptions

        func run() async throws {
            for campaign in options.playbook.campaigns { print(campaign.summaryLine) }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "A campaign's steps as a tree, with their stable ids; with a database, whether it is paused and its decided splits.")
        @OptionGroup var runtime: RuntimeOptions
        @Argument(help: "Campaign id.") var id: String

        func run() async throws {
            let campaign = try runtime.playbookOptions.campaign(id)
            print(campaign.outline)
            // Only a database that exists: showing a campaign must not create one.
            guard runtime.database != nil || ProcessInfo.processInfo.environment["NURTURE_DATABASE_URL"] != nil
                || FileManager.default.fileExists(atPath: Deployment.defaultDatabase) else { return }
            let controls = try await runtime.openStore().campaignControls()
            for line in ControlLines.lines(campaign, controls) { print(line) }
        }
    }

    struct Pause: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Stop sending from a campaign; its leads keep their place until it is resumed.")
        @OptionGroup var runtime: RuntimeOptions
        @Argument(help: "Campaign id.") var id: String
        @Option(help: "Why, for the dashboard, `stats` and the alert channel.") var reason = "paused by hand"

        func run() async throws {
            _ = try runtime.playbookOptions.campaign(id)
            let live = try await runtime.makeRuntime()
            if try await live.engine.pause(campaign: id, reason: reason, by: "cli", now: Date()) {
                print("paused \(id): nothing more is sent from it; its leads keep their place (`nurture campaigns resume \(id)` to go on)")
                if let alerts = live.dispatcher().channels[.sales] { _ = try? await live.engine.deliverPauseNotices(via: alerts, now: Date()) }
            } else {
                print("\(id) was already paused")
            }
        }
    }

    struct Resume: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send from a paused campaign again: its leads go on from where they were held.")
        @OptionGroup var runtime: RuntimeOptions
        @Argument(help: "Campaign id.") var id: String

        func run() async throws {
            _ = try runtime.playbookOptions.campaign(id)
            let live = try await runtime.makeRuntime()
            if try await live.engine.resume(campaign: id, by: "cli", now: Date()) {
                print("resumed \(id): what waited while it was paused is due now")
            } else {
                print("\(id) was not paused")
            }
        }
    }

    struct Graph: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A journey diagram: Mermaid for GitHub, DOT for Graphviz.")
        @OptionGroup var options: PlaybookOptions
        @Argument(help: "Campaign id.") var id: String
        @Option(help: "mermaid (renders on GitHub) or dot (Graphviz).") var format: String = "mermaid"

        func run() async throws {
            guard let format = GraphFormat(rawValue: format) else {
                throw ValidationError("unknown format '\(format)': use mermaid or dot")
            }
            print(try options.campaign(id).graph(format: format))
        }
    }
}

/// What `campaigns show` and `experiments list` add from the database.
enum ControlLines {
    static func lines(_ campaign: Campaign, _ controls: CampaignControls) -> [String] {
        let pause = controls.pauses[campaign.id].map { "PAUSED since \(ISO8601DateFormatter().string(from: $0.at)) (\($0.by)): \($0.reason)" }
        return (pause.map { [$0] } ?? []) + splits(campaign, controls)
    }

    /// One line per A/B split: decided (which variant, when, by whom) or running.
    static func splits(_ campaign: Campaign, _ controls: CampaignControls) -> [String] {
        var lines: [String] = []
        let time = ISO8601DateFormatter()
        for step in campaign.allSteps where (step.message?.variants.count ?? 0) >= 2 {
            if let decision = controls.decisions[campaign.id]?[step.id] {
                lines.append("split \(step.id): variant \(decision.variant) decided \(time.string(from: decision.at)) (\(decision.by))")
            } else {
                let rule = step.message?.winner.map { _ in "decided automatically when a variant wins" } ?? "decide with `nurture experiments decide`"
                lines.append("split \(step.id): running, \(rule)")
            }
        }
        return lines
    }
}
