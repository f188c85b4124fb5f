import NurtureDSL

/// Promoters rarely speak up unprompted: thank them first, give them a story worth sharing,
/// then ask for a review or a referral, and thank them again.
let advocates = Campaign("advocates", kind: .custom("advocacy"), name: "Advocate programme", reentry: .after(.days(180)), window: .businessHours) {
    Entry(whenAttributeChanges: "nps", to: .atLeast(9))
    Exit(when: .attribute("nps", .atMost(6)))

    Email("advocate-1-thanks")
    Wait(.days(3))
    Email("advocate-2-story")
    WaitFor("review.submitted", timeout: .days(7)) {
        Email("advocate-thanks-review")
        Tag("advocate")
    } onTimeout: {
        Email("advocate-3-referral")
        Tag("advocate-invited")
    }
}
