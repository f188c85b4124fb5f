import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NurtureDSL
import NurtureEngine

/// Each provider's own webhook, verified by the provider's own scheme and mapped onto the same
/// reports (and so the same engine calls) as Nurture's generic inbound routes. Anything not
/// verified is refused with 401 before its body is looked at; events a provider sends that
/// Nurture has no use for (a processed or deferred email) are acknowledged and dropped.
extension NurtureServer {
    func addProviderInboundRoutes(_ inbound: RouterGroup<BasicRequestContext>) {
        inbound.post("postmark") { request, _ in try await inboundPostmark(request) }
        inbound.post("sendgrid") { request, _ in try await inboundSendGrid(request) }
        inbound.post("mailgun") { request, _ in try await inboundMailgun(request) }
        inbound.post("twilio") { request, _ in try await inboundTwilio(request) }
        inbound.post("telnyx") { request, _ in try await inboundTelnyx(request) }
        inbound.post("ses") { request, _ in try await inboundSES(request) }
    }

    static func notConfigured(_ provider: String, _ keys: String) -> APIError {
        APIError(.unauthorized, code: "inbound_not_configured", message: "inbound \(provider) webhooks are not configured: set [inbound.\(provider)] \(keys) in nurture.toml")
    }

    /// An email unsubscribe a provider reports (a list-unsubscribe click it handled, a suppression it made).
    static func emailUnsubscribe(via provider: String, _ properties: inout [String: Value]) -> String {
        properties["channel"] = .string("email")
        properties["via"] = .string(provider)
        return ComplianceEvent.unsubscribed
    }

    static let badSignature = APIError(.unauthorized, code: "bad_signature", message: "the provider's signature does not match the request")

    func header(_ request: Request, _ name: String) -> String? {
        request.headers[HTTPField.Name(name)!]
    }

    func isFresh(_ seconds: Double?) -> Bool {
        guard let seconds else { return false }
        return abs(now().timeIntervalSince1970 - seconds) <= settings.signatureTolerance
    }

    func jsonObject(_ body: ByteBuffer) throws -> Any {
        do {
            return try JSONSerialization.jsonObject(with: Data(body.readableBytesView))
        } catch {
            throw APIError.invalid([.init(path: "$", message: "the body is not JSON")])
        }
    }

    /// Answers a delivery whose events Nurture has no use for: acknowledged, nothing stored.
    func acknowledged() throws -> Response {
        struct Answer: Encodable { let replayed = false; let results: [EventResult] = [] }
        return try JSONResponse.make(.ok, Answer())
    }

    func applyProviderReports(_ reports: [Report], webhookID: String, isArray: Bool, endpoint: String) async throws -> Response {
        guard !reports.isEmpty else { return try acknowledged() }
        return try await apply(reports, problems: [], webhookID: webhookID, isArray: isArray, endpoint: endpoint)
    }

    // MARK: - Postmark

