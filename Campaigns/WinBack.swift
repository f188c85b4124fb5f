import NurtureDSL

/// For leads gone quiet: after 60 days without an open, a click, a visit or a form, ask honestly
/// whether we are still useful, show what changed, and stop marketing to those who don't answer.
/// It runs alone (`exclusive`): entering it ends the lead's nurture and engagement series, so
/// nobody gets a "we miss you" beside a webinar invitation; invoices and receipts still go.
let winBack = Campaign(
    "win-back", kind: .custom("win-back"), name: "Win-back series", reentry: .after(.days(90)), window: .businessHours, exclusive: true
) {
    Entry(whenInactiveFor: .days(60))
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
            // The goodbye email promised it was the last: marketing stops here for good.
            Tag("sunset")
            Suppress(.marketing, reason: "sunset: no answer to the win-back series")
        }
    }
}
