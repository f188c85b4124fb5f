public import Foundation
import GRDB
public import NurtureEngine
import NurtureDSL

/// The embedded default store: one SQLite file in WAL mode with `synchronous=FULL`, so a
/// committed step survives a crash or a power cut; writes take `BEGIN IMMEDIATE`.
public final class SQLiteStore: LeadStore, Sendable {
    let writer: any DatabaseWriter
    /// How far back a lead's events are loaded for conditions such as `.did(…, within:)`.
    static let historyWindow: TimeInterval = 180 * 86_400
    /// How far back sends are loaded for frequency caps.
    static let sendWindow: TimeInterval = 14 * 86_400

    /// How long a write waits for another connection's lock (a backup, a migration, an
    /// operator's `sqlite3` shell) before it gives up with `StorageBusy`.
    public static let defaultBusyTimeout: TimeInterval = 30

    /// Opens (creating and migrating) the database file at `path`.
    public init(path: String, busyTimeout: TimeInterval = SQLiteStore.defaultBusyTimeout) throws {
        var configuration = Configuration()
        configuration.busyMode = .timeout(busyTimeout)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
            // 32 MB of page cache per connection: far fewer reads during imports and due passes.
            try db.execute(sql: "PRAGMA cache_size = -32768")
        }
        writer = try DatabasePool(path: path, configuration: configuration)
        try Self.migrator.migrate(writer)
    }

    /// A private in-memory database, for tests and `simulate`-like tools.
    public init(inMemory: Void = ()) throws {
        writer = try DatabaseQueue()
        try Self.migrator.migrate(writer)
    }

    /// Every transaction goes through these two, so a lock held past the busy timeout reaches
    /// callers as `StorageBusy` (retry later), not as an opaque SQLite error.
    func write<T: Sendable>(_ updates: @Sendable (Database) throws -> T) async throws -> T {
        do { return try await writer.write(updates) } catch let error as DatabaseError where error.isBusy { throw StorageBusy(error.message ?? "database is locked") }
    }

    func read<T: Sendable>(_ value: @Sendable (Database) throws -> T) async throws -> T {
        do { return try await writer.read(value) } catch let error as DatabaseError where error.isBusy { throw StorageBusy(error.message ?? "database is locked") }
    }

    // MARK: - Leads

    public func upsertLeads(_ patches: [LeadPatch], now: Date, apply: @Sendable (inout LeadWork, _ before: Lead?) -> Void) async throws -> [UpsertResult] {
        try await write { db in
            var outcomes: [UpsertResult] = []
            outcomes.reserveCapacity(patches.count)
            let rotation = try Self.rotation(db)
            for patch in patches {
                if let existing = try Self.fetchScoredLead(db, email: patch.email) {
                    let updated = patch.applied(to: existing.lead)
                    guard updated != existing.lead else {
                        outcomes.append(UpsertResult(.unchanged, leadID: existing.lead.id))
                        continue
                    }
                    let loaded = try Self.loadWork(db, lead: existing.lead, scoring: existing.scoring, now: now)
                    var work = loaded
                    work.lead = updated
                    work.rotation = rotation
                    apply(&work, existing.lead)
                    try Self.persist(work, loaded: loaded, db, now: now)
                    outcomes.append(UpsertResult(.updated, leadID: existing.lead.id))
                } else {
                    let lead = patch.newLead(id: LeadPatch.newID())
                    try Self.save(lead, scoring: ScoreSnapshot(), db, now: now, insert: true)
                    let loaded = LeadWork(state: LeadState(lead: lead))
                    var work = loaded
                    work.rotation = rotation
                    apply(&work, nil)
                    try Self.persist(work, loaded: loaded, db, now: now)
                    outcomes.append(UpsertResult(.imported, leadID: lead.id))
                }
            }
            try Self.save(rotation, db)
            return outcomes
        }
    }

    public func lead(id: String) async throws -> Lead? {
        try await read { db in try Self.fetchLead(db, id: id) }
    }

    public func lead(email: String) async throws -> Lead? {
        try await read { db in try Self.fetchLead(db, email: email) }
    }

    // MARK: - Work

    public func ingest(
        _ events: [IncomingEvent], now: Date, created: @Sendable (inout LeadWork) -> Void, _ body: @Sendable (inout LeadWork, LeadEvent) -> Void
    ) async throws -> [IngestOutcome] {
        try await write { db in
            let rotation = try Self.rotation(db)
            var outcomes: [IngestOutcome] = []
            outcomes.reserveCapacity(events.count)
            for event in events {
                try Self.refuseCutText([("event id", event.clientID)])
                if let clientID = event.clientID,
                   try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM event WHERE client_id = ?"), arguments: [clientID]) == true
                {
                    outcomes.append(.duplicate)
                    continue
                }
                let loaded: LeadWork
                var work: LeadWork
                var outcome: IngestOutcome
                if let found = try Self.fetchScoredLead(db, event.subject) {
                    // History first, then the event: `body` adds the event to the history itself.
                    loaded = try Self.loadWork(db, lead: found.lead, scoring: found.scoring, now: now)
                    work = loaded
                    outcome = .stored(leadID: found.lead.id)
                } else if event.createsLead, case .email(let email) = event.subject {
                    let lead = LeadPatch(email: email).newLead(id: LeadPatch.newID())
                    try Self.save(lead, scoring: ScoreSnapshot(), db, now: now, insert: true)
                    loaded = LeadWork(state: LeadState(lead: lead))
                    work = loaded
                    work.rotation = rotation
                    created(&work)
                    outcome = .created(leadID: lead.id)
                } else {
                    outcomes.append(.unknownLead)
                    continue
                }
                let stored = LeadEvent(event.type, at: event.at, properties: event.properties)
                try Self.insert(stored, leadID: work.lead.id, clientID: event.clientID, db)
                work.rotation = rotation
                body(&work, stored)
                try Self.persist(work, loaded: loaded, db, now: now)
                outcomes.append(outcome)
            }
            try Self.save(rotation, db)
            return outcomes
        }
    }

    public func dueLeadIDs(at now: Date, limit: Int) async throws -> [String] {
        try await read { db in
            // A range scan of the partial index on wake_at; grouping in SQL would scan every
            // active enrollment for every batch.
            var ids: [String] = []
            var seen: Set<String> = []
            let cursor = try String.fetchCursor(db, sql: Self.dueLeadsSQL, arguments: [now.timeIntervalSince1970])
            while ids.count < limit, let id = try cursor.next() {
                if seen.insert(id).inserted { ids.append(id) }
            }
            return ids
        }
    }

    public func update(leadIDs: [String], now: Date, _ body: @Sendable (inout [LeadWork]) -> Void) async throws {
        try await write { db in
            var loaded: [LeadWork] = []
            loaded.reserveCapacity(leadIDs.count)
            let rotation = try Self.rotation(db)
            for id in leadIDs {
                if let found = try Self.fetchScoredLead(db, id: id) {
                    var work = try Self.loadWork(db, lead: found.lead, scoring: found.scoring, now: now)
                    work.rotation = rotation
                    loaded.append(work)
                }
            }
            var works = loaded
            body(&works)
            for (work, before) in zip(works, loaded) { try Self.persist(work, loaded: before, db, now: now) }
            try Self.save(rotation, db)
        }
    }

    public func leadIDs(after: String?, limit: Int) async throws -> [String] {
        try await read { db in
            try String.fetchAll(db, sql: "SELECT id FROM lead WHERE id > ? ORDER BY id LIMIT ?", arguments: [after ?? "", limit])
        }
    }

    // MARK: - Scores

    public func topLeads(_ ranking: LeadRanking, now: Date) async throws -> [RankedLead] {
        try await read { db in try Self.topLeads(ranking, now: now, db) }
    }

    public func leadDetail(_ subject: IncomingEvent.Subject, now: Date, timelineLimit: Int) async throws -> LeadDetail? {
        try await read { db in
            guard let found = try Self.fetchScoredLead(db, subject) else { return nil }
            let work = try Self.loadWork(db, lead: found.lead, scoring: found.scoring, now: now)
            let timeline = try Row.fetchAll(db, sql: "SELECT type, at, properties FROM event WHERE lead_id = ? ORDER BY at DESC, seq DESC LIMIT ?",
                                            arguments: [found.lead.id, timelineLimit]).map(Self.event)
            let messages = try Row.fetchAll(db, sql: "SELECT \(Self.messageColumns) FROM \(Self.messageJoin) WHERE m.lead_id = ? ORDER BY m.created_at DESC, m.id LIMIT ?",
                                            arguments: [found.lead.id, timelineLimit]).map(Self.message)
            return LeadDetail(work: work, timeline: timeline, messages: messages)
        }
    }

    public func scoreVersions() async throws -> [String: Int] {
        try await read { db in
            var versions: [String: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT COALESCE(score_version, '') AS version, COUNT(*) AS n FROM lead GROUP BY 1") {
                versions[row["version"]] = row["n"]
            }
            return versions
        }
    }

    // MARK: - Outbox

    public func claimMessages(
        now: Date, limit: Int, owner: String, leaseUntil: Date, channels: Set<OutgoingMessage.Channel>?,
        decide: @Sendable (ClaimCandidate) -> ClaimDecision
    ) async throws -> ClaimBatch {
        try await write { db in
            let moment = now.timeIntervalSince1970
            // One channel's claim never takes (and then holds) another channel's messages.
            var arguments: [String: (any DatabaseValueConvertible)?] = ["now": moment, "limit": limit]
            var channelFilter = ""
            if let channels {
                let names = channels.map(\.rawValue).sorted()
                for (index, name) in names.enumerated() { arguments["channel\(index)"] = name }
                channelFilter = " AND channel IN (" + names.indices.map { ":channel\($0)" }.joined(separator: ", ") + ")"
            }
            let rows = try Row.fetchAll(db, sql: Self.claimSQL(channelFilter: channelFilter), arguments: StatementArguments(arguments))
            var claimed: [OutboxMessage] = []
            for row in rows {
                var message = Self.message(row)
                let isSystem = message.campaignID == OutboxMessage.systemCampaign
                // Re-checked here, in the claiming transaction: nothing goes out after an
                // unsubscribe has committed.
                if !isSystem,
                   let reason = try String.fetchOne(db, sql: "SELECT reason FROM suppression WHERE address = ? AND channel = ?",
                                                    arguments: [message.address, message.channel.rawValue])
                {
                    try db.execute(sql: "UPDATE outbox_message SET status = 'suppressed', last_error = ?, lease_owner = NULL, lease_until = NULL WHERE id = ?",
                                   arguments: ["suppressed: \(reason)", message.id])
                    continue
                }
                let sends = isSystem || message.isTransactional ? [] : try Self.sendsThatCount(for: message, now: now, db)
                if case .deferred(let until, let reason) = decide(ClaimCandidate(message: message, timeZone: row["lead_timezone"], sends: sends)) {
                    try db.execute(sql: """
                        UPDATE outbox_message SET status = 'pending', next_attempt_at = ?, last_error = ?, lease_owner = NULL, lease_until = NULL WHERE id = ?
                        """, arguments: [until.timeIntervalSince1970, "deferred: \(reason)", message.id])
                    continue
                }
                message.status = .sending
                message.attempts += 1
                message.leaseOwner = owner
                message.leaseUntil = leaseUntil
                try db.execute(sql: """
                    UPDATE outbox_message SET status = 'sending', attempts = ?, lease_owner = ?, lease_until = ? WHERE id = ?
                    """, arguments: [message.attempts, owner, leaseUntil.timeIntervalSince1970, message.id])
                claimed.append(message)
            }
            return ClaimBatch(messages: claimed, examined: rows.count)
        }
    }

    static let dueLeadsSQL = "SELECT lead_id FROM enrollment WHERE status = 'active' AND wake_at <= ? ORDER BY wake_at"

    /// Each side walks its partial index in order and stops at the limit. Left to itself the
    /// planner picks the status index and sorts every due row, which costs a claim seconds once
    /// the backlog is large; INDEXED BY also fails loudly if the index ever goes.
    static func claimSQL(channelFilter: String) -> String {
        """
        SELECT \(messageColumns), l.timezone AS lead_timezone FROM (
            SELECT * FROM (SELECT id, next_attempt_at AS due_at FROM outbox_message INDEXED BY outbox_due
                WHERE status = 'pending' AND next_attempt_at <= :now\(channelFilter) ORDER BY next_attempt_at LIMIT :limit)
            UNION ALL
            SELECT * FROM (SELECT id, lease_until AS due_at FROM outbox_message INDEXED BY outbox_leased
                WHERE status = 'sending' AND lease_until <= :now\(channelFilter) ORDER BY lease_until LIMIT :limit)
        ) due JOIN outbox_message m ON m.id = due.id JOIN outbox_content c ON c.id = m.id JOIN lead l ON l.id = m.lead_id
        ORDER BY due.due_at LIMIT :limit
        """
    }

    /// The plans SQLite chooses for the queries that must read only what they return (a claim, the
    /// due leads, the two ranking walks), one `EXPLAIN QUERY PLAN` detail line each step, so a test
    /// or an operator can see no full scan or sort of a backlog.
    public func queryPlans() async throws -> [String: [String]] {
        try await read { db in
            func plan(_ sql: String, _ arguments: StatementArguments) throws -> [String] {
                try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + sql, arguments: arguments).map { $0["detail"] }
            }
            let ranking = Self.rankingSQL(filter: "stage < ?")
            return [
                "claim": try plan(Self.claimSQL(channelFilter: " AND channel IN (:channel0)"), ["now": 0, "limit": 64, "channel0": "email"]),
                "due leads": try plan(Self.dueLeadsSQL, [0]),
                "ranking by fixed points": try plan(ranking.byFixed, [Stage.customer.rawValue]),
                "ranking by behaviour": try plan(ranking.byGains, [Stage.customer.rawValue]),
            ]
        }
    }

    /// What a frequency cap counts at claim time: the lead's marketing messages on the channel
    /// that really left (at the time they left), and those in flight, this claim's own included.
    static func sendsThatCount(for message: OutboxMessage, now: Date, _ db: Database) throws -> [SendRecord] {
        try Row.fetchAll(db.cachedStatement(sql: """
            SELECT status, sent_at FROM outbox_message
            WHERE lead_id = ? AND channel = ? AND transactional = 0 AND campaign_id != ? AND id != ?
              AND ((status = 'sent' AND sent_at > ?) OR status = 'sending')
            """), arguments: [message.leadID, message.channel.rawValue, OutboxMessage.systemCampaign, message.id,
                              now.timeIntervalSince1970 - sendWindow]).map { row in
            let status: String = row["status"]
            let at: Double? = row["sent_at"]
            return SendRecord(channel: message.channel, at: status == "sent" ? Date(timeIntervalSince1970: at ?? 0) : now, isTransactional: false)
        }
    }

    public func finish(messageID: String, attempt: Int, owner: String, result: AttemptResult, now: Date) async throws -> Bool {
        try await finish([FinishedAttempt(messageID: messageID, attempt: attempt, result: result)], owner: owner, now: now)[0]
    }

    public func finish(_ attempts: [FinishedAttempt], owner: String, now: Date) async throws -> [Bool] {
        try await write { db in
            try attempts.map { try Self.finish($0, owner: owner, now: now, db) }
        }
    }

    static func finish(_ attempt: FinishedAttempt, owner: String, now: Date, _ db: Database) throws -> Bool {
        let guardClause = "WHERE id = ? AND status = 'sending' AND lease_owner = ? AND attempts = ?"
        let keys: StatementArguments = [attempt.messageID, owner, attempt.attempt]
        switch attempt.result {
        case .sent:
            try db.cachedStatement(sql: "UPDATE outbox_message SET status = 'sent', sent_at = ?, last_error = NULL, lease_owner = NULL, lease_until = NULL \(guardClause)")
                .execute(arguments: [now.timeIntervalSince1970] + keys)
            guard db.changesCount == 1 else { return false }
            // A sent email or SMS is part of the lead's history; an alert to sales is not.
            if let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT lead_id, campaign_id, step_id, channel FROM outbox_message WHERE id = ?"),
                                          arguments: [attempt.messageID]),
               row["channel"] != OutgoingMessage.Channel.sales.rawValue
            {
                let channel: String = row["channel"]
                let event = LeadEvent("\(channel).sent", at: now, properties: [
                    "campaign": .string(row["campaign_id"]), "step": .string(row["step_id"]), "message": .string(attempt.messageID),
                ])
                try insert(event, leadID: row["lead_id"], clientID: nil, db)
            }
            return true
        case .retry(let at, let error):
            try db.cachedStatement(sql: "UPDATE outbox_message SET status = 'pending', next_attempt_at = ?, last_error = ?, lease_owner = NULL, lease_until = NULL \(guardClause)")
                .execute(arguments: [at.timeIntervalSince1970, error] + keys)
        case .dead(let error):
            try db.cachedStatement(sql: "UPDATE outbox_message SET status = 'dead', last_error = ?, lease_owner = NULL, lease_until = NULL \(guardClause)")
                .execute(arguments: [error] + keys)
        case .suppressed(let reason):
            try db.cachedStatement(sql: "UPDATE outbox_message SET status = 'suppressed', last_error = ?, lease_owner = NULL, lease_until = NULL \(guardClause)")
                .execute(arguments: [reason] + keys)
        }
        return db.changesCount == 1
    }

    public func release(_ messages: [(id: String, attempt: Int)], owner: String) async throws {
        try await write { db in
            for (id, attempt) in messages {
                try db.cachedStatement(sql: """
                    UPDATE outbox_message SET status = 'pending', attempts = attempts - 1, lease_owner = NULL, lease_until = NULL
                    WHERE id = ? AND status = 'sending' AND lease_owner = ? AND attempts = ?
                    """).execute(arguments: [id, owner, attempt])
            }
        }
    }

    public func messages(status: OutboxMessage.Status?, limit: Int) async throws -> [OutboxMessage] {
        try await read { db in
            let rows = if let status {
                try Row.fetchAll(db, sql: "SELECT \(Self.messageColumns) FROM \(Self.messageJoin) WHERE m.status = ? ORDER BY m.created_at DESC, m.id LIMIT ?",
                                 arguments: [status.rawValue, limit])
            } else {
                try Row.fetchAll(db, sql: "SELECT \(Self.messageColumns) FROM \(Self.messageJoin) ORDER BY m.created_at DESC, m.id LIMIT ?", arguments: [limit])
            }
            return rows.map(Self.message)
        }
    }

    public func message(id: String) async throws -> OutboxMessage? {
        try await read { db in
            try Row.fetchOne(db, sql: "SELECT \(Self.messageColumns) FROM \(Self.messageJoin) WHERE m.id = ?", arguments: [id]).map(Self.message)
        }
    }

    public func retryDeadLetters(ids: [String]?, now: Date) async throws -> Int {
        try await write { db in
            let reset = "UPDATE outbox_message SET status = 'pending', attempts = 0, next_attempt_at = ?, lease_owner = NULL, lease_until = NULL WHERE status = 'dead'"
            if let ids {
                var count = 0
                for id in ids {
                    try db.execute(sql: reset + " AND id = ?", arguments: [now.timeIntervalSince1970, id])
                    count += db.changesCount
                }
                return count
            }
            try db.execute(sql: reset, arguments: [now.timeIntervalSince1970])
            return db.changesCount
        }
    }

    // MARK: - Compliance

    public func suppress(address: String, channel: OutgoingMessage.Channel, reason: String, at: Date) async throws {
        try await write { db in
            try db.execute(sql: """
                INSERT INTO suppression (address, channel, reason, at) VALUES (?, ?, ?, ?)
                ON CONFLICT (address, channel) DO UPDATE SET reason = excluded.reason, at = excluded.at
                """, arguments: [address, channel.rawValue, reason, at.timeIntervalSince1970])
        }
    }

    public func outboxCounts() async throws -> [String: Int] {
        try await read { db in try Self.outboxCounts(db) }
    }

    static func outboxCounts(_ db: Database) throws -> [String: Int] {
        var counts: [String: Int] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT status, COUNT(*) AS n FROM outbox_message GROUP BY status") {
            counts[row["status"]] = row["n"]
        }
        return counts
    }

    public func suppressions(address: String) async throws -> [OutgoingMessage.Channel: String] {
        try await read { db in try Self.suppressions(db, addresses: [address]) }
    }

    // MARK: - Settings

    public func secret(named name: String) async throws -> Data {
        try await write { db in
            if let existing = try Data.fetchOne(db, sql: "SELECT value FROM setting WHERE key = ?", arguments: ["secret." + name]) {
                return existing
            }
            var bytes = [UInt8](repeating: 0, count: 32)
            var generator = SystemRandomNumberGenerator()
            for index in bytes.indices { bytes[index] = UInt8.random(in: .min ... .max, using: &generator) }
            let secret = Data(bytes)
            try db.execute(sql: "INSERT INTO setting (key, value) VALUES (?, ?)", arguments: ["secret." + name, secret])
            return secret
        }
    }

    // MARK: - Reports

    public func counts() async throws -> StoreCounts {
        try await read { db in
            var counts = StoreCounts()
            counts.leads = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM lead") ?? 0
            counts.events = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM event") ?? 0
            counts.activeEnrollments = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM enrollment WHERE status = 'active'") ?? 0
            counts.messagesByStatus = try Self.outboxCounts(db)
            return counts
        }
    }
}

extension DatabaseError {
    var isBusy: Bool { resultCode == .SQLITE_BUSY || resultCode == .SQLITE_LOCKED }
}