    /// Postmark signs nothing; the webhook URL it is given carries basic auth
    /// (https://postmarkapp.com/developer/webhooks/webhooks-overview), checked here as digests.
    func inboundPostmark(_ request: Request) async throws -> Response {
        let keys = settings.inboundProviders
        guard let username = keys.postmarkUsername, let password = keys.postmarkPassword else { throw Self.notConfigured("postmark", "username_env and password_env") }
        let expected = SHA256.hash(data: Data(ProviderHTTP.basicAuthorization(user: username.value, password: password.value).utf8))
        guard let presented = request.headers[.authorization], SHA256.hash(data: Data(presented.utf8)) == expected else {
            throw APIError(.unauthorized, code: "bad_credentials", message: "basic auth does not match [inbound.postmark]")
        }
        let body = try await JSONBody.collect(request, limit: settings.maxBodyBytes)
        guard let event = try jsonObject(body) as? [String: Any] else { throw APIError.invalid([.init(path: "$", message: "must be an object")]) }
        let record = event["RecordType"] as? String ?? ""
        let email = (event["Email"] as? String ?? event["Recipient"] as? String)?.lowercased()
        let messageID = (event["Metadata"] as? [String: Any])?[EmailMetadata.messageKey] as? String
        var properties: [String: Value] = [:]
        let type: String
        switch record {
        case "Delivery": type = ComplianceEvent.emailDelivered
        case "Bounce":
            let kind = event["Type"] as? String ?? ""
            let hard = ["HardBounce", "BadEmailAddress", "ManuallyDeactivated"].contains(kind) || event["Inactive"] as? Bool == true
            guard hard || ["SoftBounce", "Transient", "DnsError"].contains(kind) else { return try acknowledged() }
            if kind == "SpamComplaint" { type = ComplianceEvent.emailComplained } else {
                type = ComplianceEvent.emailBounced
                properties["bounce"] = .string(hard ? "hard" : "soft")
            }
            properties["reason"] = .string("Postmark \(kind): \(event["Details"] as? String ?? event["Description"] as? String ?? "")")
        case "SpamComplaint": type = ComplianceEvent.emailComplained
        case "Open": type = ComplianceEvent.emailOpened
        case "Click": type = ComplianceEvent.emailClicked
        case "SubscriptionChange":
            guard event["SuppressSending"] as? Bool == true else { return try acknowledged() }
            switch event["SuppressionReason"] as? String {
            case "HardBounce":
                type = ComplianceEvent.emailBounced
                properties["bounce"] = .string("hard")
            case "SpamComplaint": type = ComplianceEvent.emailComplained
            default:
                type = Self.emailUnsubscribe(via: "postmark", &properties)
            }
        default: return try acknowledged()
        }
        let at = ["BouncedAt", "DeliveredAt", "ReceivedAt", "ChangedAt"].lazy.compactMap { event[$0] as? String }.first
        // Postmark has no event id; what happened to which message when is one.
        let key = [record, event["MessageID"] as? String ?? "", email ?? "", at ?? "", "\(event["ID"] ?? "")"].joined(separator: "|")
        let report = Report(path: "$", type: type, messageID: messageID, address: email, channel: .email, at: at.flatMap(ProviderTime.instant), properties: properties)
        return try await applyProviderReports([report], webhookID: ProviderHTTP.hex(SHA256.hash(data: Data(key.utf8))), isArray: false, endpoint: "postmark")
    }

    // MARK: - SendGrid

    /// The Signed Event Webhook (https://www.twilio.com/docs/sendgrid/for-developers/tracking-events/getting-started-event-webhook-security-features):
    /// ECDSA P-256 with SHA-256 over the timestamp header followed by the raw body.
    func inboundSendGrid(_ request: Request) async throws -> Response {
        guard let keyText = settings.inboundProviders.sendgridPublicKey else { throw Self.notConfigured("sendgrid", "public_key_env") }
        guard let keyData = Data(base64Encoded: keyText), let key = try? P256.Signing.PublicKey(derRepresentation: keyData) else {
            throw APIError(.unauthorized, code: "inbound_not_configured", message: "[inbound.sendgrid] public_key_env does not hold a base64 P-256 public key")
        }
        guard let signatureText = header(request, "X-Twilio-Email-Event-Webhook-Signature"),
              let timestamp = header(request, "X-Twilio-Email-Event-Webhook-Timestamp"),
              let signatureData = Data(base64Encoded: signatureText), let signature = try? P256.Signing.ECDSASignature(derRepresentation: signatureData)
        else { throw Self.badSignature }
        let body = try await JSONBody.collect(request, limit: settings.maxBodyBytes)
        guard key.isValidSignature(signature, for: Data(timestamp.utf8) + Data(body.readableBytesView)) else { throw Self.badSignature }
        guard isFresh(Double(timestamp)) else { throw APIError(.unauthorized, code: "stale", message: "the webhook's timestamp is more than five minutes from now") }
        guard let events = try jsonObject(body) as? [[String: Any]] else { throw APIError.invalid([.init(path: "$", message: "must be an array of events")]) }
        var reports: [Report] = []
        for (index, event) in events.enumerated() {
            var properties: [String: Value] = [:]
            let type: String
            switch event["event"] as? String ?? "" {
            case "delivered": type = ComplianceEvent.emailDelivered
            case "bounce":
                type = ComplianceEvent.emailBounced
                // "blocked" is a receiving server refusing for now (reputation, content), not a dead address.
                properties["bounce"] = .string(event["type"] as? String == "blocked" ? "soft" : "hard")
            case "dropped":
                // Dropped for an address SendGrid already suppresses: the same verdict here. Other
                // reasons (spam content, an invalid SMTPAPI header) are about the message, not the address.
                let reason = event["reason"] as? String ?? ""
                if reason == "Bounced Address" || reason == "Invalid" {
                    type = ComplianceEvent.emailBounced
                    properties["bounce"] = .string("hard")
                } else if reason == "Spam Reporting Address" {
                    type = ComplianceEvent.emailComplained
                } else if reason == "Unsubscribed Address" {
                    type = Self.emailUnsubscribe(via: "sendgrid", &properties)
                } else { continue }
            case "spamreport": type = ComplianceEvent.emailComplained
            case "unsubscribe", "group_unsubscribe":
                type = Self.emailUnsubscribe(via: "sendgrid", &properties)
            case "open": type = ComplianceEvent.emailOpened
            case "click": type = ComplianceEvent.emailClicked
            default: continue
            }
            if let reason = event["reason"] as? String { properties["reason"] = .string("SendGrid: \(reason)") }
            let at = (event["timestamp"] as? Double).map { Date(timeIntervalSince1970: $0) }
            reports.append(Report(path: "$[\(index)]", type: type, messageID: event[EmailMetadata.messageKey] as? String,
                                  address: (event["email"] as? String)?.lowercased(), channel: .email, at: at, properties: properties,
                                  key: event["sg_event_id"] as? String))
        }
        return try await applyProviderReports(reports, webhookID: ProviderHTTP.hex(SHA256.hash(data: Data(body.readableBytesView))), isArray: true, endpoint: "sendgrid")
    }

