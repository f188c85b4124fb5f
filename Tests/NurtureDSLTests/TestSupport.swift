import NurtureDSL

let testBrand = Brand(
    name: "Acme", senderName: "Ana from Acme", website: "https://acme.example", postalAddress: "1 Test Street",
    supportEmail: "help@acme.example", supportPhone: "+44 20 0000 0000", billingEmail: "billing@acme.example")

/// A catalog as the engine would read it, without touching the disk.
func catalog(
    email: [String] = ["welcome-1", "welcome-2", "offer-a", "offer-b"], sms: [String] = [],
    variables: [String: [(String, Int)]] = [:], defaults: [String: [String: String]] = [:]
) -> TemplateCatalog {
    var templates: [String: [TemplateCatalog.Part: TemplateCatalog.File]] = [:]
    func file(_ name: String, _ part: TemplateCatalog.Part) -> TemplateCatalog.File {
        let uses = part == .text || part == .sms ? (variables[name] ?? []).map { TemplateCatalog.VariableUse(name: $0.0, line: $0.1) } : []
        return TemplateCatalog.File(path: "Templates/\(name).\(part.rawValue).mustache", variables: uses,
                                    defaults: defaults[name] ?? [:], partials: [])
    }
    for name in email { templates[name] = [.subject: file(name, .subject), .text: file(name, .text)] }
    for name in sms { templates[name] = [.sms: file(name, .sms)] }
    return TemplateCatalog(templates: templates)
}

func playbook(_ campaigns: [Campaign], attributes: [Attribute] = []) -> Playbook {
    Playbook(brand: testBrand) {
        for attribute in attributes { attribute }
    } campaigns: {
        for campaign in campaigns { campaign }
    }
}

/// The diagnostics as `validate` prints them.
func report(_ campaigns: [Campaign], attributes: [Attribute] = [], templates: TemplateCatalog = catalog()) -> [String] {
    playbook(campaigns, attributes: attributes).validate(templates: templates).map(\.description)
}
