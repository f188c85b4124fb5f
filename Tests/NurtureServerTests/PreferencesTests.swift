import Foundation
import HTTPTypes
import HummingbirdTesting
import NurtureEngine
import NurtureServer
import Testing

/// Suppressions by scope, and the page behind `{{preferences_url}}` where a person chooses what
/// they get: an unsubscribe stops marketing, not invoices; opting out of one kind leaves the
/// rest; only their own click resubscribes them, and it is recorded.
struct PreferencesTests {
    func form(_ client: any TestClientProtocol, _ path: String, _ body: String) async throws -> TestResponse {
        try await client.execute(uri: path, method: .post, headers: [.contentType: "application/x-www-form-urlencoded"], body: .init(string: body))
    }

    /// The preferences link from a rendered email's footer.
    func preferencesPath(_ html: String) throws -> String {
        let rest = try #require(html.components(separatedBy: "https://nurture.example/p/").dropFirst().first)
        return "/p/" + rest.prefix { $0 != "\"" }
    }

    @Test func aMarketingUnsubscribeStillReceivesTheInvoiceReminder() async throws {
        let fixture = try ServerFixture()
        try await fixture.test { client in
            let (leadID, _, html) = try await welcomedLead(fixture, client: client)
            let path = try preferencesPath(html)
            let unsubscribed = try await form(client, path, "action=unsubscribe")
            #expect(unsubscribed.status == .ok && unsubscribed.text.contains("You are unsubscribed from Larkspur marketing email"))
            #expect(try await fixture.store.suppressions(address: "ana@fernhill.example")[.email] == Suppression(.marketing, reason: "unsubscribed"))
            try await client.send(.post, "/v1/events", json: """
                {"lead_id": "\(leadID)", "type": "invoice.issued", "properties": {"invoice_number": "INV-9", "amount": "€120",
                 "due_date": "2026-12-20", "description": "Pro plan", "payment_url": "https://pay.larkspur.example/INV-9"}}
                """)
            _ = try await fixture.engine.runDue(now: fixture.now)
            let pass = try await fixture.runWorker()
            let messages = try await fixture.store.messages(status: nil, limit: 20)
            #expect(messages.first { $0.stepID == "welcome-1" }?.status == .suppressed, "the welcome email is marketing")
            #expect(messages.first { $0.stepID == "invoice-issued" }?.status == .sent)
            #expect(pass.sent == 1)
            // Twelve days on, the first reminder goes too.
            fixture.advance(12 * 86_400 + 3_600)
            _ = try await fixture.engine.runDue(now: fixture.now)
            _ = try await fixture.runWorker()
            let reminder = try await fixture.store.messages(status: nil, limit: 20).first { $0.stepID == "invoice-reminder-1" }
            #expect(reminder?.status == .sent, "\(String(describing: reminder))")
        }
    }

