import Foundation

/// Postmark's Email API: `POST /email`, or `/email/batch` with up to 500 messages
/// (https://postmarkapp.com/developer/api/email-api). The message id rides in `Metadata`, which
/// Postmark returns in every webhook.
struct PostmarkAPI: ProviderAPI {
    let name = "Postmark"
    var baseURL: URL
    var token: String
    var messageStream: String
    var sender: EmailSender
    var batchLimit: Int

    struct Header: Encodable, Equatable {
        var Name: String
        var Value: String
    }

    struct Email: Encodable {
        var From: String
        var To: String
        var ReplyTo: String?
        var Subject: String
        var TextBody: String?
        var HtmlBody: String?
        var MessageStream: String
        var Headers: [Header]
        var Metadata: [String: String]
        var Tag: String
        // Nurture's own links track opens and clicks; Postmark's would rewrite them again.
        var TrackOpens = false
        var TrackLinks = "None"
    }

    func email(_ message: OutgoingEmailOrSMS) -> Email {
        Email(From: sender.from, To: message.rendered.to, ReplyTo: sender.replyTo, Subject: message.rendered.subject ?? "",
              TextBody: message.rendered.text, HtmlBody: message.rendered.html, MessageStream: messageStream,
              Headers: (message.rendered.headers ?? [:]).sorted { $0.key < $1.key }.map { Header(Name: $0.key, Value: $0.value) },
              Metadata: EmailMetadata.values(message), Tag: message.message.campaignID)
    }

    func request(for messages: [OutgoingEmailOrSMS], now: Date) throws -> ProviderRequest {
        let body = messages.count == 1
            ? try ProviderHTTP.jsonEncoder.encode(email(messages[0]))
            : try ProviderHTTP.jsonEncoder.encode(messages.map(email))
        return ProviderRequest(
            url: baseURL.appendingPathComponent(messages.count == 1 ? "email" : "email/batch"),
            headers: [("Accept", "application/json"), ("Content-Type", "application/json"), ("X-Postmark-Server-Token", token)],
            body: body)
    }

    struct Answer: Decodable {
        var ErrorCode: Int?
        var Message: String?
    }

    func outcomes(of response: HTTPTransportResponse, for messages: [OutgoingEmailOrSMS], now: Date) -> [DeliveryResult] {
        if messages.count > 1, response.status == 200, let answers = try? JSONDecoder().decode([Answer].self, from: response.body),
           answers.count == messages.count
        {
            return answers.map { outcome(status: 200, answer: $0, response: response, now: now) }
        }
        // A batch over Postmark's 50 MB: nothing is wrong with its messages, which go again.
        if messages.count > 1, response.status == 413 {
            return Array(repeating: .transient("\(name): HTTP 413: the batch is too large", after: .seconds(1)), count: messages.count)
        }
        let answer = try? JSONDecoder().decode(Answer.self, from: response.body)
        return Array(repeating: outcome(status: response.status, answer: answer, response: response, now: now), count: messages.count)
    }

    /// Postmark's API error codes (https://postmarkapp.com/developer/api/overview#error-codes).
    func outcome(status: Int, answer: Answer?, response: HTTPTransportResponse, now: Date) -> DeliveryResult {
        let code = answer?.ErrorCode ?? 0
        let detail = "\(name) error \(code): \(answer?.Message ?? ProviderHTTP.excerpt(response.body))"
        switch (status, code) {
        case (200, 0): return .delivered
        // Inactive recipient: Postmark holds a hard bounce, a complaint or a manual suppression.
        case (_, 406): return .undeliverable(detail)
        // A bad token, an unknown or unconfirmed sender signature, an account out of credits,
        // pending or not allowed to send: nothing is wrong with the message, and it must still go
        // once someone fixes the account.
        case (_, 10), (_, 400), (_, 401), (_, 405), (_, 412), (_, 413), (401, _): return .transient(detail, after: .seconds(300))
        case (429, _), (500..<600, _), (_, 100), (_, 429):
            return .transient(detail, after: response.headers["retry-after"].flatMap { WebhookChannel.retryAfter($0, now: now) })
        default: return .permanent(detail)
        }
    }
}

/// The keys a provider's metadata carries for Nurture, so inbound events map back.
public enum EmailMetadata {
    /// Where every email preset puts the message id; each inbound adapter reads it back.
    public static let messageKey = "nurture_message_id"

    static func values(_ message: OutgoingEmailOrSMS) -> [String: String] {
        // Postmark takes values of at most 80 characters; the message id (28) is what maps back.
        [messageKey: message.message.id, "nurture_campaign": String(message.message.campaignID.prefix(80)),
         "nurture_step": String(message.message.stepID.prefix(80))]
    }
}

