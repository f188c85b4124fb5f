public import Foundation
import NurtureStorage

/// How the engine changes stored leads: read snapshots (no lock), work on them in memory (on
/// every core), then commit each lead's changes only if the lead is still as it was read. A lead
/// that changed meanwhile (an event over the API while a worker advanced it) is read again and
/// its work redone, never overwritten; nothing is lost and nothing applies twice.
extension Engine {
    /// How far back a unit of work sees a lead's events (`.did(…, within:)`) and sends (caps).
    public static let eventWindow: TimeInterval = 180 * 86_400
    public static let sendWindow: TimeInterval = 14 * 86_400

    /// A lead changing faster than its work can commit this many times is reported, not spun on.
    static let maxRedos = 32

    public struct LeadKeptChanging: Error, CustomStringConvertible {
        public let leadIDs: [String]
        public var description: String { "leads \(leadIDs.joined(separator: ", ")) changed on every one of \(Engine.maxRedos) attempts to commit; nothing of their work was lost, try again" }
    }

    /// An instant as the database gives it back: backends keep seconds since 1970 in a Double,
    /// which can move a `Date` by a fraction of a microsecond. Work computed at the instant a wake
    /// time or an event was stored must see that step due and that event past, so every unit of
    /// work runs at, and records events at, instants as stored.
    static func asStored(_ now: Date) -> Date {
        Date(timeIntervalSince1970: now.timeIntervalSince1970)
    }

    static func window(at now: Date) -> HistoryWindow {
        HistoryWindow(eventsSince: now.addingTimeInterval(-eventWindow), sendsSince: now.addingTimeInterval(-sendWindow))
    }

    /// Applies `body` to each lead's work and commits it, redoing the work of leads that changed
    /// meanwhile. Leads that no longer exist are skipped.
    public func updateLeads(ids: [String], now: Date, _ body: @escaping @Sendable (inout LeadWork) -> Void) async throws {
        let now = Self.asStored(now)
        var pending = ids
        for _ in 0..<Self.maxRedos {
            guard !pending.isEmpty else { return }
            let snapshots = try await store.snapshots(pending.map(LeadKey.id), window: Self.window(at: now))
            let controls = try await store.campaignControls()
            let rotation = OwnerRotation(next: try await store.rotationPosition())
            let units = await Self.inParallel(pending.compactMap { snapshots[.id($0)] }) { snapshot in
                var unit = UnitOfWork(snapshot, base: .version(snapshot.version), rotation: rotation, controls: controls)
                body(&unit.work)
                return unit
            }
            let outcomes = try await store.commit(units.map(\.change), rotationAdvance: rotation.taken, now: now)
            pending = zip(units, outcomes).filter { $0.1 != .committed }.map { $0.0.work.lead.id }
        }
        if !pending.isEmpty { throw LeadKeptChanging(leadIDs: pending) }
    }

    /// Runs `transform` over `items` on every core, keeping their order.
    static func inParallel<Item: Sendable, Result: Sendable>(_ items: [Item], _ transform: @escaping @Sendable (Item) -> Result) async -> [Result] {
        let lanes = min(ProcessInfo.processInfo.activeProcessorCount, max(1, items.count / 16))
        guard lanes > 1 else { return items.map(transform) }
        let size = (items.count + lanes - 1) / lanes
        return await withTaskGroup(of: (Int, [Result]).self) { group in
            for lane in 0..<lanes {
                let slice = Array(items[min(items.count, lane * size)..<min(items.count, (lane + 1) * size)])
                group.addTask { (lane, slice.map(transform)) }
            }
            var parts = [[Result]](repeating: [], count: lanes)
            for await (lane, part) in group { parts[lane] = part }
            return parts.flatMap { $0 }
        }
    }
}

/// One lead's work: what was read, and what the engine made of it.
struct UnitOfWork: Sendable {
    let base: LeadChange.Base
    let loaded: LeadWork
    var work: LeadWork
    /// Client ids of the incoming events among `work.newEvents`, by position.
    var clientIDs: [Int: String] = [:]

    init(_ snapshot: LeadSnapshot, base: LeadChange.Base, rotation: OwnerRotation?, controls: CampaignControls) {
        self.base = base
        loaded = LeadWork(
            state: LeadState(lead: snapshot.lead, events: snapshot.events, sends: snapshot.sends, suppressions: snapshot.suppressions,
                             scoring: snapshot.scoring),
            enrollments: snapshot.enrollments)
        work = loaded
        work.rotation = rotation
        work.controls = controls
    }

    /// A lead that does not exist yet.
    init(newLead lead: Lead, rotation: OwnerRotation?, controls: CampaignControls) {
        self.init(LeadSnapshot(lead: lead), base: .new, rotation: rotation, controls: controls)
    }

    /// Records an event from outside (stored under its client id) and lets it act.
    mutating func receive(_ event: LeadEvent, clientID: String?, processor: LeadProcessor) {
        if let clientID { clientIDs[work.newEvents.count] = clientID }
        work.newEvents.append(event)
        processor.receive(event, &work)
    }

    /// What to write: everything the work changed since it was read.
    var change: LeadChange {
        let before = Dictionary(loaded.enrollments.map { (EnrollmentKey($0), $0) }) { first, _ in first }
        let enrollments = work.enrollments.filter { before[EnrollmentKey($0)] != $0 }
        var suppressions: [SuppressionChange] = []
        let now = work.state.suppressions, was = loaded.state.suppressions
        // Suppressions belong to addresses (so they outlive a deleted lead and bind a re-imported
        // one); the work sees them per channel of the lead's current addresses.
        for channel in Set(now.keys).union(was.keys).sorted(by: { $0.rawValue < $1.rawValue }) where now[channel] != was[channel] {
            let address = switch channel {
            case .email: work.lead.email
            case .sms: work.lead.phone
            case .sales: String?.none
            }
            if let address { suppressions.append(SuppressionChange(address: address, channel: channel, suppression: now[channel])) }
        }
        return LeadChange(
            base: base, lead: work.lead, scoring: work.state.scoring,
            leadChanged: base == .new || work.lead != loaded.lead || work.state.scoring != loaded.state.scoring,
            enrollments: enrollments,
            events: work.newEvents.enumerated().map { NewEvent($0.element, clientID: clientIDs[$0.offset]) },
            messages: work.newMessages, suppressions: suppressions, deliveries: work.deliveryUpdates, conversions: work.newConversions,
            stepFacts: work.newStepFacts)
    }

    private struct EnrollmentKey: Hashable {
        let campaignID: String
        let sequence: Int
        init(_ enrollment: Enrollment) {
            campaignID = enrollment.campaignID
            sequence = enrollment.sequence
        }
    }
}

extension OwnerRotation {
    /// Turns taken since it was read, for the commit to move the stored position by.
    var taken: Int { next - start }
}
