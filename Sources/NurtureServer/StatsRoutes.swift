import Foundation
import Hummingbird
import NurtureEngine

extension NurtureServer {
    func addStatsRoutes(_ api: RouterGroup<BasicRequestContext>) {
        api.get("stats") { request, _ in try await stats(request, campaign: request.uri.queryParameters["campaign"].map(String.init)) }
        api.get("campaigns/:campaign/stats") { request, context in
            let id = context.parameters.get("campaign") ?? ""
            guard engine.playbook.campaign(id) != nil else { throw APIError.notFound("no campaign '\(id)' in this playbook") }
            return try await stats(request, campaign: id)
        }
        api.post("campaigns/:campaign/pause") { request, context in try await pause(request, context) }
        api.post("campaigns/:campaign/resume") { _, context in
            let id = try campaignParameter(context)
            let resumed = try await engine.resume(campaign: id, by: "api", now: now())
            return try JSONResponse.make(.ok, ControlAnswer(campaign: id, paused: false, changed: resumed))
        }
        api.post("campaigns/:campaign/experiments/:step/decide") { request, context in try await decide(request, context) }
        api.post("campaigns/:campaign/enrollments") { request, context in try await enroll(request, context) }
    }

    /// `{"segment": ["industry=SaaS"]}`, `{"emails": [...]}`, `{"lead_ids": [...]}` or `{"all": true}`,
    /// with `"at"` (ISO 8601) and `"dry_run"`: what `nurture leads enroll` does, with the same segment syntax.
    func enroll(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        struct Body: Decodable {
            let segment: [String]?
            let emails: [String]?
            let lead_ids: [String]?
            let all: Bool?
            let at: String?
            let dry_run: Bool?
        }
        let id = try campaignParameter(context)
        let body = try JSONBody.decode(Body.self, from: try await JSONBody.collect(request, limit: settings.maxBodyBytes))
        let ways = [body.segment != nil, body.emails != nil, body.lead_ids != nil, body.all != nil].count { $0 }
        guard ways == 1, body.all != false else {
            throw APIError.invalid([.init(path: "$", message: "choose the leads one way: segment, emails, lead_ids or all: true")])
        }
        // An empty segment would be everyone: that takes "all": true, said on purpose.
        if body.segment?.isEmpty == true { throw APIError.invalid([.init(path: "$.segment", message: "is empty; to enroll every lead say \"all\": true")]) }
        let target: Engine.EnrollmentTarget
        if let emails = body.emails {
            target = .leads(emails.map { .email($0) })
        } else if let ids = body.lead_ids {
            target = .leads(ids.map { .id($0) })
        } else {
            do {
                target = .segment(try LeadSegment.filter(body.segment ?? [], playbook: engine.playbook, everyStage: true))
            } catch {
                throw APIError.invalid([.init(path: "$.segment", message: error.description)])
            }
        }
        var start: Date?
        if let at = body.at {
            let fractional = ISO8601DateFormatter()
            fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            guard let parsed = ISO8601DateFormatter().date(from: at.uppercased()) ?? fractional.date(from: at.uppercased()) else {
                throw APIError.invalid([.init(path: "$.at", message: "must be an ISO 8601 time such as 2026-12-07T09:00:00Z")])
            }
            start = parsed
        }
        let report = try await engine.enroll(campaignID: id, target, startingAt: start, dryRun: body.dry_run ?? false,
                                             actor: Self.actor(request), now: now())
        struct Answer: Encodable {
            let campaign: String, dry_run: Bool, considered: Int, enrolled: Int, not_again: Int, in_exclusive: Int, suppressed: Int
            let without_consent: Int, unknown: Int
        }
        return try JSONResponse.make(.ok, Answer(
            campaign: id, dry_run: body.dry_run ?? false, considered: report.considered, enrolled: report.enrolled, not_again: report.notAgain,
            in_exclusive: report.inExclusive, suppressed: report.suppressed, without_consent: report.withoutConsent, unknown: report.unknown))
    }

    struct ControlAnswer: Encodable {
        let campaign: String
        let paused: Bool
        /// False when the campaign already was as asked.
        let changed: Bool
    }

    func campaignParameter(_ context: BasicRequestContext) throws -> String {
        let id = context.parameters.get("campaign") ?? ""
        guard engine.playbook.campaign(id) != nil else { throw APIError.notFound("no campaign '\(id)' in this playbook") }
        return id
    }

    /// `{"reason": "…"}`, optional.
    func pause(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        struct Body: Decodable { let reason: String? }
        let id = try campaignParameter(context)
        let buffer = try await JSONBody.collect(request, limit: settings.maxBodyBytes)
        let reason = buffer.readableBytes == 0 ? nil : try JSONBody.decode(Body.self, from: buffer).reason
        // What the schema's pattern refuses: C0 controls and DEL (a reason is one line of text).
        if let reason, reason.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
            throw APIError.invalid([.init(path: "$.reason", message: "contains control characters")])
        }
        let paused = try await engine.pause(campaign: id, reason: reason ?? "paused by hand", by: "api", now: now())
        return try JSONResponse.make(.ok, ControlAnswer(campaign: id, paused: true, changed: paused))
    }

    /// `{"variant": "B"}`: 409 when the split was decided before.
    func decide(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        struct Body: Decodable { let variant: String }
        let id = try campaignParameter(context)
        let step = context.parameters.get("step") ?? ""
        let body = try JSONBody.decode(Body.self, from: try await JSONBody.collect(request, limit: settings.maxBodyBytes))
        let decided: Bool
        do {
            decided = try await engine.decide(campaign: id, step: step, variant: body.variant, by: "api", now: now())
        } catch let error as Engine.UnknownControl {
            throw APIError.notFound(error.description)
        }
        guard decided else { throw APIError(.conflict, code: "already_decided", message: "split '\(step)' of '\(id)' was decided before; a decision stands") }
        struct Decided: Encodable { let campaign: String, step: String, variant: String }
        return try JSONResponse.make(.ok, Decided(campaign: id, step: step, variant: body.variant))
    }

    /// The numbers `nurture stats --format json` prints, for the same filter.
    func stats(_ request: Request, campaign: String?) async throws -> Response {
        let query = request.uri.queryParameters
        var problems: [APIError.Problem] = []
        if let campaign, engine.playbook.campaign(campaign) == nil {
            problems.append(.init(path: "campaign", message: "is not a campaign of this playbook"))
        }
        let since = query["since"].map(String.init), until = query["until"].map(String.init)
        for (name, value) in [("since", since), ("until", until)] {
            if let value, !CampaignStats.isDay(value) { problems.append(.init(path: name, message: "must be a day as YYYY-MM-DD")) }
        }
        // A period that ends before it starts is an empty one, answered with zeros.
        guard problems.isEmpty else { throw APIError.invalid(problems) }
        struct Body: Encodable { let campaigns: [CampaignStats] }
        return try JSONResponse.make(.ok, Body(campaigns: try await engine.stats(CounterFilter(campaignID: campaign, since: since, until: until))))
    }
}
