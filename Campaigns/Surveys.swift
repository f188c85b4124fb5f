import NurtureDSL

/// A month into being a customer, one question, asked once: would they recommend us? One reminder
/// if it goes unanswered. A promoter's answer (9 or 10) enters the advocate programme, whose entry
/// is an NPS of 9 or more; a detractor's (6 or less) goes to their owner, who calls.
let npsSurvey = Campaign("nps-survey", kind: .custom("survey"), name: "NPS survey", reentry: .after(.days(180)), window: .businessHours) {
    Entry(on: "sales.outcome", where: .property("outcome", .equals("won")))
    Exit(on: "survey.answered")

    Wait(.days(30))
    Survey(.nps, "nps-survey")
    Wait(.days(5))
    Survey(.nps, "nps-survey-reminder")                    // the same question, once more, shorter
}

/// Someone told us they would not recommend us: the owner hears at once, with the reasons, and
/// calls. Nothing automated goes to them: an unhappy customer wants a person.
let detractorFollowUp = Campaign("nps-detractors", kind: .custom("survey"), name: "Detractor follow-up", reentry: .after(.days(90))) {
    Entry(whenAttributeChanges: "nps", to: .atMost(6))

    NotifySales("Answered the NPS survey with 6 or less: call them this week, listen, and fix what you can")
}
