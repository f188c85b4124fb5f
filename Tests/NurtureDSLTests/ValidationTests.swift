import NurtureDSL
import Testing

/// One broken campaign per rule, each asserting the exact line `nurture validate` prints.
struct ValidationTests {
    let file = "NurtureDSLTests/ValidationTests.swift"

    @Test func aCleanCampaignHasNoDiagnostics() {
        let campaign = Campaign("ok", kind: .welcome) {
            Entry(on: "lead.created")
            Email("welcome-1")
            Wait(.days(1))
            SMS("nudge", window: .daytime)
        }
        #expect(report([campaign], templates: catalog(email: ["welcome-1"], sms: ["nudge"])) == [])
    }

    @Test func unknownTemplateSuggestsTheClosestName() {
        let campaign = Campaign("c", kind: .welcome) {
            Entry(on: "lead.created")
            Email("welcom-1")
        }
        #expect(report([campaign]).contains(
            "\(file):\(#line - 2): error: unknown email template 'welcom-1'; did you mean 'welcome-1'? (expected Templates/welcom-1.subject.mustache, Templates/welcom-1.text.mustache)"))
    }

    @Test func smsStepNeedsAnSMSTemplate() {
        let campaign = Campaign("c", kind: .welcome) {
            Entry(on: "lead.created")
            SMS("welcome-1", window: .daytime)
        }
        #expect(report([campaign]).contains(
            "\(file):\(#line - 2): error: unknown SMS template 'welcome-1' (expected Templates/welcome-1.sms.mustache)"))
    }

    @Test func templateVariableNobodyProvidesIsAnErrorInTheTemplate() {
        let campaign = Campaign("c", kind: .welcome) {
            Entry(on: "lead.created")
            Email("welcome-1")
        }
        let templates = catalog(email: ["welcome-1"], variables: ["welcome-1": [("first_name", 1), ("favourite_colour", 3), ("brand.name", 4), ("plan", 5)]])
        #expect(report([campaign], attributes: [Attribute("plan", .string)], templates: templates) == [
            "Templates/welcome-1.text.mustache:3: error: {{favourite_colour}} is not a lead field, a declared attribute, a brand value or a captured trigger property, and has no default (used by step 'welcome-1' of campaign 'c')",
        ])
    }

    @Test func aDefaultMakesAnUnknownVariableAcceptable() {
        let campaign = Campaign("c", kind: .welcome) {
            Entry(on: "lead.created")
            Email("welcome-1")
        }
        let templates = catalog(email: ["welcome-1"], variables: ["welcome-1": [("favourite_colour", 3)]],
                                defaults: ["welcome-1": ["favourite_colour": "blue"]])
        #expect(report([campaign], templates: templates) == [])
    }

    @Test func triggerVariablesMustBeCaptured() {
        let capturing = Campaign("invoice", kind: "invoice") {
            Entry(on: "invoice.issued", capturing: ["amount"])
            Email("welcome-1")
        }
        let templates = catalog(email: ["welcome-1"], variables: ["welcome-1": [("trigger.amount", 2), ("trigger.due", 3)]])
        #expect(report([capturing], templates: templates) == [
            "Templates/welcome-1.text.mustache:3: error: {{trigger.due}} is not a lead field, a declared attribute, a brand value or a captured trigger property, and has no default (used by step 'welcome-1' of campaign 'invoice')",
        ])
    }

    @Test func duplicateCampaignIDs() {
        let first = Campaign("same", kind: .welcome) { Entry(on: "a.b"); Email("welcome-1") }
        let second = Campaign("same", kind: .nurture) { Entry(on: "a.b"); Email("welcome-1") }
        #expect(report([first, second], templates: catalog(email: ["welcome-1"])) == [
            "\(file):\(#line - 1): error: duplicate campaign id 'same' (first declared at \(file):\(#line - 2))",
        ])
    }

    @Test func duplicateExplicitStepIDs() {
        let campaign = Campaign("c", kind: .welcome) {
            Entry(on: "lead.created")
            Email("welcome-1").id("hello")
            Email("welcome-2").id("hello")
        }
        #expect(report([campaign], templates: catalog(email: ["welcome-1", "welcome-2"])) == [
            "\(file):\(#line - 2): error: duplicate step id 'hello' in campaign 'c' (also at \(file):\(#line - 3))",
        ])
    }

    @Test func stepsAfterAnExitAreUnreachable() {
        let campaign = Campaign("c", kind: .welcome) {
            Entry(on: "lead.created")
            If(.score(.atLeast(50))) {
                ExitCampaign("qualified")
            } else: {
                MoveTo("c2")
            }
            Email("welcome-1")
        }
        let other = Campaign("c2", kind: .nurture) { Wait(.days(1)); Email("welcome-2") }
        #expect(report([campaign, other], templates: catalog(email: ["welcome-1", "welcome-2"])) == [
            "\(file):\(#line - 3): error: step 'welcome-1' is unreachable: every lead has left the campaign at 'if-1' (\(file):\(#line - 8))",
        ])
    }

    @Test func waitForNeedsATimeout() {
        let campaign = Campaign("c", kind: .welcome) {
            Entry(on: "lead.created")
            WaitFor("resource.downloaded") {
                Email("welcome-1")
            }
        }
        #expect(report([campaign], templates: catalog(email: ["welcome-1"])) == [
            "\(file):\(#line - 4): error: WaitFor 'resource.downloaded' has no timeout: a lead who never does it would wait forever (add timeout: .days(N))",
        ])
    }

    @Test func moveToAnUnknownCampaign() {
        let campaign = Campaign("welcome", kind: .welcome) {
            Entry(on: "lead.created")
            MoveTo("nurtur")
        }
        let nurture = Campaign("nurture", kind: .nurture) { Entry(on: "x.y"); Email("welcome-1") }
        #expect(report([campaign, nurture], templates: catalog(email: ["welcome-1"])) == [
            "\(file):\(#line - 3): error: MoveTo unknown campaign 'nurtur'; did you mean 'nurture'?",
        ])
    }

    @Test func moveToLoopWithoutAWait() {
        let a = Campaign("a", kind: .welcome) {
            Entry(on: "lead.created")
            Email("welcome-1")
            MoveTo("b")
        }
        let b = Campaign("b", kind: .nurture) {
            If(.tagged("vip")) { MoveTo("a") }
            Wait(.days(1))
        }
        #expect(report([a, b], templates: catalog(email: ["welcome-1"])) == [
            "\(file):\(#line - 6): error: MoveTo 'b' can loop a lead without any wait: a → b → a",
        ])
    }

    @Test func moveToLoopBrokenByAWaitIsFine() {
        let a = Campaign("a", kind: .welcome) { Entry(on: "lead.created"); Email("welcome-1"); MoveTo("b") }
        let b = Campaign("b", kind: .nurture) { Wait(.days(7)); MoveTo("a") }
        #expect(report([a, b], templates: catalog(email: ["welcome-1"])) == [])
    }

    @Test func variantWeightsMustSumTo100() {
        let campaign = Campaign("c", kind: .welcome) {
            Entry(on: "lead.created")
            Email("offer", variants: ["A": 60, "B": 30])
        }
        #expect(report([campaign], templates: catalog(email: ["offer-a", "offer-b"])) == [
            "\(file):\(#line - 2): error: variant weights of 'offer' sum to 90, not 100 (A: 60, B: 30)",
        ])
    }

    @Test func aWinnerRuleNeedsVariantsAndASensibleConfidence() {
        let campaign = Campaign("c", kind: .welcome) {
            Entry(on: "lead.created")
            Email("welcome-1", winner: .auto(confidence: 0.95))
            Email("offer", variants: ["A": 50, "B": 50], winner: .auto(confidence: 1.2, minimumPerVariant: 0))
        }
        #expect(report([campaign], templates: catalog(email: ["welcome-1", "offer-a", "offer-b"])) == [
            "\(file):\(#line - 3): error: 'welcome-1' declares a winner rule but has no A/B variants to pick from",
            "\(file):\(#line - 2): error: the winner confidence of 'offer' must be between 0.5 and 1 (e.g. 0.95), not 1.2",
            "\(file):\(#line - 2): error: the winner of 'offer' needs a minimum of at least 1 message per variant, not 0",
        ])
    }

    @Test func aHoldoutIsAModestShareOfAMarketingCampaignWithAGoal() {
        let tooMany = Campaign("many", kind: .nurture, holdout: 60) {
            Entry(on: "lead.created")
            Exit(on: "demo.booked")
            Email("welcome-1")
        }
        let invoices = Campaign("invoices", kind: "billing", transactional: true, holdout: 10) {
            Entry(on: "invoice.sent")
            Email("welcome-1")
        }
        #expect(report([tooMany, invoices], templates: catalog(email: ["welcome-1"])) == [
            "\(file):\(#line - 9): error: the holdout of 'many' must be a percentage from 0 to 50, not 60",
            "\(file):\(#line - 4): warning: campaign 'invoices' holds out 10% but has no goal (Exit) to measure its lift on",
            "\(file):\(#line - 4): error: transactional campaign 'invoices' cannot hold leads out: they are owed its messages",
        ])
    }

    @Test func smsThatCouldFireAtNightIsAWarning() {
        let campaign = Campaign("c", kind: .engagement) {
            Entry(on: "lead.created")
            SMS("nudge")
        }
        let diagnostics = playbook([campaign]).validate(templates: catalog(email: [], sms: ["nudge"]))
        #expect(diagnostics.map(\.description) == [
            "\(file):\(#line - 3): warning: SMS 'nudge' could fire outside 08:00–21:00 in the lead's time zone; the engine will hold it until 08:00 (give it window: .daytime)",
        ])
        #expect(diagnostics.allSatisfy { $0.severity == .warning })
    }

    @Test func conditionsNameDeclaredAttributesAndRealEmailSteps() {
        let campaign = Campaign("c", kind: .welcome) {
            Entry(on: "lead.created")
            Email("welcome-1")
            If(.attribute("npss", .atLeast(9)) || .opened("welcome-2")) { Tag("fan") }
        }
        #expect(report([campaign], attributes: [Attribute("nps", .number)], templates: catalog(email: ["welcome-1"])) == [
            "\(file):\(#line - 2): error: 'opened(\"welcome-2\")' names no email step of campaign 'c'; did you mean 'welcome-1'?",
            "\(file):\(#line - 2): error: unknown attribute 'npss'; did you mean 'nps'? (declare it in the playbook's attributes)",
        ])
    }

    @Test func goalsComparingWithTheEntryEventNeedACapture() {
        let campaign = Campaign("invoice", kind: "invoice") {
            Entry(on: "invoice.issued")
            Exit(on: "invoice.paid", sameAs: ["invoice_number"])
            Email("welcome-1")
        }
        #expect(report([campaign], templates: catalog(email: ["welcome-1"])) == [
            "\(file):\(#line - 3): error: goal compares 'invoice_number' with the entry event, but no Entry captures it (add capturing: [\"invoice_number\"])",
        ])
    }

    @Test func attributeValuesMustFitTheirDeclaredType() {
        let campaign = Campaign("c", kind: .welcome) {
            Entry(on: "lead.created")
            SetAttribute("nps", to: "ten")
        }
        #expect(report([campaign], attributes: [Attribute("nps", .number)], templates: catalog(email: [])) == [
            "\(file):\(#line - 2): error: attribute 'nps' is a number; \"ten\" does not fit",
        ])
    }

    @Test func campaignNobodyCanEnterAndUnusedTemplatesAreWarnings() {
        let campaign = Campaign("orphan", kind: .nurture) { Email("welcome-1") }
        #expect(report([campaign], templates: catalog(email: ["welcome-1", "welcome-2"])) == [
            "\(file):\(#line - 1): warning: campaign 'orphan' has no Entry and no campaign moves leads into it: no lead can ever enter",
            "Templates/welcome-2.subject.mustache:1: warning: template 'welcome-2' is not used by any campaign",
        ])
    }

    @Test func everyProblemIsReportedAtOnce() {
        let campaign = Campaign("c", kind: .welcome) {
            Entry(on: "lead.created")
            Email("nope")
            WaitFor("x.y") { Tag("t") }
            MoveTo("elsewhere")
        }
        #expect(report([campaign], templates: catalog(email: [])).count == 3)
    }
}

