public import CoreMetrics

/// What the engine counts and times, through swift-metrics: the server exports it as Prometheus
/// text at `/metrics`; without a backend the calls cost next to nothing.
public struct NurtureMetrics: Sendable {
    let factory: any MetricsFactory

    /// `factory` defaults to the process-wide backend, so a command-line run reports to whatever
    /// was bootstrapped (nothing, usually); the server passes its own registry's factory.
    public init(factory: any MetricsFactory = MetricsSystem.factory) {
        self.factory = factory
    }

    /// Events stored (not duplicates), by how they arrived: api, inbound, tracking, cli.
    public func eventsIngested(_ count: Int, via source: String) {
        guard count > 0 else { return }
        CoreMetrics.Counter(label: "nurture_events_ingested_total", dimensions: [("via", source)], factory: factory).increment(by: count)
    }

    /// One attempt's outcome: sent, retry, dead, suppressed.
    public func attempt(channel: String, status: String) {
        CoreMetrics.Counter(label: "nurture_messages_total", dimensions: [("channel", channel), ("status", status)], factory: factory).increment()
    }

    /// How long a channel took to answer one send.
    public func sendLatency(channel: String, _ duration: Duration) {
        CoreMetrics.Timer(label: "nurture_send_duration_seconds", dimensions: [("channel", channel)], factory: factory)
            .recordSeconds(duration.seconds)
    }

    /// A worker round that failed and will be retried: `database_busy` or `storage`.
    public func workerFailure(kind: String) {
        CoreMetrics.Counter(label: "nurture_worker_failures_total", dimensions: [("kind", kind)], factory: factory).increment()
    }

    /// Messages in the outbox by status, read from the database at scrape time.
    public func queueDepth(status: String, _ count: Int) {
        CoreMetrics.Gauge(label: "nurture_outbox_messages", dimensions: [("status", status)], factory: factory).record(count)
    }
}
