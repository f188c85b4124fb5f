public import Foundation
import Crypto
import Synchronization
public import NurtureStorage

/// People's requests about their data: `nurture leads export` / `GET /v1/leads/{id}/export`
/// and `nurture leads forget` / `DELETE /v1/leads/{id}`.
extension Engine {
    public struct Forgotten: Sendable, Hashable {
        public var leadID: String
        public var counts: ErasureCounts
    }

    /// Everything held about the lead, as JSON a person can read, and the request audited.
    public func export(_ subject: IncomingEvent.Subject, actor: String, now: Date) async throws -> LeadViews.Export? {
        guard let (detail, card) = try await self.detail(subject, now: now, timelineLimit: Self.everything) else { return nil }
        try await store.recordPrivacyRequest(PrivacyAudit(action: .export, leadID: detail.work.lead.id, actor: actor, at: now))
        return LeadViews.export(detail, card: card, at: now)
    }

    /// Erases the lead: its row and every row naming it; its addresses stay suppressed only as
    /// keyed hashes, so an import or an event that brings them back never mails them again.
    public func forget(_ subject: IncomingEvent.Subject, actor: String, now: Date) async throws -> Forgotten? {
        try TextWithNUL.refuse([("lead", subject.text)])
        let key = subject.normalised
        guard let lead = try await store.snapshots([key], window: Self.window(at: now))[key]?.lead else { return nil }
        let hashing = try await erasedAddresses()
        var suppressing: [SuppressionChange] = []
        if let email = lead.email { suppressing.append(SuppressionChange(address: hashing.hashed(email), channel: .email, suppression: ErasedAddresses.suppression)) }
        if let phone = lead.phone { suppressing.append(SuppressionChange(address: hashing.hashed(phone), channel: .sms, suppression: ErasedAddresses.suppression)) }
        let audit = PrivacyAudit(action: .forget, leadID: lead.id, actor: actor, at: now)
        guard let counts = try await store.forget(leadID: lead.id, suppressing: suppressing, audit: audit) else { return nil }
        return Forgotten(leadID: lead.id, counts: counts)
    }

    /// Of these addresses of leads about to be created, those of people who were forgotten.
    func erased(among addresses: [String]) async throws -> Set<String> {
        guard !addresses.isEmpty else { return [] }
        let hashing = try await erasedAddresses()
        let byHash = Dictionary(addresses.map { (hashing.hashed($0), $0) }) { first, _ in first }
        return Set(try await store.suppressedAddresses(among: Array(byHash.keys)).compactMap { byHash[$0] })
    }

    /// The key addresses are hashed with: `NURTURE_ERASURE_SECRET` when set, else a secret the
    /// database keeps (read once per process).
    func erasedAddresses() async throws -> ErasedAddresses {
        if let known = erasureKey.withLock({ $0 }) { return known }
        let secret: Data
        if let fromEnvironment = ProcessInfo.processInfo.environment["NURTURE_ERASURE_SECRET"], !fromEnvironment.isEmpty {
            secret = Data(fromEnvironment.utf8)
        } else {
            secret = try await store.secret(named: "erasure")
        }
        let hashing = ErasedAddresses(secret: secret)
        erasureKey.withLock { $0 = hashing }
        return hashing
    }

    /// No limit, for an export's events and messages.
    static let everything = 10_000_000
}

/// A forgotten person's addresses as the suppression list keeps them: `erased:` and the hex
/// HMAC-SHA256 of the lower-cased address under a secret key, so the list can answer "is this
/// address forgotten?" without holding the address, and a stolen copy of the list cannot be
/// matched against a list of addresses without the key.
public struct ErasedAddresses: Sendable {
    let key: SymmetricKey

    public init(secret: Data) {
        key = SymmetricKey(data: secret)
    }

    public func hashed(_ address: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Data(address.lowercased().utf8), using: key)
        return "erased:" + mac.map { String(format: "%02x", $0) }.joined()
    }

    public static let suppression = Suppression(.all, reason: "asked to be forgotten")
}

/// Where an engine keeps the erasure key once read.
final class ErasureKeyCache: Sendable {
    let value = Mutex<ErasedAddresses?>(nil)

    func withLock<T>(_ body: (inout ErasedAddresses?) -> T) -> T {
        value.withLock { body(&$0) }
    }
}
