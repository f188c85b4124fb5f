import Foundation
import HTTPTypes
import HummingbirdTesting
import NurtureEngine
import NurtureServer
import Testing

struct AuthTests {
    @Test func theAPIWantsAKeyAndNeverSaysWhichPartWasWrong() async throws {
        let fixture = try ServerFixture()
        try await fixture.test { client in
            let missing = try await client.send(.get, "/v1/leads/top", key: nil)
            let wrong = try await client.send(.get, "/v1/leads/top", key: "test-key-0123456780")
            let short = try await client.send(.get, "/v1/leads/top", key: "t")
            let basic = try await client.execute(uri: "/v1/leads/top", method: .get, headers: [.authorization: "Basic dGVzdA=="])
            for response in [missing, wrong, short, basic] {
                #expect(response.status == .unauthorized)
                #expect(response.headers[.wwwAuthenticate] == "Bearer")
                #expect(response.text == missing.text)
            }
            #expect(try await client.send(.get, "/v1/leads/top").status == .ok)
            #expect(try await client.send(.get, "/v1/leads/top", key: "second-key").status == .ok)
            #expect(try await client.execute(uri: "/v1/leads/top", method: .get, headers: [.authorization: "bearer \(ServerFixture.apiKey)"]).status == .ok)
            // Links, health and inbound webhooks are not behind API keys.
            #expect(try await client.send(.get, "/healthz", key: nil).status == .ok)
        }
    }
}

