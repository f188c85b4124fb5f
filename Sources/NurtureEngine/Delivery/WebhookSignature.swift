import Crypto
public import Foundation

/// Signs webhook requests per the Standard Webhooks scheme: `webhook-id`, `webhook-timestamp`
/// and `webhook-signature: v1,<base64 HMAC-SHA256(secret, "id.timestamp.body")>`, so any
/// receiver using a Standard Webhooks (or Svix) library can verify what Nurture sends.
public enum WebhookSignature {
    /// `whsec_<base64>` or plain base64, as the specification allows.
    public static func decodeSecret(_ text: String) -> Data? {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        let base64 = trimmed.hasPrefix("whsec_") ? String(trimmed.dropFirst("whsec_".count)) : trimmed
        guard let data = Data(base64Encoded: base64), !data.isEmpty else { return nil }
        return data
    }

    public static func sign(id: String, timestamp: Int, body: Data, secret: Data) -> String {
        var signed = Data("\(id).\(timestamp).".utf8)
        signed.append(body)
        let mac = HMAC<SHA256>.authenticationCode(for: signed, using: SymmetricKey(data: secret))
        return "v1," + Data(mac).base64EncodedString()
    }

    /// Checks a `webhook-signature` header (space-separated `v1,…` entries) in constant time,
    /// and that the timestamp is within `tolerance` of `now`.
    public static func verify(
        id: String, timestamp: String, signatures: String, body: Data, secret: Data, now: Date, tolerance: TimeInterval = 300
    ) -> Bool {
        guard let seconds = Int(timestamp), abs(now.timeIntervalSince1970 - Double(seconds)) <= tolerance else { return false }
        var signed = Data("\(id).\(seconds).".utf8)
        signed.append(body)
        let key = SymmetricKey(data: secret)
        for entry in signatures.split(separator: " ") {
            let parts = entry.split(separator: ",", maxSplits: 1)
            guard parts.count == 2, parts[0] == "v1", let mac = Data(base64Encoded: String(parts[1])) else { continue }
            if HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: signed, using: key) { return true }
        }
        return false
    }
}
