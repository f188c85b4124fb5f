import Foundation
import NIOCore
import NurtureDSL
public import NurtureStorage
import PostgresNIO

extension PostgresStore {
    public func currentDeployment() async throws -> PlaybookDeployment? {
        try await withConnection { connection in try await Self.currentDeployment(connection, logger) }
    }

    static func currentDeployment(_ connection: PostgresConnection, _ logger: Logger) async throws -> PlaybookDeployment? {
        try await setting(PlaybookDeployment.settingKey, connection, logger).map(PlaybookDeployment.decoded)
    }

    public func recordDeployment(_ deployment: PlaybookDeployment, replacing expected: String?, moves: [StepMove]) async throws -> Bool {
        let record = try deployment.encoded()
        let key = PlaybookDeployment.settingKey, now = deployment.at.timeIntervalSince1970, offset = CampaignPause.parkingOffset
        return try await transaction { connection in
            // Two deployers starting at once: the second waits here, then sees the first's record.
            try await connection.query("SELECT pg_advisory_xact_lock(hashtext(\(key)))", logger: logger)
            guard try await Self.currentDeployment(connection, logger)?.fingerprint == expected else { return false }
            // Two passes through a name no step can have ('*' is refused in ids), so a rename
            // chain (wait-1 → wait-2 → wait-3) moves each lead once.
            for (index, move) in moves.enumerated() {
                let campaign = move.campaignID, step = move.stepID, parked = "*deploy-\(index)"
                try await connection.query("""
                    UPDATE lead SET version = version + 1 WHERE id IN (
                        SELECT lead_id FROM enrollment WHERE campaign_id = \(campaign) AND step_id = \(step) AND status = 'active')
                    """, logger: logger)
                try await connection.query("""
                    UPDATE enrollment SET step_id = \(parked) WHERE campaign_id = \(campaign) AND step_id = \(step) AND status = 'active'
                    """, logger: logger)
            }
            for (index, move) in moves.enumerated() {
                let campaign = move.campaignID, parked = "*deploy-\(index)"
                switch move.action {
                case .rename(let id):
                    try await connection.query("UPDATE enrollment SET step_id = \(id) WHERE campaign_id = \(campaign) AND step_id = \(parked)", logger: logger)
                case .restart(let id):
                    // A paused campaign's work stays parked past the offset until it resumes.
                    try await connection.query("""
                        UPDATE enrollment SET step_id = \(id), phase = 'ready',
                            wake_at = \(now) + CASE WHEN EXISTS (SELECT 1 FROM campaign_pause p WHERE p.campaign_id = \(campaign)) THEN \(offset) ELSE 0 END
                        WHERE campaign_id = \(campaign) AND step_id = \(parked)
                        """, logger: logger)
                case .complete:
                    try await connection.query("""
                        UPDATE enrollment SET status = 'completed', step_id = NULL, phase = 'ready', wake_at = NULL, ended_at = \(now), end_reason = 'completed'
                        WHERE campaign_id = \(campaign) AND step_id = \(parked)
                        """, logger: logger)
                case .exit(let reason):
                    try await connection.query("""
                        UPDATE enrollment SET status = 'exited', step_id = \(move.stepID), wake_at = NULL, ended_at = \(now), end_reason = \(reason)
                        WHERE campaign_id = \(campaign) AND step_id = \(parked)
                        """, logger: logger)
                }
            }
            try await Self.setSetting(key, to: record, connection, logger)
            return true
        }
    }

    public func stepOccupancy() async throws -> [StepOccupancy] {
        try await rows("""
            SELECT campaign_id, step_id, phase, COUNT(*) AS n FROM enrollment
            WHERE status = 'active' AND step_id IS NOT NULL GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
            """).map { row in
            StepOccupancy(campaignID: try row["campaign_id"].decode(String.self), stepID: try row["step_id"].decode(String.self),
                          phase: Enrollment.Phase(rawValue: try row["phase"].decode(String.self)) ?? .ready, count: try row["n"].decode(Int.self))
        }
    }

    public func announce(_ process: PlaybookProcess) async throws {
        try await execute("""
            INSERT INTO playbook_process (id, fingerprint, role, host, pid, started_at, seen_at)
            VALUES (\(process.id), \(process.fingerprint), \(process.role), \(process.host), \(process.pid),
                    \(process.startedAt.timeIntervalSince1970), \(process.seenAt.timeIntervalSince1970))
            ON CONFLICT (id) DO UPDATE SET seen_at = excluded.seen_at
            """)
    }

    public func withdraw(processID: String) async throws {
        try await execute("DELETE FROM playbook_process WHERE id = \(processID)")
    }

    public func processes() async throws -> [PlaybookProcess] {
        try await rows("SELECT * FROM playbook_process ORDER BY started_at").map { row in
            PlaybookProcess(
                id: try row["id"].decode(String.self), fingerprint: try row["fingerprint"].decode(String.self),
                role: try row["role"].decode(String.self), host: try row["host"].decode(String.self), pid: try row["pid"].decode(Int.self),
                startedAt: Date(timeIntervalSince1970: try row["started_at"].decode(Double.self)),
                seenAt: Date(timeIntervalSince1970: try row["seen_at"].decode(Double.self)))
        }
    }
}
