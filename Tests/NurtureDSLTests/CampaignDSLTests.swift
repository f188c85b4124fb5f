import NurtureDSL
import Testing

struct CampaignDSLTests {
    @Test func buildsEntriesGoalsAndNestedSteps() throws {
        // Given a campaign written in the DSL
        let campaign = Campaign("welcome", kind: .welcome, reentry: .after(.days(30)), window: .businessHours) {
            Entry(on: "page.viewed", where: .property("path", .hasPrefix("/pricing")))
            Exit(on: "demo.booked")
            Exit(when: .stage(.atLeast(.sql)))
            Email("welcome-1")
            Wait(.days(2), window: .businessHours)
            If(.opened("welcome-1") && .score(.atLeast(20))) {
                Email("welcome-2")
            } else: {
                SMS("nudge")
            }
            WaitFor("resource.downloaded", timeout: .days(3)) {
                AdjustScore(10)
            } onTimeout: {
                Email("offer", variants: ["A": 50, "B": 50])
            }
        }
        // Then every part lands where it belongs, in order
        #expect(campaign.entries.count == 1)
        #expect(campaign.exits.count == 2)
        #expect(campaign.reentry == .after(.days(30)))
        #expect(campaign.steps.map(\.kindName) == ["email", "wait", "if", "wait-for"])
        #expect(campaign.allSteps.map(\.id) == [
            "welcome-1", "wait-1", "if-1", "welcome-2", "nudge", "wait-for-1", "wait-for-1/event/score-1", "offer",
        ])
        let split = try #require(campaign.step("offer"))
        guard case .email(let message) = split.action else { Issue.record("offer is not an email"); return }
        #expect(message.variants.map(\.template) == ["offer-a", "offer-b"])
        #expect(message.variants.map(\.weight) == [50, 50])
    }

    @Test func derivedIDsCountTheirKindInTheirBlockAndExplicitIDsStay() {
        let campaign = Campaign("c", kind: .nurture) {
            Wait(.days(2))
            Email("news").id("digest")
            Wait(.days(2))
            Tag("warm")
            Tag("warm")
            If(.tagged("warm")) { Wait(.hours(1)); Email("news") } else: { ExitCampaign() }
        }
        #expect(campaign.allSteps.map(\.id) == [
            "wait-1", "digest", "wait-2", "tag-warm", "tag-warm-2", "if-1", "if-1/then/wait-1", "news-2", "if-1/else/exit-1",
        ])
        #expect(campaign.allSteps.map(\.hasExplicitID) == [false, true, false, false, false, false, false, false, false])
    }

    @Test func idsSurviveOrdinaryEdits() {
        // Given a campaign, and the same campaign after a marketer lengthens a wait, narrows a
        // window, retimes a wait-for, changes a condition and a score, and adds an SMS and a tag
        let before = Campaign("c", kind: .nurture) {
            Email("a"); Wait(.days(2)); If(.score(.atLeast(20))) { AdjustScore(5) } else: { Tag("cold") }
            WaitFor("demo.booked", timeout: .days(3)) { Email("b") } onTimeout: { Wait(.days(1)); Email("c") }
        }
        let after = Campaign("c", kind: .nurture) {
            SMS("hello"); Email("a", window: .businessHours); Wait(.days(4), window: .businessHours)
            If(.score(.atLeast(30))) { AdjustScore(8) } else: { Tag("cold"); Tag("archived") }
            WaitFor("demo.booked", timeout: .days(5)) { Email("b") } onTimeout: { Wait(.hours(12)); Email("c") }
        }
        // Then every step keeps its id, so leads in flight stay exactly where they are
        #expect(Set(before.allSteps.map(\.id)).isSubset(of: Set(after.allSteps.map(\.id))))
        #expect(before.allSteps.map(\.id) == ["a", "wait-1", "if-1", "if-1/then/score-1", "if-1/else/tag-cold", "wait-for-1", "b", "wait-for-1/timeout/wait-1", "c"])
    }

    @Test func aTemplateSentTwiceNeedsAnExplicitIDOnTheRepeat() {
        // Told apart only by order, a step inserted between them would swap their leads
        let campaign = Campaign("c", kind: .nurture) { Entry(on: "lead.created"); Email("news"); Wait(.days(7)); Email("news") }
        let errors = report([campaign], templates: catalog(email: ["news"])).filter { $0.contains("error:") }
        #expect(errors.count == 1)
        #expect(errors.first?.contains("template 'news' is also sent at") == true)
        #expect(errors.first?.contains(".id(\"news-2\")") == true)
        let pinned = Campaign("c", kind: .nurture) { Entry(on: "lead.created"); Email("news"); Wait(.days(7)); Email("news").id("news-again") }
        #expect(report([pinned], templates: catalog(email: ["news"])).filter { $0.contains("error:") }.isEmpty)
    }

    @Test func idsDoNotDependOnUnrelatedInsertions() {
        // Given the same campaign before and after a marketer inserts a step at the top
        let before = Campaign("c", kind: .nurture) { Email("a"); Wait(.days(1)); Email("b") }
        let after = Campaign("c", kind: .nurture) { Tag("new"); Email("a"); Wait(.days(1)); Email("b") }
        // Then the existing steps keep their ids, so leads in flight stay where they are
        #expect(Set(before.allSteps.map(\.id)).isSubset(of: Set(after.allSteps.map(\.id))))
    }

    @Test func swiftControlFlowRunsWhenTheCampaignIsBuilt() {
        let regions = ["eu", "us"]
        let includeSMS = false
        let campaign = Campaign("c", kind: "custom") {
            for region in regions { Email("news-\(region)") }
            if includeSMS { SMS("nudge") }
        }
        #expect(campaign.allSteps.map(\.id) == ["news-eu", "news-us"])
        #expect(campaign.kind == .custom("custom"))
    }

    @Test func locationsPointAtTheCallSite() {
        let line = #line + 1
        let campaign = Campaign("c", kind: .welcome) { Email("a") }
        #expect(campaign.location == Step.Location(file: "NurtureDSLTests/CampaignDSLTests.swift", line: line))
        #expect(campaign.steps[0].location.line == line)
    }

    @Test func conditionsAreTypedValuesThatExplainThemselves() {
        let condition: Condition = .attribute("industry", .oneOf(["SaaS", "Fintech"])) || !.tagged("customer")
        #expect(condition.description == #"industry in ["SaaS", "Fintech"] or not tagged customer"#)
        #expect(Comparison.hasPrefix("/pricing").matches("/Pricing/enterprise"))
        #expect(Comparison.atLeast(9).matches(.string("10")))
        #expect(!Comparison.atLeast(9).matches(nil))
        #expect(Comparison.notEquals("x").matches(nil))
        #expect(Comparison.equals(3).matches(.string("3.0")))
    }

    /// Text tests compare bytes when both sides are ASCII; they must agree with full Unicode
    /// lowercasing on every input, ASCII or not (every text contains the empty text).
    @Test func textTestsIgnoreCaseExactlyAsUnicodeLowercasingDoes() {
        let pieces = ["Head", "head", "of", " ", "MARKETING", "é", "É", "ß", "SS", "İ", "i", "", "@gmail.", "/Pricing", "x"]
        var random = SystemRandomNumberGenerator()
        for _ in 0..<2_000 {
            let text = (0..<Int.random(in: 0...4, using: &random)).map { _ in pieces.randomElement(using: &random)! }.joined()
            let part = (0..<Int.random(in: 0...2, using: &random)).map { _ in pieces.randomElement(using: &random)! }.joined()
            let value = Value.string(text)
            #expect(Comparison.contains(part).matches(value) == (part.isEmpty || text.lowercased().contains(part.lowercased())), "\(text) contains \(part)")
            #expect(Comparison.hasPrefix(part).matches(value) == text.lowercased().hasPrefix(part.lowercased()), "\(text) starts with \(part)")
            #expect(Comparison.equals(.string(part)).matches(value) == (text.lowercased() == part.lowercased()), "\(text) = \(part)")
        }
    }

    @Test func spansParseAndPrintCompactly() {
        #expect(Span(compact: "3d4h") == .days(3) + .hours(4))
        #expect(Span(compact: "2w") == .days(14))
        #expect(Span(compact: "90m")?.description == "1h30m")
        #expect(Span(compact: "3x") == nil)
        #expect(Span(compact: "12") == nil)
        #expect(Span(compact: "") == nil)
    }

    @Test func windowsKnowWhetherTheyStayInsideSMSHours() {
        #expect(SendWindow.businessHours.isWithin(.smsQuietHoursAllowed))
        #expect(!SendWindow.anytime.isWithin(.smsQuietHoursAllowed))
        #expect(SendWindow.anytime.intersection(.smsQuietHoursAllowed) == .smsQuietHoursAllowed)
    }
}

struct WaitForAnyTests {
    @Test func eachEventHasItsBranchAndItsStepsAreNamedUnderIt() {
        let campaign = Campaign("c", kind: .nurture) {
            WaitFor(any: ["demo.booked", "trial.started"], timeout: .days(7)) {
                On("trial.started") { Tag("trialist") }
            } onTimeout: { Tag("quiet") }
        }
        #expect(campaign.allSteps.map(\.id) == ["wait-for-1", "wait-for-1/trial.started/tag-trialist", "wait-for-1/timeout/tag-quiet"])
        #expect(campaign.steps[0].branches.map(\.label) == ["on demo.booked", "on trial.started", "on timeout"])
        #expect(campaign.steps[0].summary == "wait for the first of demo.booked, trial.started, at most 1w")
    }

    @Test func anEventNamedTwiceIsAnError() {
        let campaign = Campaign("c", kind: .nurture) {
            Entry(on: "lead.created")
            WaitFor(any: ["demo.booked", "demo.booked"], timeout: .days(7)) {}
        }
        #expect(report([campaign]).contains { $0.hasSuffix("error: WaitFor names 'demo.booked' twice: only the first branch could ever run") })
    }
}