/// Twilio SendGrid's v3 Mail Send (https://www.twilio.com/docs/sendgrid/api-reference/mail-send/mail-send).
/// The message id rides in `custom_args`, which every Event Webhook event carries.
///
/// In batches (`batch_size`), one request carries up to 1,000 personalizations: each its own
/// recipient, subject, headers (its own List-Unsubscribe) and custom_args, and its text and
/// HTML as substitutions of the shared content's two tokens.
struct SendGridAPI: ProviderAPI {
    let name = "SendGrid"
    var baseURL: URL
    var apiKey: String
    var sender: EmailSender
    var batchLimit = 1

    static let textToken = "-nurture_text-"
    static let htmlToken = "-nurture_html-"
    /// SendGrid's limit on one personalization's substitutions.
    static let substitutionBytes = 10_000

    func fitsBatch(_ message: OutgoingEmailOrSMS) -> Bool {
        (message.rendered.text?.utf8.count ?? 0) + (message.rendered.html?.utf8.count ?? 0) + 64 <= Self.substitutionBytes
    }

    struct Address: Encodable {
        var email: String
        var name: String?
    }

    struct Personalization: Encodable {
        var to: [Address]
        var custom_args: [String: String]
        var subject: String?
        var headers: [String: String]?
        var substitutions: [String: String]?
    }

    struct Content: Encodable {
        var type: String
        var value: String
    }

    struct Setting: Encodable { var enable: Bool }

    struct Tracking: Encodable {
        var click_tracking = Setting(enable: false)
        var open_tracking = Setting(enable: false)
        var subscription_tracking = Setting(enable: false)
    }

    struct Mail: Encodable {
        var personalizations: [Personalization]
        var from: Address
        var reply_to: Address?
        var subject: String
        var content: [Content]
        var headers: [String: String]?
        var categories: [String]
        var tracking_settings = Tracking()
    }

    func request(for messages: [OutgoingEmailOrSMS], now: Date) throws -> ProviderRequest {
        let message = messages[0]
        var content: [Content] = []
        let batched = messages.count > 1
        // SendGrid requires text/plain first when both are present.
        if let text = message.rendered.text { content.append(Content(type: "text/plain", value: batched ? Self.textToken : text)) }
        if let html = message.rendered.html { content.append(Content(type: "text/html", value: batched ? Self.htmlToken : html)) }
        let personalizations = messages.map { each in
            guard batched else { return Personalization(to: [Address(email: each.rendered.to)], custom_args: EmailMetadata.values(each)) }
            var substitutions: [String: String] = [:]
            substitutions[Self.textToken] = each.rendered.text
            substitutions[Self.htmlToken] = each.rendered.html
            return Personalization(to: [Address(email: each.rendered.to)], custom_args: EmailMetadata.values(each), subject: each.rendered.subject ?? "",
                                   headers: each.rendered.headers, substitutions: substitutions)
        }
        let from = MailboxAddress(sender.from)
        let mail = Mail(
            personalizations: personalizations,
            from: Address(email: from.address, name: from.name), reply_to: sender.replyTo.map { Address(email: MailboxAddress($0).address) },
            subject: message.rendered.subject ?? "", content: content, headers: batched ? nil : message.rendered.headers,
            categories: Array(Set(messages.map(\.message.campaignID))).sorted().prefix(10).map { $0 })
        return ProviderRequest(
            url: baseURL.appendingPathComponent("v3/mail/send"),
            headers: [("Authorization", "Bearer \(apiKey)"), ("Content-Type", "application/json")],
            body: try ProviderHTTP.jsonEncoder.encode(mail))
    }

    struct Errors: Decodable {
        struct Item: Decodable {
            var message: String?
            var field: String?
        }
        var errors: [Item]
    }

