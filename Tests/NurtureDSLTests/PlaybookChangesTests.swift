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
}
