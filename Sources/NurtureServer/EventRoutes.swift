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

    /// Events Nurture records itself; accepting them from outside would let a client forge a
    /// send, an alert or a score adjustment.
    static let reservedEventTypes: Set<String> = [
        "lead.created", "email.sent", "sms.sent", "sales.notified", SalesOutcome.eventType, "score.adjusted",
    ]

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
            case .failure(let found): problems += found.problems
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
        var problems: [APIError.Problem]
    }

    func event(from item: EventPayload, path: String, now: Date) -> Result<IncomingEvent, Problems> {
        var problems: [APIError.Problem] = []
        var subject: IncomingEvent.Subject?
        switch (item.email, item.lead_id) {
        case (let email?, nil):
            let trimmed = email.trimmingCharacters(in: .whitespaces)
            if LeadRowParser.isPlausibleEmail(trimmed) { subject = .email(trimmed) } else {
                problems.append(.init(path: "\(path).email", message: "'\(email)' is not an email address"))
            }
        case (nil, let id?):
            subject = .id(id)
        case (nil, nil):
            problems.append(.init(path: "\(path).email", message: "is required (or lead_id)"))
        case (_?, _?):
            problems.append(.init(path: "\(path).lead_id", message: "give email or lead_id, not both"))
        }
        if !Self.isEventType(item.type) {
            problems.append(.init(path: "\(path).type", message: "'\(item.type)' is not an event type: lowercase words joined by dots, such as page.viewed"))
        } else if Self.reservedEventTypes.contains(item.type) {
            problems.append(.init(path: "\(path).type", message: "'\(item.type)' is recorded by Nurture itself and cannot be sent"))
        }
        var at = now
        if let text = item.at {
            if let parsed = Self.parseInstant(text) {
                if parsed.timeIntervalSince(now) > 300 {
                    problems.append(.init(path: "\(path).at", message: "'\(text)' is in the future"))
                }
                at = min(parsed, now)
            } else {
                problems.append(.init(path: "\(path).at", message: "'\(text)' is not an ISO 8601 time with a zone, such as 2026-11-23T09:00:00Z"))
            }
        }
        if let id = item.id, id.isEmpty || id.utf8.count > 200 {
            problems.append(.init(path: "\(path).id", message: "must be 1 to 200 characters"))
        }
        guard problems.isEmpty, let subject else { return .failure(Problems(problems: problems)) }
        return .success(IncomingEvent(
            subject: subject, type: item.type, at: at, properties: (item.properties ?? [:]).compactMapValues { $0 }, clientID: item.id,
            createsLead: item.create ?? true))
    }

    /// `page.viewed`, `trial_started`, `invoice.paid`: lowercase ASCII letters, digits, `_`, `-`
    /// and dots, starting with a letter, at most 100 bytes.
    static func isEventType(_ type: String) -> Bool {
        guard let first = type.utf8.first, first >= 0x61, first <= 0x7A, type.utf8.count <= 100, type.utf8.last != UInt8(ascii: ".") else { return false }
        return type.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".") }
    }

    /// ISO 8601 with a zone, with or without fractional seconds.
    static func parseInstant(_ text: String) -> Date? {
        if let date = try? Date(text, strategy: .iso8601) { return date }
        return try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }
}
