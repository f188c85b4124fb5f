import ArgumentParser
import Foundation
import NurtureDSL
import NurtureEngine

/// A lead to render for: one in the database (email or id), or a lead file.
struct PreviewLead: ParsableArguments {
    @Option(help: "The lead: an email or id in the database, or a lead file (JSON, as simulate takes).") var lead: String?
    @Option(help: "A value of the entry event the template shows as trigger.NAME (NAME=VALUE); repeatable.") var trigger: [String] = []

    /// The lead, its recent events and the trigger values.
    func resolve(_ engine: Engine, fallbackEmail: String?, now: Date) async throws -> (Lead, [LeadEvent], [String: Value]) {
        var values: [String: Value] = [:]
        for text in trigger {
            guard let equals = text.firstIndex(of: "="), equals != text.startIndex else { throw ValidationError("--trigger '\(text)' must be NAME=VALUE") }
            values[String(text[..<equals])] = .string(String(text[text.index(after: equals)...]))
        }
        guard let lead else {
            // No lead: a plain one, so the copy reads as someone new would get it.
            return (Lead(id: "ld_preview", email: fallbackEmail, firstName: "Alex", timeZone: "UTC"), [], values)
        }
        if lead.hasSuffix(".json") || FileManager.default.fileExists(atPath: lead) {
            do {
                let file = try LeadFile.load(lead)
                return (file.lead, [], values.merging(file.trigger) { given, _ in given })
            } catch {
                throw ValidationError("\(error)")
            }
        }
        guard let (detail, _) = try await engine.detail(lead.contains("@") ? .email(lead) : .id(lead), now: now) else {
            throw ValidationError("no lead '\(lead)' in the database (give an email, an id, or a lead file)")
        }
        return (detail.work.lead, detail.work.state.events, values)
    }
}

struct PreviewCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "preview", abstract: "Render a template for a real lead (or a lead file): subject, text, HTML, SMS with its segments.")

    @OptionGroup var runtime: RuntimeOptions
    @Argument(help: "The template's name.") var template: String
    @OptionGroup var target: PreviewLead
    @Option(help: "Also write the HTML part to this file, to open in a browser.") var html: String?

    func run() async throws {
        let live = try await runtime.makeRuntime(previewOnly: true, takingOver: false)
        defer { Task { await live.close() } }
        let now = Date()
        let (lead, events, trigger) = try await target.resolve(live.engine, fallbackEmail: "alex@example.com", now: now)
        let preview: LeadProcessor.Preview
        do {
            preview = try live.engine.processor.preview(template, for: lead, events: events, trigger: trigger, now: now)
        } catch {
            throw ValidationError("\(error)")
        }
        var lines = ["\(preview.template) (\(preview.channel.rawValue)) for \((preview.channel == .email ? lead.email : lead.phone) ?? lead.id)"
            + (preview.persona.map { " · persona \($0)" } ?? "") + (preview.signals.isEmpty ? "" : " · signals \(preview.signals.sorted().joined(separator: ", "))")]
        let rendered = preview.rendered
        if let subject = rendered.subject { lines.append("Subject: \(subject)") }
        if let segments = rendered.segments {
            lines.append("SMS: \(segments)")
            lines.append(rendered.text)
        } else {
            lines += ["", "--- text ---", rendered.text]
            if let page = rendered.html {
                lines += ["", "--- html (\(page.utf8.count) bytes) ---"]
                if let html {
                    try Data(page.utf8).write(to: URL(fileURLWithPath: html))
                    lines.append("written to \(html)")
                } else {
                    lines.append(page)
                }
            }
        }
        print(lines.joined(separator: "\n"))
    }
}

struct SendTestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "send-test",
        abstract: "Send a template, rendered for a lead, to yourself through the configured channel, marked as a test.",
        discussion: "The subject (or the SMS) starts with [Test]. It is sent at once, outside every campaign and the outbox: no stats, no frequency cap, no suppression check.")

    @OptionGroup var runtime: RuntimeOptions
    @Argument(help: "The template's name.") var template: String
    @Option(help: "Your address (email) or E.164 number (SMS).") var to: String
    @OptionGroup var target: PreviewLead

    func run() async throws {
        let live = try await runtime.makeRuntime(takingOver: false)
        defer { Task { await live.close() } }
        let now = Date()
        let (lead, events, trigger) = try await target.resolve(live.engine, fallbackEmail: nil, now: now)
        let preview: LeadProcessor.Preview
        do {
            preview = try live.engine.processor.preview(template, for: lead, events: events, trigger: trigger, now: now)
        } catch {
            throw ValidationError("\(error)")
        }
        let address: String
        if preview.channel == .email {
            address = to.trimmingCharacters(in: .whitespaces).lowercased()
            guard LeadRowParser.isPlausibleEmail(address) else { throw ValidationError("'\(to)' is not an email address (\(template) is an email)") }
        } else {
            do { address = try PhoneNumber.e164(to, defaultCountry: nil) } catch { throw ValidationError("'\(to)': \(error) (\(template) is an SMS)") }
        }
        guard let delivery = live.dispatcher().channels[preview.channel], !(delivery is PreviewChannel) else {
            throw ValidationError("the \(preview.channel.rawValue) channel is the preview outbox: nothing would leave this machine "
                + "(set [channels.\(preview.channel.rawValue)] kind in nurture.toml; `nurture preview \(template)` shows the message here)")
        }
        let message = OutboxMessage.sendTest(preview, to: address, now: now)
        switch await delivery.deliver(message) {
        case .delivered: print("sent \(message.id) to \(address): \(message.subject ?? message.preview)")
        case .transient(let reason, _): printError("not sent, worth retrying: \(reason)"); throw ExitCode(1)
        case .permanent(let reason): printError("not sent: \(reason)"); throw ExitCode(1)
        case .undeliverable(let reason, _): printError("the provider refuses this address: \(reason)"); throw ExitCode(1)
        }
    }
}
