import Crypto
import Foundation

/// AWS Signature Version 4 (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html):
/// a canonical request, a string to sign over its hash, and an HMAC chain from the secret key
/// through the date, region and service. `SigV4Tests` holds it to AWS's published test vectors
/// and to botocore.
struct AWSSignatureV4: Sendable {
    var accessKeyID: String
    var secretAccessKey: String
    /// Temporary credentials (an assumed role) carry one; it is sent as `X-Amz-Security-Token`.
    var sessionToken: String?
    var region: String
    var service: String

    struct Signed: Sendable, Equatable {
        var canonicalRequest: String
        var stringToSign: String
        var authorization: String
        /// Every header to send, the signed ones and `Authorization`.
        var headers: [(String, String)]

        static func == (a: Signed, b: Signed) -> Bool {
            a.canonicalRequest == b.canonicalRequest && a.stringToSign == b.stringToSign && a.authorization == b.authorization
        }
    }

    /// Signs a request. `headers` must include `Host`; `X-Amz-Date` (and the session token) are added.
    func sign(method: String, path: String, query: [(String, String)] = [], headers: [(String, String)], payload: Data, at date: Date) -> Signed {
        let amzDate = Self.timestamp(date)
        let day = String(amzDate.prefix(8))
        var all = headers + [("X-Amz-Date", amzDate)]
        if let sessionToken { all.append(("X-Amz-Security-Token", sessionToken)) }
        // Lower-cased names, values trimmed with inner runs of spaces folded; repeated names joined by commas.
        var canonical: [String: [String]] = [:]
        for (name, value) in all {
            let folded = value.trimmingCharacters(in: .whitespaces).split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
            canonical[name.lowercased(), default: []].append(folded)
        }
        let names = canonical.keys.sorted()
        let signedHeaders = names.joined(separator: ";")
        let canonicalHeaders = names.map { "\($0):\(canonical[$0]!.joined(separator: ","))\n" }.joined()
        let encodedQuery: [(name: String, value: String)] = query.map { (Self.encode($0.0), Self.encode($0.1)) }
        let sortedQuery = encodedQuery.sorted { a, b in a.name == b.name ? a.value < b.value : a.name < b.name }
        let canonicalQuery = sortedQuery.map { "\($0.name)=\($0.value)" }.joined(separator: "&")
        let canonicalPath = path.isEmpty ? "/" : path.split(separator: "/", omittingEmptySubsequences: false).map { Self.encode(String($0)) }.joined(separator: "/")
        let canonicalRequest = [method, canonicalPath, canonicalQuery, canonicalHeaders, signedHeaders, Self.hex(SHA256.hash(data: payload))]
            .joined(separator: "\n")
        let scope = "\(day)/\(region)/\(service)/aws4_request"
        let stringToSign = ["AWS4-HMAC-SHA256", amzDate, scope, Self.hex(SHA256.hash(data: Data(canonicalRequest.utf8)))].joined(separator: "\n")
        var key = SymmetricKey(data: Data("AWS4\(secretAccessKey)".utf8))
        for part in [day, region, service, "aws4_request"] {
            key = SymmetricKey(data: Data(HMAC<SHA256>.authenticationCode(for: Data(part.utf8), using: key)))
        }
        let signature = Self.hex(HMAC<SHA256>.authenticationCode(for: Data(stringToSign.utf8), using: key))
        let authorization = "AWS4-HMAC-SHA256 Credential=\(accessKeyID)/\(scope), SignedHeaders=\(signedHeaders), Signature=\(signature)"
        return Signed(canonicalRequest: canonicalRequest, stringToSign: stringToSign, authorization: authorization,
                      headers: all + [("Authorization", authorization)])
    }

    /// `YYYYMMDD'T'HHMMSS'Z'` in UTC.
    static func timestamp(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        return String(format: "%04d%02d%02dT%02d%02d%02dZ", c.year!, c.month!, c.day!, c.hour!, c.minute!, c.second!)
    }

    /// RFC 3986 percent-encoding of everything but the unreserved characters, as SigV4 asks.
    static func encode(_ text: String) -> String { ProviderHTTP.encode(text) }

    static func hex<D: Sequence>(_ bytes: D) -> String where D.Element == UInt8 { ProviderHTTP.hex(bytes) }
}

/// Amazon SES API v2 `SendEmail` (https://docs.aws.amazon.com/ses/latest/APIReference-V2/API_SendEmail.html),
/// signed with SigV4. The message id rides as the `EmailTags` entry `nurture_message_id`, which
/// SES event publishing returns in `mail.tags`.
struct SESAPI: ProviderAPI {
    let name = "Amazon SES"
    var baseURL: URL
    var signer: AWSSignatureV4
    var sender: EmailSender
    var configurationSet: String?

    struct Text: Encodable {
        var Data: String
        var Charset = "UTF-8"
    }

    struct Header: Encodable {
        var Name: String
        var Value: String
    }

