import NurtureDSL

/// Teaches before it sells: a playbook, a case study, then a demo for the engaged and a webinar
/// for everyone else, then a hands-on tutorial.
let nurture = Campaign("nurture", kind: .nurture, name: "Nurture series", reentry: .after(.days(90)), window: .businessHours) {
    Entry(on: "content.subscribed")
    Exit(on: "demo.booked")
    Exit(when: .stage(.atLeast(.opportunity)))

    Email("nurture-1-playbook")
    Wait(.days(4))
    Email("nurture-2-case-study")
    Wait(.days(4))
    If(.clicked("nurture-2-case-study") || .did("page.viewed", where: .property("path", .hasPrefix("/pricing")), within: .days(14))) {
        Email("nurture-3-demo-invite")
        AdjustScore(15, reason: "read the case study or the pricing page")
        NotifySales("Engaged with the case study or pricing during nurture")
    } else: {
        Email("nurture-3-webinar")
    }
    Wait(.days(5))
    Email("nurture-4-tutorial")
}
