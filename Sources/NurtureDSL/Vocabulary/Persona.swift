/// A kind of buyer the playbook writes for: `Persona("growth-marketer", "Growth marketers",
/// when: .attribute("job_title", .contains("growth")))`. A lead has the first persona whose
/// condition it meets (kept as its `persona` attribute, looked at again whenever it changes);
/// a template may have parts written for one (`nurture-2-case-study.growth-marketer.text.mustache`,
/// else the plain part) and blocks for one (`{{#persona.growth-marketer}}…{{/persona.growth-marketer}}`).
public struct Persona: Sendable {
    public let id: String
    public let name: String
    public let condition: Condition
    public let location: Step.Location

    public init(_ id: String, _ name: String, when condition: Condition, fileID: String = #fileID, line: UInt = #line) {
        self.id = id
        self.name = name
        self.condition = condition
        location = Step.Location(fileID: fileID, line: line)
    }

    /// The lead attribute a lead's persona is kept in.
    public static let attribute = "persona"
}

/// A buying signal: something a lead did, named so templates can show content for it:
/// `Signal("pricing-visit", .did("page.viewed", where: .property("path", .hasPrefix("/pricing")),
/// within: .days(30)))` lets a template write `{{#did.pricing-visit}}…{{/did.pricing-visit}}`.
public struct Signal: Sendable {
    public let id: String
    public let condition: Condition
    public let location: Step.Location

    public init(_ id: String, _ condition: Condition, fileID: String = #fileID, line: UInt = #line) {
        self.id = id
        self.condition = condition
        location = Step.Location(fileID: fileID, line: line)
    }
}
