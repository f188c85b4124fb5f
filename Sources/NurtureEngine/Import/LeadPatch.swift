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
        if let timeZone { lead.timeZone = timeZone }
        if let source { lead.source = source }
        lead.attributes.merge(attributes) { _, new in new }
        if let emailConsent { lead.emailConsent = emailConsent }
        if let smsConsent { lead.smsConsent = smsConsent }
        return lead
    }

    /// A new lead from this patch: email consent by default (B2B legitimate interest, still
    /// suppressible), SMS only with an explicit opt-in.
    public func newLead(id: String) -> Lead {
        applied(to: Lead(id: id, timeZone: "UTC", emailConsent: true, smsConsent: false))
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    /// A fresh, unguessable lead id: `ld_` and 20 hex digits from the system's CSPRNG.
    public static func newID() -> String {
        // Two 64-bit draws: one getrandom call each, not one per byte.
        var generator = SystemRandomNumberGenerator()
        let high = generator.next(), low = generator.next()
        var text: [UInt8] = Array("ld_".utf8)
        text.reserveCapacity(23)
        for shift in stride(from: 60, through: 0, by: -4) { text.append(hexDigits[Int((high >> UInt64(shift)) & 0xF)]) }
        for shift in stride(from: 60, through: 44, by: -4) { text.append(hexDigits[Int((low >> UInt64(shift)) & 0xF)]) }
        return String(decoding: text, as: UTF8.self)
    }
}
