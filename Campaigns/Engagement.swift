import NurtureDSL

/// Someone looked at pricing: a personal offer, a nudge by SMS for those who opted in, and an
/// invitation, then we let them be.
let engagement = Campaign("engagement", kind: .engagement, name: "Engagement series", reentry: .after(.days(60)), window: .businessHours) {
    Entry(on: "page.viewed", where: .property("path", .hasPrefix("/pricing")))
    Exit(on: "demo.booked")
    Exit(on: "trial.started")

    Wait(.hours(2))                                        // nobody likes being pounced on
    Email("engagement-1-offer")
    WaitFor("email.clicked", where: .property("step", .equals("engagement-1-offer")), timeout: .days(2)) {
        AdjustScore(10, reason: "clicked the pricing offer")
    } onTimeout: {
        SMS("engagement-sms-nudge", window: .daytime)
    }
    Wait(.days(3))
    Email("engagement-2-invitation")
    Wait(.days(4))
    Email("engagement-3-last-call")
}
