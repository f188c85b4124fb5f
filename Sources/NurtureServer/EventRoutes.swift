import Foundation
import Hummingbird
import NurtureDSL
import NurtureEngine

/// An event as the API receives it.
struct EventPayload: Decodable {
    /// The sender's id: an event with an id already stored is not stored again.
    var id: String?
    var email: String?
    var lead_id: String?
    var type: String
    var at: String?
    var properties: [String: Value?]?
    /// False: an unknown email is reported, not created.
    var create: Bool?
}

struct EventResult: Encodable {
    var index: Int?
    var status: String
    var lead_id: String?
}

extension NurtureServer {
    func addEventRoutes(_ api: RouterGroup<BasicRequestContext>) {
        api.post("events") { request, context in try await postEvents(request, context) }
    }

    /// One event or an array, all validated before any is stored, then stored in one transaction:
    /// a request is taken whole or not at all.
    func postEvents(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let body = try await JSONBody.collect(request, limit: settings.maxBodyBytes)
        let (items, isArray) = try JSONBody.decodeOneOrMany(EventPayload.self, from: body)
        try checkBatch(items.count)
        let instant = now()
        var events: [IncomingEvent] = []
        events.reserveCapacity(items.count)
        var problems: [APIError.Problem] = []
        for (index, item) in items.enumerated() {
            switch event(from: item, path: isArray ? "$[\(index)]" : "$", now: instant) {
            case .success(let event): events.append(event)
            case .failure(let found): problems += found.all
            }
        }
        guard problems.isEmpty else { throw APIError.invalid(problems) }
        let outcomes = try await ingest.track(events, now: instant, via: "api")
        let results = outcomes.enumerated().map { index, outcome in
            var result = EventResult(index: isArray ? index : nil, status: "stored")
            switch outcome {
            case .stored(let id): result.lead_id = id
            case .created(let id):
                result.status = "created"
                result.lead_id = id
            case .duplicate: result.status = "duplicate"
            case .unknownLead: result.status = "unknown_lead"
            }
            return result
        }
        if isArray {
            struct Many: Encodable { let results: [EventResult] }
            return try JSONResponse.make(.ok, Many(results: results))
        }
        return try JSONResponse.make(results[0].status == "unknown_lead" ? .notFound : .ok, results[0])
    }

    struct Problems: Error {
        var all: [APIError.Problem]
    }

    func event(from item: EventPayload, path: String, now: Date) -> Result<IncomingEvent, Problems> {
        let input = EventInput(id: item.id, email: item.email, leadID: item.lead_id, type: item.type, at: item.at,
                               properties: (item.properties ?? [:]).compactMapValues { $0 }, createsLead: item.create ?? true)
        return input.validated(now: now).mapError { refused in
            Problems(all: refused.problems.map { APIError.Problem(path: "\(path).\($0.field)", message: $0.message) })
        }
    }
}
