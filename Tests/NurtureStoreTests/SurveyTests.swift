import Campaigns
import Foundation
import NurtureDSL
import NurtureEngine
import NurtureStorage
import NurtureTesting
import Testing

/// The shipped NPS loop: a survey a month after a deal is won, one signed link per answer, each
/// email answered once; the answer kept as `nps`, promoters into the advocate programme,
/// detractors to their owner; `stats` counting responses and the score against a hand count.
struct SurveyTests {
    /// The answer links of a survey email's HTML, by answer.
    static func answerLinks(_ message: OutboxMessage) throws -> [Int: String] {
        let payload = try #require(try JSONSerialization.jsonObject(with: Data(message.payload.utf8)) as? [String: Any])
        let html = try #require(payload["html"] as? String)
        var links: [Int: String] = [:]
        for part in html.components(separatedBy: "href=\"").dropFirst() {
            let url = String(part.prefix { $0 != "\"" })
            guard url.contains("/s/"), let label = part.split(separator: ">").dropFirst().first?.prefix(while: \.isNumber), let answer = Int(label) else { continue }
            links[answer] = url
        }
        return links
    }

    @Test(arguments: [Backend.sqliteFile, .postgres])
    func npsAnswersAreSignedSingleUseAndCountedAsAHandCountSays(_ backend: Backend) async throws {
        let store = try await backend.makeStore()
        let engine = try CampaignControlTests.engine(store)
        let t0 = HandOverTests.instant("2026-11-02T10:00")              // a Monday
        let names = ["ana", "ben", "cy", "dee", "eve"]
        _ = try await engine.upsert(names.map(HandOverTests.patch), now: t0)
        for name in names { _ = try await engine.mark(.email("\(name)@example.com"), outcome: .won, now: t0) }
        let surveyDay = t0.addingTimeInterval(30 * 86_400 + 3_600)         // a Wednesday, 11:00 in London
        _ = try await engine.runDue(now: surveyDay)
        _ = try await CampaignControlTests.sendAll(engine, now: surveyDay)
        var surveys: [String: OutboxMessage] = [:]
        for name in names {
            let lead = try #require(try await store.lead(email: "\(name)@example.com"))
            surveys[name] = try await store.latestMessages(leadID: lead.id, limit: 50).first { $0.stepID == "nps-survey" }
        }
        #expect(surveys.count == 5)

        let answers = ["ana": 10, "ben": 9, "cy": 8, "dee": 3]
        for (name, answer) in answers {
            let message = try #require(surveys[name])
            let links = try Self.answerLinks(message)
            #expect(links.keys.sorted() == Array(0...10), "one link per answer")
            let token = try #require(links[answer].map { String($0.split(separator: "/").last!) })
            guard case .survey(let messageID, let linked)? = Fixture.links.link(token) else { Issue.record("not a survey link"); continue }
            #expect((messageID, linked) == (message.id, answer))
            let question = try #require(try await engine.surveyQuestion(messageID: messageID, answer: answer))
            #expect(question.scale == .nps && !question.answered)
            #expect(try await engine.answerSurvey(question, messageID: messageID, comment: name == "dee" ? "Setup was painful" : nil, now: surveyDay))
        }
        // Single use: Ana's other links (and the same one again) are refused.
        let anaQuestion = try #require(try await engine.surveyQuestion(messageID: surveys["ana"]!.id, answer: 2))
        #expect(anaQuestion.answered)
        #expect(try await engine.answerSurvey(anaQuestion, messageID: surveys["ana"]!.id, comment: nil, now: surveyDay) == false)
        // A forged or foreign token, or an answer off the scale, stands for nothing.
        #expect(Fixture.links.link(LinkSigner(secret: Data("x".utf8), publicURL: "https://x").token(for: "s1|\(surveys["eve"]!.id)|10")) == nil)
        #expect(try await engine.surveyQuestion(messageID: surveys["eve"]!.id, answer: 11) == nil)

        // The answer is the lead's nps: promoters enter the advocate programme, the detractor's owner is alerted.
        let ana = try #require(try await store.lead(email: "ana@example.com"))
        #expect(ana.attributes["nps"] == .number(10))
        #expect(try await HandOverTests.enrollments(store, "ana").contains { $0.campaignID == "advocates" })
        #expect(try await HandOverTests.enrollments(store, "dee").contains { $0.campaignID == "nps-detractors" })
        #expect(!(try await HandOverTests.enrollments(store, "cy").contains { ["advocates", "nps-detractors"].contains($0.campaignID) }))
        _ = try await engine.runDue(now: surveyDay.addingTimeInterval(60))
        let dee = try #require(try await store.lead(email: "dee@example.com"))
        let alert = try #require(try await store.latestMessages(leadID: dee.id, limit: 50).first { $0.channel == .sales })
        #expect(alert.preview.contains("NPS survey with 6 or less"))
        #expect(try await store.latestEvents(leadID: dee.id, limit: 50).contains { $0.type == "survey.answered" && $0.properties["comment"] == "Setup was painful" })

        // Five days on, only Eve, who did not answer, gets the reminder.
        _ = try await engine.runDue(now: surveyDay.addingTimeInterval(5 * 86_400 + 60))
        for name in names {
            let lead = try #require(try await store.lead(email: "\(name)@example.com"))
            let reminded = try await store.latestMessages(leadID: lead.id, limit: 50).contains { $0.stepID == "nps-survey-reminder" }
            #expect(reminded == (name == "eve"), "\(name)")
        }
        // One answer per journey: Eve answers the reminder, and the first email's links are then refused.
        let eve = try #require(try await store.lead(email: "eve@example.com"))
        let reminder = try #require(try await store.latestMessages(leadID: eve.id, limit: 50).first { $0.stepID == "nps-survey-reminder" })
        let late = try #require(try await engine.surveyQuestion(messageID: reminder.id, answer: 7))
        #expect(try await engine.answerSurvey(late, messageID: reminder.id, comment: nil, now: surveyDay.addingTimeInterval(6 * 86_400)))
        let first = try #require(try await engine.surveyQuestion(messageID: surveys["eve"]!.id, answer: 10))
        #expect(first.answered)
        #expect(try await engine.answerSurvey(first, messageID: surveys["eve"]!.id, comment: nil, now: surveyDay.addingTimeInterval(6 * 86_400)) == false)
        #expect(try await store.lead(email: "eve@example.com")?.attributes["nps"] == .number(7))

        // By hand: 4 answers of 5 sent; promoters 2 (10, 9), passives 1 (8), detractors 1 (3): NPS (2 − 1) / 4 = +25.
        let result = try #require(try await engine.stats(CounterFilter(campaignID: "nps-survey")).first?.surveys.first { $0.step == "nps-survey" })
        #expect((result.responses, result.promoters, result.passives, result.detractors) == (4, 2, 1, 1))
        #expect(result.nps == 25)
        #expect(result.sent == 5 && result.responseRate == 0.8)
    }
}
