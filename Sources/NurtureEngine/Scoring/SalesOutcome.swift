public import Foundation
import NurtureDSL
public import NurtureStorage

/// Sales' verdict on a lead (`nurture leads mark EMAIL --outcome won|lost|bad-fit`), recorded as a
/// `sales.outcome` event so scoring rules and reports can use it. It also sets the lead's
/// `sales_outcome` field, which profile rules can score (a bad fit should not keep ranking high),
/// and a won deal makes the lead a customer.
public enum SalesOutcome: String, Sendable, Hashable, CaseIterable {
    case won, lost
    case badFit = "bad-fit"

    public static let eventType = "sales.outcome"

    init?(event: LeadEvent) {
        guard let text = event.properties["outcome"]?.textValue, let outcome = SalesOutcome(rawValue: text) else { return nil }
        self = outcome
    }

    func apply(to lead: inout Lead) {
        lead.attributes["sales_outcome"] = .string(rawValue)
        if self == .won { lead.stage = .customer }
    }

    /// The event that records the verdict.
    public func event(for subject: IncomingEvent.Subject, note: String?, by: String?, at: Date) -> IncomingEvent {
        var properties: [String: Value] = ["outcome": .string(rawValue)]
        if let note, !note.isEmpty { properties["note"] = .string(note) }
        if let by, !by.isEmpty { properties["by"] = .string(by) }
        return IncomingEvent(subject: subject, type: Self.eventType, at: at, properties: properties)
    }
}
