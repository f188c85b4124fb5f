import Foundation
import GRDB
import NurtureDSL
import NurtureStorage

/// Row mapping, snapshots, and the checked writes of a commit.
extension SQLiteStore {
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return encoder
    }()

    static func json<T: Encodable>(_ value: T) -> String {
        String(decoding: (try? encoder.encode(value)) ?? Data("{}".utf8), as: UTF8.self)
    }

    static func json(_ values: [String: Value]) -> String { FlatJSON.json(values) }
    static func json(_ values: [String: String]) -> String { FlatJSON.json(values) }
    static func json(_ values: [String]) -> String { FlatJSON.json(values) }


    static let decoder = JSONDecoder()

    static func decode<T: Decodable>(_ type: T.Type, _ text: String?, default value: T) -> T {
        guard let text, let decoded = try? decoder.decode(T.self, from: Data(text.utf8)) else { return value }
        return decoded
    }

    /// Property and attribute maps, read on every unit of work: the flat reader first.
    static func decode(_ type: [String: Value].Type, _ text: String?, default value: [String: Value]) -> [String: Value] {
        guard let text else { return value }
        if text == "{}" { return [:] }
        return FlatJSON.object(text) ?? decode(generic: text, default: value)
    }

    static func decode(_ type: [String: String].Type, _ text: String?, default value: [String: String]) -> [String: String] {
        guard let text else { return value }
        if text == "{}" { return [:] }
        if let flat = FlatJSON.object(text) {
            var strings: [String: String] = [:]
            for (key, item) in flat {
                guard case .string(let string) = item else { return decode(generic: text, default: value) }
                strings[key] = string
            }
            return strings
        }
        return decode(generic: text, default: value)
    }

    static func decode(_ type: [String].Type, _ text: String?, default value: [String]) -> [String] {
        guard let text else { return value }
        if text == "[]" { return [] }
        return FlatJSON.strings(text) ?? decode(generic: text, default: value)
    }

    private static func decode<T: Decodable>(_ type: T.Type = T.self, generic text: String, default value: T) -> T {
        (try? decoder.decode(T.self, from: Data(text.utf8))) ?? value
    }

    static func date(_ seconds: Double?) -> Date? { seconds.map { Date(timeIntervalSince1970: $0) } }

    // MARK: - Leads

    static func leadRow(_ db: Database, _ key: LeadKey) throws -> Row? {
        switch key {
        case .id(let text), .email(let text), .phone(let text): try TextWithNUL.refuse([("lead", text)])
        }
        return switch key {
        case .id(let id): try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM lead WHERE id = ?"), arguments: [id])
        case .email(let email): try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM lead WHERE email = ?"), arguments: [email.lowercased()])
        case .phone(let phone): try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM lead WHERE phone = ? ORDER BY created_at LIMIT 1"), arguments: [phone])
        }
    }

    static func lead(_ row: Row) -> Lead {
        Lead(
            id: row["id"], email: row["email"], phone: row["phone"], firstName: row["first_name"], lastName: row["last_name"],
            company: row["company"], jobTitle: row["job_title"], industry: row["industry"], companySize: row["company_size"],
            country: row["country"], timeZone: row["timezone"], source: row["source"],
            stage: Stage(rawValue: row["stage"]) ?? .lead, score: row["score"],
            tags: Set(decode([String].self, row["tags"], default: [])),
            attributes: decode([String: Value].self, row["attributes"], default: [:]),
            emailConsent: row["email_consent"], smsConsent: row["sms_consent"], owner: row["owner"])
    }

    static func scoreSnapshot(_ row: Row) -> ScoreSnapshot {
        var snapshot = ScoreSnapshot()
        snapshot.fixedPoints = row["score_fixed"]
        snapshot.gains = row["score_gains"]
        snapshot.losses = row["score_losses"]
        snapshot.gainsRank = row["score_rank"]
        snapshot.scoredAt = date(row["scored_at"])
        snapshot.lastActivityAt = date(row["last_activity_at"])
        snapshot.modelVersion = row["score_version"]
        let fired: String = row["score_thresholds"]
        if fired != "[]" { snapshot.thresholds = ThresholdState(fired: Set(decode([Double].self, fired, default: []))) }
        return snapshot
    }

    static func save(_ lead: Lead, scoring: ScoreSnapshot, _ db: Database, now: Date, insert: Bool) throws {
        try TextWithNUL.refuse([
            ("email", lead.email), ("phone", lead.phone), ("first_name", lead.firstName), ("last_name", lead.lastName),
            ("company", lead.company), ("job_title", lead.jobTitle), ("industry", lead.industry), ("country", lead.country),
            ("timezone", lead.timeZone), ("source", lead.source), ("owner", lead.owner),
        ])
        let fired = scoring.thresholds.fired.isEmpty ? "[]" : "[" + scoring.thresholds.fired.sorted().map { Value.number($0).textValue }.joined(separator: ",") + "]"
        let values: StatementArguments = [
            lead.email?.lowercased(), lead.phone, lead.firstName, lead.lastName, lead.company, lead.jobTitle, lead.industry,
            lead.companySize, lead.country, lead.timeZone, lead.source, lead.stage.rawValue, lead.score,
            json(lead.tags.sorted()), json(lead.attributes), lead.emailConsent, lead.smsConsent, lead.owner,
            scoring.fixedPoints, scoring.gains, scoring.losses, scoring.gainsRank, scoring.scoredAt?.timeIntervalSince1970,
            scoring.lastActivityAt?.timeIntervalSince1970, scoring.modelVersion, fired, now.timeIntervalSince1970,
        ]
        if insert {
            try db.cachedStatement(sql: """
                INSERT INTO lead (email, phone, first_name, last_name, company, job_title, industry, company_size, country,
                    timezone, source, stage, score, tags, attributes, email_consent, sms_consent, owner,
                    score_fixed, score_gains, score_losses, score_rank, scored_at, last_activity_at, score_version, score_thresholds,
                    updated_at, created_at, id)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (email) DO NOTHING
                """).execute(arguments: values + [now.timeIntervalSince1970, lead.id])
        } else {
            try db.cachedStatement(sql: """
                UPDATE lead SET email = ?, phone = ?, first_name = ?, last_name = ?, company = ?, job_title = ?, industry = ?,
                    company_size = ?, country = ?, timezone = ?, source = ?, stage = ?, score = ?, tags = ?, attributes = ?,
                    email_consent = ?, sms_consent = ?, owner = ?, score_fixed = ?, score_gains = ?, score_losses = ?, score_rank = ?,
                    scored_at = ?, last_activity_at = ?, score_version = ?, score_thresholds = ?, updated_at = ? WHERE id = ?
                """).execute(arguments: values + [lead.id])
        }
    }

    // MARK: - Events

    /// False when the event's id was stored before (nothing is written then).
    @discardableResult
    static func insert(_ new: NewEvent, leadID: String, _ db: Database) throws -> Bool {
        let event = new.event
        try TextWithNUL.refuse([("event type", event.type), ("event id", new.clientID)])
        try db.cachedStatement(sql: "INSERT INTO event (lead_id, type, at, properties, client_id) VALUES (?, ?, ?, ?, ?) ON CONFLICT (client_id) DO NOTHING")
            .execute(arguments: [leadID, event.type, event.at.timeIntervalSince1970, event.properties.isEmpty ? "{}" : json(event.properties), new.clientID])
        return db.changesCount == 1
    }

    static func event(_ row: Row) -> LeadEvent {
        let properties: String = row["properties"]
        return LeadEvent(row["type"], at: Date(timeIntervalSince1970: row["at"]),
                         properties: properties == "{}" ? [:] : decode([String: Value].self, properties, default: [:]))
    }

    // MARK: - Snapshots and commits

    static func snapshot(_ db: Database, row: Row, window: HistoryWindow) throws -> LeadSnapshot {
        let lead = lead(row)
        let events = try Row.fetchAll(db.cachedStatement(sql: "SELECT type, at, properties FROM event WHERE lead_id = ? AND at >= ? ORDER BY at, seq"),
                                      arguments: [lead.id, window.eventsSince.timeIntervalSince1970]).map(event)
        let sends = try Row.fetchAll(db.cachedStatement(sql: """
            SELECT channel, created_at, transactional, campaign_id, step_id, variant FROM outbox_message WHERE lead_id = ? AND created_at >= ? AND campaign_id != ?
            """), arguments: [lead.id, window.sendsSince.timeIntervalSince1970, OutboxMessage.systemCampaign]).compactMap { row -> SendRecord? in
            guard let channel = MessageChannel(rawValue: row["channel"]) else { return nil }
            return SendRecord(channel: channel, at: Date(timeIntervalSince1970: row["created_at"]), isTransactional: row["transactional"],
                              campaignID: row["campaign_id"], stepID: row["step_id"], variant: row["variant"])
        }
        let enrollments = try Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM enrollment WHERE lead_id = ? ORDER BY enrolled_at, sequence"),
                                           arguments: [lead.id]).map(enrollment)
        let suppressions = try suppressions(db, addresses: [lead.email, lead.phone].compactMap { $0 })
        return LeadSnapshot(lead: lead, scoring: scoreSnapshot(row), version: row["version"], leaseOwner: row["lease_owner"],
                            leaseUntil: date(row["lease_until"]), leaseToken: row["lease_token"], events: events, sends: sends,
                            enrollments: enrollments, suppressions: suppressions)
    }

    /// One change, inside its own savepoint: the version (and lease) check first, then the writes.
    static func apply(_ change: LeadChange, _ db: Database, now: Date) throws -> CommitOutcome {
        let lead = change.lead
        switch change.base {
        case .new:
            // The insert itself claims the email: taken meanwhile, nothing is written.
            try save(lead, scoring: change.scoring, db, now: now, insert: true)
            guard db.changesCount == 1 else { return .conflict }
        case .version(let version):
            try db.cachedStatement(sql: "UPDATE lead SET version = version + 1 WHERE id = ? AND version = ?").execute(arguments: [lead.id, version])
            guard db.changesCount == 1 else { return .conflict }
        case .leased(let version, let token, let owner):
            try db.cachedStatement(sql: """
                UPDATE lead SET version = version + 1, lease_owner = NULL, lease_until = NULL
                WHERE id = ? AND version = ? AND lease_token = ? AND lease_owner = ? AND lease_until >= ?
                """).execute(arguments: [lead.id, version, token, owner, now.timeIntervalSince1970])
            guard db.changesCount == 1 else { return .conflict }
        }
        if change.leadChanged, change.base != .new { try save(lead, scoring: change.scoring, db, now: now, insert: false) }
        for enrollment in change.enrollments { try save(enrollment, db, now: now) }
        for event in change.events where try !insert(event, leadID: lead.id, db) {
            return .duplicateEvent(clientID: event.clientID ?? "")
        }
        for message in change.messages { try insert(message, db) }
        for conversion in change.conversions {
            try db.cachedStatement(sql: """
                INSERT INTO conversion (lead_id, campaign_id, step_id, variant, channel, goal, value, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """).execute(arguments: [lead.id, conversion.campaignID, conversion.stepID, conversion.variant, conversion.channel.rawValue,
                                         conversion.goal, conversion.value, conversion.at.timeIntervalSince1970])
        }
        for fact in change.stepFacts {
            try db.cachedStatement(sql: """
                INSERT INTO step_fact (lead_id, campaign_id, step_id, variant, channel, kind, reason, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """).execute(arguments: [lead.id, fact.campaignID, fact.stepID, fact.variant, fact.channel.rawValue, fact.kind, fact.reason,
                                         fact.at.timeIntervalSince1970])
        }
        for suppression in change.suppressions {
            if let reason = suppression.reason {
                try db.cachedStatement(sql: """
                    INSERT INTO suppression (address, channel, reason, at) VALUES (?, ?, ?, ?)
                    ON CONFLICT (address, channel) DO UPDATE SET reason = excluded.reason, at = excluded.at
                    """).execute(arguments: [suppression.address, suppression.channel.rawValue, reason, now.timeIntervalSince1970])
            } else {
                try db.cachedStatement(sql: "DELETE FROM suppression WHERE address = ? AND channel = ?")
                    .execute(arguments: [suppression.address, suppression.channel.rawValue])
            }
        }
        for (messageID, delivery) in change.deliveries {
            // The report's first arrival is marked too: that mark is what the results count.
            let mark = CampaignCounter.markColumn(forDelivery: delivery).map { ", \($0) = coalesce(\($0), ?)" } ?? ""
            let at = now.timeIntervalSince1970
            try db.cachedStatement(sql: "UPDATE outbox_message SET delivery = ?, delivery_at = ?\(mark) WHERE id = ? AND lead_id = ?")
                .execute(arguments: mark.isEmpty ? [delivery, at, messageID, lead.id] : [delivery, at, at, messageID, lead.id])
        }
        return .committed
    }

    static func enrollment(_ row: Row) -> Enrollment {
        var enrollment = Enrollment(
            leadID: row["lead_id"], campaignID: row["campaign_id"], sequence: row["sequence"], firstStep: row["step_id"],
            enrolledAt: Date(timeIntervalSince1970: row["enrolled_at"]),
            trigger: decode([String: Value].self, row["trigger"], default: [:]))
        enrollment.status = Enrollment.Status(rawValue: row["status"]) ?? .exited
        enrollment.phase = Enrollment.Phase(rawValue: row["phase"]) ?? .ready
        enrollment.wakeAt = date(row["wake_at"])
        enrollment.endedAt = date(row["ended_at"])
        enrollment.endReason = row["end_reason"]
        enrollment.variants = decode([String: String].self, row["variants"], default: [:])
        enrollment.messagesProduced = row["messages_produced"]
        return enrollment
    }

    static func save(_ enrollment: Enrollment, _ db: Database, now: Date) throws {
        // An active enrollment always has a wake time, so the due-work index finds it.
        var wake = enrollment.wakeAt?.timeIntervalSince1970
        if enrollment.isActive, wake == nil { wake = enrollment.phase == .ready ? now.timeIntervalSince1970 : Date.distantFuture.timeIntervalSince1970 }
        try db.cachedStatement(sql: """
            INSERT INTO enrollment (lead_id, campaign_id, sequence, status, step_id, phase, wake_at, enrolled_at, ended_at,
                end_reason, variants, trigger, messages_produced)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (lead_id, campaign_id, sequence) DO UPDATE SET status = excluded.status, step_id = excluded.step_id,
                phase = excluded.phase, wake_at = excluded.wake_at, ended_at = excluded.ended_at, end_reason = excluded.end_reason,
                variants = excluded.variants, messages_produced = excluded.messages_produced
            """).execute(arguments: [
                enrollment.leadID, enrollment.campaignID, enrollment.sequence, enrollment.status.rawValue, enrollment.stepID,
                enrollment.phase.rawValue, enrollment.isActive ? wake : nil, enrollment.enrolledAt.timeIntervalSince1970,
                enrollment.endedAt?.timeIntervalSince1970, enrollment.endReason,
                enrollment.variants.isEmpty ? "{}" : json(enrollment.variants), enrollment.trigger.isEmpty ? "{}" : json(enrollment.trigger),
                enrollment.messagesProduced,
            ])
    }

    // MARK: - Outbox

    /// A message id is written once: replaying the same step produces the same id and no copy.
    static func insert(_ message: OutboxMessage, _ db: Database) throws {
        try db.cachedStatement(sql: """
            INSERT INTO outbox_message (id, lead_id, campaign_id, step_id, channel, address, variant, transactional, created_at,
                status, attempts, next_attempt_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?)
            ON CONFLICT (id) DO NOTHING
            """).execute(arguments: [
                message.id, message.leadID, message.campaignID, message.stepID, message.channel.rawValue, message.address,
                message.variant, message.isTransactional, message.createdAt.timeIntervalSince1970, message.nextAttemptAt.timeIntervalSince1970,
            ])
        guard db.changesCount == 1 else { return }
        try db.cachedStatement(sql: "INSERT INTO outbox_content (id, subject, preview, payload) VALUES (?, ?, ?, ?)")
            .execute(arguments: [message.id, message.subject, message.preview, message.payload])
    }

    /// Outbox columns with the message's content, for queries that return whole messages.
    static let messageColumns = "m.*, c.subject, c.preview, c.payload"
    static let messageJoin = "outbox_message m JOIN outbox_content c ON c.id = m.id"

    static func message(_ row: Row) -> OutboxMessage {
        var message = OutboxMessage(
            id: row["id"], leadID: row["lead_id"], campaignID: row["campaign_id"], stepID: row["step_id"],
            channel: MessageChannel(rawValue: row["channel"]) ?? .email, address: row["address"], variant: row["variant"],
            subject: row["subject"], preview: row["preview"], payload: row["payload"], isTransactional: row["transactional"],
            createdAt: Date(timeIntervalSince1970: row["created_at"]))
        message.status = OutboxMessage.Status(rawValue: row["status"]) ?? .pending
        message.attempts = row["attempts"]
        message.nextAttemptAt = Date(timeIntervalSince1970: row["next_attempt_at"])
        message.lastError = row["last_error"]
        message.leaseOwner = row["lease_owner"]
        message.leaseUntil = date(row["lease_until"])
        message.sentAt = date(row["sent_at"])
        message.delivery = row["delivery"]
        return message
    }

    static func suppressions(_ db: Database, addresses: [String]) throws -> [MessageChannel: String] {
        var found: [MessageChannel: String] = [:]
        for address in addresses {
            for row in try Row.fetchAll(db.cachedStatement(sql: "SELECT channel, reason FROM suppression WHERE address = ?"), arguments: [address]) {
                if let channel = MessageChannel(rawValue: row["channel"]) { found[channel] = row["reason"] }
            }
        }
        return found
    }
}
