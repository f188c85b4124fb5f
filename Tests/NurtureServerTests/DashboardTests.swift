import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import NurtureEngine
import NurtureServer
import Testing

/// The dashboard's sign-in, CSRF and escaping, through the router.
struct DashboardTests {
    /// `name=value` of each cookie the response sets.
    static func cookies(_ response: TestResponse) -> [String: String] {
        var found: [String: String] = [:]
        for header in response.headers[values: .setCookie] {
            let pair = header.split(separator: ";")[0].split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            found[String(pair[0])] = pair.count > 1 ? String(pair[1]) : ""
        }
        return found
    }

    static func hiddenCSRF(_ html: String) -> String? {
        guard let range = html.range(of: "name=\"csrf\" value=\"") else { return nil }
        return String(html[range.upperBound...].prefix { $0 != "\"" })
    }

    static func post(_ client: some TestClientProtocol, _ uri: String, form: String, cookie: String?) async throws -> TestResponse {
        var headers: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]
        if let cookie { headers[.cookie] = cookie }
        return try await client.execute(uri: uri, method: .post, headers: headers, body: ByteBuffer(string: form))
    }

    static func get(_ client: some TestClientProtocol, _ uri: String, cookie: String?) async throws -> TestResponse {
        var headers: HTTPFields = [:]
        if let cookie { headers[.cookie] = cookie }
        return try await client.execute(uri: uri, method: .get, headers: headers, body: nil)
    }

    /// Signs in with `key` and returns the session cookie header.
    static func signIn(_ client: some TestClientProtocol, key: String = ServerFixture.apiKey) async throws -> String {
        let login = try await get(client, "/login", cookie: nil)
        let nonce = try #require(cookies(login)["nurture_login"])
        let csrf = try #require(hiddenCSRF(login.text))
        let signed = try await post(client, "/login", form: "key=\(key)&csrf=\(csrf)", cookie: "nurture_login=\(nonce)")
        #expect(signed.status == .seeOther && signed.headers[.location] == "/")
        return "nurture_session=" + (try #require(cookies(signed)["nurture_session"]))
    }

    @Test func signInNeedsTheFormsOwnTokenAndARealKeyAndGivesAStrictCookie() async throws {
        let fixture = try ServerFixture()
        try await fixture.test { client in
            // Signed out, the overview is a redirect with no lead data at all.
            let anonymous = try await Self.get(client, "/", cookie: nil)
            #expect(anonymous.status == .seeOther && anonymous.headers[.location] == "/login")
            #expect(anonymous.body.readableBytes == 0)
            #expect(try await Self.get(client, "/leads", cookie: nil).status == .seeOther)

            let login = try await Self.get(client, "/login", cookie: nil)
            #expect(login.status == .ok)
            #expect(login.text.contains("name=\"key\"") && login.text.contains("name=\"csrf\""))
            #expect(login.headers[.contentSecurityPolicy]?.contains("default-src 'none'") == true)
            let nonce = try #require(Self.cookies(login)["nurture_login"])
            let csrf = try #require(Self.hiddenCSRF(login.text))
            // A form posted without its cookie, or with a token of another form, is refused.
            #expect(try await Self.post(client, "/login", form: "key=\(ServerFixture.apiKey)&csrf=\(csrf)", cookie: nil).status == .forbidden)
            #expect(try await Self.post(client, "/login", form: "key=\(ServerFixture.apiKey)&csrf=forged", cookie: "nurture_login=\(nonce)").status == .forbidden)
            // A wrong key is a 401 with the form again.
            let wrong = try await Self.post(client, "/login", form: "key=nope&csrf=\(csrf)", cookie: "nurture_login=\(nonce)")
            #expect(wrong.status == .unauthorized && wrong.text.contains("not right"))
            let signed = try await Self.post(client, "/login", form: "key=\(ServerFixture.apiKey)&csrf=\(csrf)", cookie: "nurture_login=\(nonce)")
            #expect(signed.status == .seeOther)
            let header = try #require(signed.headers[values: .setCookie].first { $0.hasPrefix("nurture_session=") })
            #expect(header.contains("HttpOnly") && header.contains("SameSite=Strict") && header.contains("Secure"), "\(header)")
            // A tampered session is no session.
            let session = "nurture_session=" + (try #require(Self.cookies(signed)["nurture_session"]))
            #expect(try await Self.get(client, "/", cookie: session).status == .ok)
            #expect(try await Self.get(client, "/", cookie: session + "x").status == .seeOther)
        }
    }

    @Test func everyValueIsEscapedAndActionsNeedTheSessionsToken() async throws {
        let fixture = try ServerFixture()
        try await fixture.test { client in
            let lead = try await client.send(.post, "/v1/leads", json: #"""
                {"email": "mallory@evil.example", "first_name": "<script>alert(1)</script>", "company": "\"><img src=x onerror=alert(2)>",
                 "job_title": "VP Marketing", "timezone": "Europe/Lisbon"}
                """#)
            #expect(lead.status == .ok)
            let id = try #require(lead.json["id"] as? String, "\(lead.text)")
            try await fixture.runWorker()
            let session = try await Self.signIn(client)
            for path in ["/", "/leads", "/leads/\(id)", "/campaigns/welcome", "/outbox"] {
                let page = try await Self.get(client, path, cookie: session)
                #expect(page.status == .ok, "\(path)")
                #expect(!page.text.contains("<script>") && !page.text.contains("<img src=x"), "\(path) lets markup through")
            }
            let leads = try await Self.get(client, "/leads", cookie: session).text
            #expect(leads.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
            #expect(leads.contains("&quot;&gt;&lt;img src=x onerror=alert(2)&gt;"))
            // The ranking links to the lead's page, which answers.
            let href = try #require(leads.range(of: "href=\"/leads/").map { String(leads[$0.upperBound...].prefix { $0 != "\"" }) })
            #expect(try await Self.get(client, "/leads/" + href, cookie: session).text.contains("mallory@evil.example"))

            // Pausing from the campaign page: without the token, or signed out, it is refused.
            let page = try await Self.get(client, "/campaigns/welcome", cookie: session)
            let csrf = try #require(Self.hiddenCSRF(page.text))
            #expect(try await Self.post(client, "/campaigns/welcome/pause", form: "reason=x", cookie: session).status == .forbidden)
            #expect(try await Self.post(client, "/campaigns/welcome/pause", form: "csrf=\(csrf)x", cookie: session).status == .forbidden)
            #expect(try await Self.post(client, "/campaigns/welcome/pause", form: "csrf=\(csrf)", cookie: nil).status == .forbidden)
            #expect(try await fixture.store.campaignControls().pauses.isEmpty)
            let paused = try await Self.post(client, "/campaigns/welcome/pause", form: "csrf=\(csrf)&reason=checking+the+copy", cookie: session)
            #expect(paused.status == .seeOther && paused.headers[.location] == "/campaigns/welcome")
            #expect(try await fixture.store.campaignControls().pauses["welcome"]?.by == "dashboard")
            let shown = try await Self.get(client, "/campaigns/welcome", cookie: session).text
            #expect(shown.contains("checking the copy") && shown.contains(">Resume</button>"))
            #expect(try await Self.get(client, "/", cookie: session).text.contains("Welcome series is paused"))
            #expect(try await Self.post(client, "/campaigns/welcome/resume", form: "csrf=\(csrf)", cookie: session).status == .seeOther)
            #expect(try await fixture.store.campaignControls().pauses.isEmpty)
            // Signing out ends the session for this browser.
            let out = try await Self.post(client, "/logout", form: "csrf=\(csrf)", cookie: session)
            #expect(out.headers[values: .setCookie].contains { $0.hasPrefix("nurture_session=;") && $0.contains("Max-Age=0") })
        }
    }
}
