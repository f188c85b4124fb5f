import ArgumentParser
import Foundation
import NurtureDSL
import NurtureEngine

extension LeadsCommand {
    struct Top: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Rank prospects by their score now (decayed), with the reasons behind it.",
            discussion: """
                Customers are left out unless --stage customer is given. --segment NAME=VALUE keeps leads whose
                field (industry, country, source, owner, company, …), tag (tag=webinar) or declared attribute
                equals VALUE; repeat it to narrow further. CSV output is safe to open in a spreadsheet.
                """)

        @OptionGroup var runtime: RuntimeOptions
        @Option(help: "How many leads.") var limit = 20
        @Option(help: "Only leads at this stage: subscriber, lead, mql, sql, opportunity or customer.") var stage: String?
        @Option(help: "NAME=VALUE; repeatable.") var segment: [String] = []
        @Option(help: "Only leads of this persona (as declared in the playbook).") var persona: String?
        @Option(help: "table, json or csv.") var format: OutputFormat = .table
        @Option(help: "Rank as of this instant (ISO 8601). Default: now.") var now: String?

        enum OutputFormat: String, ExpressibleByArgument, CaseIterable { case table, json, csv }

        func validate() throws {
            guard (1...10_000).contains(limit) else { throw ValidationError("--limit must be between 1 and 10000") }
        }

        func run() async throws {
            let playbook = runtime.playbookOptions.playbook
            if let persona, playbook.personas.isEmpty {
                throw ValidationError("--persona: unknown persona '\(persona)' (the playbook declares none)")
            }
            let filter: RankingFilter
            do {
                filter = try LeadSegment.filter(segment + (stage.map { ["stage=\($0)"] } ?? []) + (persona.map { ["\(Persona.attribute)=\($0)"] } ?? []),
                                                playbook: playbook)
            } catch {
                throw ValidationError("--segment: \(error)")
            }
            let instant = try now.map { try parseInstant($0, option: "--now") } ?? Date()
            let live = try await runtime.makeRuntime(previewOnly: true)
            let calculator = try live.engine.scoring
            let ranked = try await live.engine.top(limit: limit, filter: filter, now: instant)
            let rows = ranked.map { entry in
                TopRow(entry: entry, reasons: calculator.score(entry.lead, events: entry.events, now: instant).reasons)
            }
            switch format {
            case .table: printTable(rows)
            case .json: print(json(ranked, calculator: calculator, now: instant))
            case .csv: printCSV(rows)
            }
        }

        struct TopRow {
            let entry: RankedLead
            let reasons: [(label: String, value: Double)]
            var lead: Lead { entry.lead }
            var name: String { lead.displayName }
            var topReasons: [(label: String, value: Double)] { LeadViews.topReasons(reasons) }
            var reasonText: String { topReasons.map { "\($0.label) \(ScoreText.signed($0.value))" }.joined(separator: "; ") }
        }

        func printTable(_ rows: [TopRow]) {
            guard !rows.isEmpty else {
                print("no leads match")
                return
            }
            var table = [["#", "score", "stage", "lead", "company", "owner", "top reasons"]]
            for (index, row) in rows.enumerated() {
                let who = [row.name, row.lead.email.map { "<\($0)>" } ?? ""].filter { !$0.isEmpty }.joined(separator: " ")
                table.append(["\(index + 1)", ScoreText.points(row.entry.score), row.lead.stage.name, who, row.lead.company ?? "", row.lead.owner ?? "", row.reasonText])
            }
            printColumns(table)
        }

        func json(_ ranked: [RankedLead], calculator: ScoreCalculator, now: Date) -> String {
            let items = LeadViews.ranked(ranked, calculator: calculator, now: now)
            return String(decoding: (try? LeadViews.encoder(pretty: true).encode(items)) ?? Data("[]".utf8), as: UTF8.self)
        }

        func printCSV(_ rows: [TopRow]) {
            print(["rank", "score", "stage", "email", "first_name", "last_name", "company", "owner", "top_reasons"].joined(separator: ","))
            for (index, row) in rows.enumerated() {
                let fields = ["\(index + 1)", ScoreText.points(row.entry.score), row.lead.stage.name, row.lead.email ?? "", row.lead.firstName ?? "",
                              row.lead.lastName ?? "", row.lead.company ?? "", row.lead.owner ?? "", row.reasonText]
                // Lead data comes from forms and imports: a name like =HYPERLINK(…) must stay text.
                print(fields.map(CSVWriter.cell).joined(separator: ","))
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "A lead's profile, score with its contributions, stage, enrollments and timeline.")

        @OptionGroup var runtime: RuntimeOptions
        @Argument(help: "The lead's email or id.") var lead: String
        @Option(help: "How many timeline entries.") var limit = 30
        @Option(help: "Show as of this instant (ISO 8601). Default: now.") var now: String?

        func run() async throws {
            let instant = try now.map { try parseInstant($0, option: "--now") } ?? Date()
            let live = try await runtime.makeRuntime(previewOnly: true)
            let subject: IncomingEvent.Subject = lead.contains("@") ? .email(lead) : .id(lead)
            guard let (detail, card) = try await live.engine.detail(subject, now: instant, timelineLimit: limit) else {
                printError("error: no lead '\(lead)'")
                throw ExitCode.failure
            }
            print(LeadReport(detail: detail, card: card, now: instant).text)
        }
    }

    struct Mark: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Record sales' verdict on a lead (won, lost or bad-fit) as a sales.outcome event.",
            discussion: "A won lead becomes a customer; the verdict is stored as the lead's sales_outcome, which scoring rules can use.")

        @OptionGroup var runtime: RuntimeOptions
        @Argument(help: "The lead's email or id.") var lead: String
        @Option(help: "won, lost or bad-fit.") var outcome: String
        @Option(help: "Why, in a few words.") var note: String?
        @Option(help: "Who decided (a sales rep).") var by: String?

        func run() async throws {
            guard let verdict = SalesOutcome(rawValue: outcome.lowercased()) else {
                throw ValidationError("--outcome '\(outcome)': use \(SalesOutcome.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            let live = try await runtime.makeRuntime()
            let subject: IncomingEvent.Subject = lead.contains("@") ? .email(lead) : .id(lead)
            switch try await live.engine.mark(subject, outcome: verdict, note: note, by: by, now: Date()) {
            case .stored, .created:
                let updated = try await (lead.contains("@") ? live.store.lead(email: lead) : live.store.lead(id: lead))
                print("marked \(lead) \(verdict.rawValue): stage \(updated?.stage.name ?? "?"), score \(ScoreText.points(updated?.score ?? 0))")
            case .unknownLead:
                printError("error: no lead '\(lead)'")
                throw ExitCode.failure
            case .duplicate:
                print("already recorded")
            }
        }
    }
}

