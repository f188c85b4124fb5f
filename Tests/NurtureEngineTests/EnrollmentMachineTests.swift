import Foundation
import NurtureDSL
import NurtureEngine
import NurtureTesting
import Testing

struct EnrollmentMachineTests {
    @Test func sendsWaitsAndCompletes() {
        // Given a lead entering a two-email campaign on Monday 09:00 in Lisbon
        let campaign = Campaign("c", kind: .welcome) { Email("a"); Wait(.days(2)); Email("b") }
        var lead = Harness(campaign, start: instant("2026-11-23 09:00"))
        // When it first advances, it sends and then waits two days
        let first = lead.advance(at: instant("2026-11-23 09:00"))
        #expect(Harness.sent(first) == ["a"])
        #expect(first.last == .waiting(step: "wait-1", until: instant("2026-11-25 09:00")))
        // Then nothing happens before the wait ends
        #expect(lead.advance(at: instant("2026-11-25 08:59")) == [])
        #expect(!lead.enrollment.isDue(at: instant("2026-11-25 08:59")))
        // And at the end of the wait the second email goes and the campaign completes
        let second = lead.advance(at: instant("2026-11-25 09:00"))
        #expect(Harness.sent(second) == ["b"])
        #expect(second.last == .completed)
        #expect(lead.enrollment.status == .completed)
    }

    @Test func messagesCarryAStableOccurrenceForTheirIdempotencyKey() {
        let campaign = Campaign("c", kind: .welcome) { Email("a"); Email("b") }
        var lead = Harness(campaign, start: instant("2026-11-23 09:00"))
        let messages = lead.advance(at: instant("2026-11-23 09:00")).compactMap { if case .send(let m) = $0 { m } else { nil } }
        #expect(messages.map(\.occurrence) == [0, 1])
        #expect(messages.allSatisfy { $0.leadID == "lead-1" && $0.campaignID == "c" })
    }

    @Test func waitUntilATimeOfDayOnWorkdays() {
        let campaign = Campaign("c", kind: .nurture) { Wait(until: .at(9, 30), on: Weekday.workdays); Email("a") }
        // Friday evening: the next workday 09:30 is Monday
        var lead = Harness(campaign, start: instant("2026-11-27 18:00"))
        #expect(lead.advance(at: instant("2026-11-27 18:00")) == [.waiting(step: "wait-1", until: instant("2026-11-30 09:30"))])
        #expect(Harness.sent(lead.advance(at: instant("2026-11-30 09:30"))) == ["a"])
    }

    @Test func sendWindowHoldsTheMessageUntilItOpens() {
        let campaign = Campaign("c", kind: .nurture) { Email("a", window: .businessHours) }
        var lead = Harness(campaign, start: instant("2026-11-28 10:00"))   // a Saturday
        let held = lead.advance(at: instant("2026-11-28 10:00"))
        #expect(held == [.held(step: "a", until: instant("2026-11-30 09:00"), reason: "send window Mon–Fri 09:00–17:00")])
        #expect(lead.enrollment.phase == .held)
        #expect(Harness.sent(lead.advance(at: instant("2026-11-30 09:00"))) == ["a"])
    }

    @Test func waitWithAWindowEndsInsideIt() {
        let campaign = Campaign("c", kind: .nurture) { Wait(.days(1), window: .businessHours); Email("a") }
        var lead = Harness(campaign, start: instant("2026-11-27 18:30"))   // Friday evening
        #expect(lead.advance(at: instant("2026-11-27 18:30")) == [.waiting(step: "wait-1", until: instant("2026-11-30 09:00"))])
    }

