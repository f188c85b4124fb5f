import Campaigns
import Foundation
import NurtureDSL
import NurtureEngine
import NurtureTesting
import Testing

struct ScoringTests {
    let t0 = instant("2026-11-02 09:00")

    func day(_ n: Double) -> Date { t0.addingTimeInterval(n * 86_400) }

    @Test func sourcePriorsFollowThePlaybooksConversionRatesByLogOdds() {
        let priors = Dictionary(uniqueKeysWithValues: SourcePriors.playbook().map { ($0.label, $0.points) })
        #expect(priors == [
            "Source: referral": 9, "Source: website": 1, "Source: social media": 0,
            "Source: advertising": -6, "Source: trade show": -9, "Source: webinar": -11,
        ])
        let model = ScoringModel(version: "t", behaviourHalfLife: nil) { SourcePriors.playbook() }
        var lead = testLead()
        lead.source = "Trade_Show"
        #expect(ScoreCalculator(model: model).score(lead, events: [], now: t0).total == -9)
    }

    @Test func behaviourDecaysByExactlyItsHalfLife() {
        let model = ScoringModel(version: "t", behaviourHalfLife: .days(30)) {
            Behaviour("Requested a demo", on: "demo.requested", points: 16)
            Profile("Has a company", when: .attribute("company", .exists), points: 10)
        }
        let calculator = ScoreCalculator(model: model)
        let events = [LeadEvent("demo.requested", at: t0)]
        // Profile points do not decay; behaviour halves every 30 days
        #expect(calculator.score(testLead(), events: events, now: t0).total == 26)
        #expect(calculator.score(testLead(), events: events, now: day(30)).total == 18)
        #expect(calculator.score(testLead(), events: events, now: day(90)).total == 12)
    }

    @Test func capsBoundARuleWithinItsPeriod() {
        let model = ScoringModel(version: "t", behaviourHalfLife: nil) {
            Behaviour("Opened an email", on: "email.opened", points: 2, cap: 10, per: .days(30))
            Behaviour("Email bounced", on: "email.bounced", points: -20, cap: 20)
        }
        let calculator = ScoreCalculator(model: model)
        // Ten opens in one week count as five
        let burst = (0..<10).map { LeadEvent("email.opened", at: day(Double($0) / 2)) }
        #expect(calculator.score(testLead(), events: burst, now: day(6)).total == 10)
        // A month later the window has room again
        #expect(calculator.score(testLead(), events: burst + [LeadEvent("email.opened", at: day(40))], now: day(40)).total == 12)
        // Negative rules are capped in magnitude: three bounces cost 20, not 60
        let bounces = (0..<3).map { LeadEvent("email.bounced", at: day(Double($0))) }
        #expect(calculator.score(testLead(), events: bounces, now: day(5)).total == -20)
    }

    @Test func profileRulesAndNegativePoints() {
        let model = ScoringModel(version: "t", behaviourHalfLife: nil) {
            Profile("Senior title", when: .attribute("job_title", .contains("head")), points: 15)
            Profile("Free-mail address", when: .attribute("email", .contains("@gmail.")), points: -15)
            Behaviour("Unsubscribed", on: "unsubscribed", points: -40)
        }
        var lead = testLead()
        lead.jobTitle = "Head of Marketing"
        lead.email = "ana@gmail.com"
        let card = ScoreCalculator(model: model).score(lead, events: [LeadEvent("unsubscribed", at: t0)], now: day(1))
        #expect(card.total == -40)
        #expect(card.reasons.map(\.label) == ["Unsubscribed", "Senior title", "Free-mail address"])
    }

    @Test func inactivityCountsOnlyWhatTheLeadDid() {
        let model = ScoringModel(version: "t", behaviourHalfLife: nil) { Inactivity(after: .days(60), points: -15) }
        let calculator = ScoreCalculator(model: model)
        // Nurture's own sends are not activity
        let events = [LeadEvent("page.viewed", at: t0), LeadEvent("email.sent", at: day(50))]
        #expect(calculator.score(testLead(), events: events, now: day(59)).total == 0)
        #expect(calculator.score(testLead(), events: events, now: day(61)).total == -15)
    }

    @Test func theShippedModelExplainsAnEngagedLead() throws {
        let model = try #require(Campaigns.playbook.scoring)
        var lead = testLead()
        lead.jobTitle = "Head of Marketing"
        lead.industry = "Healthcare software"
        lead.companySize = 180
        lead.source = "referral"
        let events = [
            LeadEvent("email.opened", at: t0), LeadEvent("page.viewed", at: day(1), properties: ["path": "/pricing"]),
            LeadEvent("page.viewed", at: day(1.1), properties: ["path": "/pricing/teams"]), LeadEvent("demo.requested", at: day(2)),
        ]
        let card = ScoreCalculator(model: model).score(lead, events: events, now: day(2))
        // The score is exactly the sum of its explanation
        #expect(abs(card.total - card.reasons.map(\.value).reduce(0, +)) < 1e-9)
        #expect(card.reasons.first?.label == "Requested a demo")
        #expect(card.total > 100)   // a sales-qualified lead
        #expect(card.modelVersion == "2026-11-b")
    }

    @Test func thresholdsFireOncePerCrossingAndReArmBelowTheirMargin() throws {
        let model = try #require(Campaigns.playbook.scoring)
        var state = ThresholdState()
        #expect(state.update(score: 40, thresholds: model.thresholds).isEmpty)
        #expect(state.update(score: 65, thresholds: model.thresholds).map(\.points) == [60])
        // Hovering around the line does not alert again
        #expect(state.update(score: 58, thresholds: model.thresholds).isEmpty)
        #expect(state.update(score: 62, thresholds: model.thresholds).isEmpty)
        // Falling below the re-arm line (50), then crossing again, fires again
        #expect(state.update(score: 49, thresholds: model.thresholds).isEmpty)
        #expect(state.update(score: 61, thresholds: model.thresholds).map(\.points) == [60])
        // A jump past both lines fires both, lowest first, with their actions
        var fresh = ThresholdState()
        let both = fresh.update(score: 120, thresholds: model.thresholds)
        #expect(both.map(\.points) == [60, 100])
        #expect(both.last?.actions == [.setStage(.sql), .notifySales("Sales-ready: call within a day")])
    }
}