struct ScoresCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "scores", abstract: "Lead scores under the deployed model.", subcommands: [Recompute.self])

    struct Recompute: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Score every lead again under the deployed model (after changing Campaigns/Scoring.swift).",
            discussion: """
                Leads are rescored in batches, each in one transaction. Thresholds newly crossed are marked as
                crossed without alerting sales or changing stages, so a model change does not page sales about
                hundreds of leads at once; pass --act to run the thresholds' actions as well.
                """)

        @OptionGroup var runtime: RuntimeOptions
        @Option(help: "Leads per transaction.") var batch = 500
        @Flag(help: "Run the actions of thresholds crossed by the new scores (alerts, stages, enrollments).") var act = false
        @Flag(help: "On a non-terminal (cron, CI, a pipe), print progress once a minute.") var progress = false

        func run() async throws {
            let live = try await runtime.makeRuntime(previewOnly: false)
            let model = try live.engine.scoring.model
            let started = Date()
            let line = ProgressLine(noun: "leads", total: Double(try await live.store.counts().leads), forced: progress)
            let summary = try await live.engine.recomputeScores(now: Date(), batchSize: batch, act: act) { done in
                line.update(done: Double(done))
            }
            line.finish()
            let seconds = Date().timeIntervalSince(started)
            print("rescored \(summary.leads) leads under model \(model.version) in \(String(format: "%.1f", seconds)) s; \(summary.changed) moved by a point or more")
            for threshold in model.thresholds {
                guard let count = summary.crossed[threshold.points], count > 0 else { continue }
                print("  \(count) crossed \(Value.number(threshold.points).textValue)" + (act ? " (actions run)" : " (marked; no alerts — use --act to run its actions)"))
            }
        }
    }
}

/// `leads show` as text.
struct LeadReport {
    let detail: LeadDetail
    let card: ScoreCard?
    let now: Date

