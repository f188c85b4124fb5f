public import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// A real HTTP server on 127.0.0.1 that receives webhooks, for delivery tests and benchmarks.
/// It can answer with any status, hang past a client's timeout, or redirect, and it records
/// everything it receives.
public final class WebhookSink: Sendable {
    public enum Behaviour: Sendable, Hashable {
        case accept
        case fail(status: Int, retryAfter: String? = nil)
        case hang(Duration)
        case redirect(to: String)
    }

    public struct Received: Sendable, Hashable {
        /// Header names lower-cased.
        public var headers: [String: String]
        public var body: Data
        public var status: Int
        /// When the answer was given (wall clock).
        public var at = Date()
    }

    /// Chooses the answer to request number `index` (0-based) from its headers; nil falls back
    /// to the script. For receivers that fail one message, or every third request.
    public typealias Rule = @Sendable (_ index: Int, _ headers: [String: String]) -> Behaviour?

    struct State {
        var received: [Received] = []
        /// Behaviours for the next requests, in order; `fallback` once they are used up.
        var script: [Behaviour] = []
        var fallback: Behaviour = .accept
        var rule: Rule?
        var requests = 0
    }

    private let state = Mutex(State())
    private let server: LoopbackServer
    public var port: Int { server.port }

    public var url: URL { URL(string: "http://127.0.0.1:\(port)/hook")! }

    /// Starts a sink on an ephemeral port and returns once it is listening. Benchmarks turn
    /// `recording` off so the sink's own bookkeeping does not limit the rate.
    public static func start(recording: Bool = true) async throws -> WebhookSink {
        let sinkState = SinkBox(recording: recording)
        let router = Router()
        router.post("hook") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 16 << 20)
            var headers: [String: String] = [:]
            for field in request.headers { headers[field.name.canonicalName] = field.value }
            return await sinkState.respond(headers: headers, body: Data(buffer: body))
        }
        let sink = WebhookSink(server: await LoopbackServer.start(router, label: "webhook-sink"))
        sinkState.sink.withLock { $0 = sink }
        return sink
    }

    private init(server: LoopbackServer) {
        self.server = server
    }

    public func stop() async { await server.stop() }

    /// The next requests get these answers in order, then `then` for every request after.
    public func script(_ behaviours: [Behaviour], then fallback: Behaviour = .accept) {
        state.withLock {
            $0.script = behaviours
            $0.fallback = fallback
        }
    }

    /// Answers by `rule` from now on, before the script.
    public func answer(by rule: @escaping Rule) {
        state.withLock { $0.rule = rule }
    }

    public var received: [Received] { state.withLock { $0.received } }

    /// Requests answered with a 2xx, in arrival order.
    public var accepted: [Received] { received.filter { (200..<300).contains($0.status) } }

    func nextBehaviour(headers: [String: String]) -> Behaviour {
        state.withLock { state in
            defer { state.requests += 1 }
            if let chosen = state.rule?(state.requests, headers) { return chosen }
            return state.script.isEmpty ? state.fallback : state.script.removeFirst()
        }
    }

    func record(_ received: Received) {
        state.withLock { $0.received.append(received) }
    }
}

/// Lets the route reach the sink created after the router.
final class SinkBox: Sendable {
    let sink = Mutex<WebhookSink?>(nil)
    let recording: Bool

    init(recording: Bool) {
        self.recording = recording
    }

    func respond(headers: [String: String], body: Data) async -> Response {
        guard recording else { return Response(status: .ok) }
        guard let sink = sink.withLock({ $0 }) else { return Response(status: .serviceUnavailable) }
        let behaviour = sink.nextBehaviour(headers: headers)
        switch behaviour {
        case .accept:
            sink.record(.init(headers: headers, body: body, status: 200))
            return Response(status: .ok)
        case .fail(let status, let retryAfter):
            sink.record(.init(headers: headers, body: body, status: status))
            var fields = HTTPFields()
            if let retryAfter { fields[.retryAfter] = retryAfter }
            return Response(status: .init(code: status), headers: fields)
        case .hang(let duration):
            try? await Task.sleep(for: duration)
            sink.record(.init(headers: headers, body: body, status: 0))
            return Response(status: .ok)
        case .redirect(let location):
            sink.record(.init(headers: headers, body: body, status: 302))
            return Response(status: .found, headers: [.location: location])
        }
    }
}

/// A Hummingbird router served on an ephemeral port of 127.0.0.1, for the test doubles.
struct LoopbackServer: Sendable {
    let port: Int
    private let group: ServiceGroup
    private let task: Task<Void, any Error>

    /// Returns once the server listens.
    static func start(_ router: Router<BasicRequestContext>, label: String) async -> LoopbackServer {
        let (portStream, portContinuation) = AsyncStream<Int>.makeStream()
        var logger = Logger(label: label)
        logger.logLevel = .error
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in
                portContinuation.yield(channel.localAddress?.port ?? 0)
                portContinuation.finish()
            }, logger: logger)
        let group = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [], logger: logger))
        let task = Task { try await group.run() }
        var port = 0
        for await bound in portStream { port = bound }
        return LoopbackServer(port: port, group: group, task: task)
    }

    func stop() async {
        await group.triggerGracefulShutdown()
        _ = try? await task.value
    }
}