struct LeadAPITests {
    @Test func validLeadsAreStoredAndEachInvalidOneIsExplainedByPath() async throws {
        let fixture = try ServerFixture()
        try await fixture.test { client in
            let response = try await client.send(.post, "/v1/leads", json: """
                [{"email": "Ana@Fernhill.example", "first_name": "Ana", "job_title": "VP Marketing", "phone": "+351 912 345 678",
                  "timezone": "Europe/Lisbon", "company_size": 250, "attributes": {"plan": "trial"}},
                 {"email": "not-an-email", "first_name": "Bo"},
                 {"email": "cy@example.com", "timezone": "Mars/Olympus"},
                 {"email": "dee@example.com", "phone": {"number": "1"}},
                 {"first_name": "No Email"},
                 {"email": "eve@example.com", "sms_consent": true, "phone": "+14155550123"}]
                """)
            #expect(response.status == .ok)
            let results = response.results
            // A bad optional value costs that field (a warning); a missing identity or a wrong JSON type refuses the item.
            #expect(results.map { $0["status"] as? String } == ["imported", "rejected", "imported", "rejected", "rejected", "imported"])
            let paths = results.map { (($0["errors"] as? [[String: Any]])?.first?["path"] as? String) }
            #expect(paths == [nil, "$[1].email", nil, "$[3].phone", "$[4].email", nil])
            let warnings = results[2]["warnings"] as? [[String: Any]]
            #expect(warnings?.first?["path"] as? String == "$[2].timezone")
            #expect(warnings?.first?["message"] as? String == "'Mars/Olympus' is not an IANA time zone (such as Europe/Lisbon); stored without it")
            let ana = try #require(try await fixture.store.lead(email: "ana@fernhill.example"))
            #expect(results[0]["id"] as? String == ana.id)
            #expect(ana.phone == "+351912345678" && ana.companySize == 250 && ana.attributes["plan"] == .string("trial"))
            #expect(try await fixture.store.lead(email: "eve@example.com")?.smsConsent == true)
            #expect(try await fixture.store.lead(email: "cy@example.com")?.timeZone == "UTC")

            // One object in, one result out; upsert by email.
            let again = try await client.send(.post, "/v1/leads", json: #"{"email": "ana@fernhill.example", "job_title": "CMO"}"#)
            #expect(again.json["status"] as? String == "updated" && again.json["id"] as? String == ana.id)
            let bad = try await client.send(.post, "/v1/leads", json: #"{"email": "x"}"#)
            #expect(bad.status == .unprocessableContent)
        }
    }

    @Test func malformedAndOversizeBodiesAreRefusedWithNothingWritten() async throws {
        let fixture = try ServerFixture(maxBodyBytes: 2048)
        try await fixture.test { client in
            let broken = try await client.send(.post, "/v1/leads", json: #"[{"email": "a@example.com",}"#)
            #expect(broken.status == .badRequest)
            #expect(broken.problemPaths == ["$"])
            let big = "[" + (0..<100).map { #"{"email": "lead\#($0)@example.com", "first_name": "Somebody"}"# }.joined(separator: ",") + "]"
            let tooLarge = try await client.send(.post, "/v1/leads", json: big)
            #expect(tooLarge.status == .contentTooLarge)
            #expect(tooLarge.errorCode == "body_too_large")
            #expect(try await fixture.store.counts().leads == 0)
        }
    }

    @Test func rankingDetailAndSalesVerdict() async throws {
        let fixture = try ServerFixture()
        try await fixture.test { client in
            try await client.send(.post, "/v1/leads", json: """
                [{"email": "ana@fernhill.example", "first_name": "Ana", "job_title": "VP Marketing", "country": "PT", "timezone": "Europe/Lisbon"},
                 {"email": "bo@example.com", "first_name": "Bo"}]
                """)
            try await client.send(.post, "/v1/events", json: #"{"email": "ana@fernhill.example", "type": "page.viewed", "properties": {"path": "/pricing"}}"#)
            let top = try await client.send(.get, "/v1/leads/top?limit=1")
            let leads = try #require(top.json["leads"] as? [[String: Any]])
            #expect(leads.count == 1)
            #expect(leads[0]["email"] as? String == "ana@fernhill.example")
            let reasons = (leads[0]["reasons"] as? [[String: Any]] ?? []).compactMap { $0["label"] as? String }
            #expect(reasons.contains("Visited pricing"))
            #expect(try await client.send(.get, "/v1/leads/top?limit=0").problemPaths == ["limit"])
            #expect(try await client.send(.get, "/v1/leads/top?segment=shoe_size:42").status == .badRequest)

            let detail = try await client.send(.get, "/v1/leads/ana@fernhill.example")
            #expect(detail.status == .ok)
            let score = try #require(detail.json["score"] as? [String: Any])
            let contributions = (score["contributions"] as? [[String: Any]] ?? []).compactMap { $0["label"] as? String }
            #expect(contributions.contains("Visited pricing") && contributions.contains("Senior title"))
            #expect((detail.json["enrollments"] as? [[String: Any]])?.contains { $0["campaign"] as? String == "welcome" } == true)
            #expect(try await client.send(.get, "/v1/leads/nobody@example.com").status == .notFound)

            let won = try await client.send(.post, "/v1/leads/ana@fernhill.example/outcome", json: #"{"outcome": "won", "by": "ines@larkspur.example"}"#)
            #expect(won.status == .ok)
            #expect(try await fixture.store.lead(email: "ana@fernhill.example")?.stage == .customer)
            #expect(try await client.send(.post, "/v1/leads/ana@fernhill.example/outcome", json: #"{"outcome": "maybe"}"#).problemPaths == ["$.outcome"])
        }
    }
}

struct EventAPITests {
    @Test func eventsAreStoredOnceByClientIDAndCreateLeadsUnlessToldNot() async throws {
        let fixture = try ServerFixture()
        try await fixture.test { client in
            let first = try await client.send(.post, "/v1/events", json: #"{"id": "evt-1", "email": "New@Example.com", "type": "page.viewed", "properties": {"path": "/pricing"}}"#)
            #expect(first.json["status"] as? String == "created")
            let leadID = try #require(first.json["lead_id"] as? String)
            let again = try await client.send(.post, "/v1/events", json: #"{"id": "evt-1", "email": "new@example.com", "type": "page.viewed"}"#)
            #expect(again.json["status"] as? String == "duplicate")
            let unknown = try await client.send(.post, "/v1/events", json: #"{"email": "ghost@example.com", "type": "page.viewed", "create": false}"#)
            #expect(unknown.status == .notFound && unknown.json["status"] as? String == "unknown_lead")
            #expect(try await fixture.store.lead(email: "ghost@example.com") == nil)

            let batch = try await client.send(.post, "/v1/events", json: """
                [{"id": "evt-2", "lead_id": "\(leadID)", "type": "resource.downloaded", "properties": {"resource": "benchmark-report"}},
                 {"id": "evt-1", "email": "new@example.com", "type": "page.viewed"}]
                """)
            #expect(batch.results.map { $0["status"] as? String } == ["stored", "duplicate"])
            let detail = try #require(try await fixture.engine.detail(.id(leadID), now: fixture.now))
            #expect(detail.detail.timeline.map(\.type).sorted() == ["lead.created", "page.viewed", "resource.downloaded"])
        }
    }

    @Test func oneBadEventRefusesTheWholeBatchWithEveryPath() async throws {
        let fixture = try ServerFixture()
        let future = ISO8601DateFormatter().string(from: fixture.now.addingTimeInterval(86_400))
        try await fixture.test { client in
            let response = try await client.send(.post, "/v1/events", json: """
                [{"email": "ok@example.com", "type": "page.viewed"},
                 {"email": "ok@example.com", "type": "Page Viewed"},
                 {"email": "ok@example.com", "type": "score.adjusted"},
                 {"email": "ok@example.com", "type": "page.viewed", "at": "\(future)"},
                 {"type": "page.viewed"},
                 {"email": "ok@example.com", "type": "page.viewed", "properties": {"tags": ["a"]}}]
                """)
            #expect(response.status == .badRequest)
            #expect(response.problemPaths == ["$[5].properties.tags"])
            let semantic = try await client.send(.post, "/v1/events", json: """
                [{"email": "ok@example.com", "type": "page.viewed"},
                 {"email": "ok@example.com", "type": "Page Viewed"},
                 {"email": "ok@example.com", "type": "score.adjusted"},
                 {"email": "ok@example.com", "type": "page.viewed", "at": "\(future)"},
                 {"type": "page.viewed"}]
                """)
            #expect(semantic.problemPaths == ["$[1].type", "$[2].type", "$[3].at", "$[4].email"])
            let missingType = try await client.send(.post, "/v1/events", json: #"{"email": "ok@example.com"}"#)
            #expect(missingType.problemPaths == ["$.type"])
            // Nothing of the refused batches was written, not even the valid first item.
            #expect(try await fixture.store.counts().leads == 0)
            #expect(try await fixture.store.counts().events == 0)
        }
    }

    /// SQLite would cut each of these at the NUL: two ids would become one (the second event
    /// dropped as a duplicate), "\u0000" the empty id, "Ana\u0000Evil" plain "Ana".
    @Test func controlCharactersAreRefusedPerFieldNeverStoredCut() async throws {
        let fixture = try ServerFixture()
        try await fixture.test { client in
            let events = try await client.send(.post, "/v1/events", json: #"""
                [{"id": "a\u0000b", "email": "ana@example.com", "type": "page.viewed"},
                 {"id": "\u0000", "email": "ana@example.com", "type": "page.viewed"},
                 {"email": "ana@example.com\u0000", "type": "page.viewed"},
                 {"lead_id": "x\u0000", "type": "page.viewed"},
                 {"email": "ana@example.com", "type": "page.viewed", "properties": {"path": "/a\u0000b", "note": "two\nlines\tok", "k\u0007": "v"}}]
                """#)
            #expect(events.status == .badRequest)
            #expect(events.problemPaths == ["$[0].id", "$[1].id", "$[2].email", "$[3].lead_id", "$[4].properties", "$[4].properties.path"])
            #expect(events.text.contains("contains the control character U+0000 (NUL) at character 2"))
            let leads = try await client.send(.post, "/v1/leads", json: #"""
                [{"email": "ana@example.com", "first_name": "Ana\u0000Evil"},
                 {"email": "ben@example.com", "first_name": "Ben", "attributes": {"nps": 9}}]
                """#)
            // The name with a NUL is left out, never stored cut; the lead is kept.
            #expect(leads.results.map { $0["status"] as? String } == ["imported", "imported"])
            let problems = leads.results[0]["warnings"] as? [[String: Any]]
            #expect(problems?.first?["path"] as? String == "$[0].first_name")
            #expect(try await fixture.store.lead(email: "ana@example.com")?.firstName == nil)
            // Free text keeps its line breaks; the valid events still go in once each.
            let fine = try await client.send(.post, "/v1/events", json: #"""
                [{"id": "a-b", "email": "ana@example.com", "type": "page.viewed", "properties": {"note": "two\nlines\tok"}},
                 {"id": "a-c", "email": "ana@example.com", "type": "page.viewed"}]
                """#)
            #expect(fine.results.map { $0["status"] as? String } == ["stored", "stored"])
        }
    }

    @Test func tooManyItemsIsRefused() async throws {
        let fixture = try ServerFixture()
        let events = "[" + Array(repeating: #"{"email":"a@example.com","type":"page.viewed"}"#, count: 1001).joined(separator: ",") + "]"
        try await fixture.test { client in
            let response = try await client.send(.post, "/v1/events", json: events)
            #expect(response.status == .contentTooLarge && response.errorCode == "batch_too_large")
        }
    }
}

struct OperationsTests {
    @Test func healthReportsTheDatabaseAndAStalledWorker() async throws {
        let fixture = try ServerFixture()
        try await fixture.test { client in
            #expect(try await client.send(.get, "/healthz").json["worker"] as? String == "starting")
            fixture.heartbeat.beat(at: fixture.now)
            let healthy = try await client.send(.get, "/healthz")
            #expect(healthy.status == .ok && healthy.json["worker"] as? String == "ok" && healthy.json["database"] as? String == "ok")
            fixture.advance(600)
            let stalled = try await client.send(.get, "/healthz")
            #expect(stalled.status == .serviceUnavailable && stalled.json["worker"] as? String == "stalled")
        }
    }

    @Test func metricsCountEventsAndSendsAndReadTheQueue() async throws {
        let fixture = try ServerFixture()
        try await fixture.test { client in
            try await client.send(.post, "/v1/events", json: #"[{"email": "a@example.com", "type": "page.viewed"}, {"email": "b@example.com", "type": "page.viewed"}]"#)
            let before = try await client.send(.get, "/metrics", key: nil).text
            #expect(before.contains(#"nurture_events_ingested_total{via="api"} 2"#))
            #expect(before.contains(#"nurture_outbox_messages{status="pending"} 0"#))
            _ = try await fixture.engine.runDue(now: fixture.now)
            let queued = try await client.send(.get, "/metrics", key: nil).text
            #expect(queued.contains(#"nurture_outbox_messages{status="pending"} 2"#))
            var dispatcher = Dispatcher(engine: fixture.engine, channels: [.email: PreviewChannel()], retry: RetryPolicy(), owner: "t", now: { fixture.now })
            dispatcher.metrics = fixture.server.engine.metrics
            _ = try await dispatcher.dispatchDue()
            let sent = try await client.send(.get, "/metrics", key: nil)
            #expect(sent.headers[.contentType]?.hasPrefix("text/plain; version=0.0.4") == true)
            #expect(sent.text.contains(#"nurture_messages_total{channel="email",status="sent"} 2"#))
            #expect(sent.text.contains("nurture_send_duration_seconds_count"))
        }
    }

    @Test func everyResponseCarriesARequestIDAndAForgedOneIsReplaced() async throws {
        let fixture = try ServerFixture()
        try await fixture.test { client in
            let own = try await client.send(.get, "/healthz", headers: [HTTPField.Name("X-Request-Id")!: "abc-123"])
            #expect(own.headers[HTTPField.Name("X-Request-Id")!] == "abc-123")
            let forged = try await client.send(.get, "/v1/leads/top", key: nil, headers: [HTTPField.Name("X-Request-Id")!: "x\nlevel=error fake"])
            let id = try #require(forged.headers[HTTPField.Name("X-Request-Id")!])
            #expect(!id.contains("\n") && !id.isEmpty)
            #expect(try await client.send(.get, "/nope").headers[HTTPField.Name("X-Request-Id")!] != nil)
        }
    }

    @Test func theOpenAPIDocumentListsExactlyTheRoutesTheRouterHas() async throws {
        let fixture = try ServerFixture()
        let routes = Set(fixture.server.router().routes.map { route in
            let path = route.path.description.split(separator: "/").map { $0.hasPrefix(":") ? "{\($0.dropFirst())}" : String($0) }
            return "\(route.method.rawValue.lowercased()) /" + path.joined(separator: "/")
        })
        let document = try await fixture.test { client in try await client.send(.get, "/openapi.yaml", key: nil).text }
        var documented: Set<String> = []
        var currentPath: String?
        var inPaths = false
        for line in document.split(separator: "\n", omittingEmptySubsequences: false) {
            if line == "paths:" { inPaths = true; continue }
            guard inPaths else { continue }
            if line.hasPrefix("  /"), line.hasSuffix(":") { currentPath = String(line.dropFirst(2).dropLast()) }
            if let currentPath, let method = ["get", "post", "put", "patch", "delete"].first(where: { line == "    \($0):" }) {
                documented.insert("\(method) \(currentPath)")
            }
        }
        #expect(routes.count >= 13)
        // The dashboard's pages are for people (DashboardTests and the browser test cover them); all of them, and only them, are left out.
        #expect(NurtureServer.dashboardRoutes.isSubset(of: routes), "dashboard routes the router lacks: \(NurtureServer.dashboardRoutes.subtracting(routes).sorted())")
        let api = routes.subtracting(NurtureServer.dashboardRoutes)
        #expect(api.subtracting(documented).isEmpty, "routes missing from openapi.yaml: \(api.subtracting(documented).sorted())")
        #expect(documented.subtracting(routes).isEmpty, "documented routes the router lacks: \(documented.subtracting(routes).sorted())")
    }
}

/// The contract an outside client checks (scripts/schemathesis.sh does, from outside): methods a
/// path does not serve, and the requests the issue found the document allowing but the server
/// refusing, now described — or refused — the same way on both sides.
struct ContractTests {
    @Test func aMethodAPathDoesNotServeIs405WithAllowAndAnUnknownPathIs404() async throws {
        let fixture = try ServerFixture()
        try await fixture.test { client in
            let put = try await client.send(.put, "/v1/leads")
            #expect(put.status == .methodNotAllowed)
            #expect(put.headers[.allow] == "POST")
            #expect(put.errorCode == "method_not_allowed")
            let delete = try await client.send(.delete, "/u/some-token", key: nil)
            #expect(delete.status == .methodNotAllowed && delete.headers[.allow] == "GET, POST")
            // /v1/leads/top is also /v1/leads/{lead}; the router takes the literal route, which serves GET only.
            let post = try await client.send(.post, "/v1/leads/top")
            #expect(post.status == .methodNotAllowed && post.headers[.allow] == "GET", "\(post.headers[.allow] ?? "")")
            #expect(try await client.send(.delete, "/v1/leads/top").headers[.allow] == "GET")
            #expect(try await client.send(.get, "/v1/leads/x/outcome").headers[.allow] == "POST")
            let unknown = try await client.send(.get, "/v1/nothing-here")
            #expect(unknown.status == .notFound && unknown.errorCode == "not_found")
            #expect(unknown.headers[HTTPField.Name("X-Request-Id")!] != nil)
        }
    }

    @Test func theDocumentStatesTheLimitsTheServerChecks() async throws {
        let fixture = try ServerFixture()
        let document = try await fixture.test { client in try await client.send(.get, "/openapi.yaml", key: nil).text }
        #expect(document.contains("minItems: 1, maxItems: 1000"))
        #expect(document.contains("- required: [email]") && document.contains("- required: [lead_id]"))
        #expect(document.contains("'^(?:(?:tag|company|company_size|country|email|") && document.contains("|stage[=:](?:subscriber|lead|mql|sql|opportunity|customer))$'"))
        // A lead's fields other than its email take any scalar; a value a field cannot take is a warning.
        #expect(document.contains("nps: {$ref: '#/components/schemas/LeadValue'}"))
        #expect(document.contains("phone: {$ref: '#/components/schemas/LeadValue'}"))
        #expect(document.contains("warnings: {type: array"))
        #expect(document.contains("\"405\"") == false, "405 is for methods a path does not serve, not per operation")
        #expect(document.contains("Retry-After"))
    }

    @Test func emptySegmentsArraysAndSubjectsAreRefusedAsTheDocumentSays() async throws {
        let fixture = try ServerFixture()
        try await fixture.test { client in
            #expect(try await client.send(.get, "/v1/leads/top?segment=").status == .badRequest)
            #expect(try await client.send(.get, "/v1/leads/top?segment=:x").status == .badRequest)
            // A colon followed by a combining mark is still the separator.
            #expect(try await client.send(.get, "/v1/leads/top?segment=industry:%CC%81x").status == .ok)
            #expect(try await client.send(.post, "/v1/events", json: "[]").status == .badRequest)
            #expect(try await client.send(.post, "/v1/leads", json: "[]").status == .badRequest)
            let both = try await client.send(.post, "/v1/events", json: #"{"email": "", "lead_id": "", "type": "page.viewed"}"#)
            #expect(both.status == .badRequest)
            let emptyID = try await client.send(.post, "/v1/events", json: #"{"lead_id": "", "type": "page.viewed"}"#)
            #expect(emptyID.status == .badRequest && emptyID.problemPaths == ["$.lead_id"])
            // maxLength counts characters (scalars), not UTF-8 bytes.
            let long = String(repeating: "é", count: 200)
            let accepted = try await client.send(.post, "/v1/events", json: #"{"id": "\#(long)", "email": "a@example.com", "type": "page.viewed"}"#)
            #expect(accepted.status == .ok, "\(accepted.text)")
            // Lead keys: columns by their API names and declared attributes at the top level,
            // other attributes in "attributes"; a misspelt field is refused, not kept.
            let typo = try await client.send(.post, "/v1/leads", json: #"{"email": "a@example.com", "frist_name": "Ana"}"#)
            #expect(typo.status == .unprocessableContent)
            #expect((typo.json["errors"] as? [[String: Any]])?.first?["path"] as? String == "$.frist_name")
            let spelt = try await client.send(.post, "/v1/leads", json: #"{"email": "a@example.com", "First Name": "Ana"}"#)
            #expect(spelt.status == .unprocessableContent)
            let alias = try await client.send(.post, "/v1/leads", json: #"{"email": "a@example.com", "tz": "UTC"}"#)
            #expect((alias.json["errors"] as? [[String: Any]])?.first?["path"] as? String == "$.tz")
            let fine = try await client.send(.post, "/v1/leads", json: #"{"email": "a@example.com", "timezone": "Asia/Kolkata", "plan": "trial", "attributes": {"shoe_size": 42}}"#)
            #expect(fine.status == .ok, "\(fine.text)")
            // An array is judged item by item, answered 200 whatever each item's outcome.
            let allRejected = try await client.send(.post, "/v1/leads", json: #"[{"email": "x"}, 5]"#)
            #expect(allRejected.status == .ok && allRejected.results.map { $0["status"] as? String } == ["rejected", "rejected"])
            let nested = try await client.send(.post, "/v1/leads", json: #"{"email": "a@example.com", "attributes": {"company": "Acme"}}"#)
            #expect(nested.status == .unprocessableContent)
            #expect((nested.json["errors"] as? [[String: Any]])?.first?["path"] as? String == "$.attributes.company")
        }
    }
}
