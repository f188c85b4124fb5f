public import Foundation
public import NurtureStorage

/// Exponential backoff with full jitter, until a horizon after the message was produced.
public struct RetryPolicy: Sendable {
    public var base: Duration = .seconds(30)
    public var ceiling: Duration = .seconds(6 * 3600)
    public var horizon: Duration = .seconds(3 * 86_400)

    public init(base: Duration = .seconds(30), ceiling: Duration = .seconds(6 * 3600), horizon: Duration = .seconds(3 * 86_400)) {
        self.base = base
        self.ceiling = ceiling
        self.horizon = horizon
    }

    /// What to do after a failed attempt number `attempt` (1-based).
    public func next(after attempt: Int, of message: OutboxMessage, result: DeliveryResult, now: Date,
                     random: (ClosedRange<Double>) -> Double = { Double.random(in: $0) }) -> AttemptResult
    {
        switch result {
        case .delivered:
            return .sent
        case .permanent(let error), .undeliverable(let error, _):
            return .dead(error: error)
        case .transient(let error, let retryAfter):
            let delay: Double
            if let retryAfter {
                // The receiver said when: ask again then, with a little jitter so a crowd of
                // throttled messages does not return in one instant.
                delay = retryAfter.seconds + random(0...(retryAfter.seconds / 4))
            } else {
                let exponent = min(attempt - 1, 30)
                delay = random(0...min(base.seconds * pow(2, Double(exponent)), ceiling.seconds))
            }
            let at = now.addingTimeInterval(max(1, delay))
            if at > message.createdAt.addingTimeInterval(horizon.seconds) {
                return .dead(error: "\(error) (gave up after \(attempt) attempt\(attempt == 1 ? "" : "s"))")
            }
            return .retry(at: at, error: error)
        }
    }
}

extension Duration {
    public var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
