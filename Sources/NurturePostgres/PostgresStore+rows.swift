import Foundation
import Logging
import NurtureDSL
import NurtureStorage
import PostgresNIO

/// Row mapping, and the checked writes of a commit.
extension PostgresStore {
    static func date(_ seconds: Double?) -> Date? { seconds.map { Date(timeIntervalSince1970: $0) } }

    static func properties(_ text: String) -> [String: Value] {
        text == "{}" ? [:] : FlatJSON.object(text) ?? (try? JSONDecoder().decode([String: Value].self, from: Data(text.utf8))) ?? [:]
    }

    static func strings(_ text: String) -> [String] {
        text == "[]" ? [] : FlatJSON.strings(text) ?? (try? JSONDecoder().decode([String].self, from: Data(text.utf8))) ?? []
    }

    static func lead(_ row: PostgresRandomAccessRow) throws -> Lead {
        Lead(
            id: try row["id"].decode(String.self), email: try row["email"].decode(String?.self), phone: try row["phone"].decode(String?.self),
            firstName: try row["first_name"].decode(String?.self), lastName: try row["last_name"].decode(String?.self),
            company: try row["company"].decode(String?.self), jobTitle: try row["job_title"].decode(String?.self),
            industry: try row["industry"].decode(String?.self), companySize: try row["company_size"].decode(Int?.self),
            country: try row["country"].decode(String?.self), timeZone: try row["timezone"].decode(String.self),
            source: try row["source"].decode(String?.self), stage: Stage(rawValue: try row["stage"].decode(Int.self)) ?? .lead,
            score: try row["score"].decode(Double.self), tags: Set(strings(try row["tags"].decode(String.self))),
            attributes: properties(try row["attributes"].decode(String.self)),
            emailConsent: try row["email_consent"].decode(Bool.self), smsConsent: try row["sms_consent"].decode(Bool.self),
            owner: try row["owner"].decode(String?.self))
    }

    static func scoreSnapshot(_ row: PostgresRandomAccessRow) throws -> ScoreSnapshot {
        var snapshot = ScoreSnapshot()
        snapshot.fixedPoints = try row["score_fixed"].decode(Double.self)
        snapshot.gains = try row["score_gains"].decode(Double.self)
        snapshot.losses = try row["score_losses"].decode(Double.self)
        snapshot.gainsRank = try row["score_rank"].decode(Double?.self)
        snapshot.scoredAt = date(try row["scored_at"].decode(Double?.self))
        snapshot.lastActivityAt = date(try row["last_activity_at"].decode(Double?.self))
        snapshot.modelVersion = try row["score_version"].decode(String?.self)
        let fired = try row["score_thresholds"].decode(String.self)
        if fired != "[]" {
            let points = (try? JSONDecoder().decode([Double].self, from: Data(fired.utf8))) ?? []
            snapshot.thresholds = ThresholdState(fired: Set(points))
        }
        return snapshot
    }

    static func event(_ row: PostgresRandomAccessRow) throws -> LeadEvent {
        LeadEvent(try row["type"].decode(String.self), at: Date(timeIntervalSince1970: try row["at"].decode(Double.self)),
                  properties: properties(try row["properties"].decode(String.self)))
    }

    static func enrollment(_ row: PostgresRandomAccessRow) throws -> Enrollment {
        var enrollment = Enrollment(
            leadID: try row["lead_id"].decode(String.self), campaignID: try row["campaign_id"].decode(String.self),
            sequence: try row["sequence"].decode(Int.self), firstStep: try row["step_id"].decode(String?.self),
            enrolledAt: Date(timeIntervalSince1970: try row["enrolled_at"].decode(Double.self)),
            trigger: properties(try row["trigger"].decode(String.self)))
        enrollment.status = Enrollment.Status(rawValue: try row["status"].decode(String.self)) ?? .exited
        enrollment.phase = Enrollment.Phase(rawValue: try row["phase"].decode(String.self)) ?? .ready
        enrollment.wakeAt = date(try row["wake_at"].decode(Double?.self))
        enrollment.endedAt = date(try row["ended_at"].decode(Double?.self))
        enrollment.endReason = try row["end_reason"].decode(String?.self)
        let variants = properties(try row["variants"].decode(String.self))
        enrollment.variants = variants.compactMapValues { if case .string(let text) = $0 { text } else { nil } }
        enrollment.messagesProduced = try row["messages_produced"].decode(Int.self)
        return enrollment
    }

