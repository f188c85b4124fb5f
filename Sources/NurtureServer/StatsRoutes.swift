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
