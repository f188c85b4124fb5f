import Foundation
public import NurtureDSL
public import NurtureStorage

/// One provider's HTTP API: how a message becomes its request, and what its answers mean.
/// Everything a provider needs is in the message's rendered payload (the generic webhook body)
/// and in the channel's settings; nothing else about the lead reaches the provider.
protocol ProviderAPI: Sendable {
    /// For errors and logs: "Postmark".
    var name: String { get }
    /// Messages per request when the channel batches; 1 when it does not (or cannot).
    var batchLimit: Int { get }
    /// Whether a message may travel in a batch (SendGrid's substitutions have a size limit);
    /// one that may not is sent on its own.
    func fitsBatch(_ message: OutgoingEmailOrSMS) -> Bool
    func request(for messages: [OutgoingEmailOrSMS], now: Date) throws -> ProviderRequest
    /// One result per message of the request, in its order.
    func outcomes(of response: HTTPTransportResponse, for messages: [OutgoingEmailOrSMS], now: Date) -> [DeliveryResult]
}

extension ProviderAPI {
    var batchLimit: Int { 1 }
    func fitsBatch(_ message: OutgoingEmailOrSMS) -> Bool { true }
}

/// A request ready for the transport.
struct ProviderRequest: Sendable {
    var url: URL
    var headers: [(String, String)]
    var body: Data
}

/// A message as providers see it: the outbox row and its rendered body read back.
struct OutgoingEmailOrSMS: Sendable {
    var message: OutboxMessage
    var rendered: WebhookBody

    init(_ message: OutboxMessage) throws {
        self.message = message
        do {
            rendered = try JSONDecoder().decode(WebhookBody.self, from: Data(message.payload.utf8))
        } catch {
            throw ProviderError("the message's rendered payload is not readable: \(error)")
        }
    }

    /// The text part, or the SMS body.
    var text: String { rendered.text ?? rendered.body ?? message.preview }
}

struct ProviderError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Who an email is from, and where replies go: the brand's unless `nurture.toml` says.
public struct EmailSender: Sendable, Hashable {
    /// `"Maya from Larkspur" <help@larkspur.example>` or a bare address.
    public var from: String
    public var replyTo: String?

    public init(from: String, replyTo: String?) {
        self.from = from
        self.replyTo = replyTo
    }
}

/// Sends through a provider's API, at most `maxPerSecond` requests a second when set, each
/// answer classified by what the provider documents: retry later, give up on the message, or
/// give up on the address.
public struct ProviderChannel: DeliveryChannel {
    let api: any ProviderAPI
    let transport: any HTTPTransport
    let timeout: Duration
    public let concurrency: Int
    let pacer: SendPacer?
    public let maxPerSecond: Double?

    init(api: any ProviderAPI, transport: any HTTPTransport, timeout: Duration, concurrency: Int, maxPerSecond: Double?) {
        self.api = api
        self.transport = transport
        self.timeout = timeout
        self.concurrency = concurrency
        pacer = maxPerSecond.map { SendPacer(perSecond: $0) }
        self.maxPerSecond = maxPerSecond
    }

    public var batchLimit: Int { api.batchLimit }

    public func fitsBatch(_ message: OutboxMessage) -> Bool {
        guard api.batchLimit > 1, let outgoing = try? OutgoingEmailOrSMS(message) else { return true }
        return api.fitsBatch(outgoing)
    }

    public func deliver(_ message: OutboxMessage) async -> DeliveryResult {
        await deliver([message])[0]
    }

    public func deliver(_ messages: [OutboxMessage]) async -> [DeliveryResult] {
        let now = Date()
        var outgoing: [OutgoingEmailOrSMS] = []
        var results = [DeliveryResult?](repeating: nil, count: messages.count)
        var positions: [Int] = []
        for (index, message) in messages.enumerated() {
            do {
                outgoing.append(try OutgoingEmailOrSMS(message))
                positions.append(index)
            } catch {
                results[index] = .permanent("\(error)")
            }
        }
        // The dispatcher batches only messages `fitsBatch` lets share a request: one request.
        if !outgoing.isEmpty {
            for (position, answer) in zip(positions, await send(outgoing, now: now).results) { results[position] = answer }
        }
        return results.map { $0 ?? .permanent("no answer for this message") }
    }

    private func send(_ outgoing: [OutgoingEmailOrSMS], now: Date) async -> (results: [DeliveryResult], response: HTTPTransportResponse?) {
        do {
            let request = try api.request(for: outgoing, now: now)
            await pacer?.wait()
            let response = try await transport.post(request.url, headers: request.headers, body: request.body, timeout: timeout)
            return (api.outcomes(of: response, for: outgoing, now: Date()), response)
        } catch let error as ProviderError {
            return (Array(repeating: .permanent("\(api.name): \(error)"), count: outgoing.count), nil)
        } catch {
            // Timeouts and connection failures: the provider may have sent it; the message id
            // travels as the provider's metadata, so its webhooks still map back.
            return (Array(repeating: .transient("\(api.name): \(error)", after: nil), count: outgoing.count), nil)
        }
    }

    /// One message, and the provider's own answer with it: what `nurture channels test` prints.
    public func probe(_ message: OutboxMessage) async -> (provider: String, result: DeliveryResult, response: HTTPTransportResponse?) {
        do {
            let (results, response) = await send([try OutgoingEmailOrSMS(message)], now: Date())
            return (api.name, results[0], response)
        } catch {
            return (api.name, .permanent("\(error)"), nil)
        }
    }
}

