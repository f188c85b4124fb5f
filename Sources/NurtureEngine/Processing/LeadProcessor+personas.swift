import Foundation
import NurtureDSL
import NurtureStorage

/// Personas and buying signals: what a lead is taken to be, and what it did, for the content
/// templates choose.
extension LeadProcessor {
    /// Gives the lead the first persona it fits, or none, as its `persona` attribute. Returns
    /// whether it changed; the caller lets goals and entries see the change (`leadChanged`
    /// looks here first, so every change of the lead is also a chance to change persona).
    @discardableResult
    func refreshPersona(_ work: inout LeadWork, now: Date) -> Bool {
        guard !playbook.personas.isEmpty else { return false }
        let evaluator = ConditionEvaluator(state: work.state, campaignID: "", now: now)
        let fitting = playbook.personas.first { evaluator.holds($0.condition) }?.id
        guard fitting != work.lead.attributes[Persona.attribute]?.textValue else { return false }
        work.lead.attributes[Persona.attribute] = fitting.map { .string($0) }
        work.log.append(.init(at: now, campaign: "", note: .persona(fitting)))
        return true
    }

    /// Looks at the persona again where nothing else changed the lead (an event, time passing),
    /// and lets goals and entries see it if it changed.
    func assignPersona(_ work: inout LeadWork, now: Date) {
        let before = work.lead
        if refreshPersona(&work, now: now) { leadChanged(from: before, &work, now: now, except: "") }
    }

    /// The declared signals the lead shows at `now` (`{{#did.NAME}}` in templates).
    func signals(of work: LeadWork, now: Date) -> Set<String> {
        guard !playbook.signals.isEmpty else { return [] }
        let evaluator = ConditionEvaluator(state: work.state, campaignID: "", now: now)
        return Set(playbook.signals.filter { evaluator.holds($0.condition) }.map(\.id))
    }
}
