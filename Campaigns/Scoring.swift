import NurtureDSL

/// How Larkspur ranks prospects. Behaviour shows interest and fades (half-life 30 days); fit
/// and source do not. Sales and marketing agreed the lines: 60 is marketing-qualified, 100 is
/// sales-qualified.
let scoring = ScoringModel(version: "2026-11-b", behaviourHalfLife: .days(30)) {
    // Behaviour: ten opens are not ten times one, so opens and clicks are capped per month.
    Behaviour("Opened an email", on: "email.opened", points: 2, cap: 10, per: .days(30))
    Behaviour("Clicked an email", on: "email.clicked", points: 5, cap: 20, per: .days(30))
    Behaviour("Visited pricing", on: "page.viewed", where: .property("path", .hasPrefix("/pricing")), points: 15, cap: 45, per: .days(7))
    Behaviour("Read a case study", on: "page.viewed", where: .property("path", .hasPrefix("/customers")), points: 8, cap: 24, per: .days(30))
    Behaviour("Downloaded a resource", on: "resource.downloaded", points: 10, cap: 30, per: .days(30))
    Behaviour("Attended a webinar", on: "webinar.attended", points: 15, cap: 30, per: .days(90))
    Behaviour("Requested a demo", on: "demo.requested", points: 40)
    Behaviour("Started a trial", on: "trial.started", points: 30)
    // Negative behaviour.
    Behaviour("Unsubscribed", on: "unsubscribed", points: -40)
    Behaviour("Email bounced", on: "email.bounced", points: -20, cap: 20)
    Behaviour("Said not interested", on: "reply.not_interested", points: -50)
    Inactivity(after: .days(60), points: -15)

    // Fit: who they are and where they work.
    Profile("Senior title", when: .attribute("job_title", .contains("head")) || .attribute("job_title", .contains("chief"))
        || .attribute("job_title", .hasPrefix("vp")) || .attribute("job_title", .hasPrefix("cmo")) || .attribute("job_title", .contains("director")),
        points: 15)
    Profile("Marketing or revenue role", when: .attribute("job_title", .contains("marketing")) || .attribute("job_title", .contains("demand"))
        || .attribute("job_title", .contains("growth")) || .attribute("job_title", .contains("sales")), points: 10)
    Profile("Target industry", when: .attribute("industry", .oneOf(["SaaS", "Healthcare software", "Fintech", "Logistics"])), points: 10)
    Profile("Company of 50–2,000 people", when: .attribute("company_size", .atLeast(50)) && .attribute("company_size", .atMost(2000)), points: 10)
    Profile("Very small company", when: .attribute("company_size", .lessThan(10)), points: -10)
    Profile("Free-mail address", when: .attribute("email", .contains("@gmail.")) || .attribute("email", .contains("@yahoo."))
        || .attribute("email", .contains("@hotmail.")) || .attribute("email", .contains("@outlook.")), points: -15)
    Profile("Outside our sales regions", when: .attribute("country", .exists)
        && !.attribute("country", .oneOf(["GB", "IE", "PT", "ES", "FR", "DE", "NL", "BE", "NO", "SE", "DK", "FI", "US", "CA", "BR", "MX", "AU"])),
        points: -10)
    // Sales' verdict (`nurture leads mark … --outcome bad-fit`): stop ranking them high.
    Profile("Sales said bad fit", when: .attribute("sales_outcome", .equals("bad-fit")), points: -60)
    Profile("Competitor", when: .attribute("email", .contains("@hubspot.")) || .attribute("email", .contains("@mautic.")), points: -100)

    // Where they came from, priced by the playbook's conversion rates.
    SourcePriors.playbook()

    // Who calls: territories first, then the team in turn.
    Owners {
        Assign("ines@larkspur.example", when: .attribute("country", .oneOf(["PT", "ES", "BR", "MX"])))
        Assign("sam@larkspur.example", when: .attribute("company_size", .atLeast(1000)))
        RoundRobin(["maria@larkspur.example", "tom@larkspur.example", "li@larkspur.example"])
    }

    Threshold(60, rearmBelow: 50) {
        SetStage(.mql)
        NotifySales("Crossed the MQL line")
    }
    Threshold(100, rearmBelow: 85) {
        SetStage(.sql)
        NotifySales("Sales-ready: call within a day")
    }
}