    // MARK: - Mailgun

    /// Mailgun's webhook signature (https://documentation.mailgun.com/docs/mailgun/user-manual/tracking-messages/#securing-webhooks):
    /// HMAC-SHA256 of timestamp + token with the webhook signing key, hex. The token is the
    /// webhook's id: a replayed token is acknowledged and changes nothing.
    func inboundMailgun(_ request: Request) async throws -> Response {
        guard let signingKey = settings.inboundProviders.mailgunSigningKey else { throw Self.notConfigured("mailgun", "signing_key_env") }
        let body = try await JSONBody.collect(request, limit: settings.maxBodyBytes)
        guard let envelope = try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any],
              let signature = envelope["signature"] as? [String: Any],
              let token = signature["token"] as? String, let hex = signature["signature"] as? String,
              let timestamp = (signature["timestamp"] as? String) ?? (signature["timestamp"] as? Int).map(String.init),
              let mac = Data(hexString: hex)
        else { throw Self.badSignature }
        guard HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: Data((timestamp + token).utf8), using: SymmetricKey(data: Data(signingKey.value.utf8)))
        else { throw Self.badSignature }
        guard isFresh(Double(timestamp)) else { throw APIError(.unauthorized, code: "stale", message: "the webhook's timestamp is more than five minutes from now") }
        // Mailgun signs timestamp and token, not the event: a token is good for one event. It is
        // spent here, whatever the event turns out to be, so no signature block carries a second one.
        guard await mailgunTokens.spend(token, at: now(), keepFor: settings.signatureTolerance * 2) else {
            throw APIError(.unauthorized, code: "replayed", message: "this webhook token was already used")
        }
        guard let event = envelope["event-data"] as? [String: Any] else { throw APIError.invalid([.init(path: "$.event-data", message: "is required")]) }
        var properties: [String: Value] = [:]
        let type: String
        switch event["event"] as? String ?? "" {
        case "delivered": type = ComplianceEvent.emailDelivered
        case "failed":
            // A temporary failure is Mailgun retrying on its own (one per retry): only its final,
            // permanent verdict counts, or one greylisting would look like three soft bounces.
            guard event["severity"] as? String == "permanent" else { return try acknowledged() }
            type = ComplianceEvent.emailBounced
            properties["bounce"] = .string("hard")
            let status = event["delivery-status"] as? [String: Any]
            if let reason = event["reason"] as? String ?? status?["description"] as? String ?? status?["message"] as? String {
                properties["reason"] = .string("Mailgun: \(reason)")
            }
        case "complained": type = ComplianceEvent.emailComplained
        case "unsubscribed":
            type = Self.emailUnsubscribe(via: "mailgun", &properties)
        case "opened": type = ComplianceEvent.emailOpened
        case "clicked": type = ComplianceEvent.emailClicked
        default: return try acknowledged()
        }
        let at = (event["timestamp"] as? Double).map { Date(timeIntervalSince1970: $0) }
        let report = Report(path: "$.event-data", type: type, messageID: (event["user-variables"] as? [String: Any])?[EmailMetadata.messageKey] as? String,
                            address: (event["recipient"] as? String)?.lowercased(), channel: .email, at: at, properties: properties)
        return try await applyProviderReports([report], webhookID: token, isArray: false, endpoint: "mailgun")
    }

    // MARK: - Twilio

    /// `X-Twilio-Signature` (https://www.twilio.com/docs/usage/webhooks/webhooks-security): base64
    /// HMAC-SHA1 with the auth token over the URL Twilio called (`public_url` + path and query)
    /// followed by every POST parameter, sorted by name, name then value.
    func inboundTwilio(_ request: Request) async throws -> Response {
        guard let token = settings.inboundProviders.twilioToken else { throw Self.notConfigured("twilio", "token_env") }
        guard let signatureText = header(request, "X-Twilio-Signature"), let signature = Data(base64Encoded: signatureText) else { throw Self.badSignature }
        let body = try await JSONBody.collect(request, limit: settings.maxBodyBytes)
        let fields = ProviderHTTP.formFields(String(decoding: body.readableBytesView, as: UTF8.self))
        var url = settings.publicURL.hasSuffix("/") ? String(settings.publicURL.dropLast()) : settings.publicURL
        url += request.uri.path
        if let query = request.uri.query, !query.isEmpty { url += "?" + query }
        let expected = TwilioSignature.sign(url: url, fields: fields, token: token.value)
        // Compared as digests: no timing tells how much of a forged signature was right.
        guard SHA256.hash(data: Data(expected.utf8)) == SHA256.hash(data: Data(signature.base64EncodedString().utf8)) else { throw Self.badSignature }
        let form = Dictionary(fields, uniquingKeysWith: { first, _ in first })
        let messageID = URLComponents(string: url)?.queryItems?.first { $0.name == "message_id" }?.value
        var properties: [String: Value] = [:]
        let report: Report
        if let status = form["MessageStatus"] ?? form["SmsStatus"], status != "received" {
            let type: String
            switch status {
            case "delivered": type = ComplianceEvent.smsDelivered
            case "undelivered", "failed":
                type = ComplianceEvent.smsFailed
                properties["reason"] = .string("Twilio \(status)" + (form["ErrorCode"].map { ": error \($0)" } ?? ""))
            default: return TwiML.empty
            }
            let phone = form["To"].flatMap { try? PhoneNumber.e164($0, defaultCountry: nil) }
            report = Report(path: "$", type: type, messageID: messageID, address: phone, channel: .sms, at: nil, properties: properties,
                            key: "\(form["MessageSid"] ?? form["SmsSid"] ?? ""):\(status)")
        } else {
            guard let text = form["Body"], let from = form["From"], let phone = try? PhoneNumber.e164(from, defaultCountry: nil) else { return TwiML.empty }
            properties["body"] = .string(String(text.prefix(1600)))
            report = Report(path: "$", type: SMSKeyword.eventType(for: text), messageID: nil, address: phone, channel: .sms, at: nil,
                            properties: properties, key: form["MessageSid"] ?? form["SmsSid"])
        }
        _ = try await applyProviderReports([report], webhookID: report.key ?? "", isArray: false, endpoint: "twilio")
        // Twilio reads the answer as TwiML; Nurture replies to keywords through the API itself.
        return TwiML.empty
    }

    // MARK: - Telnyx

    /// Telnyx signs `timestamp|body` with Ed25519 (https://developers.telnyx.com/docs/messaging/messages/receiving-webhooks).
    func inboundTelnyx(_ request: Request) async throws -> Response {
        guard let keyText = settings.inboundProviders.telnyxPublicKey else { throw Self.notConfigured("telnyx", "public_key_env") }
        guard let keyData = Data(base64Encoded: keyText), let key = try? Curve25519.Signing.PublicKey(rawRepresentation: keyData) else {
            throw APIError(.unauthorized, code: "inbound_not_configured", message: "[inbound.telnyx] public_key_env does not hold a base64 Ed25519 public key")
        }
        guard let signatureText = header(request, "telnyx-signature-ed25519"), let signature = Data(base64Encoded: signatureText),
              let timestamp = header(request, "telnyx-timestamp")
        else { throw Self.badSignature }
        let body = try await JSONBody.collect(request, limit: settings.maxBodyBytes)
        guard key.isValidSignature(signature, for: Data("\(timestamp)|".utf8) + Data(body.readableBytesView)) else { throw Self.badSignature }
        guard isFresh(Double(timestamp)) else { throw APIError(.unauthorized, code: "stale", message: "the webhook's timestamp is more than five minutes from now") }
        guard let envelope = try jsonObject(body) as? [String: Any], let data = envelope["data"] as? [String: Any],
              let payload = data["payload"] as? [String: Any]
        else { throw APIError.invalid([.init(path: "$.data.payload", message: "is required")]) }
        let eventID = data["id"] as? String ?? ProviderHTTP.hex(SHA256.hash(data: Data(body.readableBytesView)))
        // The message is named in the webhook_url it was sent with, inside the signed body (the
        // query of the request itself is not signed).
        let messageID = (payload["webhook_url"] as? String).flatMap { URLComponents(string: $0)?.queryItems?.first { $0.name == "message_id" }?.value }
        var properties: [String: Value] = [:]
        let report: Report
        switch data["event_type"] as? String ?? "" {
        case "message.received":
            guard let text = payload["text"] as? String, let from = (payload["from"] as? [String: Any])?["phone_number"] as? String,
                  let phone = try? PhoneNumber.e164(from, defaultCountry: nil)
            else { return try acknowledged() }
            properties["body"] = .string(String(text.prefix(1600)))
            report = Report(path: "$.data.payload", type: SMSKeyword.eventType(for: text), messageID: nil, address: phone, channel: .sms, at: nil, properties: properties)
        case "message.finalized":
            let recipient = (payload["to"] as? [[String: Any]])?.first
            let status = recipient?["status"] as? String ?? ""
            let type: String
            switch status {
            case "delivered": type = ComplianceEvent.smsDelivered
            case "delivery_failed", "sending_failed":
                type = ComplianceEvent.smsFailed
                let code = ((payload["errors"] as? [[String: Any]])?.first?["code"]).map { "\($0)" }
                properties["reason"] = .string("Telnyx \(status)" + (code.map { ": error \($0)" } ?? ""))
            default: return try acknowledged()
            }
            let phone = (recipient?["phone_number"] as? String).flatMap { try? PhoneNumber.e164($0, defaultCountry: nil) }
            report = Report(path: "$.data.payload", type: type, messageID: messageID, address: phone, channel: .sms, at: nil, properties: properties)
        default: return try acknowledged()
        }
        return try await applyProviderReports([report], webhookID: eventID, isArray: false, endpoint: "telnyx")
    }
}

