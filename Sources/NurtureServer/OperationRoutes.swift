import Foundation
import Hummingbird
import NIOCore
import NurtureEngine

extension NurtureServer {
    /// A worker that has not gone round its loop for this long is reported stalled.
    static let workerStallAfter: TimeInterval = 120

    func addOperationRoutes(_ router: Router<BasicRequestContext>) {
        router.get("healthz") { _, _ in try await health() }
        router.get("metrics") { _, _ in try await metrics() }
        router.get("openapi.yaml") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/yaml; charset=utf-8"],
                     body: ResponseBody(byteBuffer: ByteBuffer(string: OpenAPIDocument.yaml(playbook: engine.playbook, settings: settings, now: now()))))
        }
    }

    /// 200 when the database answers and the worker (if this node runs one) is going round
    /// and succeeding; 503 otherwise, so a load balancer or orchestrator can act on it.
    func health() async throws -> Response {
        struct Health: Encodable {
            let status: String
            let database: String
            let worker: String
            let worker_last_seen: Date?
            let worker_error: String?
            let worker_failing_since: Date?
        }
        var database = "ok"
        do { _ = try await engine.outboxCounts() } catch { database = "unreachable: \(error)" }
        var worker = "disabled"
        let trouble = heartbeat?.currentTrouble
        if let heartbeat {
            if let last = heartbeat.last {
                worker = now().timeIntervalSince(last) > Self.workerStallAfter ? "stalled" : trouble == nil ? "ok" : "failing"
            } else {
                worker = "starting"
            }
        }
        let healthy = database == "ok" && worker != "stalled" && worker != "failing"
        return try JSONResponse.make(healthy ? .ok : .serviceUnavailable, Health(
            status: healthy ? "ok" : "unhealthy", database: database, worker: worker, worker_last_seen: heartbeat?.last,
            worker_error: trouble?.error, worker_failing_since: trouble?.since))
    }

    /// Prometheus text format; the outbox depth is read from the database at each scrape, so it
    /// is right however many workers share it.
    func metrics() async throws -> Response {
        let counts = try await engine.outboxCounts()
        for status in OutboxMessage.Status.allCases {
            engine.metrics.queueDepth(status: status.rawValue, counts[status.rawValue] ?? 0)
        }
        var buffer: [UInt8] = []
        buffer.reserveCapacity(4096)
        registry.emit(into: &buffer)
        return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                        body: ResponseBody(byteBuffer: ByteBuffer(bytes: buffer)))
    }
}
