import ArgumentParser
import Foundation
import NurtureDSL
import NurtureEngine

struct EventsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "events", abstract: "Record what leads do.", subcommands: [Track.self])

    struct Track: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Record an event for a lead: it can fire goals, wake waits and enter campaigns at once.")

        @OptionGroup var runtime: RuntimeOptions
        @Argument(help: "The lead's email.") var email: String
        @Argument(help: "Event type, e.g. page.viewed.") var type: String
        @Option(name: .customLong("prop"), help: "A property as key=value (repeatable).") var properties: [String] = []
        @Option(help: "When it happened (ISO 8601). Default: now.") var at: String?
        @Option(name: .customLong("id"), help: "Your id for this event: the same id is stored only once.") var clientID: String?

        func run() async throws {
            var props: [String: Value] = [:]
            for pair in properties {
                guard let equals = pair.firstIndex(of: "="), equals != pair.startIndex else {
                    throw ValidationError("--prop '\(pair)' is not key=value")
                }
                props[String(pair[..<equals])] = .string(String(pair[pair.index(after: equals)...]))
            }
            let now = Date()
            // The command line also takes times without a zone (UTC), as `--now` does.
            let when = try at.map { try parseInstant($0, option: "--at").formatted(.iso8601) }
            let input = EventInput(id: clientID, email: email, type: type, at: when, properties: props, createsLead: false)
            let event: IncomingEvent
            switch input.validated(now: now) {
            case .success(let valid): event = valid
            case .failure(let refused):
                for problem in refused.problems { printError("error: \(Self.argument(problem.field)): \(problem.message)") }
                throw ExitCode.validationFailure
            }
            let live = try await runtime.makeRuntime()
            switch try await live.engine.track(event, now: now) {
            case .stored(let leadID), .created(let leadID):
                print("stored \(type) for lead \(leadID)")
            case .duplicate:
                print("already stored: an event with id \(clientID ?? "") was recorded before; nothing changed")
            case .unknownLead:
                printError("error: no lead with email \(email) (import or create it first)")
                throw ExitCode.failure
            }
        }

        /// Where on the command line a refused field came from.
        static func argument(_ field: String) -> String {
            switch field {
            case "email": "EMAIL"
            case "type": "TYPE"
            case "at": "--at"
            case "id": "--id"
            default: field.hasPrefix("properties") ? "--prop" + field.dropFirst("properties".count).replacingOccurrences(of: ".", with: " ") : field
            }
        }
    }
}
