import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NurtureEngine

/// `Authorization: Bearer KEY` against the keys in `NURTURE_API_KEYS`. Keys are compared as
/// SHA-256 digests, every configured key every time, so neither timing nor the answer tells
/// which part of a wrong key was wrong.
struct APIKeyMiddleware<Context: RequestContext>: RouterMiddleware {
    let digests: [SHA256.Digest]

    init(keys: [String]) {
        digests = keys.map { SHA256.hash(data: Data($0.utf8)) }
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let header = request.headers[.authorization], header.count > 7,
              header.prefix(7).lowercased() == "bearer "
        else { throw APIError.unauthorized }
        let presented = SHA256.hash(data: Data(header.dropFirst(7).utf8))
        var matched = false
        // Digest's == is swift-crypto's constant-time comparison.
        for digest in digests where digest == presented { matched = true }
        guard matched else { throw APIError.unauthorized }
        return try await next(request, context)
    }
}

/// Gives every request an id (the caller's `X-Request-Id` when it is sane, else a new one),
/// puts it in every log line the request causes and in the response, and logs one line per
/// request with its route pattern — never its path, which holds signed tokens.
struct RequestLogMiddleware<Context: RequestContext>: RouterMiddleware {
    static var header: HTTPField.Name { HTTPField.Name("X-Request-Id")! }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        let id = request.headers[Self.header].flatMap(Self.sanitised) ?? context.id
        context.logger[metadataKey: "request.id"] = .string(id)
        let started = ContinuousClock.now
        do {
            var response = try await next(request, context)
            response.headers[Self.header] = id
            log(request, context, status: response.status.code, started: started)
            return response
        } catch {
            // Answered here so the request id reaches error responses too; the cause of a 500
            // goes to the log, never to the client.
            var response: Response
            if let known = error as? any HTTPResponseError {
                response = try known.response(from: request, context: context)
            } else if error is StorageBusy {
                // Nothing was written: the client can send the same request again.
                context.logger.warning("Database busy.", metadata: ["error": "\(error)"])
                response = try APIError.databaseBusy.response(from: request, context: context)
            } else {
                context.logger.error("Request failed.", metadata: ["error": "\(error)"])
                response = try APIError(.internalServerError, code: "internal", message: "internal error; the server log has request id \(id)")
                    .response(from: request, context: context)
            }
            response.headers[Self.header] = id
            log(request, context, status: response.status.code, started: started)
            return response
        }
    }

    private func log(_ request: Request, _ context: Context, status: Int, started: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - started
        context.logger.info("Request.", metadata: [
            "http.method": "\(request.method)", "http.route": "\(context.endpointPath ?? "unmatched")", "http.status": "\(status)",
            "duration.ms": "\((elapsed.seconds * 1000 * 1000).rounded() / 1000)",
        ])
    }

    /// Up to 64 letters, digits, `-`, `_`, `.`: anything else could forge log lines.
    static func sanitised(_ text: String) -> String? {
        guard !text.isEmpty, text.utf8.count <= 64,
              text.utf8.allSatisfy({ $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".")
                  || ($0 >= 0x30 && $0 <= 0x39) || ($0 | 0x20 >= 0x61 && $0 | 0x20 <= 0x7A) })
        else { return nil }
        return text
    }
}

/// Answers what the router found no endpoint for: 405 with `Allow` when the path is served
/// under other methods (RFC 9110 §15.5.6), else a 404 in the API's error shape. Added after
/// every route, so it wraps only the router's not-found responder.
struct UnmatchedRouteMiddleware<Context: RequestContext>: RouterMiddleware {
    /// Each route's path as segments (`nil` for a `:parameter`), with the methods it serves.
    let routes: [(segments: [Substring?], methods: Set<String>)]

    init(routes: [Router<Context>.RouteDescription]) {
        var merged: [String: (segments: [Substring?], methods: Set<String>)] = [:]
        for route in routes {
            let pattern = route.path.description
            // Parameters print as `{name}` (`:name` where they were written that way).
            let segments = pattern.split(separator: "/").map { $0.hasPrefix(":") || ($0.hasPrefix("{") && $0.hasSuffix("}")) ? nil : $0 }
            merged[pattern, default: (segments, [])].methods.insert(route.method.rawValue)
        }
        self.routes = merged.keys.sorted().compactMap { merged[$0] }
    }

    /// The methods the route that has `path` serves, sorted; empty when no route has it. Where a
    /// literal route and a parameter route both match (`/v1/leads/top` and `/v1/leads/{lead}`),
    /// the router takes the literal one, and so does this.
    func methods(at path: String) -> [String] {
        let parts = path.split(separator: "/")
        var methods: Set<String> = []
        var literals = -1
        for route in routes where route.segments.count == parts.count {
            guard zip(route.segments, parts).allSatisfy({ pattern, part in pattern.map { $0 == part } ?? true }) else { continue }
            let count = route.segments.count { $0 != nil }
            if count > literals { (methods, literals) = ([], count) }
            if count == literals { methods.formUnion(route.methods) }
        }
        return methods.sorted()
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            let allowed = methods(at: request.uri.path)
            guard !allowed.isEmpty else { throw APIError.notFound("no such path") }
            var refusal = APIError(.methodNotAllowed, code: "method_not_allowed",
                                   message: "\(request.method) is not served here; this path serves \(allowed.joined(separator: ", "))")
            refusal.headers[.allow] = allowed.joined(separator: ", ")
            throw refusal
        }
    }
}
