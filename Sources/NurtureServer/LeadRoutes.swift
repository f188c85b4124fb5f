import Crypto
import Foundation
import Hummingbird
import NurtureDSL
import NurtureEngine

/// A lead as the API receives it: the CSV import's columns as keys (`email`, `first_name`,
/// `phone`, `timezone`, `email_consent`, declared attributes…), scalar values, plus an optional
/// `attributes` object. Decoding never fails for one bad item: its problem is kept for its result.
struct LeadPayload: Decodable {
    var fields: [(key: String, value: Value?)] = []
    /// The keys given at the top level, not in "attributes".
    var topLevelKeys: [String] = []
    var problem: APIError.Problem?

    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    static let builtInColumns = Set(LeadRowParser.builtInColumns.keys)

    /// The API's names for the import's columns.
    static let columnNames = [
        "email", "phone", "first_name", "last_name", "company", "job_title", "industry", "company_size", "country", "timezone", "source",
        "email_consent", "sms_consent",
    ]

    /// Keys are column names as the import normalises them (`first_name`, not `First Name`):
    /// two spellings of one name in one object could not both be meant.
    static func isFieldName(_ key: String) -> Bool {
        !key.isEmpty && key.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == UInt8(ascii: "_") }
    }

    static let fieldNameRule = "is not a field name: lowercase letters, digits and _, such as first_name"

    init(from decoder: any Decoder) throws {
        do {
            let container = try decoder.container(keyedBy: Key.self)
            for key in container.allKeys.sorted(by: { $0.stringValue < $1.stringValue }) {
                guard Self.isFieldName(key.stringValue) else {
                    problem = .init(path: JSONBody.path(container.codingPath + [key]), message: Self.fieldNameRule)
                    return
                }
                if key.stringValue == "attributes" {
                    let nested = try container.nestedContainer(keyedBy: Key.self, forKey: key)
                    for name in nested.allKeys.sorted(by: { $0.stringValue < $1.stringValue }) {
                        guard Self.isFieldName(name.stringValue) else {
                            problem = .init(path: JSONBody.path(nested.codingPath + [name]), message: Self.fieldNameRule)
                            return
                        }
                        // A built-in column is not an attribute: `{"attributes": {"company": …}}`
                        // would otherwise set the company, or clash with the top-level key.
                        guard !Self.builtInColumns.contains(name.stringValue) else {
                            problem = .init(path: JSONBody.path(nested.codingPath + [name]), message: "is a lead field, not an attribute: give it at the top level")
                            return
                        }
                        fields.append((name.stringValue, try nested.decodeIfPresent(Value.self, forKey: name)))
                    }
                } else {
                    topLevelKeys.append(key.stringValue)
                    fields.append((key.stringValue, try container.decodeIfPresent(Value.self, forKey: key)))
                }
            }
        } catch let error as DecodingError {
            problem = JSONBody.problem(error)
        }
    }
}

struct LeadResult: Encodable {
    var index: Int?
    var status: String
    var id: String?
    var email: String?
    var errors: [APIError.Problem]?
    /// Fields the lead was stored without, with why (as the CSV import's warnings).
    var warnings: [APIError.Problem]?
}

extension NurtureServer {
    func addLeadRoutes(_ api: RouterGroup<BasicRequestContext>) {
        api.post("leads") { request, context in try await postLeads(request, context) }
        api.get("leads/top") { request, context in try await topLeads(request, context) }
        api.get("leads/:lead") { request, context in try await showLead(request, context) }
        api.delete("leads/:lead") { request, context in try await forgetLead(request, context) }
        api.get("leads/:lead/export") { request, context in try await exportLead(request, context) }
        api.post("leads/:lead/outcome") { request, context in try await markOutcome(request, context) }
    }