/// At most `perSecond` requests a second over all of a channel's slots (SES accounts have a
/// send rate); a slot waiting here holds only its own channel.
actor SendPacer {
    let interval: Duration
    private var next = ContinuousClock.now

    init(perSecond: Double) {
        interval = .nanoseconds(Int64(1e9 / max(perSecond, 0.001)))
    }

    func wait() async {
        let now = ContinuousClock.now
        let slot = max(next, now)
        next = slot + interval
        if slot > now { try? await Task.sleep(until: slot, clock: .continuous) }
    }
}

/// Shared pieces of provider requests, and of their webhooks coming back.
public enum ProviderHTTP {
    /// Lower-case hex, as SigV4 and the webhooks' digests write it.
    public static func hex<D: Sequence>(_ bytes: D) -> String where D.Element == UInt8 {
        bytes.map { String(format: "%02x", $0) }.joined()
    }

    public static func basicAuthorization(user: String, password: String) -> String {
        "Basic " + Data("\(user):\(password)".utf8).base64EncodedString()
    }

    /// `application/x-www-form-urlencoded`, as RFC 3986 unreserved characters plus
    /// percent-encoding of everything else (what Twilio and Mailgun parse).
    static func form(_ fields: [(String, String)]) -> Data {
        Data(fields.map { encode($0.0) + "=" + encode($0.1) }.joined(separator: "&").utf8)
    }

    /// `application/x-www-form-urlencoded` fields, in order, decoded ('+' is a space).
    public static func formFields(_ text: String) -> [(String, String)] {
        text.split(separator: "&").map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1).map {
                String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String($0)
            }
            return (parts[0], parts.count > 1 ? parts[1] : "")
        }
    }

    static func encode(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                out += String(format: "%%%02X", byte)
            }
        }
        return out
    }

    static let jsonEncoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    /// The classification every provider shares for answers it does not document otherwise:
    /// 2xx sent, 429 and 5xx later (honouring Retry-After), other 4xx permanent.
    static func generic(_ response: HTTPTransportResponse, provider: String, detail: String, now: Date) -> DeliveryResult {
        switch response.status {
        case 200..<300: return .delivered
        case 429, 500..<600:
            return .transient("\(provider): HTTP \(response.status)\(detail.isEmpty ? "" : ": " + detail)",
                              after: response.headers["retry-after"].flatMap { WebhookChannel.retryAfter($0, now: now) })
        default: return .permanent("\(provider): HTTP \(response.status)\(detail.isEmpty ? "" : ": " + detail)")
        }
    }

    /// A readable excerpt of an answer for `last_error` (never secrets: answers carry none).
    static func excerpt(_ body: Data) -> String {
        String(decoding: body.prefix(300), as: UTF8.self).replacingOccurrences(of: "\n", with: " ")
    }
}

extension ProviderChannel {
    /// The preset `settings` names, sending as the brand unless the file says otherwise.
    public init(_ settings: NurtureConfiguration.Channel, provider: ProviderSettings, brand: Brand, configuration: NurtureConfiguration) {
        let sender = EmailSender(from: provider.from ?? "\"\(brand.senderName)\" <\(brand.supportEmail)>", replyTo: provider.replyTo ?? brand.supportEmail)
        let inbound = URL(string: configuration.publicURL)?.appendingPathComponent("v1/inbound/\(settings.kind.rawValue)")
        let api: any ProviderAPI = switch settings.kind {
        case .postmark:
            PostmarkAPI(baseURL: provider.baseURL, token: provider.token?.value ?? "", messageStream: provider.messageStream, sender: sender,
                        batchLimit: provider.batchSize)
        case .sendgrid: SendGridAPI(baseURL: provider.baseURL, apiKey: provider.apiKey?.value ?? "", sender: sender, batchLimit: provider.batchSize)
        case .mailgun: MailgunAPI(baseURL: provider.baseURL, apiKey: provider.apiKey?.value ?? "", domain: provider.domain ?? "", sender: sender)
        case .ses:
            SESAPI(baseURL: provider.baseURL,
                   signer: AWSSignatureV4(accessKeyID: provider.accessKeyID?.value ?? "", secretAccessKey: provider.secretAccessKey?.value ?? "",
                                          sessionToken: provider.sessionToken?.value, region: provider.region ?? "", service: "ses"),
                   sender: sender, configurationSet: provider.configurationSet)
        case .twilio:
            TwilioAPI(baseURL: provider.baseURL, accountSID: provider.accountSID ?? "", authToken: provider.token?.value ?? "",
                      from: provider.from, messagingServiceSID: provider.messagingServiceSID,
                      statusCallback: configuration.inboundProviders.twilioToken == nil ? nil : inbound)
        case .telnyx:
            TelnyxAPI(baseURL: provider.baseURL, apiKey: provider.apiKey?.value ?? "", from: provider.from,
                      messagingProfileID: provider.messagingProfileID, webhookURL: configuration.inboundProviders.telnyxPublicKey == nil ? nil : inbound)
        case .preview, .webhook, .slack:
            fatalError("\(settings.kind) is not a provider preset")
        }
        self.init(api: api, transport: settings.transport.make(maximumConnectionsPerHost: settings.concurrency), timeout: settings.timeout,
                  concurrency: settings.concurrency, maxPerSecond: provider.maxPerSecond)
    }
}
