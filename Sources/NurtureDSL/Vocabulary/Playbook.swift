/// Everything in `Campaigns/`: the sender's identity, the lead attributes campaigns may use, and
/// the campaigns themselves. The `nurture` binary reads the one named `playbook`.
public struct Playbook: Sendable {
    public var brand: Brand
    public var attributes: [Attribute]
    public var campaigns: [Campaign]
    /// The lead-scoring model (`Campaigns/Scoring.swift`), if the playbook scores leads.
    public var scoring: ScoringModel?
    /// The buyers the playbook writes for, first match wins.
    public var personas: [Persona]
    /// Buying signals templates can show content for (`{{#did.NAME}}`).
    public var signals: [Signal]

    public init(
        brand: Brand, scoring: ScoringModel? = nil, personas: [Persona] = [], signals: [Signal] = [],
        @AttributeBuilder attributes: () -> [Attribute], @CampaignListBuilder campaigns: () -> [Campaign]
    ) {
        self.brand = brand
        self.scoring = scoring
        self.personas = personas
        self.signals = signals
        self.attributes = attributes()
        self.campaigns = campaigns()
    }

    public func campaign(_ id: String) -> Campaign? { campaigns.first { $0.id == id } }

    public func attribute(_ name: String) -> Attribute? { attributes.first { $0.name == name } }

    /// Whether a lead can carry a value under this name: a built-in field or a declared attribute.
    public func knowsLeadValue(_ name: String) -> Bool {
        LeadField.names.contains(name) || attribute(name) != nil || (name == Persona.attribute && !personas.isEmpty)
    }

    public func persona(_ id: String) -> Persona? { personas.first { $0.id == id } }

    public func signal(_ id: String) -> Signal? { signals.first { $0.id == id } }
}

/// A lead attribute beyond the built-in fields, declared so that campaigns and templates using it
/// can be checked.
public struct Attribute: Sendable {
    public let name: String
    public let type: AttributeType
    public let summary: String
    /// What templates show when a lead has no value.
    public let defaultValue: Value?
    public let location: Step.Location

    public init(
        _ name: String, _ type: AttributeType, _ summary: String = "", default defaultValue: Value? = nil,
        fileID: String = #fileID, line: UInt = #line
    ) {
        self.name = name
        self.type = type
        self.summary = summary
        self.defaultValue = defaultValue
        location = Step.Location(fileID: fileID, line: line)
    }
}

/// Who the mail comes from; templates read it as `{{brand.name}}`, `{{brand.postal_address}}`, …
public struct Brand: Sendable {
    public var name: String
    public var senderName: String
    public var website: String
    public var postalAddress: String
    public var supportEmail: String
    public var supportPhone: String
    public var billingEmail: String

    public init(
        name: String, senderName: String, website: String, postalAddress: String, supportEmail: String,
        supportPhone: String, billingEmail: String
    ) {
        self.name = name
        self.senderName = senderName
        self.website = website
        self.postalAddress = postalAddress
        self.supportEmail = supportEmail
        self.supportPhone = supportPhone
        self.billingEmail = billingEmail
    }

    public var templateValues: [String: String] {
        [
            "name": name, "sender_name": senderName, "website": website, "postal_address": postalAddress,
            "support_email": supportEmail, "support_phone": supportPhone, "billing_email": billingEmail,
        ]
    }

    public static let templateKeys: Set<String> = [
        "name", "sender_name", "website", "postal_address", "support_email", "support_phone", "billing_email",
    ]
}

/// The fields every lead has, whatever the playbook declares.
public enum LeadField {
    public static let names: Set<String> = [
        "id", "email", "phone", "first_name", "last_name", "company", "job_title", "industry", "company_size",
        "country", "timezone", "source", "stage", "score", "owner", "sales_outcome",
    ]

    /// Values Nurture itself supplies to every message.
    public static let systemVariables: Set<String> = Set(["unsubscribe_url", "preferences_url"] + (0...10).map(SurveyScale.linkVariable))
}
