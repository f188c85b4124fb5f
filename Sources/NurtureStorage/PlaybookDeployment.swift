public import Foundation
public import NurtureDSL

/// The playbook a database runs, as recorded when it was deployed.
public struct PlaybookDeployment: Sendable, Codable {
    public let shape: PlaybookShape
    public let at: Date
    /// Who deployed it: `nurture deploy on HOST (pid N)`.
    public let by: String
    /// The shape's fingerprint, worked out once: heartbeats compare it every few seconds.
    public let fingerprint: String

    public init(shape: PlaybookShape, at: Date, by: String) {
        self.shape = shape
        self.at = at
        self.by = by
        fingerprint = shape.fingerprint
    }

    private enum CodingKeys: String, CodingKey { case shape, at, by }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(shape: try container.decode(PlaybookShape.self, forKey: .shape), at: try container.decode(Date.self, forKey: .at),
                  by: try container.decode(String.self, forKey: .by))
    }

    /// The settings key the record is kept under, so `nurture migrate` carries it with the rest.
    public static let settingKey = "playbook.deployment"
}

/// A process (a worker, a server) running a playbook against the database, as its heartbeats say.
public struct PlaybookProcess: Sendable, Hashable {
    public var id: String
    public var fingerprint: String
    public var role: String
    public var host: String
    public var pid: Int
    public var startedAt: Date
    public var seenAt: Date

    public init(id: String, fingerprint: String, role: String, host: String, pid: Int, startedAt: Date, seenAt: Date) {
        self.id = id
        self.fingerprint = fingerprint
        self.role = role
        self.host = host
        self.pid = pid
        self.startedAt = startedAt
        self.seenAt = seenAt
    }

    /// How often a running process says it is alive, and how long after its last word it is
    /// taken for gone (a process killed without a goodbye).
    public static let heartbeat: TimeInterval = 10
    public static let presumedGoneAfter: TimeInterval = 45

    public func isLive(at now: Date) -> Bool { now.timeIntervalSince(seenAt) < Self.presumedGoneAfter }

    /// `worker on build-2 (pid 4711)`
    public var description: String { "\(role) on \(host) (pid \(pid))" }
}

/// What a deployment does to the leads on one step of one campaign.
public struct StepMove: Sendable, Hashable {
    public enum Action: Sendable, Hashable {
        /// The same step under a new id: the lead keeps its phase and wake time.
        case rename(to: String)
        /// To this step, run from its start as soon as the worker gets to it.
        case restart(at: String)
        case complete
        case exit(reason: String)
    }

    public var campaignID: String
    public var stepID: String
    public var action: Action

    public init(campaignID: String, stepID: String, action: Action) {
        self.campaignID = campaignID
        self.stepID = stepID
        self.action = action
    }
}

/// How many active enrollments sit on a step, in a phase.
public struct StepOccupancy: Sendable, Hashable {
    public var campaignID: String
    public var stepID: String
    public var phase: Enrollment.Phase
    public var count: Int

    public init(campaignID: String, stepID: String, phase: Enrollment.Phase, count: Int) {
        self.campaignID = campaignID
        self.stepID = stepID
        self.phase = phase
        self.count = count
    }
}

/// The record of which playbook runs on the database, and of the processes running it.
public protocol PlaybookDeployments: Sendable {
    func currentDeployment() async throws -> PlaybookDeployment?
    /// In one transaction: checks the current deployment's fingerprint is still `expected` (nil:
    /// none recorded), moves the leads as `moves` say, and records `deployment`. False, with
    /// nothing done, when another deployment came first.
    func recordDeployment(_ deployment: PlaybookDeployment, replacing expected: String?, moves: [StepMove]) async throws -> Bool
    /// Active enrollments per campaign, step and phase.
    func stepOccupancy() async throws -> [StepOccupancy]
    /// Adds or refreshes the process's row.
    func announce(_ process: PlaybookProcess) async throws
    func withdraw(processID: String) async throws
    func processes() async throws -> [PlaybookProcess]
}

extension PlaybookDeployment {
    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.dateEncodingStrategy = .secondsSince1970
        return try encoder.encode(self)
    }

    public static func decoded(_ data: Data) throws -> PlaybookDeployment {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .secondsSince1970
        return try decoder.decode(PlaybookDeployment.self, from: data)
    }
}
