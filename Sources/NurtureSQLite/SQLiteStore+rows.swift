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

    // Hot reads name their columns and decode them by position: by name, GRDB lowercases the
    // name on every read, which was 4% of a scheduling pass.

    /// A whole lead: its fields, then its score parts (`scoreColumns`), then version and lease.
    static let leadColumns = """
        id, email, phone, first_name, last_name, company, job_title, industry, company_size, country, timezone, source, stage, score,
        tags, attributes, email_consent, sms_consent, owner, \(scoreColumns), version, lease_owner, lease_until, lease_token, timezone_source
        """
    static let scoreColumns = "score_fixed, score_gains, score_losses, score_rank, scored_at, last_activity_at, score_version, score_thresholds"
    /// Positions in `leadColumns`.
    enum LeadColumn {
        static let score = 19, version = 27, leaseOwner = 28, leaseUntil = 29, leaseToken = 30, timeZoneSource = 31, count = 32
    }

    static func leadRow(_ db: Database, _ key: LeadKey) throws -> Row? {
        switch key {
        case .id(let text), .email(let text), .phone(let text): try TextWithNUL.refuse([("lead", text)])
        }
        return switch key {
        case .id(let id): try Row.fetchOne(db.cachedStatement(sql: "SELECT \(leadColumns) FROM lead WHERE id = ?"), arguments: [id])
        case .email(let email): try Row.fetchOne(db.cachedStatement(sql: "SELECT \(leadColumns) FROM lead WHERE email = ?"), arguments: [email.lowercased()])
        case .phone(let phone):
            try Row.fetchOne(db.cachedStatement(sql: "SELECT \(leadColumns) FROM lead WHERE phone = ? ORDER BY created_at LIMIT 1"), arguments: [phone])
        }
    }

    /// A lead from `leadColumns`, starting at column `start`.
    static func lead(_ row: Row, from start: Int = 0) -> Lead {
        Lead(
            id: row[start], email: row[start + 1], phone: row[start + 2], firstName: row[start + 3], lastName: row[start + 4],
            company: row[start + 5], jobTitle: row[start + 6], industry: row[start + 7], companySize: row[start + 8],
            country: row[start + 9], timeZone: row[start + 10],
            timeZoneSource: TimeZoneSource(rawValue: row[start + LeadColumn.timeZoneSource]) ?? .given, source: row[start + 11],
            stage: Stage(rawValue: row[start + 12]) ?? .lead, score: row[start + 13],
            tags: Set(decode([String].self, row[start + 14], default: [])),
            attributes: decode([String: Value].self, row[start + 15], default: [:]),
            emailConsent: row[start + 16], smsConsent: row[start + 17], owner: row[start + 18])
    }

    /// Score parts from `scoreColumns`, starting at column `start`.
    static func scoreSnapshot(_ row: Row, from start: Int) -> ScoreSnapshot {
        var snapshot = ScoreSnapshot()
        snapshot.fixedPoints = row[start]
        snapshot.gains = row[start + 1]
        snapshot.losses = row[start + 2]
        snapshot.gainsRank = row[start + 3]
        snapshot.scoredAt = date(row[start + 4])
        snapshot.lastActivityAt = date(row[start + 5])
        snapshot.modelVersion = row[start + 6]
        snapshot.thresholds = ThresholdState(stored: row[start + 7])
        return snapshot
    }

    static func save(_ lead: Lead, scoring: ScoreSnapshot, _ db: Database, now: Date, insert: Bool) throws {
        try TextWithNUL.refuse([
            ("email", lead.email), ("phone", lead.phone), ("first_name", lead.firstName), ("last_name", lead.lastName),
            ("company", lead.company), ("job_title", lead.jobTitle), ("industry", lead.industry), ("country", lead.country),
            ("timezone", lead.timeZone), ("source", lead.source), ("owner", lead.owner),
        ])
        let values: StatementArguments = [
            lead.email?.lowercased(), lead.phone, lead.firstName, lead.lastName, lead.company, lead.jobTitle, lead.industry,
            lead.companySize, lead.country, lead.timeZone, lead.source, lead.stage.rawValue, lead.score,
            json(lead.tags.sorted()), json(lead.attributes), lead.emailConsent, lead.smsConsent, lead.owner,
            scoring.fixedPoints, scoring.gains, scoring.losses, scoring.gainsRank, scoring.scoredAt?.timeIntervalSince1970,
            scoring.lastActivityAt?.timeIntervalSince1970, scoring.modelVersion, scoring.thresholds.stored, lead.timeZoneSource.rawValue,
            now.timeIntervalSince1970,
        ]
        if insert {
            try db.cachedStatement(sql: """
                INSERT INTO lead (email, phone, first_name, last_name, company, job_title, industry, company_size, country,
                    timezone, source, stage, score, tags, attributes, email_consent, sms_consent, owner,
                    score_fixed, score_gains, score_losses, score_rank, scored_at, last_activity_at, score_version, score_thresholds,
                    timezone_source, updated_at, created_at, id)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (email) DO NOTHING
                """).execute(arguments: values + [now.timeIntervalSince1970, lead.id])
        } else {
            try db.cachedStatement(sql: """
                UPDATE lead SET email = ?, phone = ?, first_name = ?, last_name = ?, company = ?, job_title = ?, industry = ?,
                    company_size = ?, country = ?, timezone = ?, source = ?, stage = ?, score = ?, tags = ?, attributes = ?,
                    email_consent = ?, sms_consent = ?, owner = ?, score_fixed = ?, score_gains = ?, score_losses = ?, score_rank = ?,
                    scored_at = ?, last_activity_at = ?, score_version = ?, score_thresholds = ?, timezone_source = ?, updated_at = ? WHERE id = ?
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

    static let eventColumns = "type, at, properties"

    /// An event from `eventColumns`, starting at column `start`.
    static func event(_ row: Row, from start: Int = 0) -> LeadEvent {
        let properties: String = row[start + 2]
        return LeadEvent(row[start], at: Date(timeIntervalSince1970: row[start + 1]),
                         properties: properties == "{}" ? [:] : decode([String: Value].self, properties, default: [:]))
    }

    // MARK: - Snapshots and commits

    /// The recent events of a batch of leads (a JSON array of ids), each lead's in order: read
    /// for every event a lead receives and every due step, from the index alone.
    static let historySQL = """
        SELECT lead_id, \(eventColumns) FROM event WHERE lead_id IN (SELECT value FROM json_each(?)) AND at >= ? ORDER BY lead_id, at, seq
        """

    /// Leads with their recent history: one query per table for the whole batch, the leads
    /// named by one JSON array, instead of five queries per lead (which took a due batch longer
    /// to read than to compute).
    static func snapshots(_ db: Database, _ keys: [LeadKey], window: HistoryWindow) throws -> [LeadKey: LeadSnapshot] {
        let (ids, emails, phones) = try LeadKey.byKind(keys)
        var byID: [String: LeadSnapshot] = [:]
        func readLeads(_ statement: Statement, _ arguments: StatementArguments) throws {
            let cursor = try Row.fetchCursor(statement, arguments: arguments)
            while let row = try cursor.next() {
                let snapshot = leadSnapshot(row)
                byID[snapshot.lead.id] = snapshot
            }
        }
        if !ids.isEmpty {
            try readLeads(db.cachedStatement(sql: "SELECT \(leadColumns) FROM lead WHERE id IN (SELECT value FROM json_each(?))"), [FlatJSON.json(ids)])
        }
        if !emails.isEmpty {
            try readLeads(db.cachedStatement(sql: "SELECT \(leadColumns) FROM lead WHERE email IN (SELECT value FROM json_each(?))"), [FlatJSON.json(emails)])
        }
        var byPhone: [String: String] = [:]
        for phone in phones {
            // The earliest lead with the number: rare (SMS replies), one lookup each.
            guard let row = try leadRow(db, .phone(phone)) else { continue }
            let snapshot = leadSnapshot(row)
            byID[snapshot.lead.id] = snapshot
            byPhone[phone] = snapshot.lead.id
        }
        guard !byID.isEmpty else { return [:] }

        let found = FlatJSON.json(Array(byID.keys))
        let events = try Row.fetchCursor(db.cachedStatement(sql: historySQL), arguments: [found, window.eventsSince.timeIntervalSince1970])
        while let row = try events.next() { byID[row[0]]?.events.append(event(row, from: 1)) }
        let sends = try Row.fetchCursor(db.cachedStatement(sql: """
            SELECT lead_id, channel, created_at, transactional, campaign_id, step_id, variant FROM outbox_message
            WHERE lead_id IN (SELECT value FROM json_each(?)) AND created_at >= ? AND campaign_id != ?
            """), arguments: [found, window.sendsSince.timeIntervalSince1970, OutboxMessage.systemCampaign])
        while let row = try sends.next() {
            guard let channel = MessageChannel(rawValue: row[1]) else { continue }
            byID[row[0]]?.sends.append(SendRecord(channel: channel, at: Date(timeIntervalSince1970: row[2]), isTransactional: row[3],
                                                  campaignID: row[4], stepID: row[5], variant: row[6]))
        }
        let enrollments = try Row.fetchCursor(db.cachedStatement(sql: """
            SELECT \(enrollmentColumns) FROM enrollment WHERE lead_id IN (SELECT value FROM json_each(?)) ORDER BY lead_id, enrolled_at, sequence
            """), arguments: [found])
        while let row = try enrollments.next() { byID[row[0]]?.enrollments.append(enrollment(row)) }
        // Suppressions belong to addresses; a lead sees those of its email, then of its phone.
        var owners: [String: [(id: String, isPhone: Bool)]] = [:]
        for snapshot in byID.values {
            if let email = snapshot.lead.email { owners[email.lowercased(), default: []].append((snapshot.lead.id, false)) }
            if let phone = snapshot.lead.phone { owners[phone.lowercased(), default: []].append((snapshot.lead.id, true)) }
        }
        var suppressed: [(address: String, channel: MessageChannel, suppression: Suppression)] = []
        let suppressions = try Row.fetchCursor(db.cachedStatement(sql: """
            SELECT address, channel, reason, scope FROM suppression WHERE address IN (SELECT value FROM json_each(?))
            """), arguments: [FlatJSON.json(Array(owners.keys))])
        while let row = try suppressions.next() {
            guard let channel = MessageChannel(rawValue: row[1]) else { continue }
            suppressed.append(((row[0] as String).lowercased(), channel, Suppression(.init(stored: row[3]), reason: row[2])))
        }
        for phoneFirst in [false, true] {
            for (address, channel, suppression) in suppressed {
                for owner in owners[address] ?? [] where owner.isPhone == phoneFirst { byID[owner.id]?.suppressions[channel] = suppression }
            }
        }

        var result: [LeadKey: LeadSnapshot] = [:]
        var byEmail: [String: String] = [:]
        for snapshot in byID.values { if let email = snapshot.lead.email { byEmail[email.lowercased()] = snapshot.lead.id } }
        for key in keys {
            let id: String? = switch key {
            case .id(let id): id
            case .email(let email): byEmail[email.lowercased()]
            case .phone(let phone): byPhone[phone]
            }
            if let id, let snapshot = byID[id] { result[key] = snapshot }
        }
        return result
    }

    /// A lead read with `leadColumns`, its history still to be filled in.
    static func leadSnapshot(_ row: Row) -> LeadSnapshot {
        LeadSnapshot(lead: lead(row), scoring: scoreSnapshot(row, from: LeadColumn.score), version: row[LeadColumn.version],
                     leaseOwner: row[LeadColumn.leaseOwner], leaseUntil: date(row[LeadColumn.leaseUntil]), leaseToken: row[LeadColumn.leaseToken])
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
        for suppression in change.suppressions { try save(suppression, db, at: now) }
        for (messageID, delivery) in change.deliveries {
            // The report's first arrival is marked too: that mark is what the results count.
            let mark = CampaignCounter.markColumn(forDelivery: delivery).map { ", \($0) = coalesce(\($0), ?)" } ?? ""
            let at = now.timeIntervalSince1970
            try db.cachedStatement(sql: "UPDATE outbox_message SET delivery = ?, delivery_at = ?\(mark) WHERE id = ? AND lead_id = ?")
                .execute(arguments: mark.isEmpty ? [delivery, at, messageID, lead.id] : [delivery, at, at, messageID, lead.id])
        }
        return .committed
    }

    static let enrollmentColumns = """
        lead_id, campaign_id, sequence, status, step_id, phase, wake_at, enrolled_at, ended_at, end_reason, variants, trigger, messages_produced
        """

    /// An enrollment from `enrollmentColumns`, starting at column `start`.
    static func enrollment(_ row: Row, from start: Int = 0) -> Enrollment {
        var enrollment = Enrollment(
            leadID: row[start], campaignID: row[start + 1], sequence: row[start + 2], firstStep: row[start + 4],
            enrolledAt: Date(timeIntervalSince1970: row[start + 7]),
            trigger: decode([String: Value].self, row[start + 11], default: [:]))
        enrollment.status = Enrollment.Status(rawValue: row[start + 3]) ?? .exited
        enrollment.phase = Enrollment.Phase(rawValue: row[start + 5]) ?? .ready
        enrollment.wakeAt = date(row[start + 6])
        enrollment.endedAt = date(row[start + 8])
        enrollment.endReason = row[start + 9]
        enrollment.variants = decode([String: String].self, row[start + 10], default: [:])
        enrollment.messagesProduced = row[start + 12]
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

    static func suppressions(_ db: Database, addresses: [String]) throws -> [MessageChannel: Suppression] {
        var found: [MessageChannel: Suppression] = [:]
        for address in addresses {
            for row in try Row.fetchAll(db.cachedStatement(sql: "SELECT channel, reason, scope FROM suppression WHERE address = ?"), arguments: [address]) {
                if let channel = MessageChannel(rawValue: row["channel"]) { found[channel] = Suppression(.init(stored: row["scope"]), reason: row["reason"]) }
            }
        }
        return found
    }

    /// Writes an address's suppression on a channel as it now is, or deletes it when lifted.
    static func save(_ change: SuppressionChange, _ db: Database, at: Date) throws {
        if let suppression = change.suppression {
            try db.cachedStatement(sql: """
                INSERT INTO suppression (address, channel, reason, scope, at) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT (address, channel) DO UPDATE SET reason = excluded.reason, scope = excluded.scope, at = excluded.at
                """).execute(arguments: [change.address, change.channel.rawValue, suppression.reason, suppression.scope.stored, at.timeIntervalSince1970])
        } else {
            try db.cachedStatement(sql: "DELETE FROM suppression WHERE address = ? AND channel = ?").execute(arguments: [change.address, change.channel.rawValue])
        }
    }
}
