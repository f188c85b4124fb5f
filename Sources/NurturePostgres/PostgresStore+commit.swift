import Foundation
import Logging
import NurtureDSL
import NurtureStorage
import PostgresNIO

/// A commit of many leads' work in a handful of statements: the version (and lease) checks of
/// every lead in one UPDATE ... FROM (VALUES ...) that returns the leads still as they were read,
/// then each kind of row those leads' changes write in one multi-row statement. Round trips, not
/// rows, are what a commit costs on a network database.
extension PostgresStore {
    static let leadColumns: [(name: String, type: String)] = [
        ("id", "text"), ("email", "text"), ("phone", "text"), ("first_name", "text"), ("last_name", "text"), ("company", "text"),
        ("job_title", "text"), ("industry", "text"), ("company_size", "integer"), ("country", "text"), ("timezone", "text"),
        ("source", "text"), ("stage", "integer"), ("score", "float8"), ("tags", "text"), ("attributes", "text"),
        ("email_consent", "boolean"), ("sms_consent", "boolean"), ("owner", "text"), ("score_fixed", "float8"),
        ("score_gains", "float8"), ("score_losses", "float8"), ("score_rank", "float8"), ("scored_at", "float8"),
        ("last_activity_at", "float8"), ("score_version", "text"), ("score_thresholds", "text"), ("timezone_source", "text"),
        ("updated_at", "float8"),
    ]

    static func bindLead(_ lead: Lead, _ scoring: ScoreSnapshot, now: Date, _ binds: inout PostgresBindings) {
        binds.append(lead.id); binds.append(lead.email?.lowercased()); binds.append(lead.phone); binds.append(lead.firstName)
        binds.append(lead.lastName); binds.append(lead.company); binds.append(lead.jobTitle); binds.append(lead.industry)
        binds.append(lead.companySize); binds.append(lead.country); binds.append(lead.timeZone); binds.append(lead.source)
        binds.append(lead.stage.rawValue); binds.append(lead.score); binds.append(FlatJSON.json(lead.tags.sorted()))
        binds.append(FlatJSON.json(lead.attributes)); binds.append(lead.emailConsent); binds.append(lead.smsConsent); binds.append(lead.owner)
        binds.append(scoring.fixedPoints); binds.append(scoring.gains); binds.append(scoring.losses); binds.append(scoring.gainsRank)
        binds.append(scoring.scoredAt?.timeIntervalSince1970); binds.append(scoring.lastActivityAt?.timeIntervalSince1970)
        binds.append(scoring.modelVersion); binds.append(scoring.thresholds.stored); binds.append(lead.timeZoneSource.rawValue)
        binds.append(now.timeIntervalSince1970)
    }

    static func bindEnrollment(_ enrollment: Enrollment, now: Date, _ binds: inout PostgresBindings) {
        // An active enrollment always has a wake time, so the due-work index finds it.
        var wake = enrollment.wakeAt?.timeIntervalSince1970
        if enrollment.isActive, wake == nil { wake = enrollment.phase == .ready ? now.timeIntervalSince1970 : Date.distantFuture.timeIntervalSince1970 }
        binds.append(enrollment.leadID); binds.append(enrollment.campaignID); binds.append(enrollment.sequence)
        binds.append(enrollment.status.rawValue); binds.append(enrollment.stepID); binds.append(enrollment.phase.rawValue)
        binds.append(enrollment.isActive ? wake : nil); binds.append(enrollment.enrolledAt.timeIntervalSince1970)
        binds.append(enrollment.endedAt?.timeIntervalSince1970); binds.append(enrollment.endReason)
        binds.append(enrollment.variants.isEmpty ? "{}" : FlatJSON.json(enrollment.variants))
        binds.append(enrollment.trigger.isEmpty ? "{}" : FlatJSON.json(enrollment.trigger)); binds.append(enrollment.messagesProduced)
    }

    static func refuseNUL(_ lead: Lead) throws {
        try TextWithNUL.refuse([
            ("email", lead.email), ("phone", lead.phone), ("first_name", lead.firstName), ("last_name", lead.lastName),
            ("company", lead.company), ("job_title", lead.jobTitle), ("industry", lead.industry), ("country", lead.country),
            ("timezone", lead.timeZone), ("source", lead.source), ("owner", lead.owner),
        ])
    }

