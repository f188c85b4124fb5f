import ArgumentParser
import Foundation
import NurtureDeployment
import NurtureEngine

struct ChannelsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "channels", abstract: "Check the configured email and SMS channels, or send a labelled test through one.",
        subcommands: [Check.self, Test.self])

    /// Reads nurture.toml (every mistake as file:line) and says what the channels will do, with
    /// warnings for settings that work but lose something: a provider whose bounces cannot come
    /// back, links that point at localhost.
    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Validate nurture.toml's channels and inbound keys.")
        @OptionGroup var playbookOptions: PlaybookOptions
        @Option(help: "Configuration file. Default: nurture.toml in the working directory, if present.") var config: String?

        func run() async throws {
            let configuration: NurtureConfiguration
            do {
                configuration = try NurtureConfiguration.load(path: config)
            } catch {
                printError("\(error)")
                throw ExitCode(1)
            }
            let path = configuration.path ?? "nurture.toml"
            let brand = playbookOptions.playbook.brand
            var warnings = 0
            for (name, channel) in [("email", configuration.email), ("sms", configuration.sms), ("sales alerts", configuration.salesAlerts)] {
                switch channel.kind {
                case .preview: print("\(name): preview (messages stay in the local outbox)")
                case .webhook, .slack: print("\(name): \(channel.kind.rawValue) to \(channel.url?.host ?? "?")\(channel.secret == nil ? ", unsigned" : ", signed")")
                default:
                    let provider = channel.provider!
                    var line = "\(name): \(channel.kind.rawValue) at \(provider.baseURL.absoluteString)"
                    if name == "email" { line += ", from \(provider.from ?? "\"\(brand.senderName)\" <\(brand.supportEmail)>")" }
                    if let rate = provider.maxPerSecond { line += ", at most \(rate) a second" }
                    print(line)
                    if !ChannelsCommand.hasInboundKey(channel.kind, configuration.inboundProviders) {
                        print("\(path): warning: [inbound.\(channel.kind.rawValue)] is not set: \(channel.kind.rawValue)'s bounces, complaints and replies will be refused (401)")
                        warnings += 1
                    }
                }
            }
            let providers = [configuration.email, configuration.sms].contains { $0.provider != nil }
            if providers, configuration.publicURL.contains("localhost") || configuration.publicURL.contains("127.0.0.1") {
                print("\(path): warning: [sending] public_url is \(configuration.publicURL): unsubscribe and tracking links in real messages would point there")
                warnings += 1
            }
            print(warnings == 0 ? "ok" : "ok, with \(warnings) warning\(warnings == 1 ? "" : "s")")
        }
    }

    static func hasInboundKey(_ kind: NurtureConfiguration.Channel.Kind, _ keys: InboundProviders) -> Bool {
        switch kind {
        case .postmark: keys.postmarkUsername != nil
        case .sendgrid: keys.sendgridPublicKey != nil
        case .mailgun: keys.mailgunSigningKey != nil
        case .ses: !keys.sesTopicARNs.isEmpty
        case .twilio: keys.twilioToken != nil
        case .telnyx: keys.telnyxPublicKey != nil
        case .preview, .webhook, .slack: true
        }
    }

    /// Sends one labelled message through the configured channel now, outside every campaign,
    /// and prints what came back.
    struct Test: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Send a labelled test message through a channel and print the answer.")
        @OptionGroup var runtime: RuntimeOptions
        @Option(help: "email or sms.") var channel: String
        @Option(help: "The address (email) or E.164 number (sms) to send to.") var to: String

        func run() async throws {
            guard let kind = MessageChannel(rawValue: channel), kind != .sales else { throw ValidationError("--channel must be email or sms") }
            let address: String
            if kind == .email {
                address = to.trimmingCharacters(in: .whitespaces).lowercased()
                guard LeadRowParser.isPlausibleEmail(address) else { throw ValidationError("'\(to)' is not an email address") }
            } else {
                do { address = try PhoneNumber.e164(to, defaultCountry: nil) } catch { throw ValidationError("'\(to)': \(error)") }
            }
            let live = try await runtime.makeRuntime()
            defer { Task { await live.close() } }
            let message = OutboxMessage.channelTest(kind, to: address, brand: runtime.playbookOptions.playbook.brand, now: Date())
            guard let delivery = live.dispatcher().channels[kind] else { throw ValidationError("no \(channel) channel") }
            if delivery is PreviewChannel {
                print("the \(channel) channel is the preview outbox: nothing leaves this machine (set [channels.\(channel)] kind in nurture.toml)")
                return
            }
            let result: DeliveryResult
            if let provider = delivery as? ProviderChannel {
                let probe = await provider.probe(message)
                result = probe.result
                if let response = probe.response {
                    print("\(probe.provider) answered HTTP \(response.status): \(String(decoding: response.body.prefix(2000), as: UTF8.self))")
                }
            } else {
                result = await delivery.deliver(message)
            }
            switch result {
            case .delivered: print("sent \(message.id) to \(address)")
            case .transient(let reason, _): printError("not sent, worth retrying: \(reason)"); throw ExitCode(1)
            case .permanent(let reason): printError("not sent: \(reason)"); throw ExitCode(1)
            case .undeliverable(let reason, _): printError("the provider refuses this address: \(reason)"); throw ExitCode(1)
            }
        }
    }
}