    static func message(_ row: PostgresRandomAccessRow) throws -> OutboxMessage {
        var message = OutboxMessage(
            id: try row["id"].decode(String.self), leadID: try row["lead_id"].decode(String.self), campaignID: try row["campaign_id"].decode(String.self),
            stepID: try row["step_id"].decode(String.self), channel: MessageChannel(rawValue: try row["channel"].decode(String.self)) ?? .email,
            address: try row["address"].decode(String.self), variant: try row["variant"].decode(String?.self),
            subject: try row["subject"].decode(String?.self), preview: try row["preview"].decode(String.self), payload: try row["payload"].decode(String.self),
            isTransactional: try row["transactional"].decode(Bool.self), createdAt: Date(timeIntervalSince1970: try row["created_at"].decode(Double.self)))
        message.status = OutboxMessage.Status(rawValue: try row["status"].decode(String.self)) ?? .pending
        message.attempts = try row["attempts"].decode(Int.self)
        message.nextAttemptAt = Date(timeIntervalSince1970: try row["next_attempt_at"].decode(Double.self))
        message.lastError = try row["last_error"].decode(String?.self)
        message.leaseOwner = try row["lease_owner"].decode(String?.self)
        message.leaseUntil = date(try row["lease_until"].decode(Double?.self))
        message.sentAt = date(try row["sent_at"].decode(Double?.self))
        message.delivery = try row["delivery"].decode(String?.self)
        return message
    }

    // MARK: - Writes

    /// One change, inside its own savepoint: the version (and lease) check first, then the writes.
    static func apply(_ change: LeadChange, _ connection: PostgresConnection, now: Date, logger: Logger) async throws -> CommitOutcome {
        let lead = change.lead
        let moment = now.timeIntervalSince1970
        switch change.base {
        case .new:
            guard try await save(lead, scoring: change.scoring, connection, now: now, insert: true, logger: logger) else { return .conflict }
        case .version, .leased:
            // The check and the lead's new row in one statement: the row moves to the next
            // version only if it is still at the one the work read (and, for due work, the lease
            // is still this worker's and unexpired).
            guard try await save(lead, scoring: change.scoring, connection, now: now, insert: false, base: change.base,
                                 rowChanged: change.leadChanged, logger: logger) else { return .conflict }
        }
        for enrollment in change.enrollments { try await save(enrollment, connection, now: now, logger: logger) }
        for event in change.events where try await !insert(event, leadID: lead.id, connection, logger) {
            return .duplicateEvent(clientID: event.clientID ?? "")
        }
        for message in change.messages { try await insert(message, connection, logger) }
        for suppression in change.suppressions {
            if let reason = suppression.reason {
                try await connection.query("""
                    INSERT INTO suppression (address, channel, reason, at) VALUES (\(suppression.address.lowercased()), \(suppression.channel.rawValue), \(reason), \(moment))
                    ON CONFLICT (address, channel) DO UPDATE SET reason = excluded.reason, at = excluded.at
                    """, logger: logger)
            } else {
                try await connection.query("DELETE FROM suppression WHERE address = \(suppression.address.lowercased()) AND channel = \(suppression.channel.rawValue)", logger: logger)
            }
        }
        for (messageID, delivery) in change.deliveries.sorted(by: { $0.key < $1.key }) {
            try await connection.query("""
                UPDATE outbox_message SET delivery = \(delivery), delivery_at = \(moment) WHERE id = \(messageID) AND lead_id = \(lead.id)
                """, logger: logger)
        }
        return .committed
    }

    /// False when a new lead's id or email is taken, or an existing lead is no longer at the
    /// base's version (or lease). `rowChanged` false moves only the version and the lease.
    static func save(
        _ lead: Lead, scoring: ScoreSnapshot, _ connection: PostgresConnection, now: Date, insert: Bool, base: LeadChange.Base = .new,
        rowChanged: Bool = true, logger: Logger
    ) async throws -> Bool {
        if !insert, !rowChanged {
            var binds = PostgresBindings()
            binds.append(lead.id)
            return try await !connection.all(PostgresQuery(unsafeSQL: "UPDATE lead SET version = version + 1" + leaseClause(base, now: now, &binds) + " RETURNING 1", binds: binds), logger).isEmpty
        }
        try refuseNUL(lead)
        var binds = PostgresBindings()
        bindLead(lead, scoring, now: now, &binds)
        let sql = insert ? """
            INSERT INTO lead (id, email, phone, first_name, last_name, company, job_title, industry, company_size, country,
                timezone, source, stage, score, tags, attributes, email_consent, sms_consent, owner,
                score_fixed, score_gains, score_losses, score_rank, scored_at, last_activity_at, score_version, score_thresholds,
                updated_at, created_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $28)
            ON CONFLICT DO NOTHING RETURNING 1
            """ : """
            UPDATE lead SET email = $2, phone = $3, first_name = $4, last_name = $5, company = $6, job_title = $7, industry = $8,
                company_size = $9, country = $10, timezone = $11, source = $12, stage = $13, score = $14, tags = $15, attributes = $16,
                email_consent = $17, sms_consent = $18, owner = $19, score_fixed = $20, score_gains = $21, score_losses = $22, score_rank = $23,
                scored_at = $24, last_activity_at = $25, score_version = $26, score_thresholds = $27, updated_at = $28, version = version + 1
            """ + leaseClause(base, now: now, &binds) + " RETURNING 1"
        return !(try await connection.all(PostgresQuery(unsafeSQL: sql, binds: binds), logger)).isEmpty
    }

