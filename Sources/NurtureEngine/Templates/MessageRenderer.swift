import Foundation
import Mustache
public import NurtureDSL
public import NurtureStorage

/// A message ready to hand to a channel.
public struct RenderedMessage: Sendable, Hashable {
    public var subject: String?
    public var text: String
    public var html: String?
    /// For SMS: the parts the text costs.
    public var segments: SMSSegments?
}

/// Fills templates with a lead's values, the brand, the entry event and Nurture's own links.
public struct MessageRenderer: Sendable {
    public let playbook: Playbook
    public let library: TemplateLibrary

    private let attributeDefaults: [String: Value]
    private let brand: [String: String]

    public init(playbook: Playbook, library: TemplateLibrary) {
        self.playbook = playbook
        self.library = library
        attributeDefaults = Dictionary(playbook.attributes.compactMap { attribute in attribute.defaultValue.map { (attribute.name, $0) } }) { first, _ in first }
        brand = playbook.brand.templateValues
    }

    public struct MissingTemplate: Error, CustomStringConvertible {
        public let template: String
        public let part: TemplateCatalog.Part
        public var description: String { "template '\(template)' has no \(part.rawValue) part" }
    }

    /// `tracker` rewrites the HTML part's links while it can still tell the template's own
    /// links from a lead's values.
    public func render(
        _ message: OutgoingMessage, lead: Lead, trigger: [String: Value] = [:], signals: Set<String> = [], links: [String: String] = [:],
        tracker: TrackedLinks? = nil
    ) throws -> RenderedMessage {
        let values = Values(renderer: self, lead: lead, trigger: trigger, signals: signals, links: links)
        switch message.channel {
        case .email:
            // Parts stay bytes, lead values fenced, until each becomes the one string it is sent as.
            guard let subject = try? renderBytes(message.template, .subject, values) else {
                throw MissingTemplate(template: message.template, part: .subject)
            }
            guard let text = try? renderBytes(message.template, .text, values) else {
                throw MissingTemplate(template: message.template, part: .text)
            }
            let html = (try? renderBytes(message.template, .html, values)) ?? Array(HTMLFromText.render(String(decoding: text, as: UTF8.self)).utf8)
            // A header must stay one line whatever a lead's name contains.
            let plainSubject = SubstitutedValue.unfenced(subject)
            let oneLine = plainSubject.contains(where: \.isNewline)
                ? plainSubject.split(whereSeparator: \.isNewline).joined(separator: " ").trimmed : plainSubject.trimmed
            return RenderedMessage(subject: oneLine, text: SubstitutedValue.unfenced(text),
                                   html: tracker?.rendered(html) ?? TrackedLinks.untracked(html), segments: nil)
        case .sms:
            let body = SubstitutedValue.unfenced(try render(message.template, .sms, values)).trimmed
            return RenderedMessage(subject: nil, text: body, html: nil, segments: SMSSegments(body))
        case .sales:
            // Sales alerts are written by SalesAlert, not from templates.
            throw MissingTemplate(template: message.template, part: .text)
        }
    }

    /// One message's values, looked up as a plan asks for them; the dictionary swift-mustache
    /// needs is built only for a template without a plan.
    private struct Values {
        let renderer: MessageRenderer
        let lead: Lead
        let trigger: [String: Value]
        let signals: Set<String>
        let links: [String: String]

        var persona: String? { lead.attributes[Persona.attribute]?.textValue }

        /// The same precedence as `context(for:)`: links, then attributes, then fields, then
        /// attribute defaults; empty values are absent.
        func resolve(_ slot: RenderPlan.Slot) -> RenderPlan.Resolved? {
            switch slot {
            case .name(let name):
                if let link = links[name] { return .text(link) }
                if let value = lead.attributes[name], !value.textValue.isEmpty { return value.leadResolved }
                if LeadField.names.contains(name), let value = lead.value(of: name), !value.textValue.isEmpty { return value.leadResolved }
                return renderer.attributeDefaults[name].map { value in
                    if case .bool(let flag) = value { return .bool(flag) }
                    return .text(value.textValue)
                }
            case .brand(let key):
                return renderer.brand[key].map { .text($0) }
            case .trigger(let key):
                return trigger[key]?.leadResolved
            case .persona(let id):
                return persona == id ? .bool(true) : nil
            case .signal(let id):
                return signals.contains(id) ? .bool(true) : nil
            }
        }
    }

    /// One part rendered through its plan or through swift-mustache, so tests can hold the two
    /// to the same output.
    func renderPart(
        _ template: String, _ part: TemplateCatalog.Part, lead: Lead, trigger: [String: Value], links: [String: String], planned: Bool
    ) throws -> String? {
        let values = Values(renderer: self, lead: lead, trigger: trigger, signals: [], links: links)
        let template = written(template, part, for: values.persona)
        guard planned else { return try render(template, part, context(for: lead, trigger: trigger, links: links)) }
        return library.plans[template]?[part].map { $0.render(values.resolve) }
    }

    /// The template a lead of `persona` gets for a part: the part written for that persona
    /// (`nurture-2-case-study.growth-marketer.text`) if there is one, else the plain one.
    public func written(_ template: String, _ part: TemplateCatalog.Part, for persona: String?) -> String {
        guard let persona, library.parsed["\(template).\(persona)"]?[part] != nil else { return template }
        return "\(template).\(persona)"
    }

    private func render(_ template: String, _ part: TemplateCatalog.Part, _ values: Values) throws -> String {
        let template = written(template, part, for: values.persona)
        if let plan = library.plans[template]?[part] { return plan.render(values.resolve) }
        return try render(template, part, context(for: values.lead, trigger: values.trigger, signals: values.signals, links: values.links))
    }

