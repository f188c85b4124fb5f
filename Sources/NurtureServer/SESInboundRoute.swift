import AsyncHTTPClient
import Crypto
public import Foundation
import HTTPTypes
import Hummingbird
import NurtureDSL
import NurtureEngine
import X509

/// Amazon SES events through an SNS topic's HTTPS subscription
/// (https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html): every
/// message is checked against the signing certificate SNS names, which must come from an Amazon
/// SNS host over https; signature version 1 is SHA1withRSA and 2 SHA256withRSA over the
/// message's fields in their documented order. Only the topics in `[inbound.ses] topic_arn` are
/// taken. A subscription confirmation is confirmed by fetching its SubscribeURL (an SNS host too).
extension NurtureServer {
    /// How long SNS may take to deliver (it retries); older messages are refused.
    static let snsTolerance: TimeInterval = 3600

    func inboundSES(_ request: Request) async throws -> Response {
        let topics = settings.inboundProviders.sesTopicARNs
        guard !topics.isEmpty else { throw Self.notConfigured("ses", "topic_arn") }
        let body = try await JSONBody.collect(request, limit: settings.maxBodyBytes)
        guard let envelope = try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any],
              let type = envelope["Type"] as? String, let messageID = envelope["MessageId"] as? String,
              let topic = envelope["TopicArn"] as? String, let timestamp = envelope["Timestamp"] as? String,
              let version = envelope["SignatureVersion"] as? String, let signatureText = envelope["Signature"] as? String,
              let signature = Data(base64Encoded: signatureText), let certificateText = envelope["SigningCertURL"] as? String
        else { throw Self.badSignature }
        guard topics.contains(topic) else { throw APIError(.unauthorized, code: "unknown_topic", message: "topic \(topic) is not in [inbound.ses] topic_arn") }
        // The topic's region: SNS signs with a certificate of its own region.
        let region = topic.split(separator: ":", omittingEmptySubsequences: false).dropFirst(3).first.map(String.init)
        guard let certificateURL = URL(string: certificateText), Self.isSNSHost(certificateURL, region: region), certificateURL.query == nil,
              certificateURL.fragment == nil, Self.isCertificatePath(certificateURL.path)
        else {
            throw APIError(.unauthorized, code: "bad_certificate_url", message: "SigningCertURL must be an SNS signing certificate of the topic's region, over https")
        }
        let fields: [String] = switch type {
        case "Notification": ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
        case "SubscriptionConfirmation", "UnsubscribeConfirmation": ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"]
        default: throw APIError.invalid([.init(path: "$.Type", message: "'\(type)' is not an SNS message type")])
        }
        // Each present field's name and value, each followed by a newline; Subject only when present.
        var signed = ""
        for name in fields {
            guard let value = envelope[name] as? String else {
                if name == "Subject" { continue }
                throw Self.badSignature
            }
            signed += "\(name)\n\(value)\n"
        }
        let algorithm: Certificate.SignatureAlgorithm
        switch version {
        case "1": algorithm = .sha1WithRSAEncryption
        case "2": algorithm = .sha256WithRSAEncryption
        default: throw Self.badSignature
        }
        let certificate = try await snsCertificates.certificate(at: certificateURL, fetch: settings.fetchSNS)
        guard certificate.publicKey.isValidSignature(signature, for: Data(signed.utf8), signatureAlgorithm: algorithm) else { throw Self.badSignature }
        guard let sent = EventInput.parseInstant(timestamp), abs(now().timeIntervalSince(sent)) <= Self.snsTolerance else {
            throw APIError(.unauthorized, code: "stale", message: "the SNS message's Timestamp is more than an hour from now")
        }
        switch type {
        case "SubscriptionConfirmation":
            guard let subscribe = (envelope["SubscribeURL"] as? String).flatMap(URL.init(string:)), Self.isSNSHost(subscribe, region: region) else {
                throw APIError.invalid([.init(path: "$.SubscribeURL", message: "must be an https URL of an Amazon SNS host")])
            }
            _ = try await settings.fetchSNS(subscribe)
            return try acknowledged()
        case "UnsubscribeConfirmation":
            return try acknowledged()
        default:
            break
        }
        guard let text = envelope["Message"] as? String, let event = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
            return try acknowledged()
        }
        let reports = Self.sesReports(event, timestamp: timestamp)
        return try await applyProviderReports(reports, webhookID: messageID, isArray: reports.count > 1, endpoint: "ses")
    }

    /// `https://sns.REGION.amazonaws.com[.cn]/…` for the topic's region, and nothing else that
    /// sits under amazonaws.com (an S3 bucket named "sns" has a host of that shape).
    static func isSNSHost(_ url: URL, region: String?) -> Bool {
        guard url.scheme == "https", url.port == nil || url.port == 443, url.user == nil, url.password == nil,
              let host = url.host?.lowercased(), let region, isRegion(region)
        else { return false }
        return host == "sns.\(region).amazonaws.com" || (region.hasPrefix("cn-") && host == "sns.\(region).amazonaws.com.cn")
    }

    /// `us-east-1`, `eu-west-2`, `us-gov-west-1`, `cn-north-1`: letters, a dash, letters, a dash, a digit.
    static func isRegion(_ text: String) -> Bool {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard (3...4).contains(parts.count), let last = parts.last, last.count == 1, last.allSatisfy({ $0.isASCII && $0.isNumber }) else { return false }
        return parts.dropLast().allSatisfy { !$0.isEmpty && $0.allSatisfy { $0.isASCII && $0.isLowercase } }
    }

    /// `/SimpleNotificationService-<hex>.pem`, the only certificates SNS signs with.
    static func isCertificatePath(_ path: String) -> Bool {
        guard path.hasPrefix("/SimpleNotificationService-"), path.hasSuffix(".pem") else { return false }
        let hex = path.dropFirst("/SimpleNotificationService-".count).dropLast(".pem".count)
        return !hex.isEmpty && hex.allSatisfy { $0.isHexDigit && $0.isASCII }
    }

    /// An SES event (`eventType`, or the older `notificationType`) as one report per recipient.
    static func sesReports(_ event: [String: Any], timestamp: String) -> [Report] {
        let kind = event["eventType"] as? String ?? event["notificationType"] as? String ?? ""
        let mail = event["mail"] as? [String: Any]
        let messageID = ((mail?["tags"] as? [String: Any])?[EmailMetadata.messageKey] as? [String])?.first
        var type: String
        var properties: [String: Value] = [:]
        var recipients: [String]
        switch kind {
        case "Bounce":
            let bounce = event["bounce"] as? [String: Any]
            recipients = (bounce?["bouncedRecipients"] as? [[String: Any]])?.compactMap { $0["emailAddress"] as? String } ?? []
            guard let bounceType = bounce?["bounceType"] as? String, bounceType != "Undetermined" else { return [] }
            type = ComplianceEvent.emailBounced
            properties["bounce"] = .string(bounceType == "Permanent" ? "hard" : "soft")
            properties["reason"] = .string("SES \(bounceType)/\(bounce?["bounceSubType"] as? String ?? "")")
        case "Complaint":
            recipients = ((event["complaint"] as? [String: Any])?["complainedRecipients"] as? [[String: Any]])?.compactMap { $0["emailAddress"] as? String } ?? []
            type = ComplianceEvent.emailComplained
        case "Delivery":
            recipients = (event["delivery"] as? [String: Any])?["recipients"] as? [String] ?? []
            type = ComplianceEvent.emailDelivered
        case "Open", "Click":
            recipients = (mail?["destination"] as? [String]) ?? []
            type = kind == "Open" ? ComplianceEvent.emailOpened : ComplianceEvent.emailClicked
        default:
            return []
        }
        return recipients.enumerated().map { index, address in
            Report(path: "$.Message", type: type, messageID: messageID, address: address.lowercased(), channel: .email, at: ProviderTime.instant(timestamp), properties: properties)
        }
    }
}

