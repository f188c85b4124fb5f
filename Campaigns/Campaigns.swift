public import NurtureDSL

/// Everything Nurture runs. Add a new campaign file to the list below.
public let playbook = Playbook(brand: larkspur, scoring: scoring) {
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
