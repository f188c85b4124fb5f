public import Foundation
public import NurtureDSL

/// A person Nurture nurtures: built-in fields, declared attributes, consent, stage and score.
public struct Lead: Sendable, Hashable, Codable {
    public var id: String
    public var email: String?
    public var phone: String?
    public var firstName: String?
    public var lastName: String?
    public var company: String?
    public var jobTitle: String?
    public var industry: String?
    public var companySize: Int?
    public var country: String?
    /// IANA time zone name, e.g. `Europe/Lisbon`.
    public var timeZone: String
    /// Where `timeZone` came from: given, or inferred when the lead came without one.
    public var timeZoneSource: TimeZoneSource
    public var source: String?
    public var stage: Stage
    public var score: Double
    public var tags: Set<String>
    public var attributes: [String: Value]
    /// B2B legitimate interest: email is allowed unless withdrawn.
    public var emailConsent: Bool
    /// SMS needs an explicit opt-in.
    public var smsConsent: Bool
    /// The sales rep who owns the lead, assigned when sales first hears of it.
    public var owner: String?

    public init(
        id: String, email: String? = nil, phone: String? = nil, firstName: String? = nil, lastName: String? = nil,
        company: String? = nil, jobTitle: String? = nil, industry: String? = nil, companySize: Int? = nil,
        country: String? = nil, timeZone: String = "UTC", timeZoneSource: TimeZoneSource = .given, source: String? = nil, stage: Stage = .lead,
        score: Double = 0, tags: Set<String> = [], attributes: [String: Value] = [:],
        emailConsent: Bool = true, smsConsent: Bool = false, owner: String? = nil
    ) {
        self.id = id
        self.email = email
        self.phone = phone
        self.firstName = firstName
        self.lastName = lastName
        self.company = company
        self.jobTitle = jobTitle
        self.industry = industry
        self.companySize = companySize
        self.country = country
        self.timeZone = timeZone
        self.timeZoneSource = timeZoneSource
        self.source = source
        self.stage = stage
        self.score = score
        self.tags = tags
        self.attributes = attributes
        self.emailConsent = emailConsent
        self.smsConsent = smsConsent
        self.owner = owner
    }

    /// A built-in field or an attribute by the name campaigns and templates use for it.
    public func value(of name: String) -> Value? {
        switch name {
        case "id": .string(id)
        case "email": email.map(Value.string)
        case "phone": phone.map(Value.string)
        case "first_name": firstName.map(Value.string)
        case "last_name": lastName.map(Value.string)
        case "company": company.map(Value.string)
        case "job_title": jobTitle.map(Value.string)
        case "industry": industry.map(Value.string)
        case "company_size": companySize.map { .number(Double($0)) }
        case "country": country.map(Value.string)
        case "timezone": .string(timeZone)
        case "source": source.map(Value.string)
        case "stage": .string(stage.name)
        case "score": .number(score)
        case "owner": owner.map(Value.string)
        default: attributes[name]
        }
    }

    public var zone: TimeZone { TimeZone(identifier: timeZone) ?? TimeZone(identifier: "UTC")! }
}

/// How a lead's time zone was settled. Inferred zones are worked out again when the country or
/// phone they came from changes; a given one stays until another is given.
public enum TimeZoneSource: String, Sendable, Hashable, Codable, CaseIterable {
    /// From the lead's data: an import's `timezone` column, the API, a lead file.
    case given
    /// From the country, which keeps one clock.
    case country
    /// From the country, which keeps several: the middle one (or the configured default, when it is one of them).
    case countryGuess = "country-guess"
    /// From the phone number's calling code, whose country keeps one clock.
    case phone
    /// From the phone number, whose country (or shared calling code) has several clocks.
    case phoneGuess = "phone-guess"
    /// Nothing to go on: `[sending] default_timezone`, else UTC.
    case fallback = "default"

    /// A guess for a country with more than one zone, or nothing to go by at all.
    public var isGuess: Bool { self == .countryGuess || self == .phoneGuess || self == .fallback }

    /// How `leads show` puts it.
    public var explanation: String {
        switch self {
        case .given: "given"
        case .country: "from the country"
        case .countryGuess: "guessed from the country, which has several zones"
        case .phone: "from the phone number"
        case .phoneGuess: "guessed from the phone number, whose country has several zones"
        case .fallback: "the default: nothing to infer it from"
        }
    }
}

/// Something a lead did, or something Nurture did to a lead.
public struct LeadEvent: Sendable, Hashable, Codable {
    public var type: String
    public var at: Date
    public var properties: [String: Value]

    public init(_ type: String, at: Date, properties: [String: Value] = [:]) {
        self.type = type
        self.at = at
        self.properties = properties
    }
}
