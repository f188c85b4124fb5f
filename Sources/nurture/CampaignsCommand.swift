import ArgumentParser
import NurtureDSL

struct CampaignsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "campaigns",
        abstract: "List, show and draw campaigns.",
        subcommands: [List.self, Show.self, Graph.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One line per campaign.")
        @OptionGroup var options: PlaybookOptions

        func run() async throws {
            for campaign in options.playbook.campaigns { print(campaign.summaryLine) }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A campaign's steps as a tree, with their stable ids.")
        @OptionGroup var options: PlaybookOptions
        @Argument(help: "Campaign id.") var id: String

        func run() async throws {
            print(try options.campaign(id).outline)
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
