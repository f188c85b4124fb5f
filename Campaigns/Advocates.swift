import NurtureDSL

/// Promoters rarely speak up unprompted: thank them first, give them a story worth sharing,
/// then ask for a review or a referral, unless they already wrote one.
let advocates = Campaign("advocates", kind: .custom("advocacy"), name: "Advocate programme", reentry: .after(.days(180)), window: .businessHours) {
    Entry(whenAttributeChanges: "nps", to: .atLeast(9))
    Exit(when: .attribute("nps", .atMost(6)))

    Email("advocate-1-thanks")
    Wait(.days(3))
    Email("advocate-2-story")
    Wait(.days(7))
    If(.did("review.submitted", within: .days(30))) {
        Tag("advocate")                                    // review-thanks has thanked them already
    } else: {
        Email("advocate-3-referral")
        Tag("advocate-invited")
    }
}

/// Every review gets a thank-you the moment it arrives, whoever wrote it.
let reviewThanks = Campaign("review-thanks", kind: .custom("advocacy"), name: "Thanks for a review", reentry: .after(.days(180)), window: .businessHours) {
    Entry(on: "review.submitted")

    Email("advocate-thanks-review")
    Tag("advocate")
}
