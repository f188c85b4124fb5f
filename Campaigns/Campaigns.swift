public import NurtureDSL

/// Everything Nurture runs. Add a new campaign file to the list below.
public let playbook = Playbook(brand: larkspur, scoring: scoring, personas: personas, signals: signals) {
    // Attributes beyond the built-in lead fields that campaigns and templates use.
    Attribute("plan", .string, "Current plan: trial, starter, growth or enterprise")
    Attribute("nps", .number, "Latest Net Promoter answer, 0–10")
    Attribute("interest", .string, "What the lead said they want help with", default: "a clearer view of your pipeline")
    Attribute("engagement", .string, "active, cold or re-engaged; set by the win-back series")
} campaigns: {
    welcome
    nurture
    engagement
    invoiceFollowUp
    advocates
    reviewThanks
    winBack
    npsSurvey
    detractorFollowUp
}

let larkspur = Brand(
    name: "Larkspur",
    senderName: "Maya from Larkspur",
    website: "https://larkspur.example",
    postalAddress: "Larkspur Analytics Ltd, 14 Canal Street, Manchester M1 3HE, United Kingdom",
    supportEmail: "help@larkspur.example",
    supportPhone: "+44 161 555 0142",
    billingEmail: "billing@larkspur.example"
)

/// The buyers Larkspur writes for, by job title; the first that fits is the lead's persona.
/// Templates may have parts written for one (`nurture-2-case-study.sales-leader.text.mustache`)
/// and blocks for one (`{{#persona.founder}}…{{/persona.founder}}`).
let personas = [
    Persona("sales-leader", "Sales leaders: they own the follow-up and want fewer, better leads",
            when: .attribute("job_title", .contains("sales")) || .attribute("job_title", .contains("revenue"))),
    Persona("founder", "Founders and managing directors: every hour and every pound counts",
            when: .attribute("job_title", .contains("founder")) || .attribute("job_title", .contains("managing director"))
                || .attribute("job_title", .contains("ceo"))),
    Persona("growth-marketer", "Growth and demand-generation marketers: they live in experiments",
            when: .attribute("job_title", .contains("growth")) || .attribute("job_title", .contains("demand"))),
    Persona("marketing-manager", "Marketing managers and heads of marketing: they report pipeline to the board",
            when: .attribute("job_title", .contains("marketing")) || .attribute("job_title", .contains("cmo"))),
]

/// What a lead did that the copy may speak to: `{{#did.pricing-visit}}…{{/did.pricing-visit}}`.
let signals = [
    Signal("pricing-visit", .did("page.viewed", where: .property("path", .hasPrefix("/pricing")), within: .days(30))),
    Signal("webinar-attendee", .did("webinar.attended", within: .days(90))),
]
