import Campaigns
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import NurtureDeployment
import NurtureDSL
import NurtureEngine
import NurtureServer
import NurtureSQLite
import Prometheus
import Synchronization

/// The server over a real SQLite file, on a clock the test moves.
final class ServerFixture: Sendable {
    static let apiKey = "test-key-0123456789"
    static let emailSecret = Data("inbound-email-secret-32-bytes-ok".utf8)
    static let smsSecret = Data("inbound-sms-secret-32-bytes-okay".utf8)
    static let links = LinkSigner(secret: Data("test-link-secret".utf8), publicURL: "https://nurture.example")
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    let store: SQLiteStore
    let engine: Engine
    let server: NurtureServer
    let heartbeat = Heartbeat()
    let registry = PrometheusCollectorRegistry()
    private let clock: TestClock

    init(now: Date = Date(timeIntervalSince1970: 1_795_000_000), maxBodyBytes: Int = 1 << 20,
         configure: (inout NurtureServer.Settings) -> Void = { _ in }) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("nurture-server-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        store = try SQLiteStore(path: directory.appendingPathComponent("nurture.sqlite").path)
        let templates = try TemplateLibrary.load(from: Self.root.appendingPathComponent("Campaigns/Templates").path)
        engine = Deployment(store: store, playbook: Campaigns.playbook, templates: templates, configuration: NurtureConfiguration(), links: Self.links).engine
        let clock = TestClock(now)
        self.clock = clock
        var settings = NurtureServer.Settings(apiKeys: [Self.apiKey, "second-key"], inboundEmailSecret: Self.emailSecret, inboundSMSSecret: Self.smsSecret,
                                              maxBodyBytes: maxBodyBytes)
        configure(&settings)
        server = NurtureServer(engine: engine, settings: settings, registry: registry, heartbeat: heartbeat, now: { clock.now })
    }

    var now: Date { clock.now }

    func advance(_ seconds: TimeInterval) {
        clock.advance(seconds)
    }

    /// Runs `body` against the router in process (no sockets).
    func test<Value: Sendable>(_ body: @Sendable (any TestClientProtocol) async throws -> Value) async throws -> Value {
        try await Application(router: server.router()).test(.router) { client in try await body(client) }
    }

    /// Advances due work and "sends" everything through a preview channel at the fixture's now.
    @discardableResult
    func runWorker() async throws -> Dispatcher.Pass {
        _ = try await engine.runDue(now: now)
        let instant = now
        let dispatcher = Dispatcher(engine: engine, channels: [.email: PreviewChannel(), .sms: PreviewChannel(), .sales: PreviewChannel()],
                                    retry: RetryPolicy(), owner: "test", now: { instant })
        return try await dispatcher.dispatchDue()
    }
}

extension TestClientProtocol {
    @discardableResult
    func send(_ method: HTTPRequest.Method, _ uri: String, json: String? = nil, key: String? = ServerFixture.apiKey, headers: HTTPFields = [:]) async throws -> TestResponse {
        var fields = headers
        if let key { fields[.authorization] = "Bearer \(key)" }
        if json != nil { fields[.contentType] = "application/json" }
        return try await execute(uri: uri, method: method, headers: fields, body: json.map { ByteBuffer(string: $0) })
    }
}

extension TestResponse {
    var text: String { String(buffer: body) }

    /// The body as a JSON object (or `{"array": […]}` for an array).
    var json: [String: Any] {
        let value = try? JSONSerialization.jsonObject(with: Data(text.utf8))
        if let array = value as? [Any] { return ["array": array] }
        return value as? [String: Any] ?? [:]
    }

    var results: [[String: Any]] { json["results"] as? [[String: Any]] ?? [] }

    /// The first problem's JSON path in an error answer.
    var problemPaths: [String] {
        ((json["error"] as? [String: Any])?["problems"] as? [[String: Any]] ?? []).compactMap { $0["path"] as? String }
    }

    var errorCode: String? { (json["error"] as? [String: Any])?["code"] as? String }
}

/// Signs a body the way a Standard Webhooks sender does.
func signedHeaders(id: String, body: String, secret: Data, at: Date) -> HTTPFields {
    let timestamp = Int(at.timeIntervalSince1970)
    return [
        HTTPField.Name("webhook-id")!: id,
        HTTPField.Name("webhook-timestamp")!: "\(timestamp)",
        HTTPField.Name("webhook-signature")!: WebhookSignature.sign(id: id, timestamp: timestamp, body: Data(body.utf8), secret: secret),
    ]
}

final class TestClock: Sendable {
    private let value: Mutex<Date>

    init(_ start: Date) { value = Mutex(start) }

    var now: Date { value.withLock { $0 } }

    func advance(_ seconds: TimeInterval) { value.withLock { $0 = $0.addingTimeInterval(seconds) } }
}
