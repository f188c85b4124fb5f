import Foundation
public import HTTPTypes
public import Hummingbird
import NIOCore
import NurtureEngine

/// An error answered as `{"error": {"code", "message", "problems": [{"path", "message"}]}}`:
/// `path` is a JSON path into the request body (`$[3].email`), so a client can point at the
/// exact item and field.
public struct APIError: Error, HTTPResponseError, Sendable {
    public struct Problem: Error, Encodable, Sendable, Hashable {
        public var path: String
        public var message: String

        public init(path: String, message: String) {
            self.path = path
            self.message = message
        }
    }

    public var status: HTTPResponse.Status
    public var code: String
    public var message: String
    public var problems: [Problem]
    public var headers: HTTPFields = [:]

    public init(_ status: HTTPResponse.Status, code: String, message: String, problems: [Problem] = []) {
        self.status = status
        self.code = code
        self.message = message
        self.problems = problems
    }

    public static func invalid(_ problems: [Problem]) -> APIError {
        let first = problems.first.map { "\($0.path): \($0.message)" } ?? "invalid request"
        let more = problems.count > 1 ? " (and \(problems.count - 1) more)" : ""
        return APIError(.badRequest, code: "invalid_request", message: first + more, problems: problems)
    }

    public static let unauthorized = APIError(.unauthorized, code: "unauthorized", message: "a valid API key is required: Authorization: Bearer KEY")

    /// Another connection holds the database's write lock; nothing of the request was stored.
    public static var databaseBusy: APIError {
        var error = APIError(.serviceUnavailable, code: "database_busy",
                             message: "the database is busy; nothing was stored. Send the same request again after Retry-After seconds")
        error.headers[.retryAfter] = "5"
        return error
    }

    public static func notFound(_ what: String) -> APIError { APIError(.notFound, code: "not_found", message: what) }

    struct Body: Encodable {
        struct Inner: Encodable {
            let code: String
            let message: String
            let problems: [Problem]?
        }

        let error: Inner
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var response = try JSONResponse.make(status, Body(error: Body.Inner(code: code, message: message, problems: problems.isEmpty ? nil : problems)))
        for field in headers { response.headers.append(field) }
        if status == .unauthorized { response.headers[.wwwAuthenticate] = "Bearer" }
        return response
    }
}

enum JSONResponse {
    static let encoder = LeadViews.encoder(pretty: false)

    static func make(_ status: HTTPResponse.Status = .ok, _ value: some Encodable) throws -> Response {
        let data = try encoder.encode(value)
        return Response(status: status, headers: [.contentType: "application/json; charset=utf-8"],
                        body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// Reading JSON bodies: bounded in size, and every failure turned into a path and a reason.
enum JSONBody {
    static let decoder = JSONDecoder()

    /// The body, or 413 beyond `limit` bytes (counted as they arrive, never buffered past it).
    static func collect(_ request: Request, limit: Int) async throws -> ByteBuffer {
        var request = request
        do {
            return try await request.collectBody(upTo: limit)
        } catch is NIOTooManyBytesError {
            // The rest of the body is not read, so the connection cannot carry another request:
            // answer, then close (ConnectionCloseHandler drains what the client still sends).
            var error = APIError(.contentTooLarge, code: "body_too_large", message: "the request body is larger than \(limit) bytes; send smaller batches")
            error.headers[.connection] = "close"
            throw error
        }
    }

    /// Decodes one value or an array of them; `isArray` tells which the client sent.
    static func decodeOneOrMany<T: Decodable>(_ type: T.Type, from buffer: ByteBuffer) throws -> (items: [T], isArray: Bool) {
        let isArray = buffer.readableBytesView.first(where: { !($0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09) }) == UInt8(ascii: "[")
        let data = Data(buffer.readableBytesView)
        do {
            if isArray { return (try decoder.decode([T].self, from: data), true) }
            return ([try decoder.decode(T.self, from: data)], false)
        } catch let error as DecodingError {
            throw APIError.invalid([problem(error)])
        }
    }

    static func decode<T: Decodable>(_ type: T.Type, from buffer: ByteBuffer) throws -> T {
        do {
            return try decoder.decode(T.self, from: Data(buffer.readableBytesView))
        } catch let error as DecodingError {
            throw APIError.invalid([problem(error)])
        }
    }

    /// `$`, `$[3]`, `$[3].properties.plan`.
    static func path(_ codingPath: [any CodingKey]) -> String {
        var path = "$"
        for key in codingPath {
            if let index = key.intValue { path += "[\(index)]" } else { path += "." + key.stringValue }
        }
        return path
    }

    static func problem(_ error: DecodingError) -> APIError.Problem {
        switch error {
        case .keyNotFound(let key, let context):
            return .init(path: path(context.codingPath + [key]), message: "is required")
        case .valueNotFound(let type, let context):
            return .init(path: path(context.codingPath), message: "must not be null (expected \(describe(type)))")
        case .typeMismatch(let type, let context):
            return .init(path: path(context.codingPath), message: "expected \(describe(type))")
        case .dataCorrupted(let context):
            let underlying = (context.underlyingError as? NSError)?.userInfo[NSDebugDescriptionErrorKey] as? String
                ?? context.underlyingError.map { "\($0)" }
            if context.codingPath.isEmpty {
                return .init(path: "$", message: "is not valid JSON" + (underlying.map { ": \($0)" } ?? ""))
            }
            return .init(path: path(context.codingPath), message: context.debugDescription)
        @unknown default:
            return .init(path: "$", message: "\(error)")
        }
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Bool.Type: "true or false"
        case is Double.Type, is Int.Type: "a number"
        case is [Any].Type: "an array"
        default: "\(type)".contains("Dictionary") ? "an object" : "a string, number or boolean"
        }
    }
}