    var text: String {
        let lead = detail.work.lead
        let clock = LocalClock(zone: lead.zone)
        let name = [lead.firstName, lead.lastName].compactMap { $0 }.joined(separator: " ")
        var out = ["\(name.isEmpty ? lead.email ?? lead.id : name)\(lead.email.map { name.isEmpty ? "" : " <\($0)>" } ?? "")  (\(lead.id))"]
        var role = [lead.jobTitle, lead.company].compactMap { $0 }.joined(separator: " at ")
        let firm = [lead.industry, lead.companySize.map { "\($0) people" }].compactMap { $0 }.joined(separator: ", ")
        if !firm.isEmpty { role += role.isEmpty ? firm : " (\(firm))" }
        if !role.isEmpty { out.append("  \(role)") }
        let zone = lead.timeZone + (lead.timeZoneSource == .given ? "" : " (\(lead.timeZoneSource.explanation))")
        out.append("  " + [lead.country, zone, lead.phone, lead.source.map { "source \($0)" }].compactMap { $0 }.joined(separator: " · "))
        out.append("  stage \(lead.stage.name) · owner \(lead.owner ?? "unassigned")" + (lead.tags.isEmpty ? "" : " · tags \(lead.tags.sorted().joined(separator: ", "))"))
        var consent = "  email \(lead.emailConsent ? "yes" : "no"), SMS \(lead.smsConsent ? "yes" : "no")"
        for (channel, reason) in detail.work.state.suppressions.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
            consent += " · \(channel.rawValue) suppressed (\(reason))"
        }
        out.append(consent)
        if !lead.attributes.isEmpty {
            out.append("  " + lead.attributes.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value.textValue)" }.joined(separator: " · "))
        }
        if let card {
            out += ["", "Score \(ScoreText.points(card.total)) (model \(card.modelVersion)) — contributions, largest first:"]
            let ordered = card.contributions.filter { abs($0.value) >= 0.05 }.sorted { abs($0.value) > abs($1.value) }
            for contribution in ordered.prefix(12) {
                var line = "  \(ScoreText.signed(contribution.value).leftPad(7))  \(contribution.label)"
                if let at = contribution.at {
                    line += "  (\(ScoreText.signed(contribution.points)) on \(clock.format(at))" + (contribution.value != contribution.points ? ", decayed" : "") + ")"
                }
                out.append(line)
            }
            if ordered.count > 12 {
                let rest = ordered.dropFirst(12).map(\.value).reduce(0, +)
                out.append("  \(ScoreText.signed(rest).leftPad(7))  \(ordered.count - 12) smaller contributions")
            }
            let armed = detail.work.state.scoring.thresholds.fired.sorted().map { Value.number($0).textValue }
            if !armed.isEmpty { out.append("  thresholds crossed and not re-armed: \(armed.joined(separator: ", "))") }
        }
        out += ["", "Enrollments:"]
        if detail.work.enrollments.isEmpty { out.append("  none") }
        for enrollment in detail.work.enrollments {
            var line = "  \(enrollment.campaignID) #\(enrollment.sequence)  \(enrollment.status.rawValue)  since \(clock.format(enrollment.enrolledAt))"
            if enrollment.isActive {
                line += "  at \(enrollment.stepID ?? "start")" + (enrollment.wakeAt.map { wake in
                    CampaignPause.isParked(wake) ? "  held: campaign paused (was due \(clock.format(CampaignPause.unparked(wake))))" : "  next \(clock.format(wake))"
                } ?? "")
            } else if let reason = enrollment.endReason {
                line += "  (\(reason))"
            }
            out.append(line)
        }
        out += ["", "Timeline (latest first, times in \(lead.timeZone)):"]
        // Sends and alerts are listed as messages, with their status; their events would repeat them.
        let shownEvents = detail.timeline.filter { !["email.sent", "sms.sent", "sales.notified"].contains($0.type) }
        var entries: [(at: Date, text: String)] = shownEvents.map { event in
            let properties = event.properties.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value.textValue)" }.joined(separator: " ")
            return (event.at, "event    \(event.type)" + (properties.isEmpty ? "" : "  \(properties)"))
        }
        entries += detail.messages.map { message in
            let what = message.channel == .sales ? "alert → \(message.address)" : "\(message.channel.rawValue) \(message.campaignID)/\(message.stepID)"
            return (message.createdAt, "message  \(what)  \(message.status.rawValue)" + (message.subject.map { "  “\($0)”" } ?? ""))
        }
        for entry in entries.sorted(by: { $0.at > $1.at }) {
            out.append("  \(clock.format(entry.at))  \(entry.text)")
        }
        if entries.isEmpty { out.append("  nothing yet") }
        return out.joined(separator: "\n")
    }
}


extension String {
    func leftPad(_ width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }
}

/// Prints rows as aligned columns; the last column is not padded.
func printColumns(_ rows: [[String]]) {
    guard let columns = rows.first?.count else { return }
    let widths = (0..<columns).map { column in rows.map { $0[column].count }.max() ?? 0 }
    for row in rows {
        print(row.enumerated().map { index, cell in
            index == columns - 1 ? cell : cell + String(repeating: " ", count: widths[index] - cell.count)
        }.joined(separator: "  "))
    }
}
