public import Foundation

/// Group commit for events arriving one request at a time: while one transaction is being
/// written, the events of every request that arrives wait, and all of them go into the next
/// transaction together. Each caller still gets its own outcomes, only after they are durable.
/// Under load a single-event request costs a share of one commit instead of a commit of its own;
/// when idle, an event is written at once (there is no timer to wait for).
public actor IngestQueue {
    private struct Waiting {
        var events: [IncomingEvent]
        var now: Date
        var via: String
        var continuation: CheckedContinuation<[IngestOutcome], any Error>
    }

    private let engine: Engine
    /// The most events one transaction takes, so a burst never makes one transaction huge.
    private let maxBatch: Int
    private var waiting: [Waiting] = []
    private var draining = false

    public init(engine: Engine, maxBatch: Int = 500) {
        self.engine = engine
        self.maxBatch = maxBatch
    }

    /// Stores the events (in one transaction, possibly shared with other callers' events) and
    /// returns their outcomes in order.
    public func track(_ events: [IncomingEvent], now: Date, via: String) async throws -> [IngestOutcome] {
        guard !events.isEmpty else { return [] }
        return try await withCheckedThrowingContinuation { continuation in
            waiting.append(Waiting(events: events, now: now, via: via, continuation: continuation))
            if !draining {
                draining = true
                Task { await drain() }
            }
        }
    }

    private func drain() async {
        while !waiting.isEmpty {
            var taken: [Waiting] = []
            var count = 0
            while let next = waiting.first, taken.isEmpty || count + next.events.count <= maxBatch {
                taken.append(waiting.removeFirst())
                count += next.events.count
            }
            let events = taken.flatMap(\.events)
            let now = taken.map(\.now).max()!
            do {
                let outcomes = try await engine.storeEvents(events, now: now)
                var offset = 0
                for caller in taken {
                    let slice = Array(outcomes[offset..<(offset + caller.events.count)])
                    offset += caller.events.count
                    engine.metrics.eventsIngested(slice.count { $0.isStored }, via: caller.via)
                    caller.continuation.resume(returning: slice)
                }
            } catch {
                for caller in taken { caller.continuation.resume(throwing: error) }
            }
        }
        draining = false
    }
}

extension IngestOutcome {
    /// Stored now (for a lead found or created), as opposed to a duplicate or an unknown lead.
    public var isStored: Bool {
        switch self {
        case .stored, .created: true
        case .duplicate, .unknownLead: false
        }
    }
}
