import Foundation
public import NurtureStorage
import PostgresNIO

/// Erasure on PostgreSQL: the lead's row and every row naming it deleted in one transaction.
/// PostgreSQL keeps the old row versions until vacuum reclaims them, and in its write-ahead log
/// and backups until those are recycled: the README says so.
extension PostgresStore: PrivacyRequests {
    public func forget(leadID: String, suppressing: [SuppressionChange], audit: PrivacyAudit) async throws -> ErasureCounts? {
        try TextWithNUL.refuse([("lead", leadID)])
        return try await transaction { connection -> ErasureCounts? in
            guard let lead = try await connection.all("SELECT email, phone FROM lead WHERE id = \(leadID) FOR UPDATE", logger).first else { return nil }
            var counts = ErasureCounts()
            let row = try await connection.all("""
                SELECT (SELECT COUNT(*) FROM event WHERE lead_id = \(leadID)) AS events,
                       (SELECT COUNT(*) FROM enrollment WHERE lead_id = \(leadID)) AS enrollments,
                       (SELECT COUNT(*) FROM outbox_message WHERE lead_id = \(leadID)) AS messages,
                       (SELECT COUNT(*) FROM conversion WHERE lead_id = \(leadID)) AS conversions
                """, logger)[0]
            counts.events = try row["events"].decode(Int.self)
            counts.enrollments = try row["enrollments"].decode(Int.self)
            counts.messages = try row["messages"].decode(Int.self)
            counts.conversions = try row["conversions"].decode(Int.self)
            let addresses = [try lead["email"].decode(String?.self), try lead["phone"].decode(String?.self)].compactMap { $0?.lowercased() }
            // A number another lead shares keeps its suppression: that lead's STOP is its own.
            counts.suppressions = try await connection.all("""
                DELETE FROM suppression s WHERE s.address = ANY(\(addresses))
                AND NOT EXISTS (SELECT 1 FROM lead l WHERE (l.email = s.address OR l.phone = s.address) AND l.id <> \(leadID)) RETURNING 1
                """, logger).count
            // Events, enrollments, messages and their content, conversions and step facts go with it.
            try await connection.query("DELETE FROM lead WHERE id = \(leadID)", logger: logger)
            for change in suppressing { try await Self.save(change, connection, at: audit.at, logger: logger) }
            var audit = audit
            audit.counts = counts
            try await connection.insert(into: "privacy_request", columns: ["at", "action", "lead_id", "actor", "counts"], rows: [audit], logger) { row, binds in
                Self.bind(row, &binds)
            }
            return counts
        }
    }

    public func suppressedAddresses(among addresses: [String]) async throws -> Set<String> {
        guard !addresses.isEmpty else { return [] }
        try TextWithNUL.refuse(addresses.map { ("address", $0) })
        let lowered = addresses.map { $0.lowercased() }
        return Set(try await rows("SELECT DISTINCT address FROM suppression WHERE address = ANY(\(lowered))").map { try $0["address"].decode(String.self) })
    }

    public func recordPrivacyRequest(_ audit: PrivacyAudit) async throws {
        try TextWithNUL.refuse([("actor", audit.actor)])
        try await transaction { connection in
            try await connection.insert(into: "privacy_request", columns: ["at", "action", "lead_id", "actor", "counts"], rows: [audit], logger) { row, binds in
                Self.bind(row, &binds)
            }
        }
    }

    public func privacyRequests(limit: Int) async throws -> [PrivacyAudit] {
        try await rows("SELECT * FROM privacy_request ORDER BY at DESC LIMIT \(limit)").map { row in
            PrivacyAudit(action: PrivacyAudit.Action(rawValue: try row["action"].decode(String.self)) ?? .export,
                         leadID: try row["lead_id"].decode(String.self), actor: try row["actor"].decode(String.self),
                         at: Date(timeIntervalSince1970: try row["at"].decode(Double.self)),
                         counts: try row["counts"].decode(String?.self).flatMap { try? JSONDecoder().decode(ErasureCounts.self, from: Data($0.utf8)) })
        }
    }

    static func bind(_ audit: PrivacyAudit, _ binds: inout PostgresBindings) {
        binds.append(audit.at.timeIntervalSince1970); binds.append(audit.action.rawValue); binds.append(audit.leadID); binds.append(audit.actor)
        binds.append(audit.counts.flatMap { try? String(decoding: JSONEncoder().encode($0), as: UTF8.self) })
    }
}