    struct Body: Encodable {
        var Text: Text?
        var Html: Text?
    }

    struct Simple: Encodable {
        var Subject: Text
        var Body: Body
        var Headers: [Header]?
    }

    struct Content: Encodable { var Simple: Simple }
    struct Destination: Encodable { var ToAddresses: [String] }
    struct Tag: Encodable {
        var Name: String
        var Value: String
    }

    struct SendEmail: Encodable {
        var FromEmailAddress: String
        var Destination: Destination
        var ReplyToAddresses: [String]?
        var Content: Content
        var EmailTags: [Tag]
        var ConfigurationSetName: String?
    }

    func request(for messages: [OutgoingEmailOrSMS], now: Date) throws -> ProviderRequest {
        let message = messages[0]
        let headers = (message.rendered.headers ?? [:]).sorted { $0.key < $1.key }.map { Header(Name: $0.key, Value: $0.value) }
        // Tag values allow letters, digits, '_', '-' and '.'; campaign and step ids are such already.
        let tags = EmailMetadata.values(message).sorted { $0.key < $1.key }.map { Tag(Name: $0.key, Value: Self.tagValue($0.value)) }
        let send = SendEmail(
            FromEmailAddress: Self.encodedMailbox(sender.from), Destination: Destination(ToAddresses: [message.rendered.to]),
            ReplyToAddresses: sender.replyTo.map { [$0] },
            Content: Content(Simple: Simple(
                Subject: Text(Data: message.rendered.subject ?? ""),
                Body: Body(Text: message.rendered.text.map { Text(Data: $0) }, Html: message.rendered.html.map { Text(Data: $0) }),
                Headers: headers.isEmpty ? nil : headers)),
            EmailTags: tags, ConfigurationSetName: configurationSet)
        let body = try ProviderHTTP.jsonEncoder.encode(send)
        let url = baseURL.appendingPathComponent("v2/email/outbound-emails")
        let host = url.host.map { host in url.port.map { "\(host):\($0)" } ?? host } ?? ""
        let signed = signer.sign(method: "POST", path: url.path, headers: [("Host", host), ("Content-Type", "application/json")], payload: body, at: now)
        return ProviderRequest(url: url, headers: signed.headers.filter { $0.0 != "Host" }, body: body)
    }

    /// SES takes a sender's display name only in 7-bit ASCII: any other is sent as an RFC 2047
    /// encoded-word (`=?UTF-8?B?…?=`).
    static func encodedMailbox(_ text: String) -> String {
        let mailbox = MailboxAddress(text)
        guard let name = mailbox.name, !name.allSatisfy(\.isASCII) else { return text }
        return "=?UTF-8?B?\(Data(name.utf8).base64EncodedString())?= <\(mailbox.address)>"
    }

    static func tagValue(_ text: String) -> String {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.")
        return String(text.map { allowed.contains($0) ? $0 : "_" }.prefix(256))
    }

    struct Answer: Decodable {
        var message: String?
        var Message: String?
        var __type: String?
    }

    /// SES v2 errors (https://docs.aws.amazon.com/ses/latest/APIReference-V2/API_SendEmail.html#API_SendEmail_Errors):
    /// the type in `X-Amzn-ErrorType` (or the body's `__type`), up to its first colon.
    func outcomes(of response: HTTPTransportResponse, for messages: [OutgoingEmailOrSMS], now: Date) -> [DeliveryResult] {
        let answer = try? JSONDecoder().decode(Answer.self, from: response.body)
        let type = (response.headers["x-amzn-errortype"] ?? answer?.__type ?? "").split(separator: ":").first.map(String.init)?
            .split(separator: "#").last.map(String.init) ?? ""
        let detail = "\(name): HTTP \(response.status) \(type): \(answer?.message ?? answer?.Message ?? ProviderHTTP.excerpt(response.body))"
        let result: DeliveryResult
        switch (response.status, type) {
        case (200..<300, _): result = .delivered
        case (_, "TooManyRequestsException"), (_, "LimitExceededException"), (_, "ThrottlingException"), (429, _), (500..<600, _):
            result = .transient(detail, after: response.headers["retry-after"].flatMap { WebhookChannel.retryAfter($0, now: now) })
        // The account or its sending is paused, the sender is not verified yet, the credentials are
        // wrong: the message is fine and must go once the account is fixed.
        case (_, "AccountSuspendedException"), (_, "SendingPausedException"), (_, "MailFromDomainNotVerifiedException"), (_, "NotFoundException"),
             (_, "UnrecognizedClientException"), (_, "InvalidSignatureException"), (_, "SignatureDoesNotMatch"), (_, "ExpiredTokenException"),
             (_, "AccessDeniedException"), (401, _), (403, _):
            result = .transient(detail, after: .seconds(300))
        default: result = .permanent(detail)
        }
        return Array(repeating: result, count: messages.count)
    }
}
