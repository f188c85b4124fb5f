public import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NurtureEngine
import Synchronization

/// A loopback server posing as an email or SMS provider's API: it records every request (path,
/// query, headers, body) and answers with whatever a test scripts, so a preset's requests can be
/// matched against the provider's documentation and its documented answers fed back.
public final class ProviderDouble: Sendable {
    public struct Request: Sendable, Hashable {
        public var path: String
        public var query: String?
        /// Header names lower-cased.
        public var headers: [String: String]
        public var body: Data

        public var json: Any? { try? JSONSerialization.jsonObject(with: body) }

        /// A form body's fields, in order, decoded.
        public var form: [(String, String)] { ProviderHTTP.formFields(String(decoding: body, as: UTF8.self)) }
    }

    public struct Answer: Sendable, Hashable {
        public var status: Int
        public var headers: [String: String]
        public var body: String

        public init(status: Int, headers: [String: String] = [:], body: String = "") {
            self.status = status
            self.headers = headers
            self.body = body
        }
    }

    struct State {
        var received: [Request] = []
        var answers: [Answer] = []
        var fallback = Answer(status: 200, body: "{}")
        var rule: (@Sendable (Request) -> Answer?)?
    }

    private let state = Mutex(State())
    private let server: LoopbackServer
    public var port: Int { server.port }

    /// What a preset's `base_url` points at.
    public var baseURL: String { "http://127.0.0.1:\(port)" }

    public static func start() async throws -> ProviderDouble {
        let box = Mutex<ProviderDouble?>(nil)
        let router = Router()
        router.post("**") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 16 << 20)
            var headers: [String: String] = [:]
            for field in request.headers { headers[field.name.canonicalName] = field.value }
            guard let double = box.withLock({ $0 }) else { return Response(status: .serviceUnavailable) }
            let answer = double.take(Request(path: request.uri.path, query: request.uri.query, headers: headers, body: Data(buffer: body)))
            var fields = HTTPFields()
            fields[.contentType] = "application/json"
            for (name, value) in answer.headers { fields[HTTPField.Name(name)!] = value }
            return Response(status: .init(code: answer.status), headers: fields, body: .init(byteBuffer: ByteBuffer(string: answer.body)))
        }
        let double = ProviderDouble(server: await LoopbackServer.start(router, label: "provider-double"))
        box.withLock { $0 = double }
        return double
    }

    private init(server: LoopbackServer) {
        self.server = server
    }

    public func stop() async { await server.stop() }

    /// The next requests get these answers in order, then `then` for every request after.
    public func answer(_ answers: [Answer], then fallback: Answer = Answer(status: 200, body: "{}")) {
        state.withLock {
            $0.answers = answers
            $0.fallback = fallback
        }
    }

    /// Answers from each request's own content (a batch's per-recipient results), before the script.
    public func answer(by rule: @escaping @Sendable (Request) -> Answer?) {
        state.withLock { $0.rule = rule }
    }

    public var received: [Request] { state.withLock { $0.received } }

    func take(_ request: Request) -> Answer {
        state.withLock { state in
            state.received.append(request)
            if let answer = state.rule?(request) { return answer }
            return state.answers.isEmpty ? state.fallback : state.answers.removeFirst()
        }
    }
}
