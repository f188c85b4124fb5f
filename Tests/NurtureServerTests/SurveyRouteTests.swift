import Foundation
import HTTPTypes
import HummingbirdTesting
import NurtureEngine
import NurtureServer
import Testing

/// `/s/TOKEN`: a GET (a mail scanner, or the person) shows the answer and records nothing; the
/// person's click records it once; a second answer to the same email is thanked and ignored.
struct SurveyRouteTests {
    @Test func aGETShowsTheAnswerAndTheClickRecordsItOnce() async throws {
        let fixture = try ServerFixture()
        try await fixture.test { client in
            let (leadID, _, _) = try await welcomedLead(fixture, client: client)
            _ = try await client.send(.post, "/v1/leads/\(leadID)/outcome", json: #"{"outcome": "won"}"#)
            fixture.advance(30 * 86_400 + 3_600)                    // a Friday, within business hours
            _ = try await fixture.engine.runDue(now: fixture.now)
            let survey = try #require(try await fixture.store.messages(status: nil, limit: 50).first { $0.stepID == "nps-survey" })
            let nine = ServerFixture.links.surveyURL(messageID: survey.id, answer: 9).replacingOccurrences(of: "https://nurture.example", with: "")
            let three = ServerFixture.links.surveyURL(messageID: survey.id, answer: 3).replacingOccurrences(of: "https://nurture.example", with: "")
            #expect(survey.payload.contains(nine.replacingOccurrences(of: "/", with: "\\/")) || survey.payload.contains(nine), "the email links this answer")

            let page = try await client.send(.get, nine, key: nil)
            #expect(page.status == .ok && page.text.contains("How likely are you to recommend Larkspur") && page.text.contains("<strong>9</strong>"))
            #expect(try await fixture.store.lead(id: leadID)?.attributes["nps"] == nil, "a GET records nothing")

            let answered = try await client.execute(uri: nine, method: .post, headers: [.contentType: "application/x-www-form-urlencoded"],
                                                    body: .init(string: "comment=Love+the+pipeline+view"))
            #expect(answered.status == .ok && String(buffer: answered.body).contains("your answer (9)"))
            #expect(try await fixture.store.lead(id: leadID)?.attributes["nps"] == .number(9))
            let again = try await client.execute(uri: three, method: .post, headers: [.contentType: "application/x-www-form-urlencoded"], body: .init(string: ""))
            #expect(String(buffer: again.body).contains("we have your answer already"))
            #expect(try await fixture.store.lead(id: leadID)?.attributes["nps"] == .number(9))
            #expect(try await client.send(.get, three, key: nil).text.contains("we have your answer"))
            #expect(try await client.send(.get, "/s/not-a-token", key: nil).status == .notFound)
            let forged = try await client.send(.post, "/v1/events", json: #"{"lead_id": "\#(leadID)", "type": "survey.answered", "properties": {"answer": 0}}"#)
            #expect(forged.status == .badRequest, "an answer comes only from the person's click")
        }
    }
}
