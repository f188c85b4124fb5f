import ArgumentParser
import Foundation
import NurtureEngine

struct ExperimentsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "experiments", abstract: "A/B splits: where each stands, and settling one by hand.",
        subcommands: [List.self, Decide.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every split of the playbook: running or decided.")
        @OptionGroup var runtime: RuntimeOptions

        func run() async throws {
            let live = try await runtime.makeRuntime()
            let controls = try await live.store.campaignControls()
            for campaign in live.engine.playbook.campaigns {
                for line in ControlLines.splits(campaign, controls) { print("\(campaign.id) \(line)") }
            }
        }
    }

    struct Decide: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Settle a split on one variant: leads reaching the step from now on get only it.")
        @OptionGroup var runtime: RuntimeOptions
        @Argument(help: "Campaign id.") var campaign: String
        @Argument(help: "The split's step id (see `nurture campaigns show`).") var step: String
        @Argument(help: "The winning variant's name.") var variant: String

        func run() async throws {
            let live = try await runtime.makeRuntime()
            do {
                if try await live.engine.decide(campaign: campaign, step: step, variant: variant, by: "cli", now: Date()) {
                    print("decided \(campaign) \(step): variant \(variant); leads reaching it from now on get only \(variant)")
                } else {
                    let standing = try await live.store.campaignControls().decisions[campaign]?[step]
                    throw ValidationError("\(campaign) \(step) was already decided: variant \(standing?.variant ?? "?") (a decision stands)")
                }
            } catch let error as Engine.UnknownControl {
                throw ValidationError(error.description)
            }
        }
    }
}