struct ScoringValidationTests {
    let file = "NurtureEngineTests/ScoringTests.swift"

    func report(_ model: ScoringModel) -> [String] {
        let welcome = Campaign("welcome", kind: .welcome) { Entry(on: "lead.created"); Wait(.days(1)) }
        return Playbook(brand: Campaigns.playbook.brand, scoring: model) { Attribute("nps", .number) } campaigns: { welcome }
            .validate(templates: TemplateCatalog()).map(\.description)
    }

    @Test func scoringMistakesArePointedAtTheirLine() {
        let model = ScoringModel(version: "t", behaviourHalfLife: .days(30)) {
            Behaviour("Opened", on: "email.opened", points: 5, cap: 2)
            Profile("Promoter", when: .attribute("npss", .atLeast(9)), points: 10)
            Threshold(60) { Enroll("welcom") }
            Threshold(80) { Wait(.days(1)) }
        }
        #expect(report(model) == [
            "\(file):\(#line - 5): error: cap 2 of 'Opened' must be positive and at least one event's 5 points",
            "\(file):\(#line - 4): error: unknown attribute 'npss'; did you mean 'nps'? (declare it in the playbook's attributes)",
            "\(file):\(#line - 3): error: threshold enrolls in unknown campaign 'welcom'; did you mean 'welcome'?",
            "\(file):\(#line - 2): error: 'wait' cannot be used at a threshold (use SetStage, NotifySales, Tag or Enroll)",
        ])
    }
}
