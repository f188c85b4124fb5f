import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NurtureDSL
import NurtureEngine

/// What an email provider reports: `{"type": "delivered" | "bounced" | "complained",
/// "message_id": "msg_…", "email": "…", "bounce": "hard" | "soft", "reason": "…", "at": "…"}`.
struct InboundEmail: Decodable {
    var type: String
    var message_id: String?
    var email: String?
    var bounce: String?
    var reason: String?
    var at: String?
}

/// What an SMS provider reports: delivery receipts (`delivered`, `failed`) and replies
/// (`received`, with `from` and `body`).
struct InboundSMS: Decodable {
    var type: String
    var message_id: String?
    var from: String?
    var body: String?
    var reason: String?
    var at: String?
}

/// SMS keywords, as carriers and the CTIA handbook define them.
enum SMSKeyword {
    static let stop: Set<String> = ["STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"]
    static let start: Set<String> = ["START", "UNSTOP"]
    static let help: Set<String> = ["HELP", "INFO"]

    /// The event type a reply means: the whole message, or its first word, is the keyword.
    static func eventType(for body: String) -> String {
        let words = body.uppercased().split(whereSeparator: { !$0.isLetter })
        guard let first = words.first.map(String.init) else { return "sms.received" }
        if stop.contains(first) { return ComplianceEvent.smsOptedOut }
        if start.contains(first) { return ComplianceEvent.smsOptedIn }
        if help.contains(first) && words.count <= 2 { return ComplianceEvent.smsHelp }
        return "sms.received"
    }
}

extension NurtureServer {
    func addInboundRoutes(_ inbound: RouterGroup<BasicRequestContext>) {
        inbound.post("email") { request, context in try await inboundEmail(request, context) }
        inbound.post("sms") { request, context in try await inboundSMS(request, context) }
        addProviderInboundRoutes(inbound)
    }

    func inboundEmail(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let (body, webhookID) = try await verifiedBody(request, secret: settings.inboundEmailSecret, endpoint: "email")
        let (items, isArray) = try JSONBody.decodeOneOrMany(InboundEmail.self, from: body)
        try checkBatch(items.count)
        var reports: [Report] = []
        var problems: [APIError.Problem] = []
        for (index, item) in items.enumerated() {
            let path = isArray ? "$[\(index)]" : "$"
            let type: String
            switch item.type {
            case "delivered": type = ComplianceEvent.emailDelivered
            case "bounced": type = ComplianceEvent.emailBounced
            case "complained": type = ComplianceEvent.emailComplained
            default:
                problems.append(.init(path: "\(path).type", message: "'\(item.type)' is not delivered, bounced or complained"))
                continue
            }
            if let bounce = item.bounce, !["hard", "soft"].contains(bounce) {
                problems.append(.init(path: "\(path).bounce", message: "must be hard or soft"))
            }
            var properties: [String: Value] = [:]
            if type == ComplianceEvent.emailBounced { properties["bounce"] = .string(item.bounce ?? "hard") }
            if let reason = item.reason { properties["reason"] = .string(reason) }
            let email = item.email.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            if let email, !LeadRowParser.isPlausibleEmail(email) {
                problems.append(.init(path: "\(path).email", message: "'\(email)' is not an email address"))
            }
            reports.append(Report(path: path, type: type, messageID: item.message_id, address: email, channel: .email,
                                  at: Self.instant(item.at, path: path, &problems), properties: properties))
        }
        return try await apply(reports, problems: problems, webhookID: webhookID, isArray: isArray, endpoint: "email")
    }

    func inboundSMS(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let (body, webhookID) = try await verifiedBody(request, secret: settings.inboundSMSSecret, endpoint: "sms")
        let (items, isArray) = try JSONBody.decodeOneOrMany(InboundSMS.self, from: body)
        try checkBatch(items.count)
        var reports: [Report] = []
        var problems: [APIError.Problem] = []
        for (index, item) in items.enumerated() {
            let path = isArray ? "$[\(index)]" : "$"
            var properties: [String: Value] = [:]
            if let reason = item.reason { properties["reason"] = .string(reason) }
            var phone: String?
            if let from = item.from {
                do {
                    phone = try PhoneNumber.e164(from, defaultCountry: nil)
                } catch {
                    problems.append(.init(path: "\(path).from", message: error.description))
                }
            }
            let type: String
            switch item.type {
            case "delivered": type = ComplianceEvent.smsDelivered
            case "failed": type = ComplianceEvent.smsFailed
            case "received":
                guard let text = item.body else {
                    problems.append(.init(path: "\(path).body", message: "is required for a received message"))
                    continue
                }
                if item.from == nil { problems.append(.init(path: "\(path).from", message: "is required for a received message")) }
                type = SMSKeyword.eventType(for: text)
                properties["body"] = .string(String(text.prefix(1600)))
            default:
                problems.append(.init(path: "\(path).type", message: "'\(item.type)' is not delivered, failed or received"))
                continue
            }
            reports.append(Report(path: path, type: type, messageID: item.message_id, address: phone, channel: .sms,
                                  at: Self.instant(item.at, path: path, &problems), properties: properties))
        }
        return try await apply(reports, problems: problems, webhookID: webhookID, isArray: isArray, endpoint: "sms")
    }

