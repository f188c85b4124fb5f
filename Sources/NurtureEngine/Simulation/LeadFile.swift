public import Foundation
public import NurtureDSL
public import NurtureStorage

/// A lead described in JSON for `simulate`, with the same field names as CSV imports:
/// `{"email": "ana@example.com", "first_name": "Ana", "timezone": "Europe/Lisbon", "attributes": {"plan": "pro"}}`.
/// An optional `"trigger"` object gives the properties of the event that enrolled it.
public struct LeadFile: Sendable {
    public var lead: Lead
    public var trigger: [String: Value]

    public struct Problem: Error, CustomStringConvertible {
        public let path: String
        public let reason: String
        public var description: String { "\(path): \(reason)" }
    }

    public static func load(_ path: String) throws -> LeadFile {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw Problem(path: path, reason: "cannot read the lead file")
        }
        return try decode(data, path: path)
    }

    public static func decode(_ data: Data, path: String) throws -> LeadFile {
        let raw: Raw
        do {
            raw = try JSONDecoder().decode(Raw.self, from: data)
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context) {
            throw Problem(path: path, reason: "field '\(context.codingPath.map(\.stringValue).joined(separator: "."))' has the wrong type")
        } catch {
            throw Problem(path: path, reason: "not a JSON object describing a lead")
        }
        let zone = raw.timezone ?? "UTC"
        guard TimeZone(identifier: zone) != nil else {
            throw Problem(path: path, reason: "unknown time zone '\(zone)' (use an IANA name such as Europe/Lisbon)")
        }
        var stage = Stage.lead
        if let name = raw.stage {
            guard let known = Stage(name: name) else {
                throw Problem(path: path, reason: "unknown stage '\(name)' (one of \(Stage.allCases.map(\.name).joined(separator: ", ")))")
            }
            stage = known
        }
        var lead = Lead(
            id: raw.id ?? raw.email ?? "lead-1", email: raw.email, phone: raw.phone, firstName: raw.first_name,
            lastName: raw.last_name, company: raw.company, jobTitle: raw.job_title, industry: raw.industry,
            companySize: raw.company_size, country: raw.country.map { TimeZoneNames.countryCode($0) ?? $0 }, timeZone: zone,
            timeZoneSource: raw.timezone == nil ? .fallback : .given, source: raw.source, stage: stage,
            score: raw.score ?? 0, tags: Set(raw.tags ?? []), attributes: raw.attributes ?? [:],
            emailConsent: raw.email_consent ?? true, smsConsent: raw.sms_consent ?? false)
        // A file without a zone is simulated where its country or phone says it lives.
        ZoneInference().settle(&lead)
        return LeadFile(lead: lead, trigger: raw.trigger ?? [:])
    }

    // Field names match CSV columns, hence snake case.
    private struct Raw: Decodable {
        var id: String?
        var email: String?
        var phone: String?
        var first_name: String?
        var last_name: String?
        var company: String?
        var job_title: String?
        var industry: String?
        var company_size: Int?
        var country: String?
        var timezone: String?
        var source: String?
        var stage: String?
        var score: Double?
        var tags: [String]?
        var attributes: [String: Value]?
        var email_consent: Bool?
        var sms_consent: Bool?
        var trigger: [String: Value]?
    }
}