/// A survey that cannot be answered, or whose answer has nowhere to go, is caught before it ships.
struct SurveyValidationTests {
    @Test func aSurveyMustLinkEveryAnswerAndKeepItInADeclaredAttribute() {
        let campaign = Campaign("ask", kind: "survey") {
            Entry(on: "ticket.closed")
            Survey(.csat, "csat-1")
        }
        let linked = (1...5).map { (SurveyScale.linkVariable($0), 3 + $0) }
        #expect(report([campaign], attributes: [Attribute("csat", .number)], templates: catalog(email: ["csat-1"], variables: ["csat-1": linked])).isEmpty)

        let partly = report([campaign], attributes: [Attribute("csat", .number)], templates: catalog(email: ["csat-1"], variables: ["csat-1": Array(linked.prefix(3))]))
        #expect(partly.count == 1)
        #expect(partly.first?.hasSuffix("error: 'csat-1' is a CSAT survey but does not link every answer: write {{survey_4}} {{survey_5}}") == true, "\(partly)")

        let undeclared = report([campaign], templates: catalog(email: ["csat-1"], variables: ["csat-1": linked]))
        #expect(undeclared.contains { $0.contains("a CSAT survey keeps its answer in the attribute 'csat': declare Attribute(\"csat\", .number, \"…\")") }, "\(undeclared)")
    }
}