    /// The `at` of a generic report, which must be ISO 8601 with a zone.
    static func instant(_ text: String?, path: String, _ problems: inout [APIError.Problem]) -> Date? {
        guard let text else { return nil }
        guard let parsed = EventInput.parseInstant(text) else {
            problems.append(.init(path: "\(path).at", message: "'\(text)' is not an ISO 8601 time with a zone"))
            return nil
        }
        return parsed
    }

    /// One provider report, before it finds its lead.
    struct Report {
        var path: String
        var type: String
        var messageID: String?
        var address: String?
        var channel: OutgoingMessage.Channel
        /// When it happened, if the sender said; now otherwise (and never later than now).
        var at: Date?
        var properties: [String: Value]
        /// The provider's own id for this one event, when it has one (SendGrid's `sg_event_id`):
        /// what de-duplicates it, instead of the webhook's id and its position.
        var key: String? = nil
    }

    /// Finds each report's lead (by message, else by address), stores them as events in one
    /// transaction, de-duplicated by the webhook id, and suppresses addresses no lead owns.
    func apply(_ reports: [Report], problems: [APIError.Problem], webhookID: String, isArray: Bool, endpoint: String) async throws -> Response {
        var problems = problems
        let instant = now()
        var events: [IncomingEvent] = []
        for (index, report) in reports.enumerated() {
            let at = min(report.at ?? instant, instant)
            var subject: IncomingEvent.Subject?
            var properties = report.properties
            if let messageID = report.messageID, let problem = InputText.problem(in: messageID) {
                // SQLite would match the id cut at a NUL: refuse it rather than find another message.
                problems.append(.init(path: "\(report.path).message_id", message: problem))
            } else if let messageID = report.messageID {
                if let message = try await engine.message(id: messageID) {
                    subject = .id(message.leadID)
                    properties["message"] = .string(messageID)
                } else if report.address == nil {
                    problems.append(.init(path: "\(report.path).message_id", message: "no message '\(messageID)' was sent by this Nurture"))
                }
            }
            if subject == nil, let address = report.address { subject = report.channel == .email ? .email(address) : .phone(address) }
            guard let subject else {
                if report.messageID == nil {
                    problems.append(.init(path: "\(report.path).\(report.channel == .email ? "email" : "from")", message: "is required without message_id"))
                }
                continue
            }
            events.append(IncomingEvent(subject: subject, type: report.type, at: at, properties: properties,
                                        clientID: report.key.map { "inbound:\(endpoint):\($0)" } ?? "inbound:\(endpoint):\(webhookID)" + (isArray ? ":\(index)" : "")))
        }
        guard problems.isEmpty else { throw APIError.invalid(problems) }
        let outcomes = try await ingest.track(events, now: instant, via: "inbound")
        var results: [EventResult] = []
        for (event, outcome) in zip(events, outcomes) {
            switch outcome {
            case .stored(let id), .created(let id): results.append(EventResult(status: "stored", lead_id: id))
            case .duplicate: results.append(EventResult(status: "duplicate"))
            case .unknownLead:
                results.append(EventResult(status: try await engine.reportWithoutLead(event, now: instant) ? "suppressed" : "unknown_lead"))
            }
        }
        struct Answer: Encodable {
            let replayed: Bool
            let results: [EventResult]
        }
        // A replayed webhook id is acknowledged and ignored: a provider retrying after a lost
        // answer must stop, and nothing in it is applied twice.
        return try JSONResponse.make(.ok, Answer(replayed: !results.isEmpty && results.allSatisfy { $0.status == "duplicate" }, results: results))
    }

    /// The body, once its Standard Webhooks signature is checked: `webhook-id`,
    /// `webhook-timestamp` within five minutes of now, and a matching `webhook-signature`.
    func verifiedBody(_ request: Request, secret: Data?, endpoint: String) async throws -> (ByteBuffer, String) {
        guard let secret else {
            throw APIError(.unauthorized, code: "inbound_not_configured",
                           message: "inbound \(endpoint) webhooks are not configured: set [inbound.\(endpoint)] secret_env in nurture.toml")
        }
        guard let id = request.headers[HTTPField.Name("webhook-id")!], !id.isEmpty, id.utf8.count <= 200,
              let timestamp = request.headers[HTTPField.Name("webhook-timestamp")!],
              let signatures = request.headers[HTTPField.Name("webhook-signature")!]
        else {
            throw APIError(.unauthorized, code: "unsigned", message: "webhook-id, webhook-timestamp and webhook-signature headers are required")
        }
        let body = try await JSONBody.collect(request, limit: settings.maxBodyBytes)
        guard let seconds = Double(timestamp), abs(now().timeIntervalSince1970 - seconds) <= settings.signatureTolerance else {
            throw APIError(.unauthorized, code: "stale", message: "webhook-timestamp is more than \(Int(settings.signatureTolerance / 60)) minutes from now")
        }
        guard WebhookSignature.verify(id: id, timestamp: timestamp, signatures: signatures, body: Data(body.readableBytesView), secret: secret,
                                      now: now(), tolerance: settings.signatureTolerance)
        else {
            throw APIError(.unauthorized, code: "bad_signature", message: "webhook-signature does not match the body")
        }
        return (body, id)
    }
}

