import Crypto
import Foundation
import NurtureEngine

/// Sign-in to the dashboard without server-side state, so any node of a shared deployment can
/// check it: the session cookie is `expiry.nonce.mac`, HMAC-SHA256 under a secret kept in the
/// database; each session's CSRF token is derived from its nonce, and the sign-in form's from a
/// cookie of its own (double submit), so no form can be posted from another site.
struct DashboardSession: Sendable {
    static let cookie = "nurture_session"
    static let loginCookie = "nurture_login"
    static let lifetime: TimeInterval = 12 * 3600

    let key: SymmetricKey

    init(secret: Data) {
        key = SymmetricKey(data: secret)
    }

    func mac(_ text: String) -> String {
        Data(HMAC<SHA256>.authenticationCode(for: Data(text.utf8), using: key)).base64URL
    }

    /// A new session's cookie value.
    func issue(now: Date) -> String {
        let payload = "\(Int(now.timeIntervalSince1970 + Self.lifetime)).\(Self.nonce())"
        return payload + "." + mac("session:" + payload)
    }

    /// The session's nonce when the cookie is ours and unexpired.
    func verify(_ cookie: String?, now: Date) -> String? {
        guard let cookie else { return nil }
        let parts = cookie.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let expiry = Int(parts[0]), Double(expiry) > now.timeIntervalSince1970 else { return nil }
        let payload = "\(parts[0]).\(parts[1])"
        guard Self.same(mac("session:" + payload), String(parts[2])) else { return nil }
        return String(parts[1])
    }

    /// The token every form of the session carries.
    func csrf(session nonce: String) -> String { mac("csrf:" + nonce) }

    /// The sign-in form's token, tied to its own cookie.
    func loginCSRF(_ loginNonce: String) -> String { mac("login:" + loginNonce) }

    static func nonce() -> String {
        Data((0..<18).map { _ in UInt8.random(in: 0...255) }).base64URL
    }

    /// Compares without stopping at the first difference, so timing says nothing of a key.
    static func same(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var difference: UInt8 = 0
        for index in x.indices { difference |= x[index] ^ y[index] }
        return difference == 0
    }
}

/// `application/x-www-form-urlencoded` bodies, as browsers send forms.
enum FormBody {
    /// The last value of each field.
    static func parse(_ text: String) -> [String: String] {
        Dictionary(pairs(text), uniquingKeysWith: { _, last in last })
    }

    /// Every field in order, a name as often as it was sent (checkboxes).
    static func pairs(_ text: String) -> [(String, String)] {
        text.split(separator: "&").compactMap { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ part: Substring) -> String { part.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? "" }
            guard let name = parts.first else { return nil }
            return (decode(name), parts.count > 1 ? decode(parts[1]) : "")
        }
    }
}
