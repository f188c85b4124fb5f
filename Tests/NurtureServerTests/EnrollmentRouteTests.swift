import Foundation
import HTTPTypes
import HummingbirdTesting
import NurtureEngine
import NurtureServer
import Testing

/// `POST /v1/campaigns/{id}/enrollments`: the same enrollment as `nurture leads enroll`, with the
/// same segment syntax.
struct EnrollmentRouteTests {
    @Test func aDryRunThenTheSegmentOverHTTP() async throws {
        let fixture = try ServerFixture()
        try await fixture.test { client in
            _ = try await client.send(.post, "/v1/leads", json: """
                [{"email": "ana@fernhill.example", "industry": "SaaS"}, {"email": "ben@fernhill.example", "industry": "Retail"}]
                """)
            let dry = try await client.send(.post, "/v1/campaigns/engagement/enrollments", json: #"{"segment": ["industry=SaaS"], "dry_run": true}"#)
            #expect(dry.status == .ok, "\(dry.text)")
            #expect((dry.json["considered"] as? Int, dry.json["enrolled"] as? Int, dry.json["dry_run"] as? Bool) == (1, 1, true))
            let done = try await client.send(.post, "/v1/campaigns/engagement/enrollments",
                                             json: #"{"emails": ["ana@fernhill.example", "nobody@fernhill.example"], "at": "2026-12-14T09:00:00Z"}"#)
            #expect((done.json["enrolled"] as? Int, done.json["unknown"] as? Int) == (1, 1), "\(done.text)")
            let again = try await client.send(.post, "/v1/campaigns/engagement/enrollments", json: #"{"segment": ["industry=SaaS"]}"#)
            #expect(again.json["not_again"] as? Int == 1)

            #expect(try await client.send(.post, "/v1/campaigns/engagement/enrollments", json: #"{"segment": ["colour=red"]}"#).status == .badRequest)
            #expect(try await client.send(.post, "/v1/campaigns/engagement/enrollments", json: #"{"all": true, "emails": []}"#).status == .badRequest)
            let empty = try await client.send(.post, "/v1/campaigns/engagement/enrollments", json: #"{"segment": []}"#)
            #expect(empty.status == .badRequest && empty.text.contains("is empty; to enroll every lead say"), "an empty segment is not everyone")
            #expect(try await client.send(.post, "/v1/campaigns/engagement/enrollments", json: #"{"all": true, "at": "soon"}"#).status == .badRequest)
            #expect(try await client.send(.post, "/v1/campaigns/nope/enrollments", json: #"{"all": true}"#).status == .notFound)
            // The ranking reads the same syntax (and still the first one, NAME:VALUE).
            #expect(try await client.send(.get, "/v1/leads/top?segment=industry=SaaS").status == .ok)
            #expect(try await client.send(.get, "/v1/leads/top?segment=industry:SaaS").status == .ok)
        }
    }
}
