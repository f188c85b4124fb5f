import ArgumentParser
import Foundation
import NurtureEngine

/// The suppression list by hand: what stops which address, a suppression added from elsewhere
/// (another tool's unsubscribes), and lifting one, which for the person's own choice takes
/// their own request.
struct SuppressionsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "suppressions", abstract: "List, add and lift suppressions (what stops messages to an address).",
        subcommands: [List.self, Add.self, Remove.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every suppression: address, channel, what it stops, why and since when.")
        @OptionGroup var runtime: RuntimeOptions
        @Option(help: "How many at most.") var limit = 1_000

        func run() async throws {
            let store = try await runtime.openStore()
            var after: SuppressionRecord?
            var shown = 0
            let formatter = ISO8601DateFormatter()
            while shown < limit {
                let page = try await store.suppressionPage(after: after, limit: min(500, limit - shown))
                for record in page {
                    print([record.address, record.channel.rawValue, record.suppression.scope.stored, record.suppression.reason,
                           formatter.string(from: record.at)].joined(separator: "\t"))
                }
                shown += page.count
                guard page.count == min(500, limit - shown + page.count), let last = page.last else { break }
                after = last
            }
            if shown == 0 { print("no suppressions") }
        }
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Suppress an address (an unsubscribe from another tool, a do-not-contact request).")
        @OptionGroup var runtime: RuntimeOptions
        @Argument(help: "An email address or an E.164 phone number.") var address: String
        @Option(help: "all (nothing at all, receipts too), marketing, or kinds:nurture,engagement.") var scope = "all"
        @Option(help: "Why, as the lead's page and this list will show it.") var reason = "added by hand"

        func run() async throws {
            let (address, channel) = try SuppressionsCommand.parse(address)
            guard ["all", "marketing"].contains(scope) || (scope.hasPrefix("kinds:") && scope.count > "kinds:".count) else {
                throw ValidationError("--scope must be all, marketing or kinds:KIND[,KIND…], not '\(scope)'")
            }
            let store = try await runtime.openStore()
            try await store.suppress(address: address, channel: channel, Suppression(.init(stored: scope), reason: reason), at: Date())
            let now = try await store.suppressions(address: address)[channel]
            print("\(address) (\(channel.rawValue)): \(now.map(\.description) ?? "not suppressed")")
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Lift an address's suppression.",
            discussion: """
                A bounce, a complaint or a suppression added by hand is lifted at once. An unsubscribe, an opt-out \
                or an SMS STOP is the person's own choice: only their own click lifts it (the preferences page, \
                or texting START). If they asked you themselves, pass --person-asked: it is recorded on their \
                lead as their resubscribe.
                """)
        @OptionGroup var runtime: RuntimeOptions
        @Argument(help: "An email address or an E.164 phone number.") var address: String
        @Flag(name: .customLong("person-asked"), help: "The person asked to hear from you again (recorded as theirs).") var personAsked = false

        func run() async throws {
            let (address, channel) = try SuppressionsCommand.parse(address)
            let store = try await runtime.openStore()
            guard let suppression = try await store.suppressions(address: address)[channel] else {
                print("\(address) is not suppressed on \(channel.rawValue)")
                return
            }
            let theirOwn = Suppression.liftable.contains(suppression.reason)
            if theirOwn && !personAsked {
                printError("error: \(address) is suppressed by their own choice (\(suppression)); only they can lift it, "
                    + "on the preferences page or by texting START. If they asked you to, pass --person-asked.")
                throw ExitCode.failure
            }
            var recorded = false
            if theirOwn {
                // Recorded on their lead as their own resubscribe (or START), which lifts it.
                let live = try await runtime.makeRuntime(previewOnly: true)
                let type = channel == .email ? ComplianceEvent.resubscribed : ComplianceEvent.smsOptedIn
                let event = IncomingEvent(subject: channel == .email ? .email(address) : .phone(address), type: type, at: Date(),
                                          properties: ["channel": .string(channel.rawValue), "via": "asked in person (nurture suppressions remove)"])
                recorded = try await live.engine.track([event], now: Date(), via: "suppressions remove").first != .unknownLead
                await live.close()
            }
            if !recorded { _ = try await store.liftSuppression(address: address, channel: channel) }
            let after = try await store.suppressions(address: address)[channel]
            print(after == nil ? "lifted: \(address) (\(channel.rawValue)) was \(suppression)" : "\(address) is still suppressed: \(after!)")
        }
    }

    /// An email (lower-cased) or an E.164 number, with the channel it is an address on.
    static func parse(_ text: String) throws -> (String, MessageChannel) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.hasPrefix("+") {
            guard let phone = try? PhoneNumber.e164(trimmed) else { throw ValidationError("'\(text)' is not an E.164 phone number") }
            return (phone, .sms)
        }
        guard LeadRowParser.isPlausibleEmail(trimmed) else { throw ValidationError("'\(text)' is not an email address or a +country phone number") }
        return (trimmed.lowercased(), .email)
    }
}
