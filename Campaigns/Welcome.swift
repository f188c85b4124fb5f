import NurtureDSL

/// A new lead hears from us once, warmly, then gets something useful, never pressure.
let welcome = Campaign("welcome", kind: .welcome, name: "Welcome series", window: .businessHours) {
    Entry(on: "lead.created")
    Exit(on: "demo.booked")
    Exit(when: .stage(.atLeast(.sql)))

    Email("welcome-1", window: .anytime)                 // the welcome goes out at once, whatever the hour
    Wait(.days(2))
    If(.opened("welcome-1")) {
        Email("welcome-2-guide")
    } else: {
        Email("welcome-2-resend")                          // same promise, a plainer subject line
    }
    Wait(.days(3))
    // A: the benchmark report, B: the 5-minute tour. The engine keeps whichever gets more
    // clicks once each has gone to 200 leads and the difference holds at 95%.
    Email("welcome-3-value", variants: ["A": 50, "B": 50], winner: .auto(metric: .clicked, confidence: 0.95, minimumPerVariant: 200))
    WaitFor("resource.downloaded", timeout: .days(4)) {
        AdjustScore(10, reason: "downloaded a resource from the welcome series")
    } onTimeout: {
        Tag("welcome-quiet")
    }
    MoveTo("nurture")
}
