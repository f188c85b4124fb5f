import ArgumentParser
import Foundation
import NurtureEngine

extension LeadsCommand {
    struct Enroll: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Put existing leads into a campaign, now or at a given time, without fabricating events.",
            discussion: """
                Choose the leads with --segment NAME=VALUE (repeatable: a lead field, tag, stage, persona or declared \
                attribute; all must hold), --file FILE.csv (an email or id column), or --all. The campaign's re-entry \
                rule, a campaign running alone, suppressions and consent are honoured, as for any entry. --dry-run \
                counts what would happen and changes nothing.
                """)

        @OptionGroup var runtime: RuntimeOptions
        @Argument(help: "The campaign's id.") var campaign: String
        @Option(help: "NAME=VALUE; repeatable.") var segment: [String] = []
        @Option(help: "A CSV file with an email (or id) column.") var file: String?
        @Flag(help: "Every lead.") var all = false
        @Option(help: "Start their journeys at this instant (ISO 8601) instead of now.") var at: String?
        @Flag(name: .customLong("dry-run"), help: "Count what would happen; change nothing.") var dryRun = false
        @Flag(help: "On a non-terminal, print progress once a minute.") var progress = false

        func validate() throws {
            let ways = [!segment.isEmpty, file != nil, all].count { $0 }
            guard ways == 1 else { throw ValidationError("choose the leads one way: --segment NAME=VALUE …, --file FILE.csv or --all") }
        }

        func run() async throws {
            let start = try at.map { try parseInstant($0, option: "--at") }
            // A dry run writes nothing, not even the deployment of this build.
            let live = try await runtime.makeRuntime(takingOver: !dryRun)
            defer { Task { await live.close() } }
            let target: Engine.EnrollmentTarget
            if let file {
                target = .leads(try Self.keys(in: file))
            } else {
                do {
                    target = .segment(try LeadSegment.filter(segment, playbook: live.engine.playbook, everyStage: true))
                } catch {
                    throw ValidationError("--segment: \(error)")
                }
            }
            let line = ProgressLine(noun: "leads", total: nil, forced: progress)
            let report: Engine.EnrollmentReport
            do {
                report = try await live.engine.enroll(campaignID: campaign, target, startingAt: start, dryRun: dryRun, actor: LeadsCommand.actor,
                                                      now: Date()) { done in line.update(done: Double(done)) }
            } catch let unknown as UnknownCampaign {
                line.finish()
                throw ValidationError(unknown.description)
            }
            line.finish()
            let when = start.map { " from \(ISO8601DateFormatter().string(from: $0))" } ?? ""
            print((dryRun ? "dry run, nothing changed; " : "") + "\(campaign)\(when): of \(report.considered) leads, " + report.summary)
        }

        /// The leads a CSV names, by its email column (else its id column), one per row.
        static func keys(in path: String) throws -> [LeadKey] {
            let reader = try CSVReader(path: path)
            guard let header = try reader.next()?.fields.map({ $0.trimmingCharacters(in: .whitespaces).lowercased() }) else {
                throw ValidationError("\(path): the file is empty: expected a header line with an email or id column")
            }
            guard let column = header.firstIndex(of: "email") ?? header.firstIndex(of: "e-mail") ?? header.firstIndex(of: "id") else {
                throw ValidationError("\(path): no email or id column in the header (\(header.joined(separator: ", ")))")
            }
            var keys: [LeadKey] = []
            while let record = try reader.next() {
                guard column < record.fields.count else { continue }
                let value = record.fields[column].trimmingCharacters(in: .whitespaces)
                if value.isEmpty { continue }
                keys.append(header[column] == "id" ? .id(value) : .email(value.lowercased()))
            }
            return keys
        }
    }
}