/// Tokens already used, for as long as their timestamps are fresh (they are refused after that anyway).
actor SpentTokens {
    private var spent: [String: Date] = [:]

    /// True the first time a token is seen.
    func spend(_ token: String, at now: Date, keepFor window: TimeInterval) -> Bool {
        if spent.count > 10_000 { spent = spent.filter { now.timeIntervalSince($0.value) < window } }
        if let at = spent[token], now.timeIntervalSince(at) < window { return false }
        spent[token] = now
        return true
    }
}

/// A provider's time, or nil when Nurture cannot read it: the event is then taken at now, never
/// refused for it (a provider does not send a refused webhook again, and a bounce would be lost).
enum ProviderTime {
    static func instant(_ text: String) -> Date? {
        // Postmark's times carry seven fractional digits, which ISO8601DateFormatter refuses: cut to three.
        guard let dot = text.firstIndex(of: "."), let end = text[dot...].firstIndex(where: { !$0.isNumber && $0 != "." }) else {
            return EventInput.parseInstant(text)
        }
        let digits = text[text.index(after: dot)..<end]
        return EventInput.parseInstant(String(text[..<dot]) + "." + String((digits + "000").prefix(3)) + String(text[end...]))
    }
}

enum TwiML {
    static var empty: Response {
        Response(status: .ok, headers: [.contentType: "text/xml"],
                 body: .init(byteBuffer: ByteBuffer(string: "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response></Response>")))
    }
}

extension Data {
    init?(hexString: String) {
        guard hexString.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        var index = hexString.startIndex
        while index < hexString.endIndex {
            let next = hexString.index(index, offsetBy: 2)
            guard let byte = UInt8(hexString[index..<next], radix: 16) else { return nil }
            bytes.append(byte)
            index = next
        }
        self.init(bytes)
    }
}