    @Test func aPersonOptsOutOfOneKindAndLaterResubscribesWithTheirOwnClick() async throws {
        let fixture = try ServerFixture()
        try await fixture.test { client in
            let (leadID, _, html) = try await welcomedLead(fixture, client: client)
            let path = try preferencesPath(html)
            let page = try await client.send(.get, path, key: nil)
            #expect(page.status == .ok)
            #expect(page.text.contains(#"<input type="checkbox" name="kind" value="engagement" checked>"#))
            #expect(page.text.contains(#"<input type="checkbox" name="kind" value="nurture" checked>"#))
            #expect(page.text.contains("Receipts and invoices always come."))
            #expect(!page.text.contains("invoice\""), "transactional kinds are not offered")
            #expect(try await fixture.store.suppressions(address: "ana@fernhill.example").isEmpty, "a GET changes nothing")

            // Everything but engagement.
            let kinds = try await fixture.engine.preferences(leadID: leadID)!.kinds.map(\.kind).filter { $0 != "engagement" }
            let saved = try await form(client, path, (kinds.map { "kind=\($0)" } + ["action=save"]).joined(separator: "&"))
            #expect(saved.text.contains("Saved.") && saved.text.contains(#"value="engagement">"#))
            let suppression = try await fixture.store.suppressions(address: "ana@fernhill.example")[.email]
            #expect(suppression == Suppression(.kinds(["engagement"]), reason: "opted out"))
            #expect(suppression?.stops(kind: "engagement", transactional: false) == true)
            #expect(suppression?.stops(kind: "nurture", transactional: false) == false)

            // Unsubscribing from all, then resubscribing: each the person's own click, each an event.
            _ = try await form(client, path, "action=unsubscribe")
            let resubscribed = try await form(client, path, "action=resubscribe")
            #expect(resubscribed.text.contains(#"value="engagement" checked>"#))
            #expect(try await fixture.store.suppressions(address: "ana@fernhill.example").isEmpty)
            let types = try #require(try await fixture.engine.detail(.id(leadID), now: fixture.now)).detail.timeline.map(\.type)
            #expect(types.filter { ["preferences.updated", "unsubscribed", "resubscribed"].contains($0) }.count == 3)

            // Nobody else can: the API refuses the event, and a forged token finds nothing.
            let forged = try await client.send(.post, "/v1/events", json: #"{"lead_id": "\#(leadID)", "type": "resubscribed"}"#)
            #expect(forged.status == .unprocessableContent || forged.status == .badRequest, "\(forged.text)")
            let foreign = LinkSigner(secret: Data("attacker".utf8), publicURL: "https://nurture.example").preferencesURL(leadID: leadID)
            #expect(try await client.send(.get, String(foreign.dropFirst("https://nurture.example".count)), key: nil).status == .notFound)
        }
    }

    @Test func aBounceIsNotThePersonsToLift() async throws {
        let fixture = try ServerFixture()
        try await fixture.test { client in
            let (leadID, _, html) = try await welcomedLead(fixture, client: client)
            try await fixture.store.suppress(address: "ana@fernhill.example", channel: .email, Suppression(.all, reason: "hard bounce"), at: fixture.now)
            let path = try preferencesPath(html)
            #expect(try await client.send(.get, path, key: nil).text.contains("Email to this address has stopped (hard bounce)"))
            _ = try await form(client, path, "action=resubscribe")
            #expect(try await fixture.store.suppressions(address: "ana@fernhill.example")[.email] == Suppression(.all, reason: "hard bounce"))
            _ = leadID
        }
    }
}

/// `GET /v1/leads/{id}/export` and `DELETE /v1/leads/{id}`: a person's data over the API, each
/// request audited under the key's fingerprint, never the key.
struct PrivacyRequestTests {
    @Test func exportThenEraseOverTheAPI() async throws {
        let fixture = try ServerFixture()
        try await fixture.test { client in
            let (leadID, _, _) = try await welcomedLead(fixture, client: client)
            let export = try await client.send(.get, "/v1/leads/ana@fernhill.example/export")
            #expect(export.status == .ok)
            #expect((export.json["lead"] as? [String: Any])?["email"] as? String == "ana@fernhill.example")
            #expect((export.json["messages"] as? [[String: Any]])?.first?["address"] as? String == "ana@fernhill.example")
            #expect(try await client.send(.delete, "/v1/leads/ana@fernhill.example", key: nil).status == .unauthorized)

            let erased = try await client.send(.delete, "/v1/leads/\(leadID)")
            #expect(erased.status == .ok, "\(erased.text)")
            #expect(erased.json["id"] as? String == leadID)
            #expect(((erased.json["erased"] as? [String: Any])?["messages"] as? Int ?? 0) >= 1)
            #expect(try await client.send(.get, "/v1/leads/\(leadID)").status == .notFound)
            #expect(try await client.send(.get, "/v1/leads/ana@fernhill.example/export").status == .notFound)
            #expect(try await client.send(.delete, "/v1/leads/\(leadID)").status == .notFound)
            #expect(try await fixture.store.messages(status: nil, limit: 10).isEmpty)

            let audit = try await fixture.store.privacyRequests(limit: 10)
            #expect(audit.map(\.action) == [.forget, .export])
            #expect(audit.allSatisfy { $0.actor.hasPrefix("API key ") && !$0.actor.contains(ServerFixture.apiKey) && $0.leadID == leadID })
        }
    }
}
