import ArgumentParser
import Foundation
import NurtureEngine

struct StatsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats", abstract: "How each campaign did: its funnel, each step's rates, each variant's, and why messages were not sent.")

    enum Format: String, ExpressibleByArgument, CaseIterable { case table, json, csv }

    @OptionGroup var runtime: RuntimeOptions
    @Option(help: "One campaign's id.") var campaign: String?
    @Option(help: "First UTC day counted (YYYY-MM-DD).") var since: String?
    @Option(help: "Last UTC day counted (YYYY-MM-DD).") var until: String?
    @Option(help: "table, json or csv.") var format: Format = .table
    @Option(help: "persona: each campaign's emails, opens, clicks and conversions by the leads' persona (as it is now).") var by: Breakdown?

    enum Breakdown: String, ExpressibleByArgument, CaseIterable { case persona }

    func validate() throws {
        for (name, value) in [("--since", since), ("--until", until)] {
            if let value, !CampaignStats.isDay(value) { throw ValidationError("\(name) '\(value)': give a day as YYYY-MM-DD") }
        }
        if let since, let until, since > until { throw ValidationError("--since \(since) is after --until \(until)") }
    }

    func run() async throws {
        if let campaign { _ = try runtime.playbookOptions.campaign(campaign) }
        let filter = CounterFilter(campaignID: campaign, since: since, until: until)
        let store = try await runtime.openStore()
        if by == .persona { return try await byPersona(store, filter: filter) }
        let stats = CampaignStats.build(runtime.playbookOptions.playbook, counters: try await store.campaignCounters(filter), filter: filter,
                                        controls: try await store.campaignControls(), costs: try runtime.loadConfiguration().costs)
        switch format {
        case .json:
            let data = try LeadViews.encoder(pretty: true).encode(["campaigns": stats])
            print(String(decoding: data, as: UTF8.self))
        case .csv:
            print(([CampaignStats.csvHeader] + stats.flatMap(\.csvRows)).map { $0.map(CSVWriter.cell).joined(separator: ",") }.joined(separator: "\n"))
        case .table:
            print(stats.map(Self.table).joined(separator: "\n\n"))
        }
    }

    private func byPersona(_ store: any LeadStore, filter: CounterFilter) async throws -> Void {
        let playbook = runtime.playbookOptions.playbook
        // Campaigns of this playbook only, as the other reports (a retired campaign's rows stay in the database).
        let results = try await store.personaResults(filter).filter { playbook.campaign($0.campaignID) != nil }
        func rate(_ part: Int, _ whole: Int) -> Double? { whole == 0 ? nil : Double(part) / Double(whole) }
        switch format {
        case .json:
            print(String(decoding: try LeadViews.encoder(pretty: true).encode(["personas": results]), as: UTF8.self))
        case .csv:
            let header = ["campaign", "persona", "emails_sent", "opened", "clicked", "converted", "value"]
            let rows = results.map { [$0.campaignID, $0.persona, "\($0.sent)", "\($0.opened)", "\($0.clicked)", "\($0.converted)", "\($0.value)"] }
            print(([header] + rows).map { $0.map(CSVWriter.cell).joined(separator: ",") }.joined(separator: "\n"))
        case .table:
            var blocks: [String] = []
            for campaign in playbook.campaigns where filter.campaignID == nil || filter.campaignID == campaign.id {
                let rows = results.filter { $0.campaignID == campaign.id }
                guard !rows.isEmpty else { continue }
                var table = [["persona", "emails sent", "opened", "clicked", "converted", "value"]]
                for row in rows {
                    table.append([row.persona.isEmpty ? "(none)" : row.persona, Self.number(row.sent), Self.percent(rate(row.opened, row.sent)),
                                  Self.percent(rate(row.clicked, row.sent)), Self.number(row.converted), ReportText.amount(row.value)])
                }
                blocks.append((["\(campaign.name) (\(campaign.id)) by persona, as the leads' persona is now"] + Self.aligned(table, names: 1)).joined(separator: "\n"))
            }
            print(blocks.isEmpty ? "no messages sent in that period" : blocks.joined(separator: "\n\n"))
        }
    }

    /// Rows as columns, indented: the first `names` columns left, figures right, so digits line up.
    static func aligned(_ rows: [[String]], names: Int) -> [String] {
        let widths = (rows.first ?? []).indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { row in
            "  " + row.enumerated().map { column, cell in
                column < names ? cell.padding(toLength: widths[column], withPad: " ", startingAt: 0)
                    : String(repeating: " ", count: widths[column] - cell.count) + cell
            }.joined(separator: "  ")
        }
    }

    static func table(_ stats: CampaignStats) -> String {
        var lines = ["\(stats.name) (\(stats.campaign))" + period(stats)]
        if let pause = stats.paused {
            lines.append("  PAUSED since \(ISO8601DateFormatter().string(from: pause.at)) (\(pause.by)): \(pause.reason)")
        }
        lines.append("  entered \(number(stats.entered)) · active \(number(stats.active)) · completed \(number(stats.completed)) · exited \(number(stats.exited))")
        guard stats.entered > 0 || !stats.steps.isEmpty else {
            lines.append("  no leads have entered yet")
            return lines.joined(separator: "\n")
        }
        if !stats.steps.isEmpty {
            // Conversions and revenue only where something converted, so a plain send report stays narrow.
            let money = stats.conversions > 0
            let header = ["step", "channel", "queued", "sent", "delivered", "opened", "clicked", "bounced", "complaints", "unsubscribed", "not sent"]
                + (money ? ["converted", "revenue"] : [])
            var rows = [header]
            for step in stats.steps {
                rows.append([
                    step.variant.map { "  variant \($0)" } ?? step.step, step.channel, number(step.queued), number(step.sent),
                    percent(step.deliveryRate), percent(step.openRate), percent(step.clickRate), percent(step.bounceRate),
                    percent(step.complaintRate, digits: 2), number(step.unsubscribed), number(step.suppressed + step.dead + step.skipped),
                ] + (money ? [number(step.converted), amount(step.revenue)] : []))
            }
            lines += aligned(rows, names: 2)
        }
        for experiment in stats.experiments {
            let measured = ["opened": "opens", "converted": "conversions"][experiment.metric] ?? "clicks"
            lines.append("  A/B \(experiment.step): \(measured) per send, \(experiment.test), \(percent(experiment.confidence, digits: 0)) confidence")
            lines.append("    " + experiment.arms.map { "\($0.variant) \(percent($0.rate)) of \(number($0.sent))" }.joined(separator: " · "))
            if experiment.versus.isEmpty { lines.append("    no verdict yet: an arm has no sends, or no arm has converted") }
            for versus in experiment.versus {
                let c = versus.comparison
                let verdict = versus.significant ? (c.difference > 0 ? "\(versus.variant) is ahead" : "\(versus.baseline) is ahead") : "no difference shown yet"
                lines.append("    \(versus.variant) − \(versus.baseline): \(points(c.difference)) [\(points(c.low)) to \(points(c.high))], p \(String(format: "%.3f", c.pValue)): \(verdict)")
            }
            if let decision = experiment.decision {
                lines.append("    decided: \(decision.variant) (\(decision.by), \(ISO8601DateFormatter().string(from: decision.at))); leads reaching the step now get only \(decision.variant)")
            } else {
                lines.append("    winner: \(experiment.winnerRule)")
            }
            if experiment.sampleRatioMismatch {
                lines.append("    sample ratio mismatch (p \(String(format: "%.1e", experiment.sampleRatioPValue ?? 0))): the arms' sizes do not match the weights; trust no verdict")
            }
        }
        if stats.conversions > 0 || stats.cost != nil {
            var money = "  conversions \(number(stats.conversions)) · revenue \(amount(stats.revenue))"
            if let cost = stats.cost { money += " · cost \(amount(cost))" + (stats.roi.map { " · ROI \(String(format: "%.0f%%", $0 * 100))" } ?? "") }
            lines.append(money)
            lines.append("    \(stats.attribution)")
        }
        if let holdout = stats.holdout {
            let (t, h) = (holdout.treatment, holdout.holdout)
            lines.append("  holdout \(holdout.percent)%: goals reached by \(percent(t.rate)) of \(number(t.entered)) who got the campaign · \(percent(h.rate)) of \(number(h.entered)) held out")
            if let lift = holdout.lift {
                let verdict = holdout.significant ? (lift.difference > 0 ? "the campaign adds conversions" : "the campaign costs conversions") : "no lift shown yet"
                lines.append("    lift \(points(lift.difference)) [\(points(lift.low)) to \(points(lift.high))], p \(String(format: "%.3f", lift.pValue)) (\(holdout.test)): \(verdict)")
            } else {
                lines.append("    no verdict yet: an arm has no entrants, or no goal was reached")
            }
        }
        for survey in stats.surveys {
            var line = "  \(survey.scale) survey \(survey.step): \(number(survey.responses)) answers of \(number(survey.sent)) sent (\(percent(survey.responseRate)))"
            if let nps = survey.nps {
                line += " · NPS \(String(format: "%+.0f", nps)) (\(number(survey.promoters)) promoters, \(number(survey.passives)) passives, "
                    + "\(number(survey.detractors)) detractors)"
            } else if let average = survey.average {
                line += " · average \(String(format: "%.1f", average)) of \(survey.scale.answers.upperBound)"
            }
            lines.append(line)
        }
        if !stats.outcomes.isEmpty {
            lines.append("  ways out")
            let width = stats.outcomes.map(\.reason.count).max() ?? 0
            for outcome in stats.outcomes {
                let label = outcome.reason.padding(toLength: width, withPad: " ", startingAt: 0)
                lines.append("    \(label)  \(number(outcome.count))  \(percent(outcome.rate)) of entrants\(outcome.isGoal ? "  (goal)" : "")")
            }
        }
        if !stats.skippedBy.isEmpty {
            lines.append("  skipped when the step ran: " + stats.skippedBy.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.map { "\($0.key) \(number($0.value))" }.joined(separator: ", "))
        }
        if !stats.suppressedBy.isEmpty {
            lines.append("  not sent: " + stats.suppressedBy.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.map { "\($0.key) \(number($0.value))" }.joined(separator: ", "))
        }
        return lines.joined(separator: "\n")
    }

    static func period(_ stats: CampaignStats) -> String {
        switch (stats.since, stats.until) {
        case (nil, nil): ""
        case (let since?, nil): ", from \(since)"
        case (nil, let until?): ", until \(until)"
        case (let since?, let until?): ", \(since) to \(until)"
        }
    }

    static func number(_ value: Int) -> String { ReportText.number(value) }
    static func amount(_ value: Double) -> String { ReportText.amount(value) }

    /// A difference of two rates in percentage points, signed.
    static func points(_ difference: Double) -> String {
        String(format: "%+.1f pts", difference * 100)
    }

    static func percent(_ share: Double?, digits: Int = 1) -> String { ReportText.percent(share, digits: digits) }
}