    /// Writes the changes whose checks pass, and returns the outcome of each. An event id found
    /// stored already makes its change `.duplicateEvent` after that change's other writes, so a
    /// caller passing changes that carry event ids writes them under a savepoint it can roll back.
    static func write(_ all: [LeadChange], _ connection: PostgresConnection, now: Date, logger: Logger) async throws -> [CommitOutcome] {
        // Two changes to one lead read the same version: the first goes, the second is a
        // conflict (one statement cannot tell which of two VALUES rows moved the lead).
        var leads: Set<String> = []
        let first = all.map { leads.insert($0.lead.id).inserted }
        let changes = zip(all, first).filter(\.1).map(\.0)
        for change in changes {
            try refuseNUL(change.lead)
            for event in change.events { try TextWithNUL.refuse([("event type", event.event.type), ("event id", event.clientID)]) }
        }
        var committed: Set<String> = []
        let moment = now.timeIntervalSince1970
        // Every commit locks its existing leads in id order before writing them (the lock their
        // UPDATE takes, which leaves event inserts' key-share locks alone), so two commits over
        // the same leads wait for each other instead of deadlocking.
        let existing = changes.filter { $0.base != .new }.map(\.lead.id).sorted()
        if !existing.isEmpty {
            _ = try await connection.all("SELECT 1 FROM lead WHERE id = ANY(\(existing)) ORDER BY id FOR NO KEY UPDATE", logger)
        }
        let columns = leadColumns.map(\.name)

        let created = changes.filter { $0.base == .new }
        if !created.isEmpty {
            let rows = try await connection.many(
                "INSERT INTO lead (\(columns.joined(separator: ", ")), created_at) VALUES ", columns: columns.count + 1,
                types: leadColumns.map(\.type) + ["float8"], rows: created, then: " ON CONFLICT DO NOTHING RETURNING id", logger
            ) { change, binds in
                bindLead(change.lead, change.scoring, now: now, &binds)
                binds.append(moment)
            }
            for row in rows { committed.insert(try row["id"].decode(String.self)) }
        }

        // The check that makes work computed outside the writer safe: a lead moves on only from
        // the version the work read, and due work only under its own unexpired lease.
        func base(_ change: LeadChange, _ binds: inout PostgresBindings) {
            switch change.base {
            case .new: preconditionFailure("new leads are inserted")
            case .version(let version):
                binds.append(version); binds.append(Int?.none); binds.append(String?.none)
            case .leased(let version, let token, let owner):
                binds.append(version); binds.append(token); binds.append(owner)
            }
        }
        let check = "l.id = v.id AND l.version = v.base_version AND (v.token IS NULL OR (l.lease_token = v.token AND l.lease_owner = v.lease_holder AND l.lease_until >= \(moment)))"
        let lease = "lease_owner = CASE WHEN v.token IS NULL THEN l.lease_owner END, lease_until = CASE WHEN v.token IS NULL THEN l.lease_until END"
        let rewritten = changes.filter { $0.base != .new && $0.leadChanged }
        if !rewritten.isEmpty {
            let sets = columns.dropFirst().map { "\($0) = v.\($0)" }.joined(separator: ", ")
            let rows = try await connection.many(
                "UPDATE lead AS l SET \(sets), version = l.version + 1, \(lease) FROM (VALUES ", columns: columns.count + 3,
                types: leadColumns.map(\.type) + ["bigint", "bigint", "text"], rows: rewritten,
                then: ") AS v(\(columns.joined(separator: ", ")), base_version, token, lease_holder) WHERE \(check) RETURNING l.id", logger
            ) { change, binds in
                bindLead(change.lead, change.scoring, now: now, &binds)
                base(change, &binds)
            }
            for row in rows { committed.insert(try row["id"].decode(String.self)) }
        }
        let moved = changes.filter { $0.base != .new && !$0.leadChanged }
        if !moved.isEmpty {
            let rows = try await connection.many(
                "UPDATE lead AS l SET version = l.version + 1, \(lease) FROM (VALUES ", columns: 4, types: ["text", "bigint", "bigint", "text"],
                rows: moved, then: ") AS v(id, base_version, token, lease_holder) WHERE \(check) RETURNING l.id", logger
            ) { change, binds in
                binds.append(change.lead.id)
                base(change, &binds)
            }
            for row in rows { committed.insert(try row["id"].decode(String.self)) }
        }

        let kept = changes.filter { committed.contains($0.lead.id) }
        let enrollments = kept.flatMap(\.enrollments)
        if !enrollments.isEmpty {
            _ = try await connection.many("""
                INSERT INTO enrollment (lead_id, campaign_id, sequence, status, step_id, phase, wake_at, enrolled_at, ended_at,
                    end_reason, variants, trigger, messages_produced) VALUES
                """, columns: 13, types: ["text", "text", "integer", "text", "text", "text", "float8", "float8", "float8", "text", "text", "text", "integer"],
                rows: enrollments, then: """
                 ON CONFLICT (lead_id, campaign_id, sequence) DO UPDATE SET status = excluded.status, step_id = excluded.step_id,
                    phase = excluded.phase, wake_at = excluded.wake_at, ended_at = excluded.ended_at, end_reason = excluded.end_reason,
                    variants = excluded.variants, messages_produced = excluded.messages_produced
                """, logger) { enrollment, binds in bindEnrollment(enrollment, now: now, &binds) }
        }
        let events = kept.flatMap { change in change.events.map { (change.lead.id, $0) } }
        var storedIDs: Set<String> = []
        if !events.isEmpty {
            let rows = try await connection.many(
                "INSERT INTO event (lead_id, type, at, properties, client_id) VALUES ", columns: 5, types: ["text", "text", "float8", "text", "text"],
                rows: events, then: " ON CONFLICT (client_id) DO NOTHING RETURNING client_id", logger
            ) { entry, binds in
                binds.append(entry.0); binds.append(entry.1.event.type); binds.append(entry.1.event.at.timeIntervalSince1970)
                binds.append(entry.1.event.properties.isEmpty ? "{}" : FlatJSON.json(entry.1.event.properties)); binds.append(entry.1.clientID)
            }
            for row in rows { if let id = try row["client_id"].decode(String?.self) { storedIDs.insert(id) } }
        }
        let messages = kept.flatMap(\.messages)
        if !messages.isEmpty {
            // A message id is written once: replaying a step produces the same id and no copy.
            let written = Set(try await connection.many("""
                INSERT INTO outbox_message (id, lead_id, campaign_id, step_id, channel, address, variant, transactional, created_at,
                    status, attempts, next_attempt_at) VALUES
                """, columns: 12, types: ["text", "text", "text", "text", "text", "text", "text", "boolean", "float8", "text", "integer", "float8"],
                rows: messages, then: " ON CONFLICT (id) DO NOTHING RETURNING id", logger) { message, binds in
                binds.append(message.id); binds.append(message.leadID); binds.append(message.campaignID); binds.append(message.stepID)
                binds.append(message.channel.rawValue); binds.append(message.address); binds.append(message.variant); binds.append(message.isTransactional)
                binds.append(message.createdAt.timeIntervalSince1970); binds.append("pending"); binds.append(0); binds.append(message.nextAttemptAt.timeIntervalSince1970)
            }.map { try $0["id"].decode(String.self) })
            let fresh = messages.filter { written.contains($0.id) }
            if !fresh.isEmpty {
                try await connection.insert(into: "outbox_content", columns: ["id", "subject", "preview", "payload"], rows: fresh, logger) { message, binds in
                    binds.append(message.id); binds.append(message.subject); binds.append(message.preview); binds.append(message.payload)
                }
            }
        }
        let conversions = kept.flatMap { change in change.conversions.map { (change.lead.id, $0) } }
        if !conversions.isEmpty {
            try await connection.insert(into: "conversion", columns: ["lead_id", "campaign_id", "step_id", "variant", "channel", "goal", "value", "at"],
                                        rows: conversions, logger) { entry, binds in
                let conversion = entry.1
                binds.append(entry.0); binds.append(conversion.campaignID); binds.append(conversion.stepID); binds.append(conversion.variant)
                binds.append(conversion.channel.rawValue); binds.append(conversion.goal); binds.append(conversion.value); binds.append(conversion.at.timeIntervalSince1970)
            }
        }
        let facts = kept.flatMap { change in change.stepFacts.map { (change.lead.id, $0) } }
        if !facts.isEmpty {
            try await connection.insert(into: "step_fact", columns: ["lead_id", "campaign_id", "step_id", "variant", "channel", "kind", "reason", "at"],
                                        rows: facts, logger) { entry, binds in
                let fact = entry.1
                binds.append(entry.0); binds.append(fact.campaignID); binds.append(fact.stepID); binds.append(fact.variant); binds.append(fact.channel.rawValue)
                binds.append(fact.kind); binds.append(fact.reason); binds.append(fact.at.timeIntervalSince1970)
            }
        }
        for change in kept {
            // Rare (an unsubscribe, a provider's report): one statement each.
            for suppression in change.suppressions { try await save(suppression, connection, at: now, logger: logger) }
            for (messageID, delivery) in change.deliveries.sorted(by: { $0.key < $1.key }) {
                // The report's first arrival is marked too: that mark is what the results count.
                let mark = CampaignCounter.markColumn(forDelivery: delivery).map { ", \($0) = coalesce(\($0), $2)" } ?? ""
                var binds = PostgresBindings()
                binds.append(delivery); binds.append(moment); binds.append(messageID); binds.append(change.lead.id)
                try await connection.query(PostgresQuery(
                    unsafeSQL: "UPDATE outbox_message SET delivery = $1, delivery_at = $2\(mark) WHERE id = $3 AND lead_id = $4", binds: binds), logger: logger)
            }
        }
        return zip(all, first).map { change, isFirst in
            guard isFirst, committed.contains(change.lead.id) else { return .conflict }
            if let taken = change.events.compactMap(\.clientID).first(where: { !storedIDs.contains($0) }) { return .duplicateEvent(clientID: taken) }
            return .committed
        }
    }
}
