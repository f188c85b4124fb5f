public import Foundation
import Synchronization

/// When the worker last went round its loop, so `/healthz` can tell a live worker from a stuck one.
public final class Heartbeat: Sendable {
    private let lastBeat = Atomic<Int64>(0)

    public init() {}

    public func beat(at moment: Date = Date()) {
        lastBeat.store(Int64(moment.timeIntervalSince1970 * 1000), ordering: .relaxed)
    }

    /// Nil before the first beat.
    public var last: Date? {
        let millis = lastBeat.load(ordering: .relaxed)
        return millis == 0 ? nil : Date(timeIntervalSince1970: Double(millis) / 1000)
    }
}
