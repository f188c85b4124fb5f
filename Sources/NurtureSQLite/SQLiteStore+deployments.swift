import Foundation
import GRDB
import NurtureDSL
public import NurtureStorage

extension SQLiteStore {
    public func currentDeployment() async throws -> PlaybookDeployment? {
        try await read { db in try Self.currentDeployment(db) }
    }

    static func currentDeployment(_ db: Database) throws -> PlaybookDeployment? {
        try setting(PlaybookDeployment.settingKey, db).map(PlaybookDeployment.decoded)
    }

    public func recordDeployment(_ deployment: PlaybookDeployment, replacing expected: String?, moves: [StepMove]) async throws -> Bool {
        let record = try deployment.encoded()
        return try await write { db in
            guard try Self.currentDeployment(db)?.fingerprint == expected else { return false }
            let now = deployment.at.timeIntervalSince1970
            // Two passes through a name no step can have ('*' is refused in ids), so a rename
            // chain (wait-1 → wait-2 → wait-3) moves each lead once.
            for (index, move) in moves.enumerated() {
                try db.execute(sql: """
                    UPDATE lead SET version = version + 1 WHERE id IN (
                        SELECT lead_id FROM enrollment WHERE campaign_id = :campaign AND step_id = :step AND status = 'active');
                    UPDATE enrollment SET step_id = :parked WHERE campaign_id = :campaign AND step_id = :step AND status = 'active';
                    """, arguments: ["campaign": move.campaignID, "step": move.stepID, "parked": "*deploy-\(index)"])
            }
            for (index, move) in moves.enumerated() {
                let parked: StatementArguments = ["campaign": move.campaignID, "parked": "*deploy-\(index)", "now": now]
                switch move.action {
                case .rename(let id):
                    try db.execute(sql: "UPDATE enrollment SET step_id = :id WHERE campaign_id = :campaign AND step_id = :parked",
                                   arguments: parked + ["id": id])
                case .restart(let id):
                    // A paused campaign's work stays parked past the offset until it resumes.
                    try db.execute(sql: """
                        UPDATE enrollment SET step_id = :id, phase = 'ready',
                            wake_at = :now + CASE WHEN EXISTS (SELECT 1 FROM campaign_pause p WHERE p.campaign_id = :campaign) THEN :offset ELSE 0 END
                        WHERE campaign_id = :campaign AND step_id = :parked
                        """, arguments: parked + ["id": id, "offset": CampaignPause.parkingOffset])
                case .complete:
                    try db.execute(sql: """
                        UPDATE enrollment SET status = 'completed', step_id = NULL, phase = 'ready', wake_at = NULL, ended_at = :now, end_reason = 'completed'
                        WHERE campaign_id = :campaign AND step_id = :parked
                        """, arguments: parked)
                case .exit(let reason):
                    try db.execute(sql: """
                        UPDATE enrollment SET status = 'exited', step_id = :step, wake_at = NULL, ended_at = :now, end_reason = :reason
                        WHERE campaign_id = :campaign AND step_id = :parked
                        """, arguments: parked + ["reason": reason, "step": move.stepID])
                }
            }
            try Self.setSetting(PlaybookDeployment.settingKey, to: record, db)
            return true
        }
    }

    public func stepOccupancy() async throws -> [StepOccupancy] {
        try await read { db in
            try Row.fetchAll(db, sql: """
                SELECT campaign_id, step_id, phase, COUNT(*) AS n FROM enrollment
                WHERE status = 'active' AND step_id IS NOT NULL GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
                """).map { row in
                StepOccupancy(campaignID: row["campaign_id"], stepID: row["step_id"],
                              phase: Enrollment.Phase(rawValue: row["phase"]) ?? .ready, count: row["n"])
            }
        }
    }

    public func announce(_ process: PlaybookProcess) async throws {
        try await write { db in
            try db.execute(sql: """
                INSERT INTO playbook_process (id, fingerprint, role, host, pid, started_at, seen_at) VALUES (?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (id) DO UPDATE SET seen_at = excluded.seen_at
                """, arguments: [process.id, process.fingerprint, process.role, process.host, process.pid,
                                 process.startedAt.timeIntervalSince1970, process.seenAt.timeIntervalSince1970])
        }
    }

    public func withdraw(processID: String) async throws {
        try await write { db in try db.execute(sql: "DELETE FROM playbook_process WHERE id = ?", arguments: [processID]) }
    }

    public func processes() async throws -> [PlaybookProcess] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM playbook_process ORDER BY started_at").map { row in
                PlaybookProcess(id: row["id"], fingerprint: row["fingerprint"], role: row["role"], host: row["host"], pid: row["pid"],
                                startedAt: Date(timeIntervalSince1970: row["started_at"]), seenAt: Date(timeIntervalSince1970: row["seen_at"]))
            }
        }
    }
}