    /// The rest of an UPDATE of lead `$1` under `base`: freeing the lease of due work, and the
    /// WHERE that checks the version (and the lease) the work read.
    static func leaseClause(_ base: LeadChange.Base, now: Date, _ binds: inout PostgresBindings) -> String {
        func bind(_ value: some PostgresDynamicTypeEncodable) -> String {
            binds.append(value)
            return "$\(binds.count)"
        }
        switch base {
        case .new: return " WHERE id = $1 AND false"
        case .version(let version): return " WHERE id = $1 AND version = \(bind(version))"
        case .leased(let version, let token, let owner):
            return ", lease_owner = NULL, lease_until = NULL WHERE id = $1 AND version = \(bind(version)) AND lease_token = \(bind(token))"
                + " AND lease_owner = \(bind(owner)) AND lease_until >= \(bind(now.timeIntervalSince1970))"
        }
    }

    static func save(_ enrollment: Enrollment, _ connection: PostgresConnection, now: Date, logger: Logger) async throws {
        // An active enrollment always has a wake time, so the due-work index finds it.
        var wake = enrollment.wakeAt?.timeIntervalSince1970
        if enrollment.isActive, wake == nil { wake = enrollment.phase == .ready ? now.timeIntervalSince1970 : Date.distantFuture.timeIntervalSince1970 }
        let variants = enrollment.variants.isEmpty ? "{}" : FlatJSON.json(enrollment.variants)
        let trigger = enrollment.trigger.isEmpty ? "{}" : FlatJSON.json(enrollment.trigger)
        try await connection.query("""
            INSERT INTO enrollment (lead_id, campaign_id, sequence, status, step_id, phase, wake_at, enrolled_at, ended_at,
                end_reason, variants, trigger, messages_produced)
            VALUES (\(enrollment.leadID), \(enrollment.campaignID), \(enrollment.sequence), \(enrollment.status.rawValue), \(enrollment.stepID),
                \(enrollment.phase.rawValue), \(enrollment.isActive ? wake : nil), \(enrollment.enrolledAt.timeIntervalSince1970),
                \(enrollment.endedAt?.timeIntervalSince1970), \(enrollment.endReason), \(variants), \(trigger), \(enrollment.messagesProduced))
            ON CONFLICT (lead_id, campaign_id, sequence) DO UPDATE SET status = excluded.status, step_id = excluded.step_id,
                phase = excluded.phase, wake_at = excluded.wake_at, ended_at = excluded.ended_at, end_reason = excluded.end_reason,
                variants = excluded.variants, messages_produced = excluded.messages_produced
            """, logger: logger)
    }

    /// False when the event's id was stored before (nothing is written then).
    static func insert(_ new: NewEvent, leadID: String, _ connection: PostgresConnection, _ logger: Logger) async throws -> Bool {
        let event = new.event
        try TextWithNUL.refuse([("event type", event.type), ("event id", new.clientID)])
        let properties = event.properties.isEmpty ? "{}" : FlatJSON.json(event.properties)
        return !(try await connection.all("""
            INSERT INTO event (lead_id, type, at, properties, client_id) VALUES (\(leadID), \(event.type), \(event.at.timeIntervalSince1970), \(properties), \(new.clientID))
            ON CONFLICT (client_id) DO NOTHING RETURNING 1
            """, logger)).isEmpty
    }

    /// A message id is written once: replaying the same step produces the same id and no copy.
    static func insert(_ message: OutboxMessage, _ connection: PostgresConnection, _ logger: Logger) async throws {
        let inserted = try await connection.all("""
            INSERT INTO outbox_message (id, lead_id, campaign_id, step_id, channel, address, variant, transactional, created_at,
                status, attempts, next_attempt_at)
            VALUES (\(message.id), \(message.leadID), \(message.campaignID), \(message.stepID), \(message.channel.rawValue), \(message.address),
                \(message.variant), \(message.isTransactional), \(message.createdAt.timeIntervalSince1970), 'pending', 0, \(message.nextAttemptAt.timeIntervalSince1970))
            ON CONFLICT (id) DO NOTHING RETURNING 1
            """, logger)
        guard !inserted.isEmpty else { return }
        try await connection.query("""
            INSERT INTO outbox_content (id, subject, preview, payload) VALUES (\(message.id), \(message.subject), \(message.preview), \(message.payload))
            """, logger: logger)
    }
}
