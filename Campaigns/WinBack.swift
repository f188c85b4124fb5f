import NurtureDSL

/// For leads gone quiet (a `lead.inactive` event from scoring or your CRM): ask honestly whether
/// we are still useful, show what changed, and stop mailing those who don't answer.
let winBack = Campaign("win-back", kind: .custom("win-back"), name: "Win-back series", reentry: .after(.days(90)), window: .businessHours) {
    Entry(on: "lead.inactive")
    Exit(on: "demo.booked")

    SetAttribute("engagement", to: "cold")
    Email("winback-1-checkin")
    WaitFor("email.clicked", where: .property("campaign", .equals("win-back")), timeout: .days(5)) {
        SetAttribute("engagement", to: "re-engaged")
        AdjustScore(5, reason: "came back through the win-back series")
        MoveTo("nurture")
    } onTimeout: {
        Email("winback-2-whats-new")
        Wait(.days(7))
        Email("winback-3-goodbye")
        WaitFor("email.clicked", where: .property("step", .equals("winback-3-goodbye")), timeout: .days(7)) {
            SetAttribute("engagement", to: "re-engaged")
        } onTimeout: {
            Tag("sunset")                                  // stop marketing mail; keep transactional
        }
    }
}
