import Foundation
public import NurtureDSL
public import NurtureStorage

/// What an import row or an API call says about a lead, keyed by email. Fields left nil keep
/// the stored value, so a CSV without a `timezone` column never resets anyone's zone.
public struct LeadPatch: Sendable, Hashable {
    /// Normalised: trimmed and lower-cased.
    public var email: String
    public var phone: String?
    public var firstName: String?
    public var lastName: String?
    public var company: String?
    public var jobTitle: String?
    public var industry: String?
    public var companySize: Int?
    public var country: String?
    public var timeZone: String?
    public var source: String?
    public var attributes: [String: Value] = [:]
    public var emailConsent: Bool?
    public var smsConsent: Bool?

    public init(email: String) {
        self.email = email.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
    }

    /// The stored lead with this patch applied.
    public func applied(to lead: Lead) -> Lead {
        var lead = lead
        lead.email = email
        if let phone { lead.phone = phone }
        if let firstName { lead.firstName = firstName }
        if let lastName { lead.lastName = lastName }
        if let company { lead.company = company }
        if let jobTitle { lead.jobTitle = jobTitle }
        if let industry { lead.industry = industry }
        if let companySize { lead.companySize = companySize }
        if let country { lead.country = country }
        if let timeZone { (lead.timeZone, lead.timeZoneSource) = (timeZone, .given) }
        if let source { lead.source = source }
        lead.attributes.merge(attributes) { _, new in new }
        if let emailConsent { lead.emailConsent = emailConsent }
        if let smsConsent { lead.smsConsent = smsConsent }
        return lead
    }

    /// A new lead from this patch: email consent by default (B2B legitimate interest, still
    /// suppressible), SMS only with an explicit opt-in; a zone inferred when the patch has none.
    public func newLead(id: String, zones: ZoneInference) -> Lead {
        zones.settled(applied(to: Lead(id: id, timeZone: zones.defaultZone, timeZoneSource: .fallback, emailConsent: true, smsConsent: false)))
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    /// A fresh, unguessable lead id: `ld_`, 11 hex digits of the creation time in milliseconds
    /// and 16 hex digits (64 bits) from the system's CSPRNG. The time prefix makes new ids sort
    /// after older ones, so the lead, enrollment and event indexes keyed by lead id grow at their
    /// right edge instead of rewriting a random page per new lead (the 1M-row import).
    public static func newID() -> String {
        var generator = SystemRandomNumberGenerator()
        let random = generator.next()
        let milliseconds = UInt64(max(0, Date().timeIntervalSince1970 * 1_000))
        var text: [UInt8] = Array("ld_".utf8)
        text.reserveCapacity(30)
        for shift in stride(from: 40, through: 0, by: -4) { text.append(hexDigits[Int((milliseconds >> UInt64(shift)) & 0xF)]) }
        for shift in stride(from: 60, through: 0, by: -4) { text.append(hexDigits[Int((random >> UInt64(shift)) & 0xF)]) }
        return String(decoding: text, as: UTF8.self)
    }
}
