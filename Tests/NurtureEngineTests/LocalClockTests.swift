import Foundation
import NurtureDSL
import NurtureEngine
import NurtureTesting
import Testing

struct LocalClockTests {
    @Test func daysKeepTheWallClockAcrossTheAutumnChange() {
        // Europe/Lisbon leaves summer time on Sunday 25 October 2026
        let clock = LocalClock(zone: TimeZone(identifier: "Europe/Lisbon")!)
        let friday = instant("2026-10-23 09:00")
        let monday = clock.adding(.days(3), to: friday)
        #expect(localTime(monday) == "Mon 2026-10-26 09:00")
        #expect(monday.timeIntervalSince(friday) == 3 * 86_400 + 3_600)
        // Hours are exact, so 72 hours land at 08:00 local
        #expect(localTime(clock.adding(.hours(72), to: friday)) == "Mon 2026-10-26 08:00")
    }

    @Test func aWaitAcrossTheSpringChangeInTheStatesKeeps0900() {
        let campaign = Campaign("c", kind: .nurture) { Wait(.days(1)); Email("a") }
        var lead = Harness(campaign, lead: testLead(zone: "America/New_York"), start: instant("2027-03-13 09:00", "America/New_York"))
        let effects = lead.advance(at: instant("2027-03-13 09:00", "America/New_York"))
        guard case .waiting(_, let until) = effects.first else { Issue.record("expected a wait"); return }
        #expect(localTime(until, "America/New_York") == "Sun 2027-03-14 09:00")
        #expect(until.timeIntervalSince(instant("2027-03-13 09:00", "America/New_York")) == 23 * 3_600)
    }

    @Test func aTimeOfDayThatDoesNotExistMovesToTheNextValidTime() {
        // 02:30 does not exist in New York on 14 March 2027: clocks jump from 02:00 to 03:00
        let clock = LocalClock(zone: TimeZone(identifier: "America/New_York")!)
        let next = clock.next(.at(2, 30), on: Weekday.everyDay, atOrAfter: instant("2027-03-14 00:00", "America/New_York"))
        #expect(next.map { localTime($0, "America/New_York") } == "Sun 2027-03-14 03:00")
    }

    @Test func windowsOpenOnTheRightLocalDay() {
        let clock = LocalClock(zone: TimeZone(identifier: "Asia/Tokyo")!)
        let windowOpen = clock.nextOpening(of: .businessHours, atOrAfter: instant("2026-11-27 17:00", "Asia/Tokyo"))   // Friday 17:00
        #expect(windowOpen.map { localTime($0, "Asia/Tokyo") } == "Mon 2026-11-30 09:00")
        #expect(clock.isInside(.businessHours, at: instant("2026-11-27 16:59", "Asia/Tokyo")))
        #expect(!clock.isInside(.businessHours, at: instant("2026-11-27 17:00", "Asia/Tokyo")))
        #expect(clock.nextOpening(of: SendWindow(days: [], from: .at(9), until: .at(17)), atOrAfter: Date()) == nil)
    }
}

struct EntryRulesTests {
    let pricing = Campaign("engagement", kind: .engagement, reentry: .after(.days(60))) {
        Entry(on: "page.viewed", where: .property("path", .hasPrefix("/pricing")), capturing: ["path"])
        Email("offer")
    }

    @Test func eventsEnterOnlyWhenTheirPropertiesMatch() throws {
        let now = instant("2026-11-23 09:00")
        #expect(EntryRules.entry(of: pricing, firedBy: LeadEvent("page.viewed", at: now, properties: ["path": "/blog"])) == nil)
        let entry = try #require(EntryRules.entry(of: pricing, firedBy: LeadEvent("page.viewed", at: now, properties: ["path": "/pricing/teams"])))
        #expect(EntryRules.captures(of: entry, from: LeadEvent("page.viewed", at: now, properties: ["path": "/pricing/teams", "ref": "x"])) == ["path": "/pricing/teams"])
    }

