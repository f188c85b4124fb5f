import Foundation
import NurtureDSL
import NurtureEngine
import NurtureTesting
import Testing

func testLead(id: String = "lead-1", zone: String = "Europe/Lisbon", smsConsent: Bool = true) -> Lead {
    Lead(id: id, email: "ana@example.com", phone: "+351912345678", firstName: "Ana", company: "Fernhill",
         timeZone: zone, smsConsent: smsConsent)
}

/// One lead in one campaign, driven by hand on a virtual clock.
struct Harness {
    let machine: EnrollmentMachine
    var enrollment: Enrollment
    var state: LeadState

    /// Step mechanics are tested without frequency caps; the caps have tests of their own.
    init(_ campaign: Campaign, lead: Lead = testLead(), start: Date, trigger: [String: Value] = [:], policy: SendingPolicy = .unlimited) {
        machine = EnrollmentMachine(campaign: campaign, policy: policy)
        enrollment = machine.enroll(lead, at: start, trigger: trigger)
        state = LeadState(lead: lead)
    }

    mutating func advance(at now: Date) -> [Effect] {
        machine.advance(&enrollment, state: &state, now: now)
    }

    mutating func event(_ type: String, at now: Date, _ properties: [String: Value] = [:]) -> [Effect] {
        let event = LeadEvent(type, at: now, properties: properties)
        state.events.append(event)
        return machine.receive(event, &enrollment, state: &state, now: now)
    }

    /// The step ids of the messages in `effects`.
    static func sent(_ effects: [Effect]) -> [String] {
        effects.compactMap { if case .send(let message) = $0 { message.stepID } else { nil } }
    }

    /// The repository root, for the shipped campaigns and templates.
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
}