    @Test func smsIsHeldOutsideQuietHoursInTheLeadsZone() {
        let campaign = Campaign("c", kind: .engagement) { SMS("nudge") }
        // 22:30 in New York is 03:30 in Lisbon: the lead's zone decides
        var lead = Harness(campaign, lead: testLead(zone: "America/New_York"), start: instant("2026-11-23 22:30", "America/New_York"))
        #expect(lead.advance(at: instant("2026-11-23 22:30", "America/New_York")) == [
            .held(step: "nudge", until: instant("2026-11-24 08:00", "America/New_York"), reason: "SMS quiet hours (08:00–21:00 local)"),
        ])
        #expect(Harness.sent(lead.advance(at: instant("2026-11-24 08:00", "America/New_York"))) == ["nudge"])
    }

    @Test func unreachableLeadsAreSkippedWithTheReason() {
        let campaign = Campaign("c", kind: .engagement) { SMS("nudge"); Email("a") }
        var lead = Harness(campaign, lead: testLead(smsConsent: false), start: instant("2026-11-23 10:00"))
        let effects = lead.advance(at: instant("2026-11-23 10:00"))
        #expect(effects.first == .skipped(step: "nudge", reason: "the lead has not opted in to SMS"))
        #expect(Harness.sent(effects) == ["a"])
    }

    @Test func waitForTakesTheEventBranchWhenTheLeadActs() {
        let campaign = Campaign("c", kind: .welcome) {
            WaitFor("resource.downloaded", where: .property("asset", .equals("guide")), timeout: .days(3)) {
                AdjustScore(10)
            } onTimeout: {
                Email("reminder")
            }
            Email("next")
        }
        var lead = Harness(campaign, start: instant("2026-11-23 09:00"))
        _ = lead.advance(at: instant("2026-11-23 09:00"))
        // A download of something else does not count
        #expect(lead.event("resource.downloaded", at: instant("2026-11-23 12:00"), ["asset": "price-list"]) == [])
        let effects = lead.event("resource.downloaded", at: instant("2026-11-24 12:00"), ["asset": "guide"])
        #expect(effects.first == .eventArrived(step: "wait-for-1", event: "resource.downloaded"))
        #expect(effects.contains(.scoreAdjusted(step: "wait-for-1/event/score-1", by: 10, to: 10)))
        #expect(Harness.sent(effects) == ["next"])
        #expect(lead.state.lead.score == 10)
    }

    static let firstOfSeveral = Campaign("c", kind: .nurture) {
        WaitFor(any: ["demo.booked", "trial.started", "page.viewed"], timeout: .days(7)) {
            On("demo.booked") { Email("demo-prep") }
            On("trial.started") { Email("trial-tips"); Tag("trialist") }
        } onTimeout: {
            Email("reminder")
        }
        Email("next")
    }

    @Test func waitForTheFirstOfSeveralEventsTakesThatEventsBranchOnly() {
        var lead = Harness(Self.firstOfSeveral, start: instant("2026-11-23 09:00"))
        #expect(lead.advance(at: instant("2026-11-23 09:00")).first
            == .waitingForEvent(step: "wait-for-1", matchers: [EventMatcher("demo.booked"), EventMatcher("trial.started"), EventMatcher("page.viewed")],
                                until: instant("2026-11-30 09:00")))
        let trial = lead.event("trial.started", at: instant("2026-11-24 10:00"))
        #expect(trial.first == .eventArrived(step: "wait-for-1", event: "trial.started"))
        #expect(Harness.sent(trial) == ["trial-tips", "next"])
        #expect(trial.contains(.tagged(step: "wait-for-1/trial.started/tag-trialist", tag: "trialist")))
        // The demo booked a minute later finds the step done: the first event won.
        #expect(lead.event("demo.booked", at: instant("2026-11-24 10:01")).isEmpty)
    }

    @Test func anEventListedWithoutABranchGoesOnAndTheTimeoutHasItsOwn() {
        var viewer = Harness(Self.firstOfSeveral, start: instant("2026-11-23 09:00"))
        _ = viewer.advance(at: instant("2026-11-23 09:00"))
        #expect(Harness.sent(viewer.event("page.viewed", at: instant("2026-11-25 09:00"))) == ["next"])
        var silent = Harness(Self.firstOfSeveral, start: instant("2026-11-23 09:00"))
        _ = silent.advance(at: instant("2026-11-23 09:00"))
        let late = silent.advance(at: instant("2026-11-30 09:00"))
        #expect(late.first == .timedOut(step: "wait-for-1"))
        #expect(Harness.sent(late) == ["reminder", "next"])
    }

    @Test func waitForTakesTheTimeoutBranchWhenTheLeadDoesNot() {
        let campaign = Campaign("c", kind: .welcome) {
            WaitFor("resource.downloaded", timeout: .days(3)) { AdjustScore(10) } onTimeout: { Email("reminder") }
        }
        var lead = Harness(campaign, start: instant("2026-11-23 09:00"))
        _ = lead.advance(at: instant("2026-11-23 09:00"))
        #expect(lead.enrollment.wakeAt == instant("2026-11-26 09:00"))
        let effects = lead.advance(at: instant("2026-11-26 09:00"))
        #expect(effects.first == .timedOut(step: "wait-for-1"))
        #expect(Harness.sent(effects) == ["reminder"])
    }

    @Test func branchesSayWhichWayAndWhy() {
        let campaign = Campaign("c", kind: .welcome) {
            Email("welcome-1")
            Wait(.days(2))
            If(.opened("welcome-1")) { Email("case-study") } else: { Email("resend") }
        }
        var opened = Harness(campaign, start: instant("2026-11-23 09:00"))
        _ = opened.advance(at: instant("2026-11-23 09:00"))
        _ = opened.event("email.opened", at: instant("2026-11-24 10:00"), ["step": "welcome-1", "campaign": "c"])
        let yes = opened.advance(at: instant("2026-11-25 09:00"))
        #expect(yes.first == .branched(step: "if-1", taken: true, because: "email.opened for welcome-1"))
        #expect(Harness.sent(yes) == ["case-study"])

        var ignored = Harness(campaign, start: instant("2026-11-23 09:00"))
        _ = ignored.advance(at: instant("2026-11-23 09:00"))
        // An open of the same step id in another campaign is not this campaign's open
        _ = ignored.event("email.opened", at: instant("2026-11-24 10:00"), ["step": "welcome-1", "campaign": "other"])
        let no = ignored.advance(at: instant("2026-11-25 09:00"))
        #expect(no.first == .branched(step: "if-1", taken: false, because: "no email.opened for welcome-1"))
        #expect(Harness.sent(no) == ["resend"])
    }

    @Test func eventsSeenWithinAWindowCountOnlyInsideIt() {
        let campaign = Campaign("c", kind: .nurture) {
            Wait(.days(10))
            If(.did("page.viewed", where: .property("path", .hasPrefix("/pricing")), within: .days(7))) { Tag("hot") }
        }
        var lead = Harness(campaign, start: instant("2026-11-01 09:00"))
        _ = lead.advance(at: instant("2026-11-01 09:00"))
        lead.state.events.append(LeadEvent("page.viewed", at: instant("2026-11-02 09:00"), properties: ["path": "/pricing"]))
        // Nine days before the check: too old
        #expect(lead.advance(at: instant("2026-11-11 09:00")).first == .branched(step: "if-1", taken: false, because: "0× page.viewed in the last 1w"))
    }

    @Test func stepsChangeTheLead() {
        let campaign = Campaign("c", kind: .nurture) {
            AdjustScore(-5)
            SetAttribute("plan", to: "growth")
            SetStage(.mql)
            Tag("warm")
            NotifySales("ready for a call")
        }
        var lead = Harness(campaign, start: instant("2026-11-23 09:00"))
        let effects = lead.advance(at: instant("2026-11-23 09:00"))
        #expect(effects == [
            .scoreAdjusted(step: "score-1", by: -5, to: -5), .attributeSet(step: "set-plan", name: "plan", value: "growth"),
            .stageSet(step: "stage-1", stage: .mql), .tagged(step: "tag-warm", tag: "warm"),
            .salesNotified(step: "notify-sales-1", note: "ready for a call"), .completed,
        ])
        #expect(lead.state.lead.stage == .mql)
        #expect(lead.state.lead.attributes["plan"] == "growth")
        #expect(lead.state.lead.tags == ["warm"])
    }

    @Test func anEventGoalEndsTheCampaignMidWait() {
        let campaign = Campaign("c", kind: .welcome) {
            Exit(on: "demo.booked")
            Email("a")
            Wait(.days(5))
            Email("b")
        }
        var lead = Harness(campaign, start: instant("2026-11-23 09:00"))
        _ = lead.advance(at: instant("2026-11-23 09:00"))
        #expect(lead.event("demo.booked", at: instant("2026-11-24 15:00")) == [.exited(reason: "goal reached: demo.booked")])
        #expect(lead.enrollment.status == .exited)
        #expect(lead.advance(at: instant("2026-11-28 09:00")) == [])
    }

    @Test func aConditionGoalFiresWhenTheLeadChangesElsewhere() {
        let campaign = Campaign("c", kind: .welcome) { Exit(when: .stage(.atLeast(.sql))); Email("a"); Wait(.days(5)); Email("b") }
        var lead = Harness(campaign, start: instant("2026-11-23 09:00"))
        _ = lead.advance(at: instant("2026-11-23 09:00"))
        lead.state.lead.stage = .sql   // sales qualified the lead in the CRM
        let effects = lead.machine.leadChanged(&lead.enrollment, state: lead.state, now: instant("2026-11-24 09:00"))
        #expect(effects == [.exited(reason: "goal reached: stage at least sql (stage is sql)")])
    }

    @Test func aGoalReachedByAStepEndsTheCampaignAtOnce() {
        let campaign = Campaign("c", kind: .nurture) { Exit(when: .score(.atLeast(50))); AdjustScore(60); Email("never") }
        var lead = Harness(campaign, start: instant("2026-11-23 09:00"))
        let effects = lead.advance(at: instant("2026-11-23 09:00"))
        #expect(Harness.sent(effects) == [])
        #expect(effects.last == .exited(reason: "goal reached: score ≥ 50 (score is 60)"))
    }

    @Test func theInvoiceGoalMatchesOnlyTheSameInvoice() {
        let campaign = Campaign("invoice", kind: "invoice") {
            Entry(on: "invoice.issued", capturing: ["invoice_number"])
            Exit(on: "invoice.paid", sameAs: ["invoice_number"])
            Email("issued")
            Wait(.days(12))
            Email("reminder")
        }
        var lead = Harness(campaign, start: instant("2026-11-23 09:00"), trigger: ["invoice_number": "INV-1"])
        _ = lead.advance(at: instant("2026-11-23 09:00"))
        #expect(lead.event("invoice.paid", at: instant("2026-11-25 09:00"), ["invoice_number": "INV-0"]) == [])
        #expect(lead.enrollment.isActive)
        #expect(lead.event("invoice.paid", at: instant("2026-11-26 09:00"), ["invoice_number": "INV-1"]) == [.exited(reason: "goal reached: invoice.paid")])
    }

    @Test func moveToEndsThisCampaign() {
        let campaign = Campaign("a", kind: .welcome) { Email("x"); MoveTo("b"); }
        var lead = Harness(campaign, start: instant("2026-11-23 09:00"))
        let effects = lead.advance(at: instant("2026-11-23 09:00"))
        #expect(effects.suffix(2) == [.moved(step: "move-to-b", to: "b"), .exited(reason: "moved to campaign b")])
    }

    @Test func aLeadOnARemovedStepLeavesWithAClearReason() {
        // Given a lead stored on a step that a redeploy removed
        let campaign = Campaign("c", kind: .welcome) { Email("a"); Wait(.days(1)); Email("b") }
        var lead = Harness(campaign, start: instant("2026-11-23 09:00"))
        lead.enrollment.stepID = "old-step"
        let effects = lead.advance(at: instant("2026-11-23 09:00"))
        #expect(effects == [.exited(reason: "step 'old-step' no longer exists in the campaign")])
    }

    @Test func aLeadInFlightResumesOnItsStepAfterARedeploy() {
        // Given a lead waiting at wait-1 in version 1
        let v1 = Campaign("c", kind: .welcome) { Email("a"); Wait(.days(2)); Email("b") }
        var lead = Harness(v1, start: instant("2026-11-23 09:00"))
        _ = lead.advance(at: instant("2026-11-23 09:00"))
        // When version 2 inserts steps before and after the wait
        let v2 = Campaign("c", kind: .welcome) { Tag("new"); Email("a"); Wait(.days(2)); Email("b-rewritten").id("b"); Email("c") }
        let machine = EnrollmentMachine(campaign: v2, policy: .unlimited)
        var enrollment = lead.enrollment, state = lead.state
        let effects = machine.advance(&enrollment, state: &state, now: instant("2026-11-25 09:00"))
        // Then it carries on from its step; it does not restart or repeat "a"
        #expect(Harness.sent(effects) == ["b", "c"])
    }

    // MARK: - Sending rules

    @Test func theFrequencyCapDefersASecondEmailNeverDropsIt() {
        // Given another campaign emailed the lead an hour ago
        let campaign = Campaign("c", kind: .nurture) { Email("a"); Email("b") }
        var lead = Harness(campaign, start: instant("2026-11-23 10:00"), policy: .standard)
        lead.state.sends = [SendRecord(channel: .email, at: instant("2026-11-23 09:00"), isTransactional: false)]
        // When this campaign wants to send, it is held until 24 hours after that email
        #expect(lead.advance(at: instant("2026-11-23 10:00")) == [
            .held(step: "a", until: instant("2026-11-24 09:00"), reason: "frequency cap (email 1 per 24h)"),
        ])
        // Then it sends, and the next email waits another 24 hours
        let next = lead.advance(at: instant("2026-11-24 09:00"))
        #expect(Harness.sent(next) == ["a"])
        #expect(next.last == .held(step: "b", until: instant("2026-11-25 09:00"), reason: "frequency cap (email 1 per 24h)"))
    }

    @Test func transactionalCampaignsIgnoreTheCapAndDoNotCountTowardsIt() {
        let invoice = Campaign("invoice", kind: "invoice", transactional: true) { Email("issued"); Email("receipt") }
        var lead = Harness(invoice, start: instant("2026-11-23 10:00"), policy: .standard)
        lead.state.sends = [SendRecord(channel: .email, at: instant("2026-11-23 09:00"), isTransactional: false)]
        #expect(Harness.sent(lead.advance(at: instant("2026-11-23 10:00"))) == ["issued", "receipt"])
        let policy = SendingPolicy.standard, clock = LocalClock(zone: TimeZone(identifier: "UTC")!)
        let onlyTransactional = [SendRecord(channel: .email, at: instant("2026-11-23 09:00"), isTransactional: true)]
        #expect(policy.nextAllowed(.email, after: onlyTransactional, now: instant("2026-11-23 10:00"), clock: clock) == nil)
    }

    @Test func smsHasItsOwnCapOfOnePerThreeDays() {
        let policy = SendingPolicy.standard, clock = LocalClock(zone: TimeZone(identifier: "UTC")!)
        let sends = [SendRecord(channel: .sms, at: instant("2026-11-23 09:00"), isTransactional: false)]
        #expect(policy.nextAllowed(.sms, after: sends, now: instant("2026-11-25 09:00"), clock: clock) == instant("2026-11-26 09:00"))
        #expect(policy.nextAllowed(.email, after: sends, now: instant("2026-11-25 09:00"), clock: clock) == nil)
    }

    @Test func aSuppressedAddressIsSkippedWithTheReason() {
        let campaign = Campaign("c", kind: .nurture) { Email("a"); SMS("b", window: .daytime) }
        var lead = Harness(campaign, start: instant("2026-11-23 10:00"))
        lead.state.suppressions = [.email: Suppression(.marketing, reason: "unsubscribed")]
        let effects = lead.advance(at: instant("2026-11-23 10:00"))
        #expect(effects.first == .skipped(step: "a", reason: "the address is suppressed (unsubscribed, marketing only)"))
        #expect(Harness.sent(effects) == ["b"])
    }
}