    @Test func scoreEntriesFireOnTheUpwardCrossingOnly() {
        let hot = Campaign("hot", kind: .engagement) { Entry(whenScoreReaches: 50); Email("a") }
        var old = testLead(), new = testLead()
        old.score = 40
        new.score = 55
        #expect(EntryRules.entry(of: hot, firedByChangeFrom: old, to: new) != nil)
        #expect(EntryRules.entry(of: hot, firedByChangeFrom: new, to: old) == nil)
        old.score = 60
        new.score = 70
        #expect(EntryRules.entry(of: hot, firedByChangeFrom: old, to: new) == nil)
    }

    @Test func attributeEntriesFireOnAChangeToAMatchingValue() {
        let fans = Campaign("fans", kind: "advocacy") { Entry(whenAttributeChanges: "nps", to: .atLeast(9)); Email("a") }
        var old = testLead(), new = testLead()
        new.attributes["nps"] = 10
        #expect(EntryRules.entry(of: fans, firedByChangeFrom: old, to: new) != nil)
        old.attributes["nps"] = 10
        #expect(EntryRules.entry(of: fans, firedByChangeFrom: old, to: new) == nil)   // no change
        new.attributes["nps"] = 5
        #expect(EntryRules.entry(of: fans, firedByChangeFrom: old, to: new) == nil)
    }

    @Test func reentryPolicies() {
        let clock = LocalClock(zone: TimeZone(identifier: "UTC")!)
        var earlier = Enrollment(leadID: "l", campaignID: "engagement", firstStep: nil, enrolledAt: instant("2026-09-01 09:00"))
        earlier.status = .completed
        earlier.endedAt = instant("2026-09-10 09:00")
        #expect(!EntryRules.mayEnter(pricing, earlier: [earlier], at: instant("2026-11-08 09:00"), clock: clock))
        #expect(EntryRules.mayEnter(pricing, earlier: [earlier], at: instant("2026-11-09 10:00"), clock: clock))
        let never = Campaign("w", kind: .welcome) { Email("a") }
        #expect(!EntryRules.mayEnter(never, earlier: [earlier], at: instant("2027-11-09 09:00"), clock: clock))
        #expect(EntryRules.mayEnter(never, earlier: [], at: instant("2027-11-09 09:00"), clock: clock))
        var active = earlier
        active.status = .active
        let always = Campaign("i", kind: "invoice", reentry: .always) { Email("a") }
        #expect(!EntryRules.mayEnter(always, earlier: [active], at: instant("2027-11-09 09:00"), clock: clock))
    }
}

struct VariantChoiceTests {
    let variants = Message(template: "offer", variants: ["A": 50, "B": 50], window: nil).variants

    @Test func theSameLeadAlwaysGetsTheSameVariant() {
        let first = VariantChoice.choose(variants, leadID: "lead-42", campaignID: "welcome", stepID: "offer")
        for _ in 0..<10 {
            #expect(VariantChoice.choose(variants, leadID: "lead-42", campaignID: "welcome", stepID: "offer") == first)
        }
    }

    @Test func weightsSplitLeadsInProportion() {
        let skewed = Message(template: "offer", variants: ["A": 80, "B": 20], window: nil).variants
        let picks = (0..<5_000).map { VariantChoice.choose(skewed, leadID: "lead-\($0)", campaignID: "c", stepID: "offer")!.name }
        let shareA = Double(picks.count { $0 == "A" }) / 5_000
        #expect(shareA > 0.77 && shareA < 0.83)
    }

    @Test func theChoiceIsRememberedEvenIfWeightsChange() {
        let campaign = Campaign("c", kind: .welcome) { Email("offer", variants: ["A": 50, "B": 50]) }
        var lead = Harness(campaign, start: instant("2026-11-23 09:00"))
        lead.enrollment.variants["offer"] = "B"
        let sent = lead.advance(at: instant("2026-11-23 09:00")).compactMap { if case .send(let m) = $0 { m } else { nil } }
        #expect(sent.map(\.template) == ["offer-b"])
        #expect(sent.map(\.variant) == ["B"])
    }
}
