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
        country: String? = nil, timeZone: String = "UTC", source: String? = nil, stage: Stage = .lead,
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
