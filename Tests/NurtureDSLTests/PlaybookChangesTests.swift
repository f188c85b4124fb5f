import NurtureDSL
import Testing

/// How an edited campaign is matched with the deployed one, step by step.
struct PlaybookChangesTests {
    func changes(_ old: Campaign, _ new: Campaign) -> PlaybookChanges.CampaignChanges {
        let before = Playbook(brand: testBrand, attributes: {}) { old }, after = Playbook(brand: testBrand, attributes: {}) { new }
        return PlaybookChanges(from: before.shape(templates: [:]), to: after.shape(templates: [:])).campaign(old.id)!
    }

    @Test func anInsertedWaitIsAddedAndTheWaitsAfterItAreRenamedNotMoved() {
        let old = Campaign("c", kind: .nurture) { Email("a"); Wait(.days(2)); Email("b"); Wait(.days(3)); Email("c") }
        let new = Campaign("c", kind: .nurture) { Email("a"); Wait(.hours(4)); SMS("nudge"); Wait(.days(2)); Email("b"); Wait(.days(3)); Email("c") }
        let result = changes(old, new)
        #expect(result.fate(of: "wait-1")?.destination == .stays("wait-2"))
        #expect(result.fate(of: "wait-2")?.destination == .stays("wait-3"))
        #expect(result.fate(of: "wait-1")?.changes.isEmpty == true)
        #expect(result.added.map(\.id) == ["wait-1", "nudge"])
    }

    @Test func aRemovedStepSendsItsLeadsOnOrOutAsTheCampaignSays() {
        let old = Campaign("c", kind: .nurture) { Email("a"); Wait(.days(2)); Email("b"); Wait(.days(3)); Email("c") }
        let next = Campaign("c", kind: .nurture) { Email("a"); Email("c") }
        #expect(changes(old, next).fate(of: "wait-1")?.destination == .movesTo("c"))
        #expect(changes(old, next).fate(of: "b")?.destination == .movesTo("c"))
        let strict = Campaign("c", kind: .nurture, onRemovedStep: .exit) { Email("a"); Email("c") }
        #expect(changes(old, strict).fate(of: "wait-2")?.destination == .exits(reason: "step wait-2 removed"))
        let shorter = Campaign("c", kind: .nurture) { Email("a"); Wait(.days(2)); Email("b") }
        #expect(changes(old, shorter).fate(of: "c")?.destination == .completes)
    }

    @Test func leadsInsideARemovedBranchGoOnAfterIt() {
        let old = Campaign("c", kind: .nurture) {
            Email("a")
            If(.tagged("vip")) { Wait(.days(1)); Email("vip") } else: { Email("plain") }
            Email("z")
        }
        let new = Campaign("c", kind: .nurture) { Email("a"); Email("z") }
        let result = changes(old, new)
        #expect(result.fate(of: "if-1/then/wait-1")?.destination == .movesTo("z"))
        #expect(result.fate(of: "vip")?.destination == .movesTo("z"))
        #expect(result.fate(of: "if-1")?.removed == true)
    }

    @Test func aPinnedIDKeepsItsLeadsWhereverTheStepMoves() {
        let old = Campaign("c", kind: .nurture) { Email("a"); Wait(.days(2)).id("cool-off"); Email("b") }
        let new = Campaign("c", kind: .nurture) {
            Email("a"); Email("b")
            If(.tagged("x")) { Wait(.days(5)).id("cool-off") } else: { Email("c") }
        }
        let result = changes(old, new)
        #expect(result.fate(of: "cool-off")?.destination == .stays("cool-off"))
        #expect(result.fate(of: "cool-off")?.changes.map(\.description) == ["wait 2d → 5d"])
    }

    @Test func aStepPinnedToAnotherKindStartsItsLeadsOnTheNewStep() {
        let old = Campaign("c", kind: .nurture) { Email("a"); Wait(.days(2)).id("middle"); Email("b") }
        let new = Campaign("c", kind: .nurture) { Email("a"); SMS("nudge").id("middle"); Email("b") }
        let fate = changes(old, new).fate(of: "middle")
        #expect(fate?.destination == .movesTo("middle"))
        #expect(fate?.changes.first?.description == "kind wait → sms")
    }

    @Test func pinningAStepToANewIDKeepsItsLeads() {
        let old = Campaign("c", kind: .nurture) { Email("news"); Wait(.days(7)); Email("news") }
        let new = Campaign("c", kind: .nurture) { Email("news"); Wait(.days(7)); Email("news").id("reminder") }
        #expect(changes(old, new).fate(of: "news-2")?.destination == .stays("reminder"))
    }

    @Test func aWaitForThatBecomesTheFirstOfSeveralKeepsTheLeadsInItsBranch() {
        let old = Campaign("c", kind: .nurture) { WaitFor("demo.booked", timeout: .days(7)) { Wait(.days(1)); Email("a") }; Email("z") }
        let new = Campaign("c", kind: .nurture) {
            WaitFor(any: ["demo.booked", "trial.started"], timeout: .days(7)) { On("demo.booked") { Wait(.days(1)); Email("a") } }
            Email("z")
        }
        #expect(changes(old, new).fate(of: "wait-for-1/event/wait-1")?.destination == .stays("wait-for-1/demo.booked/wait-1"))
        // Another event awaited: the leads inside its branch stay too.
        let other = Campaign("c", kind: .nurture) { WaitFor("trial.started", timeout: .days(7)) { Wait(.days(1)); Email("a") }; Email("z") }
        #expect(changes(old, other).fate(of: "wait-for-1/event/wait-1")?.destination == .stays("wait-for-1/event/wait-1"))
        #expect(changes(old, other).fate(of: "wait-for-1")?.changes.map(\.aspect) == ["event"])
    }

    @Test func aCampaignsOwnSettingsAreChangesToo() {
        let old = Campaign("c", kind: .nurture) { Entry(on: "lead.created"); Email("a") }
        let new = Campaign("c", kind: .nurture, reentry: .after(.days(90)), exclusive: true) { Entry(on: "lead.created"); Exit(on: "demo.booked"); Email("a") }
        let result = changes(old, new)
        #expect(result.status == .changed)
        #expect(result.settings.map(\.description) == ["exclusive none → yes", "goals none → on demo.booked", "re-entry never → after 90d"])
    }
}