/// SNS signing certificates by URL, fetched once: SNS signs every message with the same few.
actor SNSCertificates {
    private var byURL: [URL: Certificate] = [:]

    func certificate(at url: URL, fetch: @Sendable (URL) async throws -> Data) async throws -> Certificate {
        if let known = byURL[url] { return known }
        // SNS rotates among a handful; a full cache means something is being probed.
        if byURL.count >= 32 { byURL.removeAll() }
        let data: Data
        do {
            data = try await fetch(url)
        } catch {
            throw APIError(.serviceUnavailable, code: "certificate_unavailable", message: "could not fetch the SNS signing certificate: \(error)")
        }
        guard let certificate = try? Certificate(pemEncoded: String(decoding: data, as: UTF8.self)) else {
            throw APIError(.unauthorized, code: "bad_certificate", message: "the SNS signing certificate is not a PEM certificate")
        }
        byURL[url] = certificate
        return certificate
    }
}

/// GETs of SNS URLs: small answers, no redirects, a short timeout.
public enum SNSFetch {
    static let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(redirectConfiguration: .disallow))

    public struct Failed: Error, CustomStringConvertible {
        public let description: String
    }

    @Sendable public static func get(_ url: URL) async throws -> Data {
        let response = try await client.execute(HTTPClientRequest(url: url.absoluteString), timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 64 << 10)
        guard response.status == .ok else { throw Failed(description: "\(url.host ?? "") answered \(response.status.code)") }
        return Data(body.readableBytesView)
    }
}
