public import Foundation

/// Group commit for events arriving one request at a time: while one transaction is being
/// worked out, the events of every request that arrives wait, and all of them go into the next
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
    /// The transaction committing now, which the next one is worked out beside.
    private var committing: (batch: Engine.InFlight, task: Task<Void, Never>)?

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

    /// Two transactions overlap: while one commits, the next is read and worked out on the
    /// other cores, except its leads that the committing one holds, which are read once it has
    /// committed. Commits keep their order, and a caller hears back only once every earlier
    /// transaction is done, so an answer of "duplicate" never points at an event that could
    /// still fail to commit.
    private func drain() async {
        while !waiting.isEmpty {
            let taken = takeGroup()
            let events = taken.flatMap(\.events)
            let now = taken.map(\.now).max()!
            let (computed, signal) = AsyncStream.makeStream(of: Int.self)
            let engine = self.engine, inFlight = committing
            let group = Task {
                let result: Result<[IngestOutcome], any Error>
                do {
                    result = .success(try await engine.storeEvents(events, now: now, after: inFlight?.batch) { rotationNext in
                        signal.yield(rotationNext)
                        signal.finish()
                    })
                } catch {
                    result = .failure(error)
                }
                signal.finish()
                await inFlight?.batch.committed()
                Self.answer(taken, with: result, metrics: engine.metrics)
            }
            // The next group starts once this one is worked out and committing (or done).
            var rotationNext = inFlight?.batch.rotationNext ?? 0
            for await next in computed { rotationNext = next }
            committing = (Engine.InFlight(subjects: Set(events.map(\.subject.normalised)), committed: { await group.value }, rotationNext: rotationNext), group)
        }
        draining = false
    }

    private func takeGroup() -> [Waiting] {
        var taken: [Waiting] = []
        var count = 0
        while let next = waiting.first, taken.isEmpty || count + next.events.count <= maxBatch {
            taken.append(waiting.removeFirst())
            count += next.events.count
        }
        return taken
    }

    private static func answer(_ callers: [Waiting], with result: Result<[IngestOutcome], any Error>, metrics: NurtureMetrics) {
        switch result {
        case .success(let outcomes):
            var offset = 0
            for caller in callers {
                let slice = Array(outcomes[offset..<(offset + caller.events.count)])
                offset += caller.events.count
                metrics.eventsIngested(slice.count { $0.isStored }, via: caller.via)
                caller.continuation.resume(returning: slice)
            }
        case .failure(let error):
            for caller in callers { caller.continuation.resume(throwing: error) }
        }
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