    /// Upserts by email; invalid items are reported with their paths and the valid ones stored,
    /// all valid ones in one transaction.
    func postLeads(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let body = try await JSONBody.collect(request, limit: settings.maxBodyBytes)
        let (items, isArray) = try JSONBody.decodeOneOrMany(LeadPayload.self, from: body)
        try checkBatch(items.count)
        var results: [LeadResult] = []
        var patches: [(index: Int, patch: LeadPatch)] = []
        for (index, item) in items.enumerated() {
            let prefix = isArray ? "$[\(index)]" : "$"
            switch patch(from: item, prefix: prefix) {
            case .success(let (patch, warnings)):
                patches.append((index, patch))
                results.append(LeadResult(index: isArray ? index : nil, status: "pending", email: patch.email, warnings: warnings.isEmpty ? nil : warnings))
            case .failure(let problem):
                results.append(LeadResult(index: isArray ? index : nil, status: "rejected", errors: [problem]))
            }
        }
        if !patches.isEmpty {
            let upserted = try await engine.upsertLeads(patches.map(\.patch), now: now())
            for ((index, _), result) in zip(patches, upserted) {
                results[index].status = result.outcome.rawValue
                results[index].id = result.leadID
            }
        }
        // An array is judged item by item: it is answered 200 with each item's result, even when
        // every one was rejected. One lead refused is 422.
        let status: HTTPResponse.Status = patches.isEmpty && !isArray ? .unprocessableContent : .ok
        if isArray {
            struct Many: Encodable { let results: [LeadResult] }
            return try JSONResponse.make(status, Many(results: results))
        }
        return try JSONResponse.make(status, results[0])
    }

    /// The import's rules for a row, applied to an object: same aliases, types and messages.
    func patch(from item: LeadPayload, prefix: String) -> Result<(LeadPatch, [APIError.Problem]), APIError.Problem> {
        // Its path is already complete: the decoder knows where in the body the item was.
        if let problem = item.problem { return .failure(problem) }
        // At the top level, only columns (by their own names, not the import's aliases) and
        // declared attributes: a misspelt field would otherwise be kept as an attribute of that
        // name. Others go in "attributes".
        for key in item.topLevelKeys where !LeadPayload.columnNames.contains(key) && engine.playbook.attribute(key) == nil {
            if let column = LeadRowParser.builtInColumns[key], let name = LeadPayload.columnNames.first(where: { LeadRowParser.builtInColumns[$0] == column }) {
                return .failure(APIError.Problem(path: "\(prefix).\(key)", message: "is what a CSV header may call it; the API calls it \(name)"))
            }
            return .failure(APIError.Problem(path: "\(prefix).\(key)",
                                             message: "is not a lead field or a declared attribute; other attributes go in \"attributes\""))
        }
        let header = item.fields.map(\.key)
        let values = item.fields.map { $0.value?.textValue ?? "" }
        let country = item.fields.first { $0.key.lowercased() == "country" }?.value?.textValue
        do {
            let parser = try LeadRowParser(header: header, playbook: engine.playbook, defaultCountry: country, source: nil)
            switch parser.patch(from: values) {
            case .success(let row):
                let warnings = row.warnings.map { warning in
                    APIError.Problem(path: "\(prefix).\(header[warning.column - 1])", message: "\(warning.reason); stored without it")
                }
                return .success((row.patch, warnings))
            case .failure(let rejection):
                let key = item.fields.map(\.key).first { LeadRowParser.normalised($0) == rejection.field } ?? rejection.field
                return .failure(APIError.Problem(path: "\(prefix).\(key)", message: rejection.reason))
            }
        } catch {
            let missingEmail = !header.contains { LeadRowParser.normalised($0) == "email" }
            return .failure(APIError.Problem(path: missingEmail ? "\(prefix).email" : prefix, message: missingEmail ? "is required" : "\(error)"))
        }
    }

