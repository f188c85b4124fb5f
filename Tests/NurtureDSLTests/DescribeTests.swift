import NurtureDSL
import Testing

struct DescribeTests {
    let campaign = Campaign("welcome", kind: .welcome, name: "Welcome series") {
        Entry(on: "lead.created")
        Exit(on: "demo.booked")
        Email("welcome-1")
        Wait(.days(2), window: .businessHours)
        If(.opened("welcome-1")) {
            Email("welcome-2")
        } else: {
            SMS("nudge")
        }
        Email("offer", variants: ["A": 70, "B": 30])
        ExitCampaign("done")
    }

    @Test func outlineShowsIdsWaitsBranchesAndVariants() {
        #expect(campaign.outline == """
            welcome — Welcome series [welcome]
              entry  on lead.created
              goal   exit on demo.booked
              re-entry never
              steps
                welcome-1      email welcome-1
                wait-1         wait 2d, then within Mon–Fri 09:00–17:00
                if-1           if opened welcome-1
                  then:
                    welcome-2  email welcome-2
                  else:
                    nudge      sms nudge
                offer          email offer (A 70% → offer-a / B 30% → offer-b)
                exit-1         exit campaign: done
            """)
    }

    @Test func mermaidGraphLinksBranchesAndEnds() {
        let mermaid = campaign.graph(format: .mermaid)
        #expect(mermaid.hasPrefix("flowchart TD\n"))
        #expect(mermaid.contains(#"    s_if_1{"if-1<br/>if opened welcome-1"}"#))
        #expect(mermaid.contains("    s_if_1 -->|yes| s_welcome_2"))
        #expect(mermaid.contains("    s_if_1 -->|no| s_nudge"))
        #expect(mermaid.contains("    s_welcome_2 --> s_offer"))
        #expect(mermaid.contains("    s_nudge --> s_offer"))
        // An exit step ends the journey: nothing links it to "done".
        #expect(!mermaid.contains("s_exit_1 --> done"))
    }

    @Test func dotGraphIsAValidDigraph() {
        let dot = campaign.graph(format: .dot)
        #expect(dot.hasPrefix("digraph \"welcome\" {"))
        #expect(dot.hasSuffix("}"))
        #expect(dot.contains(#"s_if_1 [label="if-1\nif opened welcome-1", shape=diamond];"#))
        #expect(dot.contains(#"s_if_1 -> s_welcome_2 [label="yes"];"#))
        let opens = dot.filter { $0 == "{" }.count, closes = dot.filter { $0 == "}" }.count
        #expect(opens == closes)
    }
}