    private func renderBytes(_ template: String, _ part: TemplateCatalog.Part, _ values: Values) throws -> [UInt8] {
        let template = written(template, part, for: values.persona)
        if let plan = library.plans[template]?[part] { return plan.renderBytes(values.resolve) }
        return Array(try render(template, part, context(for: values.lead, trigger: values.trigger, signals: values.signals, links: values.links)).utf8)
    }

    private func render(_ template: String, _ part: TemplateCatalog.Part, _ values: [String: Any]) throws -> String {
        guard let parsed = library.parsed[template]?[part] else { throw MissingTemplate(template: template, part: part) }
        var withDefaults = values
        if let file = library.catalog.templates[template]?[part] {
            for (name, value) in library.catalog.defaults(of: file, part: part) where lookup(name, in: values) == nil {
                set(name, to: value, in: &withDefaults)
            }
        }
        return parsed.render(withDefaults, library: library.partialsByPart[part])
    }

    /// The values a lead gives templates: fields and attributes by name, `brand.*`, `trigger.*`,
    /// and Nurture's links. Missing values are absent, so defaults and `{{^x}}` sections apply.
    /// A lead's own values (fields, attributes, its event's properties) come fenced; the brand
    /// and Nurture's links are written by the marketer and Nurture.
    public func context(for lead: Lead, trigger: [String: Value], signals: Set<String> = [], links: [String: String]) -> [String: Any] {
        var values: [String: Any] = [:]
        for attribute in playbook.attributes {
            if let value = attribute.defaultValue { values[attribute.name] = value.templateValue }
        }
        for name in LeadField.names {
            if let value = lead.value(of: name), !value.textValue.isEmpty { values[name] = value.leadTemplateValue }
        }
        for (name, value) in lead.attributes where !value.textValue.isEmpty { values[name] = value.leadTemplateValue }
        values["brand"] = playbook.brand.templateValues
        values["trigger"] = trigger.mapValues(\.leadTemplateValue)
        if let persona = lead.attributes[Persona.attribute]?.textValue { values["persona"] = PersonaValue(id: persona) }
        values["did"] = Dictionary(uniqueKeysWithValues: signals.map { ($0, true) })
        for (name, link) in links { values[name] = link }
        return values
    }

    /// Variables a template part (with its partials) needs but this lead cannot fill: no value,
    /// no template default, no attribute default, outside any section that guards it.
    /// `simulate` refuses to run with any.
    public func missingValues(
        in template: String, part: TemplateCatalog.Part, lead: Lead, trigger: [String: Value]
    ) -> [(name: String, location: Step.Location)] {
        // The part this lead gets: its persona's own, if written.
        let template = written(template, part, for: lead.attributes[Persona.attribute]?.textValue)
        guard let file = library.catalog.templates[template]?[part] else { return [] }
        let values = context(for: lead, trigger: trigger, links: Dictionary(uniqueKeysWithValues: LeadField.systemVariables.map { ($0, "link") }))
        return uses(in: file, part: part, seen: []).filter { use, _, defaults in
            // A value used only inside its own guard (`{{#industry}}…{{industry}}…{{/industry}}`)
            // or as a guard is one a lead may lack.
            use.sections.isEmpty && !use.opensSection && defaults[use.name] == nil && lookup(use.name, in: values) == nil
        }.map { use, path, _ in (use.name, Step.Location(file: path, line: use.line)) }
    }

    private func uses(in file: TemplateCatalog.File, part: TemplateCatalog.Part, seen: Set<String>)
        -> [(TemplateCatalog.VariableUse, String, [String: String])]
    {
        var all = file.variables.map { ($0, file.path, file.defaults) }
        for partial in file.partials where !seen.contains(partial.name) {
            if let included = library.catalog.partials[partial.name]?[part] {
                all += uses(in: included, part: part, seen: seen.union([partial.name]))
            }
        }
        return all
    }

    private func lookup(_ dotted: String, in values: [String: Any]) -> Any? {
        var current: Any? = values
        for key in dotted.split(separator: ".") {
            guard let dictionary = current as? [String: Any] else {
                if let strings = current as? [String: String] { current = strings[String(key)]; continue }
                return nil
            }
            current = dictionary[String(key)]
        }
        if let text = current as? String, text.isEmpty { return nil }
        return current
    }

    private func set(_ dotted: String, to value: String, in values: inout [String: Any]) {
        let keys = dotted.split(separator: ".").map(String.init)
        guard keys.count == 2 else { values[dotted] = value; return }
        var inner: [String: Any] = (values[keys[0]] as? [String: Any]) ?? (values[keys[0]] as? [String: String]) ?? [:]
        inner[keys[1]] = value
        values[keys[0]] = inner
    }
}

extension Value {
    /// Numbers print without a trailing `.0`; booleans stay booleans so `{{#vip}}` sections work.
    var templateValue: Any {
        switch self {
        case .bool(let b): b
        default: textValue
        }
    }

    var leadResolved: RenderPlan.Resolved {
        switch self {
        case .bool(let b): .bool(b)
        default: .text(SubstitutedValue.fenced(textValue))
        }
    }

    /// The same, fenced as a lead's own value.
    var leadTemplateValue: Any {
        switch self {
        case .bool(let b): b
        default: SubstitutedValue.fenced(textValue)
        }
    }
}

/// A lead's persona as swift-mustache sees it: `{{persona}}` prints its id, as the render plan
/// does, and `{{#persona.founder}}` is true only for that one.
struct PersonaValue: MustacheParent, CustomStringConvertible {
    let id: String
    func child(named name: String) -> Any? { name == id ? true : nil }
    var description: String { id }
}
