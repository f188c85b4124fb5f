public import Foundation
import NurtureDSL
public import NurtureEngine
import NurtureStorage

/// Before a process runs its playbook against a database: one playbook at a time, recorded, and
/// the leads in flight moved only as a reviewed plan says.
extension Deployment {
    public struct PlaybookRefused: Error, CustomStringConvertible {
        public let description: String
    }

    /// The plan from what the database runs to this build, as of now.
    public func plan() async throws -> DeploymentPlan {
        let deployed = try await store.currentDeployment()
        let shape = builtShape, fingerprint = shape.fingerprint
        // Where the leads are matters only when something changes.
        let occupancy = deployed?.fingerprint == fingerprint ? [] : try await store.stepOccupancy()
        return DeploymentPlan(built: engine.processor.playbook, shape: shape, fingerprint: fingerprint, deployed: deployed, occupancy: occupancy)
    }

    /// What this build records: its campaigns, settings and template digests.
    var builtShape: PlaybookShape { engine.processor.playbook.shape(templates: engine.processor.renderer.library.digests) }

    /// Makes this build the deployed playbook, or says why it may not be.
    ///
    /// Refused while a live process (a worker, a server) runs a different playbook on the
    /// database, and — unless `movingLeads` (what `nurture deploy` passes) — when the plan moves
    /// leads off their steps or out of their campaigns. A build that only renames steps or
    /// changes what future leads get is recorded at once. Returns the plan it applied.
    ///
    /// A process that will run (`announcing`) says so before it looks, so two builds starting at
    /// once see each other and neither runs; it withdraws if it is refused.
    @discardableResult
    public func takeOver(as role: String, movingLeads: Bool = false, announcing: Bool = false, now: Date = Date()) async throws -> DeploymentPlan {
        guard announcing else { return try await takeOver(role, movingLeads: movingLeads, now: now) }
        try await store.announce(process(role: role, at: now))
        do {
            return try await takeOver(role, movingLeads: movingLeads, now: now)
        } catch {
            try? await store.withdraw(processID: engine.owner)
            throw error
        }
    }

    private func takeOver(_ role: String, movingLeads: Bool, now: Date) async throws -> DeploymentPlan {
        for _ in 0..<3 {
            let plan = try await plan()
            let others = try await store.processes().filter { $0.id != engine.owner && $0.isLive(at: now) && $0.fingerprint != plan.fingerprint }
            if let other = others.first {
                let seen = Int(now.timeIntervalSince(other.seenAt).rounded())
                throw PlaybookRefused(description: "\(other.description) runs playbook \(other.fingerprint.prefix(12)) on this database "
                    + "(last seen \(seen) s ago), and this build is playbook \(plan.fingerprint.prefix(12)); two playbooks must not run side by side. "
                    + "Stop it (a process gone without a goodbye is forgotten after \(Int(PlaybookProcess.presumedGoneAfter)) s), then start this one"
                    + (others.count > 1 ? " (\(others.count) such processes)" : ""))
            }
            if plan.isNoChange { return plan }
            if plan.leadsMoved > 0, !movingLeads {
                throw PlaybookRefused(description: "this build moves or drops \(DeploymentPlan.leads(plan.leadsMoved)) in flight on this database; "
                    + "see where with `nurture plan`, then apply it with `nurture deploy`")
            }
            let record = PlaybookDeployment(shape: plan.built, at: now, by: "\(role) on \(Self.host) (pid \(ProcessInfo.processInfo.processIdentifier))")
            if try await store.recordDeployment(record, replacing: plan.deployed?.fingerprint, moves: plan.moves) { return plan }
            // Another process deployed between our reading and our writing: look again.
        }
        throw PlaybookRefused(description: "the deployed playbook kept changing while this process started; try again")
    }

    /// This process as it announces itself: who it is and which build it runs.
    private func process(role: String, at now: Date) -> PlaybookProcess {
        PlaybookProcess(id: engine.owner, fingerprint: builtShape.fingerprint, role: role, host: Self.host,
                        pid: Int(ProcessInfo.processInfo.processIdentifier), startedAt: now, seenAt: now)
    }

    /// Runs `body` announced as `role`, and withdraws when it ends, however it ends. Should
    /// another build be deployed meanwhile (after this process's heartbeats failed long enough
    /// to be taken for gone), `superseded` is called once: the process must stop.
    public func announced<T>(as role: String, superseded: @escaping @Sendable () -> Void = {}, _ body: () async throws -> T) async throws -> T {
        let process = process(role: role, at: Date())
        try await store.announce(process)
        let presence = PlaybookPresence(store: store, process: process, superseded: superseded)
        do {
            let value = try await body()
            await presence.withdraw()
            return value
        } catch {
            await presence.withdraw()
            throw error
        }
    }

    static var host: String { ProcessInfo.processInfo.hostName }
}

/// A process's announced presence: refreshed in the background, withdrawn on a clean stop.
final class PlaybookPresence: Sendable {
    let store: any LeadStore
    let process: PlaybookProcess
    private let beating: Task<Void, Never>

    init(store: any LeadStore, process: PlaybookProcess, superseded: @escaping @Sendable () -> Void) {
        self.store = store
        self.process = process
        beating = Task {
            var process = process
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(PlaybookProcess.heartbeat))
                if Task.isCancelled { break }
                process.seenAt = Date()
                // A missed beat is retried at the next; after several the process reads as gone
                // and another build may be deployed, which this process sees at its next beat.
                try? await store.announce(process)
                if let deployed = try? await store.currentDeployment(), deployed.fingerprint != process.fingerprint {
                    superseded()
                    break
                }
            }
        }
    }

    func withdraw() async {
        beating.cancel()
        try? await store.withdraw(processID: process.id)
    }
}
