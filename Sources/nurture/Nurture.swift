import ArgumentParser

@main
struct Nurture: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nurture",
        abstract: "Lead nurturing and drip campaigns, defined as Swift in Campaigns/.",
        subcommands: [
            Validate.self, CampaignsCommand.self, Simulate.self, LeadsCommand.self, EventsCommand.self, RunDue.self,
            WorkerCommand.self, ServeCommand.self, OutboxCommand.self, DeadLettersCommand.self, ScoresCommand.self, DemoCommand.self,
            MigrateCommand.self, StatsCommand.self, ExperimentsCommand.self, ChannelsCommand.self, PlanCommand.self, DeployCommand.self,
            SuppressionsCommand.self, PreviewCommand.self, SendTestCommand.self,
        ]
    )
}
