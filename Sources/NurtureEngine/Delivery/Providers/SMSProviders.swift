import Crypto
import Foundation

/// Twilio Programmable Messaging (https://www.twilio.com/docs/messaging/api/message-resource#create-a-message-resource):
/// a form POST with basic auth. Twilio carries no metadata of ours, so the status callback URL
/// names the message: `…/v1/inbound/twilio?message_id=msg_…` (Twilio signs the whole URL).
struct TwilioAPI: ProviderAPI {
    let name = "Twilio"
    var baseURL: URL
    var accountSID: String
    var authToken: String
    /// A sending number (`From`) or a Messaging Service (`MessagingServiceSid`).
    var from: String?
    var messagingServiceSID: String?
    /// Where Twilio reports delivery; nil sends without a callback.
    var statusCallback: URL?

    func request(for messages: [OutgoingEmailOrSMS], now: Date) throws -> ProviderRequest {
        let message = messages[0]
        var fields: [(String, String)] = [("To", message.rendered.to)]
        if let messagingServiceSID { fields.append(("MessagingServiceSid", messagingServiceSID)) } else if let from { fields.append(("From", from)) }
        fields.append(("Body", message.text))
        if let statusCallback, var components = URLComponents(url: statusCallback, resolvingAgainstBaseURL: false) {
            components.queryItems = (components.queryItems ?? []) + [URLQueryItem(name: "message_id", value: message.message.id)]
            if let url = components.url { fields.append(("StatusCallback", url.absoluteString)) }
        }
        return ProviderRequest(
            url: baseURL.appendingPathComponent("2010-04-01/Accounts/\(accountSID)/Messages.json"),
            headers: [("Authorization", ProviderHTTP.basicAuthorization(user: accountSID, password: authToken)),
                      ("Content-Type", "application/x-www-form-urlencoded"), ("Accept", "application/json")],
            body: ProviderHTTP.form(fields))
    }

    struct Answer: Decodable {
        var code: Int?
        var message: String?
    }

    /// Addresses Twilio will never deliver to (https://www.twilio.com/docs/api/errors):
    /// 21610 the recipient replied STOP, 21211 an invalid To number, 21612 a To number not
    /// reachable by SMS, 21614 not a mobile number, 21635 a landline.
    static let undeliverableCodes: Set<Int> = [21610, 21211, 21612, 21614, 21635]
    /// The account, not the message: authentication (20003), a wrong account URL (20404), a
    /// region not enabled (21408), a From number not SMS-capable (21606), an unverified trial
    /// recipient (21608), a suspended account (30002). Retried until someone fixes it.
    static let accountCodes: Set<Int> = [20003, 20404, 21408, 21606, 21608, 30002]

    func outcomes(of response: HTTPTransportResponse, for messages: [OutgoingEmailOrSMS], now: Date) -> [DeliveryResult] {
        let answer = try? JSONDecoder().decode(Answer.self, from: response.body)
        let code = answer?.code ?? 0
        let detail = "\(name) error \(code): \(answer?.message ?? ProviderHTTP.excerpt(response.body))"
        let result: DeliveryResult
        if (200..<300).contains(response.status) {
            result = .delivered
        } else if Self.undeliverableCodes.contains(code) {
            result = .undeliverable(detail, optedOut: code == 21610)
        } else if Self.accountCodes.contains(code) || response.status == 401 || response.status == 403 {
            result = .transient(detail, after: .seconds(300))
        } else if code == 20429 || response.status == 429 || response.status >= 500 {
            result = .transient(detail, after: response.headers["retry-after"].flatMap { WebhookChannel.retryAfter($0, now: now) })
        } else {
            result = .permanent(detail)
        }
        return Array(repeating: result, count: messages.count)
    }
}

