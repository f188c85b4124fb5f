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
            guard !type.isEmpty, type.allSatisfy({ $0.isLetter || $0.isNumber || "._-".contains($0) }) else {
                throw ValidationError("'\(type)' is not an event type (use dotted names such as page.viewed)")
            }
            var props: [String: Value] = [:]
            for pair in properties {
                guard let equals = pair.firstIndex(of: "="), equals != pair.startIndex else {
                    throw ValidationError("--prop '\(pair)' is not key=value")
                }
                props[String(pair[..<equals])] = .string(String(pair[pair.index(after: equals)...]))
            }
            let when = try at.map { try parseInstant($0, option: "--at") } ?? Date()
            let live = try await runtime.makeRuntime()
            let event = IncomingEvent(subject: .email(email), type: type, at: when, properties: props, clientID: clientID)
            switch try await live.engine.track(event, now: when) {
            case .stored(let leadID), .created(let leadID):
                print("stored \(type) for lead \(leadID)")
            case .duplicate:
                print("already stored: an event with id \(clientID ?? "") was recorded before; nothing changed")
            case .unknownLead:
                printError("error: no lead with email \(email) (import or create it first)")
                throw ExitCode.failure
            }
        }
    }
}
