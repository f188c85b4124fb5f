public import Foundation
import Synchronization

/// When the worker last went round its loop, and whether its last rounds failed, so `/healthz`
/// can tell a live worker from a stuck or a struggling one.
public final class Heartbeat: Sendable {
    /// Rounds have failed since `since`, the last with `error`.
    public struct Trouble: Sendable, Hashable {
        public var error: String
        public var since: Date
    }

    private let lastBeat = Atomic<Int64>(0)
    private let trouble = Mutex<Trouble?>(nil)

    public init() {}

    public func beat(at moment: Date = Date()) {
        lastBeat.store(Int64(moment.timeIntervalSince1970 * 1000), ordering: .relaxed)
    }

    /// Nil before the first beat.
    public var last: Date? {
        let millis = lastBeat.load(ordering: .relaxed)
        return millis == 0 ? nil : Date(timeIntervalSince1970: Double(millis) / 1000)
    }

    /// Nil while rounds succeed.
    public var currentTrouble: Trouble? { trouble.withLock { $0 } }

    public func failed(_ error: String, at moment: Date = Date()) {
        beat(at: moment)
        trouble.withLock { current in
            current = Trouble(error: error, since: current?.since ?? moment)
        }
    }

    public func recovered() {
        trouble.withLock { $0 = nil }
    }
}
