public import Foundation
public import NurtureDSL
public import NurtureStorage

/// An answer to a `Survey` step, as its `survey.answered` event carries it.
public struct SurveyAnswer: Sendable, Hashable {
    public static let eventType = "survey.answered"

    public var scale: SurveyScale
    public var answer: Int
    public var campaignID: String
    public var stepID: String
    public var messageID: String
    public var comment: String?

    public init(scale: SurveyScale, answer: Int, campaignID: String, stepID: String, messageID: String, comment: String? = nil) {
        self.scale = scale
        self.answer = answer
        self.campaignID = campaignID
        self.stepID = stepID
        self.messageID = messageID
        self.comment = comment
    }

    public init?(_ event: LeadEvent) {
        guard let scale = event.properties["survey"].flatMap({ SurveyScale(rawValue: $0.textValue) }),
              case .number(let number)? = event.properties["answer"], let answer = Int(exactly: number), scale.answers.contains(answer),
              let campaign = event.properties["campaign"]?.textValue, let step = event.properties["step"]?.textValue,
              let message = event.properties["message"]?.textValue
        else { return nil }
        self.init(scale: scale, answer: answer, campaignID: campaign, stepID: step, messageID: message, comment: event.properties["comment"]?.textValue)
    }

    /// The event that records it, once per survey message (its client id).
    public func event(leadID: String, at: Date) -> IncomingEvent {
        var properties: [String: Value] = [
            "survey": .string(scale.rawValue), "answer": .number(Double(answer)), "campaign": .string(campaignID), "step": .string(stepID),
            "message": .string(messageID),
        ]
        if let comment, !comment.isEmpty { properties["comment"] = .string(comment) }
        return IncomingEvent(subject: .id(leadID), type: Self.eventType, at: at, properties: properties, clientID: "survey:\(messageID)")
    }
}

extension LeadProcessor {
    /// Keeps the answer as the lead's attribute (so entries, goals and scoring on `nps` act on
    /// it) and counts it under the survey's step.
    func record(_ answer: SurveyAnswer, _ work: inout LeadWork, now: Date) {
        work.newStepFacts.append(StepFact(leadID: work.lead.id, campaignID: answer.campaignID, stepID: answer.stepID, variant: nil, channel: .email,
                                          kind: "answered", reason: String(answer.answer), at: now))
        let before = work.lead
        work.lead.attributes[answer.scale.attribute] = .number(Double(answer.answer))
        if work.lead != before { leadChanged(from: before, &work, now: now, except: "") }
    }
}
