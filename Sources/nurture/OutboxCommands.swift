import ArgumentParser
import Foundation
import NurtureEngine

struct OutboxCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "outbox", abstract: "The latest messages with their rendered content (the preview channel's inbox).")

    @OptionGroup var runtime: RuntimeOptions
    @Option(help: "How many messages.") var limit = 20
    @Option(help: "pending, sending, sent, dead or suppressed.") var status: String?
    @Flag(help: "Show whole message texts, and the HTML part of emails.") var full = false

    func run() async throws {
        let filter = try status.map { name in
            guard let parsed = OutboxMessage.Status(rawValue: name) else {
                throw ValidationError("unknown status '\(name)': use \(OutboxMessage.Status.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return parsed
        }
        let store = try await runtime.openStore()
        let messages = try await store.messages(status: filter, limit: limit)
        if messages.isEmpty { print("the outbox is empty") }
        for message in messages { print(render(message, full: full)) }
    }
}

struct DeadLettersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dead-letters", abstract: "Messages that failed for good, and retrying them.", subcommands: [List.self, Retry.self])

    struct List: AsyncParsableCommand {
        @OptionGroup var runtime: RuntimeOptions
        @Option(help: "How many.") var limit = 50

        func run() async throws {
            let messages = try await runtime.openStore().messages(status: .dead, limit: limit)
            if messages.isEmpty { print("no dead letters") }
            for message in messages { print(render(message, full: false)) }
        }
    }

    struct Retry: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Queue dead letters again, under their own ids.")
        @OptionGroup var runtime: RuntimeOptions
        @Argument(help: "Message ids.") var ids: [String] = []
        @Flag(help: "Retry every dead letter.") var all = false

        func validate() throws {
            if all == !ids.isEmpty { throw ValidationError("give message ids or --all") }
        }

        func run() async throws {
            let count = try await runtime.openStore().retryDeadLetters(ids: all ? nil : ids, now: Date())
            print("queued \(count) message\(count == 1 ? "" : "s") again")
            if !all, count < ids.count { printError("some ids were not dead letters") }
        }
    }
}

/// A message as `outbox` and `dead-letters list` print it.
func render(_ message: OutboxMessage, full: Bool) -> String {
    let formatter = ISO8601DateFormatter()
    var lines = ["\(message.id)  \(formatter.string(from: message.createdAt))  \(message.channel.rawValue)  \(message.address)  "
        + "\(message.campaignID)/\(message.stepID)\(message.variant.map { " [\($0)]" } ?? "")  \(message.status.rawValue)"
        + (message.attempts > 0 ? " after \(message.attempts) attempt\(message.attempts == 1 ? "" : "s")" : "")]
    if let error = message.lastError { lines.append("  last error: \(error)") }
    if let subject = message.subject { lines.append("  Subject: \(subject)") }
    let body = message.preview.split(separator: "\n", omittingEmptySubsequences: false)
    for line in full ? body[...] : body.prefix(4) { lines.append("  | \(line)") }
    if !full, body.count > 4 { lines.append("  | …") }
    if full, let payload = try? JSONSerialization.jsonObject(with: Data(message.payload.utf8)) as? [String: Any], let html = payload["html"] as? String {
        lines.append("  HTML (\(html.utf8.count) bytes):")
        for line in html.split(separator: "\n", omittingEmptySubsequences: false) { lines.append("  > \(line)") }
    }
    return lines.joined(separator: "\n")
}
