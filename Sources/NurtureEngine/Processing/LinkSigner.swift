import Crypto
public import Foundation

/// Signs the tokens in unsubscribe and tracking links, so a link can be trusted without a
/// database lookup and cannot be forged or pointed elsewhere.
///
/// A token is `base64url(payload).base64url(HMAC-SHA256(secret, payload))`.
public struct LinkSigner: Sendable {
    let key: SymmetricKey
    private let signing: PrekeyedHMAC
    /// Base of every link: `https://nurture.example.com`.
    public let publicURL: String

    public init(secret: Data, publicURL: String) {
        key = SymmetricKey(data: secret)
        signing = PrekeyedHMAC(key: Array(secret))
        self.publicURL = publicURL.hasSuffix("/") ? String(publicURL.dropLast()) : publicURL
    }

    public func token(for payload: String) -> String {
        var payload = payload
        return payload.withUTF8 { bytes in
            let text = UnsafeRawBufferPointer(bytes)
            let mac = signing.code(for: text)
            var out: [UInt8] = []
            out.reserveCapacity((bytes.count + 32) * 4 / 3 + 4)
            Base64URL.append(text, to: &out)
            out.append(UInt8(ascii: "."))
            withUnsafeBytes(of: mac) { Base64URL.append($0, to: &out) }
            return String(decoding: out, as: UTF8.self)
        }
    }

    /// The payload of a token this signer made, or nil for anything tampered with or foreign.
    public func verify(_ token: String) -> String? {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        // Only the canonical encoding counts: base64's unused low bits would otherwise let one
        // token be written several ways.
        guard parts.count == 2, let payload = Data(base64URL: String(parts[0])), let mac = Data(base64URL: String(parts[1])),
              payload.base64URL == parts[0], mac.base64URL == parts[1],
              HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: payload, using: key)
        else { return nil }
        return String(data: payload, encoding: .utf8)
    }

    /// The one-click unsubscribe link of a lead on a channel; it does not expire.
    public func unsubscribeURL(leadID: String, channel: OutgoingMessage.Channel) -> String {
        "\(publicURL)/u/\(token(for: "u1|\(leadID)|\(channel.rawValue)"))"
    }

    /// The lead's preferences page: what it gets by kind, opt-outs and resubscribing; it does not expire.
    public func preferencesURL(leadID: String) -> String {
        "\(publicURL)/p/\(token(for: "p1|\(leadID)"))"
    }

    /// One answer of a survey message: the score is sealed in, so the link can only ever answer
    /// what it says, for the message it was sent in.
    public func surveyURL(messageID: String, answer: Int) -> String {
        "\(publicURL)/s/\(token(for: "s1|\(messageID)|\(answer)"))"
    }

    /// The open-tracking pixel of a message.
    public func openURL(messageID: String) -> String {
        "\(publicURL)/t/o/\(token(for: "o1|\(messageID)"))"
    }

    /// A tracked link: the target is sealed inside the token, so the redirect can only ever go
    /// where the message itself pointed.
    public func clickURL(messageID: String, target: String) -> String {
        "\(publicURL)/t/c/\(token(for: "c1|\(messageID)|\(target)"))"
    }

    /// What a signed link stands for.
    public enum Link: Sendable, Hashable {
        case unsubscribe(leadID: String, channel: OutgoingMessage.Channel)
        case preferences(leadID: String)
        case survey(messageID: String, answer: Int)
        case open(messageID: String)
        case click(messageID: String, target: String)
    }

    /// The link a token stands for, or nil when it is tampered with, foreign or malformed.
    public func link(_ token: String) -> Link? {
        guard let payload = verify(token) else { return nil }
        let parts = payload.split(separator: "|", maxSplits: 2, omittingEmptySubsequences: false).map(String.init)
        switch parts.first {
        case "u1" where parts.count == 3:
            return OutgoingMessage.Channel(rawValue: parts[2]).map { .unsubscribe(leadID: parts[1], channel: $0) }
        case "s1" where parts.count == 3:
            return Int(parts[2]).map { .survey(messageID: parts[1], answer: $0) }
        case "p1" where parts.count == 2:
            return .preferences(leadID: parts[1])
        case "o1" where parts.count == 2:
            return .open(messageID: parts[1])
        case "c1" where parts.count == 3:
            return .click(messageID: parts[1], target: parts[2])
        default:
            return nil
        }
    }
}

/// Base64url without padding (RFC 4648 §5), written directly: it runs for every link of every
/// message. The dashboard's session tokens use it too.
enum Base64URL {
    private static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    static func append(_ bytes: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        alphabet.withUnsafeBufferPointer { alphabet in
            var index = 0
            while index < bytes.count {
                let b0 = bytes[index]
                let b1 = index + 1 < bytes.count ? bytes[index + 1] : 0
                let b2 = index + 2 < bytes.count ? bytes[index + 2] : 0
                let remaining = bytes.count - index
                out.append(alphabet[Int(b0 >> 2)])
                out.append(alphabet[Int((b0 & 0x03) << 4 | b1 >> 4)])
                if remaining > 1 { out.append(alphabet[Int((b1 & 0x0F) << 2 | b2 >> 6)]) }
                if remaining > 2 { out.append(alphabet[Int(b2 & 0x3F)]) }
                index += 3
            }
        }
    }
}

extension Data {
    public var base64URL: String {
        withUnsafeBytes { bytes in
            var out: [UInt8] = []
            out.reserveCapacity((bytes.count * 4 + 2) / 3)
            Base64URL.append(bytes, to: &out)
            return String(decoding: out, as: UTF8.self)
        }
    }

    init?(base64URL text: String) {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        self.init(base64Encoded: base64)
    }
}
