import ArgumentParser
import Foundation
import NurtureEngine

/// A person's requests about their data, from the command line: everything held about them,
/// and erasure.
extension LeadsCommand {
    /// Who ran the command, for the privacy audit: the operating-system user and host.
    static var actor: String {
        let user = ProcessInfo.processInfo.environment["USER"] ?? ProcessInfo.processInfo.environment["LOGNAME"] ?? "unknown user"
        return "\(RuntimeOptions.commandName) by \(user) on \(ProcessInfo.processInfo.hostName)"
    }

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Everything held about a person as JSON (a subject access request): profile, consent, score, journeys, events, messages.")
        @OptionGroup var runtime: RuntimeOptions
        @Argument(help: "The lead's email or id.") var lead: String
        @Option(name: .shortAndLong, help: "Write to this file instead of standard output.") var output: String?

        func run() async throws {
            let live = try await runtime.makeRuntime(previewOnly: true)
            defer { Task { await live.close() } }
            let subject: IncomingEvent.Subject = lead.contains("@") ? .email(lead) : .id(lead)
            guard let export = try await live.engine.export(subject, actor: LeadsCommand.actor, now: Date()) else {
                printError("error: no lead '\(lead)'")
                throw ExitCode.failure
            }
            let data = try LeadViews.encoder(pretty: true).encode(export) + Data("\n".utf8)
            if let output {
                try data.write(to: URL(fileURLWithPath: output))
                printError("wrote \(output)")
            } else {
                FileHandle.standardOutput.write(data)
            }
        }
    }

    struct Forget: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Erase a person (the right to be forgotten): the lead and every row naming it.",
            discussion: """
                Deletes the lead, its events, journeys, messages (their content and addresses), conversions and step \
                facts. Campaign totals keep their counts, which name nobody. The email and phone stay suppressed \
                only as keyed hashes, so an import or an event that brings them back never mails them again. The \
                request is audited (who, when, how many rows) without personal data: see `nurture leads requests`.
                """)
        @OptionGroup var runtime: RuntimeOptions
        @Argument(help: "The lead's email or id.") var lead: String
        @Flag(help: "Erase: without it, nothing is done.") var yes = false

        func run() async throws {
            guard yes else {
                printError("error: erasing '\(lead)' cannot be undone; run again with --yes to erase (`nurture leads export \(lead)` first keeps a copy)")
                throw ExitCode.failure
            }
            let live = try await runtime.makeRuntime(previewOnly: true)
            defer { Task { await live.close() } }
            let subject: IncomingEvent.Subject = lead.contains("@") ? .email(lead) : .id(lead)
            guard let forgotten = try await live.engine.forget(subject, actor: LeadsCommand.actor, now: Date()) else {
                printError("error: no lead '\(lead)'")
                throw ExitCode.failure
            }
            let counts = forgotten.counts
            print("forgot \(forgotten.leadID): \(counts.events) events, \(counts.enrollments) journeys, \(counts.messages) messages, "
                + "\(counts.conversions) conversions, \(counts.suppressions) suppressions erased; its addresses stay suppressed as keyed hashes")
        }
    }

    struct Requests: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The privacy audit: every export and erasure, who asked and when, newest first.")
        @OptionGroup var runtime: RuntimeOptions
        @Option(help: "How many.") var limit = 50

        func run() async throws {
            let requests = try await runtime.openStore().privacyRequests(limit: limit)
            if requests.isEmpty { print("no privacy requests") }
            let formatter = ISO8601DateFormatter()
            for request in requests {
                let counts = request.counts.map { "  \($0.events) events, \($0.enrollments) journeys, \($0.messages) messages, \($0.conversions) conversions, \($0.suppressions) suppressions" } ?? ""
                print("\(formatter.string(from: request.at))  \(request.action.rawValue)  \(request.leadID)  \(request.actor)\(counts)")
            }
        }
    }
}