    func outcomes(of response: HTTPTransportResponse, for messages: [OutgoingEmailOrSMS], now: Date) -> [DeliveryResult] {
        let items = (try? JSONDecoder().decode(Errors.self, from: response.body))?.errors ?? []
        // A batch refused for some personalizations (`personalizations.3.to.0.email`): those fail,
        // the others go again at once, in the next batch without them.
        if messages.count > 1, response.status == 400, !items.isEmpty {
            let culprits = items.compactMap { item -> (Int, String)? in
                let parts = (item.field ?? "").split(separator: ".")
                guard parts.count >= 2, parts[0] == "personalizations", let index = Int(parts[1]), messages.indices.contains(index) else { return nil }
                return (index, "\(name): HTTP 400: \(item.field ?? ""): \(item.message ?? "")")
            }
            if culprits.count == items.count {
                let failed = Dictionary(culprits, uniquingKeysWith: { first, _ in first })
                return messages.indices.map { failed[$0].map(DeliveryResult.permanent) ?? .transient("\(name): resent without a refused recipient", after: .seconds(1)) }
            }
        }
        let errors = items.isEmpty ? nil : items.map { ($0.field.map { "\($0): " } ?? "") + ($0.message ?? "") }.joined(separator: "; ")
        let detail = errors ?? ProviderHTTP.excerpt(response.body)
        let result: DeliveryResult
        switch response.status {
        // A revoked key or one without the Mail Send permission: the account needs fixing, not the message.
        case 401, 403: result = .transient("\(name): HTTP \(response.status): \(detail)", after: .seconds(300))
        case 429:
            // X-RateLimit-Reset is the Unix time the limit resets.
            let reset = response.headers["x-ratelimit-reset"].flatMap(Double.init).map { Duration.seconds(max(1, Int(($0 - now.timeIntervalSince1970).rounded(.up)))) }
            result = .transient("\(name): HTTP 429: \(detail)", after: reset)
        default: result = ProviderHTTP.generic(response, provider: name, detail: detail, now: now)
        }
        return Array(repeating: result, count: messages.count)
    }
}

/// Mailgun's Messages API (https://documentation.mailgun.com/docs/mailgun/api-reference/send/mailgun/messages),
/// `https://api.mailgun.net` or `https://api.eu.mailgun.net`. The message id rides as the user
/// variable `v:nurture_message_id`, which webhooks return in `user-variables`.
struct MailgunAPI: ProviderAPI {
    let name = "Mailgun"
    var baseURL: URL
    var apiKey: String
    var domain: String
    var sender: EmailSender

    func request(for messages: [OutgoingEmailOrSMS], now: Date) throws -> ProviderRequest {
        let message = messages[0]
        var fields: [(String, String)] = [("from", sender.from), ("to", message.rendered.to), ("subject", message.rendered.subject ?? "")]
        if let text = message.rendered.text { fields.append(("text", text)) }
        if let html = message.rendered.html { fields.append(("html", html)) }
        if let replyTo = sender.replyTo { fields.append(("h:Reply-To", replyTo)) }
        for (name, value) in (message.rendered.headers ?? [:]).sorted(by: { $0.key < $1.key }) { fields.append(("h:\(name)", value)) }
        fields.append(("o:tag", message.message.campaignID))
        fields.append(("o:tracking", "no"))
        for (key, value) in EmailMetadata.values(message).sorted(by: { $0.key < $1.key }) { fields.append(("v:\(key)", value)) }
        return ProviderRequest(
            url: baseURL.appendingPathComponent("v3").appendingPathComponent(domain).appendingPathComponent("messages"),
            headers: [("Authorization", ProviderHTTP.basicAuthorization(user: "api", password: apiKey)),
                      ("Content-Type", "application/x-www-form-urlencoded")],
            body: ProviderHTTP.form(fields))
    }

    struct Answer: Decodable { var message: String? }

    func outcomes(of response: HTTPTransportResponse, for messages: [OutgoingEmailOrSMS], now: Date) -> [DeliveryResult] {
        let detail = (try? JSONDecoder().decode(Answer.self, from: response.body))?.message ?? ProviderHTTP.excerpt(response.body)
        let result: DeliveryResult = switch response.status {
        // A wrong key, or a domain unknown in this region: the account's setup, not the message.
        case 401, 403, 404: .transient("\(name): HTTP \(response.status): \(detail)", after: .seconds(300))
        default: ProviderHTTP.generic(response, provider: name, detail: detail, now: now)
        }
        return Array(repeating: result, count: messages.count)
    }
}

/// `"Maya from Larkspur" <help@larkspur.example>` or `help@larkspur.example`, split for the
/// providers that take name and address apart.
struct MailboxAddress {
    var name: String?
    var address: String

    init(_ text: String) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.hasSuffix(">"), let open = trimmed.lastIndex(of: "<") {
            address = String(trimmed[trimmed.index(after: open)..<trimmed.index(before: trimmed.endIndex)])
            var display = trimmed[..<open].trimmingCharacters(in: .whitespaces)
            if display.hasPrefix("\""), display.hasSuffix("\""), display.count >= 2 { display = String(display.dropFirst().dropLast()) }
            name = display.isEmpty ? nil : display
        } else {
            address = trimmed
        }
    }
}
