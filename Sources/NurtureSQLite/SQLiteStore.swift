public import Foundation
import CSQLiteSettings
import GRDB
import NurtureDSL
public import NurtureStorage

/// The embedded default store: one SQLite file in WAL mode with `synchronous=FULL`, so a
/// committed step survives a crash or a power cut; writes take `BEGIN IMMEDIATE`.
public final class SQLiteStore: LeadStore, Sendable {
    let writer: any DatabaseWriter
    private let checkpointer: WALCheckpointer?

    /// How long a write waits for another connection's lock (a backup, a migration, an
    /// operator's `sqlite3` shell) before it gives up with `StorageBusy`.
    public static let defaultBusyTimeout: TimeInterval = 30

    /// Settings SQLite takes once per process, before its first connection: memory statistics
    /// off, so connections do not serialise every allocation on one global mutex (with them on,
    /// a scheduling pass spent 13% of its CPU in `sqlite3Malloc` and 8% in futex waits).
    /// Connections opened earlier leave SQLite as it was; that costs speed, never correctness.
    public static let processSettings: Void = {
        _ = nurture_sqlite_disable_memory_statistics()
    }()

    /// Opens (creating and migrating) the database file at `path`.
    public init(path: String, busyTimeout: TimeInterval = SQLiteStore.defaultBusyTimeout) throws {
        Self.processSettings
        var configuration = Configuration()
        configuration.busyMode = .timeout(busyTimeout)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
            // The statement journal of a savepoint spills to a temporary file past 64 KB; in
            // memory, an import stopped writing 60 KB per row to /tmp (12.5 GB for 200,000 rows).
            try db.execute(sql: "PRAGMA temp_store = MEMORY")
            // Each connection has a page cache of its own. The writer's 32 MB saves most reads
            // during imports and due passes; a reader (up to five of them) keeps 8 MB, so a worker
            // over a million leads stays well under 200 MB however long it runs (the operating
            // system's file cache still holds the pages every reader shares).
            try db.execute(sql: db.configuration.readonly ? "PRAGMA cache_size = -8192" : "PRAGMA cache_size = -32768")
            if !db.configuration.readonly { try db.execute(sql: "PRAGMA wal_autocheckpoint = \(WALCheckpointer.backstopPages)") }
        }
        writer = try DatabasePool(path: path, configuration: configuration)
        checkpointer = try WALCheckpointer(path: path)
        try Self.migrator.migrate(writer)
    }

    /// A private in-memory database, for tests and `simulate`-like tools.
    public init(inMemory: Void = ()) throws {
        Self.processSettings
        writer = try DatabaseQueue()
        checkpointer = nil
        try Self.migrator.migrate(writer)
    }

    /// Every transaction goes through these two, so a lock held past the busy timeout reaches
    /// callers as `StorageBusy` (retry later), not as an opaque SQLite error.
    func write<T: Sendable>(_ updates: @Sendable (Database) throws -> T) async throws -> T {
        defer { checkpointer?.wrote() }
        do { return try await writer.write(updates) } catch let error as DatabaseError where error.isBusy { throw StorageBusy(error.message ?? "database is locked") }
    }

    func read<T: Sendable>(_ value: @Sendable (Database) throws -> T) async throws -> T {
        do { return try await writer.read(value) } catch let error as DatabaseError where error.isBusy { throw StorageBusy(error.message ?? "database is locked") }
    }

    // MARK: - Leads

    public func snapshots(_ keys: [LeadKey], window: HistoryWindow) async throws -> [LeadKey: LeadSnapshot] {
        try await read { db in try Self.snapshots(db, keys, window: window) }
    }

    public func commit(_ changes: [LeadChange], rotationAdvance: Int, now: Date) async throws -> [CommitOutcome] {
        try await write { db in
            let outcomes = try changes.map { change in
                // Every other refusal comes before the change's first write; only a duplicate
                // event id is found after the lead's writes and needs them undone. A savepoint
                // copies each page it touches to the statement journal, so it is taken only then.
                guard change.events.contains(where: { $0.clientID != nil }) else { return try Self.apply(change, db, now: now) }
                var outcome = CommitOutcome.committed
                try db.inSavepoint {
                    outcome = try Self.apply(change, db, now: now)
                    return outcome == .committed ? .commit : .rollback
                }
                return outcome
            }
            if rotationAdvance != 0 {
                try db.execute(sql: """
                    INSERT INTO setting (key, value) VALUES ('owner.rotation', ?)
                    ON CONFLICT (key) DO UPDATE SET value = CAST(CAST(CAST(value AS TEXT) AS INTEGER) + ? AS TEXT)
                    """, arguments: [String(rotationAdvance), rotationAdvance])
            }
            return outcomes
        }
    }

    public func rotationPosition() async throws -> Int {
        try await read { db in
            try String.fetchOne(db.cachedStatement(sql: "SELECT CAST(value AS TEXT) FROM setting WHERE key = 'owner.rotation'")).flatMap { Int($0) } ?? 0
        }
    }

    public func storedEventIDs(_ ids: [String]) async throws -> Set<String> {
        guard !ids.isEmpty else { return [] }
        try TextWithNUL.refuse(ids.map { ("event id", $0) })
        return try await read { db in
            try Set(String.fetchAll(db.cachedStatement(sql: "SELECT client_id FROM event WHERE client_id IN (SELECT value FROM json_each(?))"),
                                    arguments: [FlatJSON.json(ids)]))
        }
    }

    public func lead(id: String) async throws -> Lead? {
        try await read { db in try Self.leadRow(db, .id(id)).map { Self.lead($0) } }
    }

    public func lead(email: String) async throws -> Lead? {
        try await read { db in try Self.leadRow(db, .email(email)).map { Self.lead($0) } }
    }

    public func leadIDs(matching filter: RankingFilter?, after: String?, limit: Int) async throws -> [String] {
        var conditions = ["id > ?"]
        var arguments: StatementArguments = [after ?? ""]
        if let filter {
            let stages = filter.stages.map(\.rawValue).sorted()
            conditions.append("stage IN (" + stages.map { _ in "?" }.joined(separator: ", ") + ")")
            _ = arguments.append(contentsOf: StatementArguments(stages))
            for segment in filter.segments {
                let (sql, value) = try Self.segmentCondition(segment)
                conditions.append(sql)
                _ = arguments.append(contentsOf: [value])
            }
        }
        _ = arguments.append(contentsOf: [limit])
        let sql = "SELECT id FROM lead WHERE \(conditions.joined(separator: " AND ")) ORDER BY id LIMIT ?"
        let bound = arguments
        return try await read { db in try String.fetchAll(db, sql: sql, arguments: bound) }
    }

    // MARK: - Due work

    public func claimDueLeads(now: Date, limit: Int, owner: String, leaseUntil: Date, excluding: Set<String>) async throws -> [LeadLease] {
        try await write { db in
            let moment = now.timeIntervalSince1970
            var ids: [String] = []
            var seen = excluding
            // A range scan of the partial index on wake_at; grouping in SQL would scan every
            // active enrollment for every batch.
            let cursor = try String.fetchCursor(db, sql: Self.dueFreeLeadsSQL, arguments: [moment, moment, owner])
            while ids.count < limit, let id = try cursor.next() {
                if seen.insert(id).inserted { ids.append(id) }
            }
            return try ids.map { id in
                let token = try Int.fetchOne(db.cachedStatement(sql: """
                    UPDATE lead SET lease_owner = ?, lease_until = ?, lease_token = lease_token + 1 WHERE id = ? RETURNING lease_token
                    """), arguments: [owner, leaseUntil.timeIntervalSince1970, id]) ?? 0
                return LeadLease(leadID: id, token: token)
            }
        }
    }

    public func dueLeadIDs(at now: Date, limit: Int) async throws -> [String] {
        try await read { db in
            var ids: [String] = []
            var seen: Set<String> = []
            let cursor = try String.fetchCursor(db, sql: Self.dueLeadsSQL, arguments: [now.timeIntervalSince1970])
            while ids.count < limit, let id = try cursor.next() {
                if seen.insert(id).inserted { ids.append(id) }
            }
            return ids
        }
    }

    // MARK: - Reads for rankings and reports

    public func rankingPage(by order: RankingOrder, filter: RankingFilter, after cursor: RankingCursor?, limit: Int) async throws -> [RankingRow] {
        let (sql, arguments) = try Self.rankingPageSQL(order, filter: filter, after: cursor, limit: limit)
        return try await read { db in
            try Row.fetchAll(db.cachedStatement(sql: sql), arguments: arguments).map { RankingRow(id: $0[0], scoring: Self.scoreSnapshot($0, from: 2)) }
        }
    }

    public func latestEvents(leadID: String, limit: Int) async throws -> [LeadEvent] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT \(Self.eventColumns) FROM event WHERE lead_id = ? ORDER BY at DESC, seq DESC LIMIT ?",
                             arguments: [leadID, limit]).map { Self.event($0) }
        }
    }

    public func latestMessages(leadID: String, limit: Int) async throws -> [OutboxMessage] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT \(Self.messageColumns) FROM \(Self.messageJoin) WHERE m.lead_id = ? ORDER BY m.created_at DESC, m.id LIMIT ?",
                             arguments: [leadID, limit]).map(Self.message)
        }
    }

    public func timeZoneSources() async throws -> [TimeZoneSource: Int] {
        try await read { db in
            var sources: [TimeZoneSource: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT timezone_source, COUNT(*) AS n FROM lead GROUP BY 1") {
                sources[TimeZoneSource(rawValue: row["timezone_source"]) ?? .given, default: 0] += row["n"]
            }
            return sources
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
        now: Date, limit: Int, owner: String, leaseUntil: Date, channels: Set<MessageChannel>?, sendsSince: Date,
        decide: @Sendable (ClaimCandidate) -> ClaimDecision
    ) async throws -> ClaimBatch {
        try await write { db in
            let moment = now.timeIntervalSince1970
            // One channel's claim never takes (and then holds) another channel's messages.
            let names = (channels.map(Array.init) ?? MessageChannel.allCases).map(\.rawValue).sorted()
            var arguments: [String: (any DatabaseValueConvertible)?] = ["now": moment, "limit": limit]
            for (index, name) in names.enumerated() { arguments["channel\(index)"] = name }
            // Cached (one statement per set of channels): compiling this union of joins every
            // claim was a fifth of the claim's time in an end-to-end run.
            let order = try String.fetchAll(db.cachedStatement(sql: Self.claimSQL(channels: names.count)), arguments: StatementArguments(arguments))
            guard !order.isEmpty else { return ClaimBatch(messages: [], examined: 0) }
            // The content is read only for the messages picked, after the sort: sorting whole
            // rendered rows (kilobytes each) had been a fifth of the writer's time in a run-due.
            let ids = Self.json(order)
            var candidates: [String: (message: OutboxMessage, timeZone: String, suppression: Suppression?)] = [:]
            for row in try Row.fetchAll(db.cachedStatement(sql: Self.claimedRowsSQL), arguments: [ids]) {
                let message = Self.message(row)
                let reason: String? = row["suppression"]
                candidates[message.id] = (message, row["lead_timezone"], reason.map { Suppression(.init(stored: row["suppression_scope"]), reason: $0) })
            }
            let counted = candidates.values.filter { $0.message.countsTowardCaps }
            var sends = try Self.sendsThatCount(leadIDs: Set(counted.map(\.message.leadID)), excluding: ids, since: sendsSince, now: now, db)
            let paused = try Self.pausedCampaigns(db)
            var claimed: [OutboxMessage] = []
            for id in order {
                guard let candidate = candidates[id] else { continue }
                var message = candidate.message
                let (timeZone, suppression) = (candidate.timeZone, candidate.suppression)
                if paused.contains(message.campaignID) {
                    // Queued before the pause reached the work that produced it: parked with the rest.
                    try db.cachedStatement(sql: """
                        UPDATE outbox_message SET status = 'pending', next_attempt_at = ?, lease_owner = NULL, lease_until = NULL WHERE id = ?
                        """).execute(arguments: [CampaignPause.parked(message.nextAttemptAt).timeIntervalSince1970, message.id])
                    continue
                }
                let key = SendKey(leadID: message.leadID, channel: message.channel)
                let isCounted = message.countsTowardCaps
                switch decide(ClaimCandidate(message: message, timeZone: timeZone, suppression: suppression, sends: isCounted ? sends[key] ?? [] : [])) {
                case .send: break
                case .suppressed(let note):
                    try db.cachedStatement(sql: "UPDATE outbox_message SET status = 'suppressed', last_error = ?, lease_owner = NULL, lease_until = NULL WHERE id = ?")
                        .execute(arguments: [note, message.id])
                    continue
                case .deferred(let until, let reason):
                    try db.cachedStatement(sql: """
                        UPDATE outbox_message SET status = 'pending', next_attempt_at = ?, last_error = ?, lease_owner = NULL, lease_until = NULL WHERE id = ?
                        """).execute(arguments: [until.timeIntervalSince1970, "deferred: \(reason)", message.id])
                    continue
                }
                message.status = .sending
                message.attempts += 1
                message.leaseOwner = owner
                message.leaseUntil = leaseUntil
                // Taken by this claim: in flight for the cap of the lead's next message in it.
                if isCounted { sends[key, default: []].append(SendRecord(channel: message.channel, at: now, isTransactional: false)) }
                claimed.append(message)
            }
            if !claimed.isEmpty {
                // One statement for the batch: cached, since compiling an UPDATE of the outbox
                // also compiles its counting triggers.
                try db.cachedStatement(sql: """
                    UPDATE outbox_message SET status = 'sending', attempts = attempts + 1, lease_owner = ?, lease_until = ?
                    WHERE id IN (SELECT value FROM json_each(?))
                    """).execute(arguments: [owner, leaseUntil.timeIntervalSince1970, Self.json(claimed.map(\.id))])
            }
            return ClaimBatch(messages: claimed, examined: order.count)
        }
    }

    static let dueLeadsSQL = "SELECT lead_id FROM enrollment INDEXED BY enrollment_due WHERE status = 'active' AND wake_at <= ? ORDER BY wake_at"
    /// Due leads no other worker holds: the due index in order, each lead looked up by key.
    static let dueFreeLeadsSQL = """
        SELECT e.lead_id FROM enrollment e INDEXED BY enrollment_due JOIN lead l ON l.id = e.lead_id
        WHERE e.status = 'active' AND e.wake_at <= ? AND (l.lease_until IS NULL OR l.lease_until < ? OR l.lease_owner = ?) ORDER BY e.wake_at
        """

    /// Oldest due first, and among messages due at one instant the one produced first, so a
    /// capped lead's first email is not overtaken by its later ones. Each channel's pending and
    /// expired messages are ranges of their partial indexes, walked in order to the limit. Left
    /// to itself the planner picks the status index and sorts every due row, which costs a claim
    /// seconds once the backlog is large; INDEXED BY also fails loudly if an index ever goes.
    /// Only ids come out: `claimedRowsSQL` reads them. `channels` counts the `:channelN` bound.
    static func claimSQL(channels: Int) -> String {
        let sides = (0..<channels).flatMap { n in [
            """
            SELECT * FROM (SELECT id, next_attempt_at AS due_at FROM outbox_message INDEXED BY outbox_due_channel
                WHERE status = 'pending' AND channel = :channel\(n) AND next_attempt_at <= :now ORDER BY next_attempt_at LIMIT :limit)
            """,
            """
            SELECT * FROM (SELECT id, lease_until AS due_at FROM outbox_message INDEXED BY outbox_leased_channel
                WHERE status = 'sending' AND channel = :channel\(n) AND lease_until <= :now ORDER BY lease_until LIMIT :limit)
            """,
        ] }
        return """
            SELECT m.id FROM (
            \(sides.joined(separator: "\nUNION ALL\n"))
            ) due JOIN outbox_message m ON m.id = due.id
            ORDER BY due.due_at, m.created_at, m.id LIMIT :limit
            """
    }

    /// The claimed messages (a JSON array of ids) with what the last check needs: the lead's time
    /// zone and the address's suppression on the message's channel (the suppression's own
    /// case-blind collation applies, its column being on the left).
    static let claimedRowsSQL = """
        SELECT \(messageColumns), l.timezone AS lead_timezone, s.reason AS suppression, s.scope AS suppression_scope
        FROM outbox_message m JOIN outbox_content c ON c.id = m.id JOIN lead l ON l.id = m.lead_id
        LEFT JOIN suppression s ON s.address = m.address AND s.channel = m.channel
        WHERE m.id IN (SELECT value FROM json_each(?))
        """

    /// The plans SQLite chooses for the queries that must read only what they return (a claim, the
    /// due leads, the two ranking walks), one `EXPLAIN QUERY PLAN` detail line each step, so a test
    /// or an operator can see no full scan or sort of a backlog.
    public func queryPlans() async throws -> [String: [String]] {
        try await read { db in
            func plan(_ sql: String, _ arguments: StatementArguments) throws -> [String] {
                try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + sql, arguments: arguments).map { $0["detail"] }
            }
            let prospects = RankingFilter(stages: Set(Stage.allCases.filter { $0 != .customer }))
            let fixed = try Self.rankingPageSQL(.fixedPoints, filter: prospects, after: RankingCursor(value: 10, id: "lead_x"), limit: 512)
            let gains = try Self.rankingPageSQL(.gainsRank, filter: prospects, after: RankingCursor(value: 10, id: "lead_x"), limit: 512)
            return [
                "claim": try plan(Self.claimSQL(channels: 1), ["now": 0, "limit": 64, "channel0": "email"]),
                "claimed rows": try plan(Self.claimedRowsSQL, ["[\"msg_x\"]"]),
                "oldest due message": try plan(Self.oldestDueSQL, [0]),
                "sends a cap counts": try plan(Self.sendsSQL, ["[\"lead_x\"]", "system", "[\"msg_x\"]", 0]),
                "due leads": try plan(Self.dueFreeLeadsSQL, [0, 0, "w"]),
                "lead history": try plan(Self.historySQL, ["[\"lead_x\"]", 0]),
                "ranking by fixed points": try plan(fixed.0, fixed.1),
                "ranking by behaviour": try plan(gains.0, gains.1),
            ]
        }
    }

    /// The leads' own messages, by the lead index: left to itself the planner walks the status
    /// index over every message ever sent (a claim then cost 3× a whole run-due).
    static let sendsSQL = """
        SELECT lead_id, channel, status, sent_at FROM outbox_message INDEXED BY outbox_lead
        WHERE lead_id IN (SELECT value FROM json_each(?)) AND transactional = 0 AND campaign_id != ?
          AND id NOT IN (SELECT value FROM json_each(?))
          AND ((status = 'sent' AND sent_at > ?) OR status = 'sending')
        """

    /// What a frequency cap counts at claim time, for every lead of a claim in one query: the
    /// leads' marketing messages that really left (at the time they left), and those in flight
    /// elsewhere (the claim's own candidates, a JSON array of ids, left out), by lead and channel.
    static func sendsThatCount(leadIDs: Set<String>, excluding ids: String, since: Date, now: Date, _ db: Database) throws -> [SendKey: [SendRecord]] {
        guard !leadIDs.isEmpty else { return [:] }
        var sends: [SendKey: [SendRecord]] = [:]
        for row in try Row.fetchAll(db.cachedStatement(sql: sendsSQL), arguments: [json(leadIDs.sorted()), OutboxMessage.systemCampaign, ids, since.timeIntervalSince1970]) {
            guard let channel = MessageChannel(rawValue: row[1]) else { continue }
            let sent = (row[2] as String) == "sent"
            let at: Double? = row[3]
            sends[SendKey(leadID: row[0], channel: channel), default: []]
                .append(SendRecord(channel: channel, at: sent ? Date(timeIntervalSince1970: at ?? 0) : now, isTransactional: false))
        }
        return sends
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
            if let entry = attempt.historyEvent { try insert(NewEvent(entry.event), leadID: entry.leadID, db) }
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
                    try db.cachedStatement(sql: reset + " AND id = ?").execute(arguments: [now.timeIntervalSince1970, id])
                    count += db.changesCount
                }
                return count
            }
            try db.execute(sql: reset, arguments: [now.timeIntervalSince1970])
            return db.changesCount
        }
    }

    // MARK: - Compliance

    public func suppress(address: String, channel: MessageChannel, _ suppression: Suppression, at: Date) async throws {
        try await write { db in
            let merged = try Self.suppressions(db, addresses: [address])[channel].map { $0.adding(suppression) } ?? suppression
            try Self.save(SuppressionChange(address: address, channel: channel, suppression: merged), db, at: at)
        }
    }

    public func suppressionPage(after: SuppressionRecord?, limit: Int) async throws -> [SuppressionRecord] {
        try await read { db in
            try Row.fetchAll(db, sql: """
                SELECT address, channel, reason, scope, at FROM suppression WHERE (address, channel) > (?, ?) ORDER BY address, channel LIMIT ?
                """, arguments: [after?.address ?? "", after?.channel.rawValue ?? "", limit]).compactMap { row in
                guard let channel = MessageChannel(rawValue: row["channel"]) else { return nil }
                return SuppressionRecord(address: row["address"], channel: channel, suppression: Suppression(.init(stored: row["scope"]), reason: row["reason"]),
                                         at: Date(timeIntervalSince1970: row["at"]))
            }
        }
    }

    public func liftSuppression(address: String, channel: MessageChannel) async throws -> Bool {
        try await write { db in
            try db.execute(sql: "DELETE FROM suppression WHERE address = ? AND channel = ?", arguments: [address, channel.rawValue])
            return db.changesCount > 0
        }
    }

    public func oldestDueMessage(at now: Date) async throws -> Date? {
        try await read { db in
            try Double.fetchOne(db.cachedStatement(sql: Self.oldestDueSQL), arguments: [now.timeIntervalSince1970]).map(Date.init(timeIntervalSince1970:))
        }
    }

    /// The oldest of each channel's first due message: one index lookup per channel.
    static let oldestDueSQL = "SELECT min(due_at) FROM (" + MessageChannel.allCases.map { channel in
        """
        SELECT * FROM (SELECT next_attempt_at AS due_at FROM outbox_message INDEXED BY outbox_due_channel
            WHERE status = 'pending' AND channel = '\(channel.rawValue)' AND next_attempt_at <= ?1 ORDER BY next_attempt_at LIMIT 1)
        """
    }.joined(separator: " UNION ALL ") + ")"

    public func outboxCounts() async throws -> [String: Int] {
        try await read { db in try Self.outboxCounts(db) }
    }

    /// Sent messages only, through the status index: what a benchmark polls while it runs.
    public func sentMessageCount() async throws -> Int {
        try await read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM outbox_message WHERE status = 'sent'") ?? 0 }
    }

    static func outboxCounts(_ db: Database) throws -> [String: Int] {
        var counts: [String: Int] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT status, COUNT(*) AS n FROM outbox_message GROUP BY status") {
            counts[row["status"]] = row["n"]
        }
        return counts
    }

    public func suppressions(address: String) async throws -> [MessageChannel: Suppression] {
        try await read { db in try Self.suppressions(db, addresses: [address]) }
    }

    // MARK: - Settings

    public func secret(named name: String) async throws -> Data {
        try await write { db in
            if let existing = try Self.setting("secret." + name, db) { return existing }
            var bytes = [UInt8](repeating: 0, count: 32)
            var generator = SystemRandomNumberGenerator()
            for index in bytes.indices { bytes[index] = UInt8.random(in: .min ... .max, using: &generator) }
            let secret = Data(bytes)
            try Self.setSetting("secret." + name, to: secret, db)
            return secret
        }
    }

    public func setting(named key: String) async throws -> Data? {
        try await read { db in try Self.setting(key, db) }
    }

    public func setSetting(named key: String, to value: Data) async throws {
        try await write { db in try Self.setSetting(key, to: value, db) }
    }

    static func setting(_ key: String, _ db: Database) throws -> Data? {
        try Data.fetchOne(db.cachedStatement(sql: "SELECT value FROM setting WHERE key = ?"), arguments: [key])
    }

    static func setSetting(_ key: String, to value: Data, _ db: Database) throws {
        try db.cachedStatement(sql: "INSERT INTO setting (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
            .execute(arguments: [key, value])
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