    /// `?limit=25&stage=mql&segment=industry:SaaS&segment=tag:webinar`
    func topLeads(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let query = request.uri.queryParameters
        var problems: [APIError.Problem] = []
        var limit = 25
        if let text = query["limit"] {
            if let parsed = Int(text), (1...1000).contains(parsed) { limit = parsed } else {
                problems.append(.init(path: "limit", message: "must be a whole number from 1 to 1000"))
            }
        }
        var texts = query.getAll("segment")
        if let stage = query["stage"] {
            if Stage(name: String(stage)) == nil {
                problems.append(.init(path: "stage", message: "is not one of \(Stage.allCases.map(\.name).joined(separator: ", "))"))
            } else {
                texts.append("stage=\(stage)")
            }
        }
        var filter = RankingFilter(stages: [])
        do {
            filter = try LeadSegment.filter(texts, playbook: engine.playbook)
        } catch {
            problems.append(.init(path: "segment", message: error.description))
        }
        guard problems.isEmpty else { throw APIError.invalid(problems) }
        let instant = now()
        let calculator = try engine.scoring
        let ranked = try await engine.top(limit: limit, filter: filter, now: instant)
        struct Top: Encodable {
            let at: Date
            let leads: [LeadViews.Ranked]
        }
        return try JSONResponse.make(.ok, Top(at: instant, leads: LeadViews.ranked(ranked, calculator: calculator, now: instant)))
    }

    func showLead(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let subject = try leadSubject(context)
        guard let found = try await engine.detail(subject, now: now()) else { throw APIError.notFound("no lead \(subject.text)") }
        return try JSONResponse.make(.ok, LeadViews.detail(found.detail, card: found.card))
    }

    /// A person's data, all of it; the request is audited under the key that asked.
    func exportLead(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let subject = try leadSubject(context)
        guard let export = try await engine.export(subject, actor: Self.actor(request), now: now()) else { throw APIError.notFound("no lead \(subject.text)") }
        return try JSONResponse.make(.ok, export)
    }

    /// Erasure: `{"id": "ld_…", "erased": {"events": 12, …}}`.
    func forgetLead(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        struct Forgotten: Encodable {
            let id: String
            let erased: ErasureCounts
        }
        let subject = try leadSubject(context)
        guard let forgotten = try await engine.forget(subject, actor: Self.actor(request), now: now()) else { throw APIError.notFound("no lead \(subject.text)") }
        return try JSONResponse.make(.ok, Forgotten(id: forgotten.leadID, erased: forgotten.counts))
    }

    /// Who asked, for the privacy audit: the API key's fingerprint (the first 8 hex digits of its
    /// SHA-256), never the key.
    static func actor(_ request: Request) -> String {
        let key = request.headers[.authorization].map { String($0.dropFirst(7)) } ?? ""
        return "API key " + SHA256.hash(data: Data(key.utf8)).prefix(4).map { String(format: "%02x", $0) }.joined()
    }

    /// Sales' verdict: `{"outcome": "won" | "lost" | "bad-fit", "note": "…", "by": "…"}`.
    func markOutcome(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        struct Verdict: Decodable {
            let outcome: String
            let note: String?
            let by: String?
        }
        let subject = try leadSubject(context)
        let verdict = try JSONBody.decode(Verdict.self, from: try await JSONBody.collect(request, limit: settings.maxBodyBytes))
        guard let outcome = SalesOutcome(rawValue: verdict.outcome) else {
            throw APIError.invalid([.init(path: "$.outcome", message: "must be won, lost or bad-fit")])
        }
        switch try await engine.mark(subject, outcome: outcome, note: verdict.note, by: verdict.by, now: now()) {
        case .stored(let id), .created(let id):
            struct Marked: Encodable {
                let id: String
                let outcome: String
            }
            return try JSONResponse.make(.ok, Marked(id: id, outcome: outcome.rawValue))
        case .duplicate, .unknownLead:
            throw APIError.notFound("no lead \(subject.text)")
        }
    }

    func leadSubject(_ context: BasicRequestContext) throws -> IncomingEvent.Subject {
        guard let raw = context.parameters.get("lead"), let text = raw.removingPercentEncoding, !text.isEmpty else {
            throw APIError.notFound("no such lead")
        }
        return text.contains("@") ? .email(text) : .id(text)
    }

    func checkBatch(_ count: Int) throws {
        guard count <= settings.maxBatch else {
            throw APIError(.contentTooLarge, code: "batch_too_large", message: "at most \(settings.maxBatch) items per request, not \(count)")
        }
        guard count > 0 else { throw APIError.invalid([.init(path: "$", message: "is an empty array")]) }
    }
}

extension IncomingEvent.Subject {
    var text: String {
        switch self {
        case .id(let id): id
        case .email(let email): email
        case .phone(let phone): phone
        }
    }
}
