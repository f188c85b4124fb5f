import Foundation
import HTTPTypes
import HummingbirdTesting
import NurtureEngine
import NurtureServer
import Testing

/// Creates a lead through the API and lets the worker produce its welcome email.
func welcomedLead(_ fixture: ServerFixture, client: any TestClientProtocol, name: String = "Ana", phone: Bool = false) async throws -> (leadID: String, message: OutboxMessage, html: String) {
    let phoneField = phone ? #", "phone": "+351912345678", "sms_consent": true"# : ""
    let created = try await client.send(.post, "/v1/leads", json: #"{"email": "ana@fernhill.example", "first_name": "\#(name)", "timezone": "Europe/Lisbon"\#(phoneField)}"#)
    let leadID = try #require(created.json["id"] as? String)
    _ = try await fixture.engine.runDue(now: fixture.now)
    let message = try #require(try await fixture.store.messages(status: .pending, limit: 10).first { $0.stepID == "welcome-1" })
    let payload = try #require(try JSONSerialization.jsonObject(with: Data(message.payload.utf8)) as? [String: Any])
    return (leadID, message, try #require(payload["html"] as? String))
}

/// `/t/c/TOKEN` paths in an HTML body, in order.
func trackedPaths(_ html: String, kind: String) -> [String] {
    html.components(separatedBy: "https://nurture.example/t/\(kind)/").dropFirst().map { rest in
        "/t/\(kind)/" + rest.prefix { $0 != "\"" && $0 != "'" }
    }
}

struct TrackingTests {
    @Test func htmlEmailsCarryAPixelAndTrackedLinksThatRecordAndRedirectOnlyToTheirTarget() async throws {
        let fixture = try ServerFixture()
        try await fixture.test { client in
            let (leadID, message, html) = try await welcomedLead(fixture, client: client)
            let pixels = trackedPaths(html, kind: "o"), clicks = trackedPaths(html, kind: "c")
            #expect(pixels.count == 1)
            #expect(!clicks.isEmpty)
            // The unsubscribe link stays direct.
            #expect(html.contains("https://nurture.example/u/"))

            let gif = try await client.send(.get, pixels[0], key: nil)
            #expect(gif.status == .ok && gif.headers[.contentType] == "image/gif" && gif.body.readableBytes == 43)
            try await client.send(.get, pixels[0], key: nil)
            let redirect = try await client.send(.get, clicks[0], key: nil)
            #expect(redirect.status == .found)
            #expect(redirect.headers[.location] == "https://larkspur.example/start")

            let events = try #require(try await fixture.engine.detail(.id(leadID), now: fixture.now)).detail.timeline
            let opens = events.filter { $0.type == "email.opened" }, clicked = events.filter { $0.type == "email.clicked" }
            #expect(opens.count == 1, "a second open of the same message is not counted")
            #expect(opens.first?.properties["step"] == .string("welcome-1") && opens.first?.properties["message"] == .string(message.id))
            #expect(clicked.first?.properties["url"] == .string("https://larkspur.example/start"))

            // Tampered and foreign tokens: 404, nothing recorded, no redirect anywhere.
            let token = String(clicks[0].dropFirst("/t/c/".count))
            // The last character of a MAC carries unused bits: changing them must not pass either.
            let tampered = "/t/c/" + String(token.dropLast()) + (token.last == "A" ? "B" : "A")
            let payloadEdit = "/t/c/" + String(token.prefix(10)) + (token.dropFirst(10).first == "x" ? "y" : "x") + String(token.dropFirst(11))
            let foreign = LinkSigner(secret: Data("attacker".utf8), publicURL: "https://nurture.example")
                .clickURL(messageID: message.id, target: "https://evil.example/login")
            let forged = LinkSigner(secret: Data("attacker".utf8), publicURL: "x").token(for: "c1|\(message.id)|https://evil.example")
            let resigned = String(token.split(separator: ".")[0]) + "." + String(forged.split(separator: ".")[1])
            for path in [tampered, payloadEdit, String(foreign.dropFirst("https://nurture.example".count)), "/t/c/" + resigned, "/t/c/nonsense", "/t/o/" + token] {
                let response = try await client.send(.get, path, key: nil)
                #expect(response.status == .notFound, "\(path)")
                #expect(response.headers[.location] == nil)
            }
            let after = try #require(try await fixture.engine.detail(.id(leadID), now: fixture.now)).detail.timeline
            #expect(after.filter { $0.type == "email.clicked" }.count == 1)
        }
    }

    @Test func transactionalMailIsNotTrackedAndLeadDataIsEscapedApostropheIncluded() async throws {
        let fixture = try ServerFixture()
        try await fixture.test { client in
            let (leadID, _, html) = try await welcomedLead(fixture, client: client, name: "O'Brien <b>")
            #expect(html.contains("Hi O&#39;Brien &lt;b&gt;,"))
            try await client.send(.post, "/v1/events", json: """
                {"lead_id": "\(leadID)", "type": "invoice.issued", "properties": {"invoice_number": "INV-7", "amount": "€120",
                 "due_date": "2026-12-01", "description": "Pro plan", "payment_url": "https://pay.larkspur.example/INV-7"}}
                """)
            _ = try await fixture.engine.runDue(now: fixture.now)
            let invoice = try #require(try await fixture.store.messages(status: .pending, limit: 10).first { $0.campaignID == "invoice-follow-up" })
            #expect(invoice.payload.contains("https://pay.larkspur.example/INV-7"))
            #expect(!invoice.payload.contains("/t/c/") && !invoice.payload.contains("/t/o/"))
        }
    }
}

struct UnsubscribeTests {
    @Test func aGETOnlyAsksAndTheOneClickPOSTSuppressesSoNothingMoreGoesOut() async throws {
        let fixture = try ServerFixture()
        try await fixture.test { client in
            let (leadID, message, _) = try await welcomedLead(fixture, client: client, name: "O'Brien")
            let payload = try #require(try JSONSerialization.jsonObject(with: Data(message.payload.utf8)) as? [String: Any])
            let header = try #require((payload["headers"] as? [String: String])?["List-Unsubscribe"])
            #expect((payload["headers"] as? [String: String])?["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click")
            let path = String(header.dropFirst("<https://nurture.example".count).dropLast())

            let page = try await client.send(.get, path, key: nil)
            #expect(page.status == .ok && page.text.contains("<form method=\"post\">"))
            #expect(try await fixture.store.suppressions(address: "ana@fernhill.example").isEmpty, "a GET (a mail scanner) must not unsubscribe")

            let oneClick = try await client.execute(uri: path, method: .post, headers: [.contentType: "application/x-www-form-urlencoded"],
                                                    body: .init(string: "List-Unsubscribe=One-Click"))
            #expect(oneClick.status == .ok)
            #expect(oneClick.headers[.location] == nil)
            #expect(try await fixture.store.suppressions(address: "ana@fernhill.example")[.email] == Suppression(.marketing, reason: "unsubscribed"))
            // The pending welcome email is claimed after the unsubscribe committed: suppressed, not sent.
            let pass = try await fixture.runWorker()
            #expect(pass.sent == 0)
            #expect(try await fixture.store.message(id: message.id)?.status == .suppressed)
            let events = try #require(try await fixture.engine.detail(.id(leadID), now: fixture.now)).detail.timeline
            #expect(events.filter { $0.type == "unsubscribed" }.count == 1)
            // A second click is harmless and records nothing more.
            #expect(try await client.send(.post, path, key: nil).status == .ok)
            let again = try #require(try await fixture.engine.detail(.id(leadID), now: fixture.now)).detail.timeline
            #expect(again.filter { $0.type == "unsubscribed" }.count == 1)
            #expect(try await client.send(.get, path, key: nil).text.contains("is unsubscribed"))
            #expect(try await client.send(.post, "/u/" + String(path.dropFirst(3).dropLast()) + "x", key: nil).status == .notFound)
        }
    }
}

struct InboundTests {
    @Test func signedBouncesSuppressAndUpdateTheMessageOnceReplaysAreIgnored() async throws {
        let fixture = try ServerFixture()
        try await fixture.test { client in
            let (leadID, message, _) = try await welcomedLead(fixture, client: client)
            try await fixture.runWorker()
            let body = #"{"type": "bounced", "bounce": "hard", "message_id": "\#(message.id)", "reason": "550 5.1.1 no such user"}"#
            let headers = signedHeaders(id: "wh_1", body: body, secret: ServerFixture.emailSecret, at: fixture.now)
            let first = try await client.send(.post, "/v1/inbound/email", json: body, key: nil, headers: headers)
            #expect(first.status == .ok && first.json["replayed"] as? Bool == false)
            #expect(try await fixture.store.suppressions(address: "ana@fernhill.example")[.email] == Suppression(.all, reason: "hard bounce"))
            #expect(try await fixture.store.message(id: message.id)?.delivery == "bounced")
            // An id with a NUL is refused, never looked up cut short (it would match msg_… itself).
            let cut = #"{"type": "complained", "message_id": "\#(message.id)\u0000other"}"#
            let refusedCut = try await client.send(.post, "/v1/inbound/email", json: cut, key: nil,
                                                   headers: signedHeaders(id: "wh_nul", body: cut, secret: ServerFixture.emailSecret, at: fixture.now))
            #expect(refusedCut.status == .badRequest && refusedCut.problemPaths == ["$.message_id"], "\(refusedCut.text)")
            #expect(try await fixture.store.suppressions(address: "ana@fernhill.example")[.email] == Suppression(.all, reason: "hard bounce"))

            let replay = try await client.send(.post, "/v1/inbound/email", json: body, key: nil, headers: headers)
            #expect(replay.status == .ok && replay.json["replayed"] as? Bool == true)
            let events = try #require(try await fixture.engine.detail(.id(leadID), now: fixture.now)).detail.timeline
            #expect(events.filter { $0.type == "email.bounced" }.count == 1)

            // Stale, tampered, unsigned and wrongly keyed requests are refused and change nothing.
            let complaint = #"{"type": "complained", "email": "someone@example.com"}"#
            let stale = signedHeaders(id: "wh_2", body: complaint, secret: ServerFixture.emailSecret, at: fixture.now.addingTimeInterval(-301))
            var tampered = signedHeaders(id: "wh_3", body: complaint, secret: ServerFixture.emailSecret, at: fixture.now)
            tampered[HTTPField.Name("webhook-id")!] = "wh_4"
            let wrongKey = signedHeaders(id: "wh_5", body: complaint, secret: ServerFixture.smsSecret, at: fixture.now)
            for (headers, code) in [(stale, "stale"), (tampered, "bad_signature"), (HTTPFields(), "unsigned"), (wrongKey, "bad_signature")] {
                let refused = try await client.send(.post, "/v1/inbound/email", json: complaint, key: nil, headers: headers)
                #expect(refused.status == .unauthorized && refused.errorCode == code)
            }
            #expect(try await fixture.store.suppressions(address: "someone@example.com").isEmpty)
            // A complaint about an address no lead has still suppresses the address.
            let accepted = try await client.send(.post, "/v1/inbound/email", json: complaint, key: nil,
                                                 headers: signedHeaders(id: "wh_6", body: complaint, secret: ServerFixture.emailSecret, at: fixture.now))
            #expect(accepted.results.first?["status"] as? String == "suppressed")
            #expect(try await fixture.store.suppressions(address: "someone@example.com")[.email] == Suppression(.all, reason: "complaint"))
        }
    }

    @Test func stopSuppressesAtOnceWithOneConfirmationAndStartAndHelpAnswer() async throws {
        let fixture = try ServerFixture()
        try await fixture.test { client in
            let (leadID, _, _) = try await welcomedLead(fixture, client: client, phone: true)
            func reply(_ text: String, id: String) async throws -> TestResponse {
                let body = #"{"type": "received", "from": "+351 912 345 678", "body": "\#(text)"}"#
                return try await client.send(.post, "/v1/inbound/sms", json: body, key: nil,
                                             headers: signedHeaders(id: id, body: body, secret: ServerFixture.smsSecret, at: fixture.now))
            }
            #expect(try await reply("Stop", id: "sms_1").status == .ok)
            #expect(try await fixture.store.suppressions(address: "+351912345678")[.sms] == Suppression(.all, reason: "SMS STOP"))
            try await reply("STOP", id: "sms_2")
            fixture.advance(1)
            try await reply("quit", id: "sms_3")
            let system = try await fixture.store.messages(status: nil, limit: 50).filter { $0.campaignID == OutboxMessage.systemCampaign }
            #expect(system.map(\.stepID) == ["stop-confirmation"], "at most one confirmation per opt-out")
            #expect(system.first?.preview.contains("Reply START") == true)
            #expect(system.first?.preview.lowercased().contains("offer") == false)
            // The confirmation goes out although the number is now suppressed; nothing else does.
            try await fixture.runWorker()
            #expect(try await fixture.store.message(id: system[0].id)?.status == .sent)
            // The provider's delivery receipt lands on the message.
            let receipt = #"{"type": "delivered", "message_id": "\#(system[0].id)"}"#
            try await client.send(.post, "/v1/inbound/sms", json: receipt, key: nil,
                                  headers: signedHeaders(id: "sms_receipt", body: receipt, secret: ServerFixture.smsSecret, at: fixture.now))
            #expect(try await fixture.store.message(id: system[0].id)?.delivery == "delivered")

            fixture.advance(60)
            try await reply("START", id: "sms_4")
            #expect(try await fixture.store.suppressions(address: "+351912345678").isEmpty)
            fixture.advance(60)
            try await reply("help", id: "sms_5")
            let steps = try await fixture.store.messages(status: nil, limit: 50).filter { $0.campaignID == OutboxMessage.systemCampaign }.map(\.stepID)
            #expect(Set(steps) == ["stop-confirmation", "start-confirmation", "help"])
            let events = try #require(try await fixture.engine.detail(.id(leadID), now: fixture.now)).detail.timeline.map(\.type)
            #expect(events.filter { $0 == "sms.opted_out" }.count == 3 && events.contains("sms.opted_in") && events.contains("sms.help"))

            // A STOP from a number no lead has still binds that number.
            let body = #"{"type": "received", "from": "+14155550199", "body": "STOP"}"#
            try await client.send(.post, "/v1/inbound/sms", json: body, key: nil,
                                  headers: signedHeaders(id: "sms_6", body: body, secret: ServerFixture.smsSecret, at: fixture.now))
            #expect(try await fixture.store.suppressions(address: "+14155550199")[.sms] == Suppression(.all, reason: "SMS STOP"))
        }
    }
}

struct SoftBounceTests {
    @Test func threeSoftBouncesWithinThirtyDaysSuppressTwoDoNot() async throws {
        let fixture = try ServerFixture()
        try await fixture.test { client in
            _ = try await welcomedLead(fixture, client: client)
            func softBounce(_ id: String) async throws {
                let body = #"{"type": "bounced", "bounce": "soft", "email": "ana@fernhill.example", "reason": "452 mailbox full"}"#
                let response = try await client.send(.post, "/v1/inbound/email", json: body, key: nil,
                                                     headers: signedHeaders(id: id, body: body, secret: ServerFixture.emailSecret, at: fixture.now))
                #expect(response.status == .ok)
            }
            try await softBounce("soft-1")
            fixture.advance(40 * 86_400)
            try await softBounce("soft-2")
            fixture.advance(86_400)
            try await softBounce("soft-3")
            #expect(try await fixture.store.suppressions(address: "ana@fernhill.example").isEmpty, "the first bounce is older than 30 days")
            fixture.advance(86_400)
            try await softBounce("soft-4")
            #expect(try await fixture.store.suppressions(address: "ana@fernhill.example")[.email] == Suppression(.all, reason: "repeated soft bounces"))
        }
    }
}