/// Telnyx Messaging (https://developers.telnyx.com/api/messaging/send-message): JSON with a
/// bearer API key. Like Twilio it keeps no metadata of ours, so the per-message `webhook_url`
/// names the message.
struct TelnyxAPI: ProviderAPI {
    let name = "Telnyx"
    var baseURL: URL
    var apiKey: String
    var from: String?
    var messagingProfileID: String?
    var webhookURL: URL?

    struct Send: Encodable {
        var to: String
        var text: String
        var from: String?
        var messaging_profile_id: String?
        var webhook_url: String?
        var use_profile_webhooks: Bool?
    }

    func request(for messages: [OutgoingEmailOrSMS], now: Date) throws -> ProviderRequest {
        let message = messages[0]
        var callback: String?
        if let webhookURL, var components = URLComponents(url: webhookURL, resolvingAgainstBaseURL: false) {
            components.queryItems = (components.queryItems ?? []) + [URLQueryItem(name: "message_id", value: message.message.id)]
            callback = components.url?.absoluteString
        }
        let send = Send(to: message.rendered.to, text: message.text, from: from, messaging_profile_id: messagingProfileID,
                        webhook_url: callback, use_profile_webhooks: callback == nil ? nil : false)
        return ProviderRequest(
            url: baseURL.appendingPathComponent("v2/messages"),
            headers: [("Authorization", "Bearer \(apiKey)"), ("Content-Type", "application/json"), ("Accept", "application/json")],
            body: try ProviderHTTP.jsonEncoder.encode(send))
    }

    struct Errors: Decodable {
        struct Source: Decodable { var pointer: String? }
        struct Item: Decodable {
            var code: String?
            var title: String?
            var detail: String?
            var source: Source?
        }
        var errors: [Item]
    }

    /// Telnyx messaging error codes (https://developers.telnyx.com/docs/messaging/messages/error-codes):
    /// 40300 blocked by the recipient's STOP, 40001 not routable (a landline), 10002 an invalid
    /// number (the recipient's only when it points at `/to`: a bad `from` is the account's).
    static let undeliverableCodes: Set<String> = ["40300", "40001", "10002"]

    func outcomes(of response: HTTPTransportResponse, for messages: [OutgoingEmailOrSMS], now: Date) -> [DeliveryResult] {
        let first = (try? JSONDecoder().decode(Errors.self, from: response.body))?.errors.first
        let detail = "\(name) error \(first?.code ?? "?"): \(first?.detail ?? first?.title ?? ProviderHTTP.excerpt(response.body))"
        let result: DeliveryResult
        if (200..<300).contains(response.status) {
            result = .delivered
        } else if let code = first?.code, Self.undeliverableCodes.contains(code), code != "10002" || first?.source?.pointer == "/to" {
            result = .undeliverable(detail, optedOut: code == "40300")
        } else if response.status == 401 || response.status == 403 {
            result = .transient(detail, after: .seconds(300))
        } else {
            result = ProviderHTTP.generic(response, provider: name, detail: detail, now: now)
            if case .transient(_, let after) = result { return Array(repeating: .transient(detail, after: after), count: messages.count) }
            if case .permanent = result { return Array(repeating: .permanent(detail), count: messages.count) }
        }
        return Array(repeating: result, count: messages.count)
    }
}

/// `X-Twilio-Signature` (https://www.twilio.com/docs/usage/webhooks/webhooks-security): base64
/// HMAC-SHA1 with the auth token over the URL Twilio called followed by every POST parameter,
/// sorted by name, each name then its value.
public enum TwilioSignature {
    public static func sign(url: String, fields: [(String, String)], token: String) -> String {
        let signed = url + fields.sorted { $0.0 == $1.0 ? $0.1 < $1.1 : $0.0 < $1.0 }.map { $0.0 + $0.1 }.joined()
        return Data(HMAC<Insecure.SHA1>.authenticationCode(for: Data(signed.utf8), using: SymmetricKey(data: Data(token.utf8)))).base64EncodedString()
    }
}
