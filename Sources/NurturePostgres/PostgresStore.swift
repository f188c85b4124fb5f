public import Foundation
public import Logging
import NurtureDSL
public import NurtureStorage
import PostgresNIO

/// The shared backend: one PostgreSQL database that many workers and servers on many machines use
/// at once. Due leads and outbox messages are claimed with `FOR UPDATE SKIP LOCKED` under leases
/// a dead worker's successor reclaims; each lead's work commits only at the version it was read
/// at; commits that create due work `NOTIFY` idle workers.
public final class PostgresStore: LeadStore, Sendable {
    let client: PostgresClient
    let logger: Logger
    private let running: Task<Void, Never>
    /// Where a worker waiting for work listens.
    static let workChannel = "nurture_work"

    /// Connects with a pool (`postgres://user:password@host:port/database?sslmode=disable|prefer|require`)
    /// and applies the migrations not yet applied.
    public static func connect(url: String, logger: Logger = Logger(label: "nurture.postgres"), maximumConnections: Int = 16) async throws -> PostgresStore {
        let store = try PostgresStore(configuration: try PostgresURL(url).configuration(maximumConnections: maximumConnections), logger: logger)
        await store.waitUntilRunning()
        do {
            try await store.migrate()
        } catch {
            await store.close()
            throw error
        }
        return store
    }

    init(configuration: PostgresClient.Configuration, logger: Logger) throws {
        client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.logger = logger
        let client = self.client
        let (started, signal) = AsyncStream<Void>.makeStream()
        self.started = started
        running = Task {
            signal.finish()
            await client.run()
        }
    }

    /// Ends once the pool's task has begun, so no query leases a connection before `run()`.
    private let started: AsyncStream<Void>

    func waitUntilRunning() async {
        for await _ in started {}
        await Task.yield()
    }

    /// Closes the pool's connections.
    public func close() async {
        running.cancel()
        _ = await running.value
    }

    deinit { running.cancel() }

    /// Creates an empty database beside the one `adminURL` names and returns its URL (tests and
    /// benchmarks give each run a database of its own).
    public static func createDatabase(named name: String, adminURL: String) async throws -> String {
        precondition(name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }, "a plain database name")
        let admin = try PostgresStore(configuration: try PostgresURL(adminURL).configuration(maximumConnections: 1), logger: Logger(label: "nurture.postgres.admin"))
        await admin.waitUntilRunning()
        do {
            try await admin.execute(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"))
            await admin.close()
        } catch {
            await admin.close()
            throw error
        }
        guard var components = URLComponents(string: adminURL) else { throw PostgresStoreError("cannot read \(PostgresURL.redacted(adminURL))") }
        components.path = "/" + name
        return components.string!
    }

    // MARK: - Migrations

    /// Applies the migrations this database has not seen, each once even when several processes
    /// start together. Returns the versions applied now.
    @discardableResult
    public func migrate() async throws -> [Int] {
        try await withConnection { connection in
            try await connection.query("SELECT pg_advisory_lock(\(PostgresSchema.lockKey))", logger: logger)
            do {
                try await connection.query("""
                    CREATE TABLE IF NOT EXISTS schema_migration (version integer PRIMARY KEY, name text NOT NULL, applied_at double precision NOT NULL)
                    """, logger: logger)
                let applied = Set(try await connection.all("SELECT version FROM schema_migration", logger).map { try $0["version"].decode(Int.self) })
                var now: [Int] = []
                for migration in PostgresSchema.migrations where !applied.contains(migration.version) {
                    try await connection.query("BEGIN", logger: logger)
                    do {
                        for statement in PostgresSchema.statements(migration.sql) {
                            try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                        }
                        try await connection.query("""
                            INSERT INTO schema_migration (version, name, applied_at) VALUES (\(migration.version), \(migration.name), \(Date().timeIntervalSince1970))
                            """, logger: logger)
                        try await connection.query("COMMIT", logger: logger)
                    } catch {
                        _ = try? await connection.query("ROLLBACK", logger: logger)
                        throw error
                    }
                    now.append(migration.version)
                }
                try await connection.query("SELECT pg_advisory_unlock(\(PostgresSchema.lockKey))", logger: logger)
                return now
            } catch {
                _ = try? await connection.query("SELECT pg_advisory_unlock(\(PostgresSchema.lockKey))", logger: logger)
                throw error
            }
        }
    }

    /// The migrations applied to this database, by version.
    public func appliedMigrations() async throws -> [Int] {
        try await withConnection { connection in
            try await connection.all("SELECT version FROM schema_migration ORDER BY version", logger).map { try $0["version"].decode(Int.self) }
        }
    }

    /// Every use of the pool goes through here, so a server's refusal reaches callers as a
    /// readable `PostgresFailure` (message, SQLSTATE, detail; never the query's values).
    func withConnection<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        do {
            return try await client.withConnection { try await body($0) }
        } catch let error as PSQLError {
            throw PostgresFailure(error)
        }
    }

    func execute(_ query: PostgresQuery) async throws {
        _ = try await rows(query)
    }

    /// One transaction; one the server chose to abort (a deadlock, a serialization failure) is
    /// run again, since it wrote nothing.
    func transaction<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        var attempt = 0
        while true {
            attempt += 1
            do {
                return try await withConnection { connection in
                    try await connection.query("BEGIN", logger: logger)
                    do {
                        let value = try await body(connection)
                        try await connection.query("COMMIT", logger: logger)
                        return value
                    } catch {
                        _ = try? await connection.query("ROLLBACK", logger: logger)
                        throw error
                    }
                }
            } catch let failure as PostgresFailure where attempt < 4 && ["40P01", "40001"].contains(failure.sqlState ?? "") {
                continue
            }
        }
    }

    func rows(_ query: PostgresQuery) async throws -> [PostgresRandomAccessRow] {
        try await withConnection { try await $0.all(query, logger) }
    }

    // MARK: - Leads

    public func snapshots(_ keys: [LeadKey], window: HistoryWindow) async throws -> [LeadKey: LeadSnapshot] {
        guard !keys.isEmpty else { return [:] }
        let (ids, emails, phones) = try LeadKey.byKind(keys)
        return try await withConnection { connection in
            var leads: [String: PostgresRandomAccessRow] = [:]
            var byEmail: [String: String] = [:], byPhone: [String: String] = [:]
            for row in try await connection.all("SELECT * FROM lead WHERE id = ANY(\(ids)) OR email = ANY(\(emails))", logger) {
                let id = try row["id"].decode(String.self)
                leads[id] = row
                if let email = try row["email"].decode(String?.self) { byEmail[email] = id }
            }
            if !phones.isEmpty {
                // The earliest lead with each number: SMS replies carry only the number.
                for row in try await connection.all("SELECT DISTINCT ON (phone) * FROM lead WHERE phone = ANY(\(phones)) ORDER BY phone, created_at", logger) {
                    let id = try row["id"].decode(String.self)
                    leads[id] = row
                    byPhone[try row["phone"].decode(String.self)] = id
                }
            }
            let leadIDs = Array(leads.keys)
            var events: [String: [LeadEvent]] = [:]
            for row in try await connection.all("""
                SELECT lead_id, type, at, properties FROM event WHERE lead_id = ANY(\(leadIDs)) AND at >= \(window.eventsSince.timeIntervalSince1970) ORDER BY lead_id, at, seq
                """, logger) {
                events[try row["lead_id"].decode(String.self), default: []].append(try Self.event(row))
            }
            var sends: [String: [SendRecord]] = [:]
            for row in try await connection.all("""
                SELECT lead_id, channel, created_at, transactional, campaign_id, step_id, variant FROM outbox_message
                WHERE lead_id = ANY(\(leadIDs)) AND created_at >= \(window.sendsSince.timeIntervalSince1970) AND campaign_id != \(OutboxMessage.systemCampaign)
                """, logger) {
                guard let channel = MessageChannel(rawValue: try row["channel"].decode(String.self)) else { continue }
                sends[try row["lead_id"].decode(String.self), default: []].append(SendRecord(
                    channel: channel, at: Date(timeIntervalSince1970: try row["created_at"].decode(Double.self)), isTransactional: try row["transactional"].decode(Bool.self),
                    campaignID: try row["campaign_id"].decode(String.self), stepID: try row["step_id"].decode(String.self), variant: try row["variant"].decode(String?.self)))
            }
            var enrollments: [String: [Enrollment]] = [:]
            for row in try await connection.all("SELECT * FROM enrollment WHERE lead_id = ANY(\(leadIDs)) ORDER BY lead_id, enrolled_at, sequence", logger) {
                enrollments[try row["lead_id"].decode(String.self), default: []].append(try Self.enrollment(row))
            }
            let addresses = try leads.values.flatMap { row in [try row["email"].decode(String?.self), try row["phone"].decode(String?.self)].compactMap { $0 } }
            var suppressions: [String: [MessageChannel: Suppression]] = [:]
            for row in try await connection.all("SELECT address, channel, reason, scope FROM suppression WHERE address = ANY(\(addresses))", logger) {
                if let channel = MessageChannel(rawValue: try row["channel"].decode(String.self)) {
                    suppressions[try row["address"].decode(String.self), default: [:]][channel] = try Self.suppression(row)
                }
            }
            var snapshots: [LeadKey: LeadSnapshot] = [:]
            for key in keys {
                let id: String? = switch key {
                case .id(let id): leads[id] == nil ? nil : id
                case .email(let email): byEmail[email.lowercased()]
                case .phone(let phone): byPhone[phone]
                }
                guard let id, let row = leads[id] else { continue }
                let lead = try Self.lead(row)
                var leadSuppressions: [MessageChannel: Suppression] = [:]
                for address in [lead.email, lead.phone].compactMap({ $0 }) {
                    leadSuppressions.merge(suppressions[address.lowercased()] ?? [:]) { _, new in new }
                }
                snapshots[key] = LeadSnapshot(
                    lead: lead, scoring: try Self.scoreSnapshot(row), version: try row["version"].decode(Int.self),
                    leaseOwner: try row["lease_owner"].decode(String?.self), leaseUntil: try row["lease_until"].decode(Double?.self).map(Date.init(timeIntervalSince1970:)),
                    leaseToken: try row["lease_token"].decode(Int.self), events: events[id] ?? [], sends: sends[id] ?? [],
                    enrollments: enrollments[id] ?? [], suppressions: leadSuppressions)
            }
            return snapshots
        }
    }

    public func commit(_ changes: [LeadChange], rotationAdvance: Int, now: Date) async throws -> [CommitOutcome] {
        try await transaction { connection in
            // Changes carrying event ids can meet a duplicate after their other writes. They are
            // written together under one savepoint (a few round trips for the whole batch); only
            // when one of them met a stored id is that undone and each written again under a
            // savepoint of its own, so the duplicate's change alone writes nothing.
            var outcomes = [CommitOutcome](repeating: .conflict, count: changes.count)
            let carriesIDs = changes.map { change in change.events.contains { $0.clientID != nil } }
            let together = changes.indices.filter { !carriesIDs[$0] }
            for (index, outcome) in zip(together, try await Self.write(together.map { changes[$0] }, connection, now: now, logger: logger)) {
                outcomes[index] = outcome
            }
            let carrying = changes.indices.filter { carriesIDs[$0] }.sorted { changes[$0].lead.id < changes[$1].lead.id }
            if !carrying.isEmpty {
                // One statement cannot tell which of two rows with one id was the duplicate.
                let ids = carrying.flatMap { changes[$0].events.compactMap(\.clientID) }
                let batch: [CommitOutcome]
                if Set(ids).count == ids.count {
                    try await connection.query("SAVEPOINT carrying", logger: logger)
                    batch = try await Self.write(carrying.map { changes[$0] }, connection, now: now, logger: logger)
                } else {
                    batch = []
                }
                if batch.isEmpty || batch.contains(where: { if case .duplicateEvent = $0 { true } else { false } }) {
                    if !batch.isEmpty { try await connection.query("ROLLBACK TO SAVEPOINT carrying", logger: logger) }
                    for index in carrying {
                        try await connection.query("SAVEPOINT change", logger: logger)
                        let outcome = try await Self.write([changes[index]], connection, now: now, logger: logger)[0]
                        try await connection.query(outcome == .committed ? "RELEASE SAVEPOINT change" : "ROLLBACK TO SAVEPOINT change", logger: logger)
                        outcomes[index] = outcome
                    }
                } else {
                    try await connection.query("RELEASE SAVEPOINT carrying", logger: logger)
                    for (index, outcome) in zip(carrying, batch) { outcomes[index] = outcome }
                }
            }
            let createdWork = zip(changes, outcomes).contains { change, outcome in
                outcome == .committed && (!change.messages.isEmpty || change.enrollments.contains { $0.isActive && ($0.wakeAt ?? now) <= now })
            }
            if rotationAdvance != 0 {
                try await connection.query("""
                    INSERT INTO setting (key, value) VALUES ('owner.rotation', convert_to(\(String(rotationAdvance)), 'UTF8'))
                    ON CONFLICT (key) DO UPDATE SET value = convert_to((convert_from(setting.value, 'UTF8')::bigint + \(rotationAdvance))::text, 'UTF8')
                    """, logger: logger)
            }
            // Delivered when the transaction commits, so a woken worker finds the work there.
            if createdWork { try await connection.query("SELECT pg_notify(\(Self.workChannel), '')", logger: logger) }
            return outcomes
        }
    }

    public func rotationPosition() async throws -> Int {
        let rows = try await rows("SELECT convert_from(value, 'UTF8') AS position FROM setting WHERE key = 'owner.rotation'")
        return try rows.first.flatMap { Int(try $0["position"].decode(String.self)) } ?? 0
    }

    public func storedEventIDs(_ ids: [String]) async throws -> Set<String> {
        guard !ids.isEmpty else { return [] }
        try TextWithNUL.refuse(ids.map { ("event id", $0) })
        return Set(try await rows("SELECT client_id FROM event WHERE client_id = ANY(\(ids))").map { try $0["client_id"].decode(String.self) })
    }

    public func lead(id: String) async throws -> Lead? {
        try TextWithNUL.refuse([("lead", id)])
        return try await rows("SELECT * FROM lead WHERE id = \(id)").first.map(Self.lead)
    }

    public func lead(email: String) async throws -> Lead? {
        try TextWithNUL.refuse([("lead", email)])
        return try await rows("SELECT * FROM lead WHERE email = \(email.lowercased())").first.map(Self.lead)
    }

    public func leadIDs(matching filter: RankingFilter?, after: String?, limit: Int) async throws -> [String] {
        var binds = PostgresBindings()
        func bind(_ value: some PostgresDynamicTypeEncodable) -> String {
            binds.append(value)
            return "$\(binds.count)"
        }
        var conditions = ["id > \(bind(after ?? ""))"]
        if let filter { conditions += try Self.filterConditions(filter, &binds) }
        let sql = "SELECT id FROM lead WHERE \(conditions.joined(separator: " AND ")) ORDER BY id LIMIT \(bind(limit))"
        return try await rows(PostgresQuery(unsafeSQL: sql, binds: binds)).map { try $0["id"].decode(String.self) }
    }

    // MARK: - Due work

    public func claimDueLeads(now: Date, limit: Int, owner: String, leaseUntil: Date, excluding: Set<String>) async throws -> [LeadLease] {
        let moment = now.timeIntervalSince1970
        var leases: [LeadLease] = []
        var offset = 0
        let page = max(limit * 2, 64)
        // Due enrollments in wake order, a page at a time; of their leads, those free (or whose
        // lease expired) and not being claimed by another worker right now.
        while leases.count < limit {
            let candidates = try await rows("""
                SELECT lead_id FROM enrollment WHERE status = 'active' AND wake_at <= \(moment) ORDER BY wake_at LIMIT \(page) OFFSET \(offset)
                """).map { try $0["lead_id"].decode(String.self) }
            var unique: [String] = []
            var seen = excluding.union(leases.map(\.leadID))
            for id in candidates where seen.insert(id).inserted { unique.append(id) }
            if !unique.isEmpty {
                let taken = try await rows("""
                    UPDATE lead SET lease_owner = \(owner), lease_until = \(leaseUntil.timeIntervalSince1970), lease_token = lead.lease_token + 1
                    FROM (SELECT id FROM lead WHERE id = ANY(\(unique)) AND (lease_until IS NULL OR lease_until < \(moment) OR lease_owner = \(owner))
                          ORDER BY array_position(\(unique), id) LIMIT \(limit - leases.count) FOR UPDATE SKIP LOCKED) free
                    WHERE lead.id = free.id RETURNING lead.id, lead.lease_token
                    """)
                leases += try taken.map { LeadLease(leadID: try $0["id"].decode(String.self), token: try $0["lease_token"].decode(Int.self)) }
            }
            if candidates.count < page { break }
            offset += page
        }
        return leases
    }

    public func dueLeadIDs(at now: Date, limit: Int) async throws -> [String] {
        var ids: [String] = []
        var seen: Set<String> = []
        for row in try await rows("""
            SELECT lead_id FROM enrollment WHERE status = 'active' AND wake_at <= \(now.timeIntervalSince1970) ORDER BY wake_at LIMIT \(limit * 4)
            """) {
            let id = try row["lead_id"].decode(String.self)
            if ids.count < limit, seen.insert(id).inserted { ids.append(id) }
        }
        return ids
    }

    /// Waits until a commit creates due work (a `NOTIFY` on the work channel) or `timeout` passes;
    /// polling stays the fallback for work that becomes due with time.
    public func waitForWork(timeout: Duration) async {
        let client = self.client
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                try? await client.withConnection { connection in
                    try await connection.listen(on: Self.workChannel) { notifications in
                        for try await _ in notifications { break }
                    }
                }
            }
            group.addTask { try? await Task.sleep(for: timeout) }
            _ = await group.next()
            group.cancelAll()
        }
    }

    // MARK: - Outbox

    public func claimMessages(
        now: Date, limit: Int, owner: String, leaseUntil: Date, channels: Set<MessageChannel>?, sendsSince: Date,
        decide: @Sendable (ClaimCandidate) -> ClaimDecision
    ) async throws -> ClaimBatch {
        let moment = now.timeIntervalSince1970
        let names = (channels ?? [.email, .sms, .sales]).map(\.rawValue).sorted()
        return try await transaction { connection in
            // The messages are picked and locked alone, walking the partial index to the limit,
            // and only then joined to their content, lead and suppression. With the joins in the
            // same query the planner, its statistics lagging a queue that fills and drains, chose
            // to hash-join the whole content table: 15,000 buffers and 19 ms per claim, 80% of
            // the server's time in a run-due.
            // One channel at a time: each is a range of its own partial index, walked in order.
            func claim(_ condition: String, order: String) -> String {
                """
                WITH picked AS MATERIALIZED (
                    SELECT * FROM outbox_message WHERE \(condition) AND channel = $2
                    ORDER BY \(order) LIMIT $3 FOR UPDATE SKIP LOCKED)
                SELECT m.*, c.subject, c.preview, c.payload, l.timezone AS lead_timezone, s.reason, s.scope FROM picked m
                JOIN outbox_content c ON c.id = m.id JOIN lead l ON l.id = m.lead_id
                LEFT JOIN suppression s ON s.address = lower(m.address) AND s.channel = m.channel
                ORDER BY \(order.split(separator: ",").map { "m.\($0.trimmingCharacters(in: .whitespaces))" }.joined(separator: ", "))
                """
            }
            var rows: [PostgresRandomAccessRow] = []
            for name in names where rows.count < limit {
                rows += try await connection.all(PostgresQuery(
                    unsafeSQL: claim("status = 'pending' AND next_attempt_at <= $1", order: "next_attempt_at, created_at, id"),
                    binds: Self.binds(moment, name, limit - rows.count)), logger)
                if rows.count < limit {
                    rows += try await connection.all(PostgresQuery(
                        unsafeSQL: claim("status = 'sending' AND lease_until <= $1", order: "lease_until, id"),
                        binds: Self.binds(moment, name, limit - rows.count)), logger)
                }
            }
            let candidates = try rows.map { row in
                (message: try Self.message(row), timeZone: try row["lead_timezone"].decode(String.self),
                 suppression: try row["reason"].decode(String?.self) == nil ? nil : try Self.suppression(row))
            }
            // The sends a cap counts, for every lead of the claim in one query; messages this
            // claim takes join them as in flight as they are taken.
            let counted = candidates.filter { $0.message.countsTowardCaps }
            var sends = try await Self.sendsThatCount(leadIDs: Array(Set(counted.map(\.message.leadID))), excluding: candidates.map(\.message.id),
                                                      since: sendsSince, now: now, connection, logger)
            // Read in the claim's transaction: a pause committed before it holds every message it
            // takes. FOR SHARE makes a resume wait until the claim commits, so the resume then
            // sees (and moves back) what the claim parks.
            let paused = candidates.isEmpty ? [] : Set(try await connection.all("SELECT campaign_id FROM campaign_pause FOR SHARE", logger)
                .map { try $0["campaign_id"].decode(String.self) })
            var claimed: [OutboxMessage] = []
            for candidate in candidates {
                var message = candidate.message
                if paused.contains(message.campaignID) {
                    // Queued before the pause reached the work that produced it: parked with the rest.
                    try await connection.query("""
                        UPDATE outbox_message SET status = 'pending', next_attempt_at = \(CampaignPause.parked(message.nextAttemptAt).timeIntervalSince1970),
                            lease_owner = NULL, lease_until = NULL WHERE id = \(message.id)
                        """, logger: logger)
                    continue
                }
                let key = SendKey(leadID: message.leadID, channel: message.channel)
                let isCounted = message.countsTowardCaps
                switch decide(ClaimCandidate(message: message, timeZone: candidate.timeZone, suppression: candidate.suppression,
                                             sends: isCounted ? sends[key] ?? [] : [])) {
                case .send: break
                case .suppressed(let note):
                    try await connection.query("""
                        UPDATE outbox_message SET status = 'suppressed', last_error = \(note), lease_owner = NULL, lease_until = NULL WHERE id = \(message.id)
                        """, logger: logger)
                    continue
                case .deferred(let until, let reason):
                    try await connection.query("""
                        UPDATE outbox_message SET status = 'pending', next_attempt_at = \(until.timeIntervalSince1970), last_error = \("deferred: \(reason)"),
                            lease_owner = NULL, lease_until = NULL WHERE id = \(message.id)
                        """, logger: logger)
                    continue
                }
                message.status = .sending
                message.attempts += 1
                message.leaseOwner = owner
                message.leaseUntil = leaseUntil
                if isCounted { sends[key, default: []].append(SendRecord(channel: message.channel, at: now, isTransactional: false)) }
                claimed.append(message)
            }
            if !claimed.isEmpty {
                try await connection.query("""
                    UPDATE outbox_message SET status = 'sending', attempts = attempts + 1, lease_owner = \(owner),
                        lease_until = \(leaseUntil.timeIntervalSince1970) WHERE id = ANY(\(claimed.map(\.id)))
                    """, logger: logger)
            }
            return ClaimBatch(messages: claimed, examined: rows.count)
        }
    }

    static func binds(_ moment: Double, _ channel: String, _ limit: Int) -> PostgresBindings {
        var binds = PostgresBindings()
        binds.append(moment)
        binds.append(channel)
        binds.append(limit)
        return binds
    }

    /// What a frequency cap counts at claim time: the leads' marketing messages that really left
    /// (at the time they left), and those in flight elsewhere, by lead and channel.
    static func sendsThatCount(
        leadIDs: [String], excluding: [String], since: Date, now: Date, _ connection: PostgresConnection, _ logger: Logger
    ) async throws -> [SendKey: [SendRecord]] {
        guard !leadIDs.isEmpty else { return [:] }
        var sends: [SendKey: [SendRecord]] = [:]
        // The leads' messages first, by the lead index alone: with the status conditions beside
        // it the planner, its statistics lagging the outbox, ANDed in a walk of every sent
        // message (3.6 ms a claim, the claim's costliest statement).
        for row in try await connection.all("""
            WITH theirs AS MATERIALIZED (
                SELECT id, lead_id, channel, status, sent_at, transactional, campaign_id FROM outbox_message WHERE lead_id = ANY(\(leadIDs)))
            SELECT lead_id, channel, status, sent_at FROM theirs
            WHERE NOT transactional AND campaign_id != \(OutboxMessage.systemCampaign) AND NOT (id = ANY(\(excluding)))
              AND ((status = 'sent' AND sent_at > \(since.timeIntervalSince1970)) OR status = 'sending')
            """, logger) {
            guard let channel = MessageChannel(rawValue: try row["channel"].decode(String.self)) else { continue }
            let sent = try row["status"].decode(String.self) == "sent"
            let at = try row["sent_at"].decode(Double?.self)
            sends[SendKey(leadID: try row["lead_id"].decode(String.self), channel: channel), default: []]
                .append(SendRecord(channel: channel, at: sent ? Date(timeIntervalSince1970: at ?? 0) : now, isTransactional: false))
        }
        return sends
    }

    public func finish(_ attempts: [FinishedAttempt], owner: String, now: Date) async throws -> [Bool] {
        try await transaction { connection in
            var kept = [Bool](repeating: false, count: attempts.count)
            // Sends, the bulk of every batch, in one statement; the rest one by one.
            let sent = attempts.indices.filter { if case .sent = attempts[$0].result { true } else { false } }
            if !sent.isEmpty {
                let recorded = Set(try await connection.all("""
                    UPDATE outbox_message m SET status = 'sent', sent_at = \(now.timeIntervalSince1970), last_error = NULL, lease_owner = NULL, lease_until = NULL
                    FROM unnest(\(sent.map { attempts[$0].messageID }), \(sent.map { attempts[$0].attempt })) AS f(id, attempt)
                    WHERE m.id = f.id AND m.status = 'sending' AND m.lease_owner = \(owner) AND m.attempts = f.attempt RETURNING m.id
                    """, logger).map { try $0["id"].decode(String.self) })
                var history: [(String, LeadEvent)] = []
                for index in sent where recorded.contains(attempts[index].messageID) {
                    kept[index] = true
                    if let entry = attempts[index].historyEvent { history.append((entry.leadID, entry.event)) }
                }
                try await connection.insert(into: "event", columns: ["lead_id", "type", "at", "properties"], rows: history, logger) { entry, binds in
                    binds.append(entry.0)
                    binds.append(entry.1.type)
                    binds.append(entry.1.at.timeIntervalSince1970)
                    binds.append(entry.1.properties.isEmpty ? "{}" : FlatJSON.json(entry.1.properties))
                }
            }
            let others = Set(attempts.indices).subtracting(sent).sorted()
            for index in others {
                let attempt = attempts[index]
                var binds = PostgresBindings()
                binds.append(attempt.messageID)
                binds.append(owner)
                binds.append(attempt.attempt)
                let set: String
                switch attempt.result {
                case .sent: continue
                case .retry(let at, let error):
                    binds.append(at.timeIntervalSince1970)
                    binds.append(error)
                    set = "status = 'pending', next_attempt_at = $4, last_error = $5"
                case .dead(let error):
                    binds.append(error)
                    set = "status = 'dead', last_error = $4"
                case .suppressed(let reason):
                    binds.append(reason)
                    set = "status = 'suppressed', last_error = $4"
                }
                let sql = "UPDATE outbox_message SET \(set), lease_owner = NULL, lease_until = NULL "
                    + "WHERE id = $1 AND status = 'sending' AND lease_owner = $2 AND attempts = $3 RETURNING 1"
                kept[index] = !(try await connection.all(PostgresQuery(unsafeSQL: sql, binds: binds), logger)).isEmpty
            }
            return kept
        }
    }

    public func release(_ messages: [(id: String, attempt: Int)], owner: String) async throws {
        try await transaction { connection in
            for (id, attempt) in messages {
                try await connection.query("""
                    UPDATE outbox_message SET status = 'pending', attempts = attempts - 1, lease_owner = NULL, lease_until = NULL
                    WHERE id = \(id) AND status = 'sending' AND lease_owner = \(owner) AND attempts = \(attempt)
                    """, logger: logger)
            }
        }
    }

    public func messages(status: OutboxMessage.Status?, limit: Int) async throws -> [OutboxMessage] {
        let rows = if let status {
            try await rows("SELECT m.*, c.subject, c.preview, c.payload FROM outbox_message m JOIN outbox_content c ON c.id = m.id WHERE m.status = \(status.rawValue) ORDER BY m.created_at DESC, m.id LIMIT \(limit)")
        } else {
            try await rows("SELECT m.*, c.subject, c.preview, c.payload FROM outbox_message m JOIN outbox_content c ON c.id = m.id ORDER BY m.created_at DESC, m.id LIMIT \(limit)")
        }
        return try rows.map(Self.message)
    }

    public func message(id: String) async throws -> OutboxMessage? {
        try TextWithNUL.refuse([("message id", id)])
        return try await rows("SELECT m.*, c.subject, c.preview, c.payload FROM outbox_message m JOIN outbox_content c ON c.id = m.id WHERE m.id = \(id)").first.map(Self.message)
    }

    public func retryDeadLetters(ids: [String]?, now: Date) async throws -> Int {
        let moment = now.timeIntervalSince1970
        let reset = "UPDATE outbox_message SET status = 'pending', attempts = 0, next_attempt_at = $1, lease_owner = NULL, lease_until = NULL WHERE status = 'dead'"
        var binds = PostgresBindings()
        binds.append(moment)
        if let ids {
            binds.append(ids)
            return try await rows(PostgresQuery(unsafeSQL: reset + " AND id = ANY($2) RETURNING 1", binds: binds)).count
        }
        let count = try await rows(PostgresQuery(unsafeSQL: reset + " RETURNING 1", binds: binds)).count
        if count > 0 { try await execute("SELECT pg_notify(\(Self.workChannel), '')") }
        return count
    }

    public func oldestDueMessage(at now: Date) async throws -> Date? {
        // One index range per channel, the oldest of their first rows.
        let moment = now.timeIntervalSince1970
        let firsts = MessageChannel.allCases.map { channel in
            """
            (SELECT next_attempt_at FROM outbox_message WHERE status = 'pending' AND channel = '\(channel.rawValue)' AND next_attempt_at <= $1
             ORDER BY next_attempt_at, created_at, id LIMIT 1)
            """
        }
        var binds = PostgresBindings()
        binds.append(moment)
        return try await rows(PostgresQuery(unsafeSQL: "SELECT min(due) AS due FROM (" + firsts.map { "SELECT \($0) AS due" }.joined(separator: " UNION ALL ") + ") firsts",
                                            binds: binds)).first.flatMap { try $0["due"].decode(Double?.self) }.map(Date.init(timeIntervalSince1970:))
    }

    /// Messages sent so far, from the results' counters: what a benchmark polls while it runs,
    /// without counting the outbox (a scan of it every poll had cost the server 7% of a core).
    public func sentMessageCount() async throws -> Int {
        try await rows("SELECT coalesce(sum(count), 0)::bigint AS sent FROM campaign_counter WHERE metric = 'sent'").first?["sent"].decode(Int.self) ?? 0
    }

    public func outboxCounts() async throws -> [String: Int] {
        var counts: [String: Int] = [:]
        for row in try await rows("SELECT status, COUNT(*) AS n FROM outbox_message GROUP BY status") {
            counts[try row["status"].decode(String.self)] = try row["n"].decode(Int.self)
        }
        return counts
    }

    // MARK: - Suppressions and secrets

    public func suppress(address: String, channel: MessageChannel, _ suppression: Suppression, at: Date) async throws {
        try TextWithNUL.refuse([("address", address), ("reason", suppression.reason)])
        try await transaction { connection in
            // FOR UPDATE locks no row that is not there yet: two first suppressions of one address
            // (a complaint and an unsubscribe) take turns on a lock named by it instead.
            _ = try await connection.all("SELECT pg_advisory_xact_lock(hashtext(\(address.lowercased() + "|" + channel.rawValue)))", logger)
            let existing = try await connection.all(
                "SELECT reason, scope FROM suppression WHERE address = \(address.lowercased()) AND channel = \(channel.rawValue) FOR UPDATE", logger
            ).first.map(Self.suppression)
            try await Self.save(SuppressionChange(address: address, channel: channel, suppression: existing.map { $0.adding(suppression) } ?? suppression),
                                connection, at: at, logger: logger)
        }
    }

    public func suppressions(address: String) async throws -> [MessageChannel: Suppression] {
        try TextWithNUL.refuse([("address", address)])
        var found: [MessageChannel: Suppression] = [:]
        for row in try await rows("SELECT channel, reason, scope FROM suppression WHERE address = \(address.lowercased())") {
            if let channel = MessageChannel(rawValue: try row["channel"].decode(String.self)) { found[channel] = try Self.suppression(row) }
        }
        return found
    }

    public func suppressionPage(after: SuppressionRecord?, limit: Int) async throws -> [SuppressionRecord] {
        try await rows("""
            SELECT address, channel, reason, scope, at FROM suppression
            WHERE (address, channel) > (\(after?.address.lowercased() ?? ""), \(after?.channel.rawValue ?? "")) ORDER BY address, channel LIMIT \(limit)
            """).compactMap { row in
            guard let channel = MessageChannel(rawValue: try row["channel"].decode(String.self)) else { return nil }
            return SuppressionRecord(address: try row["address"].decode(String.self), channel: channel, suppression: try Self.suppression(row),
                                     at: Date(timeIntervalSince1970: try row["at"].decode(Double.self)))
        }
    }

    public func liftSuppression(address: String, channel: MessageChannel) async throws -> Bool {
        try TextWithNUL.refuse([("address", address)])
        return try await !rows("DELETE FROM suppression WHERE address = \(address.lowercased()) AND channel = \(channel.rawValue) RETURNING 1").isEmpty
    }

    static func suppression(_ row: PostgresRandomAccessRow) throws -> Suppression {
        Suppression(.init(stored: try row["scope"].decode(String.self)), reason: try row["reason"].decode(String.self))
    }

    /// Writes an address's suppression on a channel as it now is, or deletes it when lifted.
    static func save(_ change: SuppressionChange, _ connection: PostgresConnection, at: Date, logger: Logger) async throws {
        let address = change.address.lowercased(), channel = change.channel.rawValue
        if let suppression = change.suppression {
            try await connection.query("""
                INSERT INTO suppression (address, channel, reason, scope, at) VALUES (\(address), \(channel), \(suppression.reason), \(suppression.scope.stored), \(at.timeIntervalSince1970))
                ON CONFLICT (address, channel) DO UPDATE SET reason = excluded.reason, scope = excluded.scope, at = excluded.at
                """, logger: logger)
        } else {
            try await connection.query("DELETE FROM suppression WHERE address = \(address) AND channel = \(channel)", logger: logger)
        }
    }

    public func secret(named name: String) async throws -> Data {
        var bytes = [UInt8](repeating: 0, count: 32)
        var generator = SystemRandomNumberGenerator()
        for index in bytes.indices { bytes[index] = UInt8.random(in: .min ... .max, using: &generator) }
        let key = "secret." + name
        // The first process to ask creates it; every other one reads the same value.
        try await execute("INSERT INTO setting (key, value) VALUES (\(key), \(ByteBuffer(bytes: bytes))) ON CONFLICT (key) DO NOTHING")
        guard let secret = try await setting(named: key) else { throw PostgresStoreError("secret \(name) vanished") }
        return secret
    }

    public func setting(named key: String) async throws -> Data? {
        try await withConnection { connection in try await Self.setting(key, connection, logger) }
    }

    public func setSetting(named key: String, to value: Data) async throws {
        try await withConnection { connection in try await Self.setSetting(key, to: value, connection, logger) }
    }

    static func setting(_ key: String, _ connection: PostgresConnection, _ logger: Logger) async throws -> Data? {
        guard let row = try await connection.all("SELECT value FROM setting WHERE key = \(key)", logger).first else { return nil }
        return Data(try row["value"].decode(ByteBuffer.self).readableBytesView)
    }

    static func setSetting(_ key: String, to value: Data, _ connection: PostgresConnection, _ logger: Logger) async throws {
        try await connection.query("""
            INSERT INTO setting (key, value) VALUES (\(key), \(ByteBuffer(bytes: value))) ON CONFLICT (key) DO UPDATE SET value = excluded.value
            """, logger: logger)
    }

    // MARK: - Reads

    public func rankingPage(by order: RankingOrder, filter: RankingFilter, after cursor: RankingCursor?, limit: Int) async throws -> [RankingRow] {
        let query = try Self.rankingPageQuery(order, filter: filter, after: cursor, limit: limit)
        return try await rows(query).map { RankingRow(id: try $0["id"].decode(String.self), scoring: try Self.scoreSnapshot($0)) }
    }

    /// A filter's stages and segments as parameterised SQL; names are checked against the lead's
    /// columns or bound as a JSON key, so no name can inject SQL.
    static func filterConditions(_ filter: RankingFilter, _ binds: inout PostgresBindings) throws -> [String] {
        func bind(_ value: some PostgresDynamicTypeEncodable) -> String {
            binds.append(value)
            return "$\(binds.count)"
        }
        var conditions = ["stage = ANY(\(bind(filter.stages.map(\.rawValue).sorted())))"]
        for segment in filter.segments {
            let name = segment.name.lowercased()
            let columns: Set<String> = ["email", "phone", "first_name", "last_name", "company", "job_title", "industry", "country", "timezone", "source", "owner"]
            if columns.contains(name) {
                conditions.append("lower(\(name)) = lower(\(bind(segment.value)))")
            } else if name == "tag" {
                conditions.append("tags::jsonb ? \(bind(segment.value))")
            } else if name == "company_size" {
                conditions.append("company_size::text = \(bind(segment.value))")
            } else {
                guard !name.isEmpty, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }) else { throw UnknownSegment(name: segment.name) }
                conditions.append("lower(attributes::jsonb ->> \(bind(name))) = lower(\(bind(segment.value)))")
            }
        }
        return conditions
    }

    static func rankingPageQuery(_ order: RankingOrder, filter: RankingFilter, after cursor: RankingCursor?, limit: Int) throws -> PostgresQuery {
        var binds = PostgresBindings()
        func bind(_ value: some PostgresDynamicTypeEncodable) -> String {
            binds.append(value)
            return "$\(binds.count)"
        }
        var conditions = try filterConditions(filter, &binds)
        let column = order == .fixedPoints ? "score_fixed" : "score_rank"
        if order == .gainsRank { conditions.append("score_rank IS NOT NULL") }
        if let cursor {
            let value = bind(cursor.value)
            conditions.append("\(column) <= \(value) AND NOT (\(column) = \(value) AND id <= \(bind(cursor.id)))")
        }
        let sql = "SELECT \(rankingColumns) FROM lead WHERE \(conditions.joined(separator: " AND ")) ORDER BY \(column) DESC, id LIMIT \(bind(limit))"
        return PostgresQuery(unsafeSQL: sql, binds: binds)
    }

    static let rankingColumns = "id, stage, score_fixed, score_gains, score_losses, score_rank, scored_at, last_activity_at, score_version, score_thresholds"

    public func latestEvents(leadID: String, limit: Int) async throws -> [LeadEvent] {
        try await rows("SELECT type, at, properties FROM event WHERE lead_id = \(leadID) ORDER BY at DESC, seq DESC LIMIT \(limit)").map(Self.event)
    }

    public func latestMessages(leadID: String, limit: Int) async throws -> [OutboxMessage] {
        try await rows("""
            SELECT m.*, c.subject, c.preview, c.payload FROM outbox_message m JOIN outbox_content c ON c.id = m.id
            WHERE m.lead_id = \(leadID) ORDER BY m.created_at DESC, m.id LIMIT \(limit)
            """).map(Self.message)
    }

    public func timeZoneSources() async throws -> [TimeZoneSource: Int] {
        var sources: [TimeZoneSource: Int] = [:]
        for row in try await rows("SELECT timezone_source, COUNT(*) AS n FROM lead GROUP BY 1") {
            sources[TimeZoneSource(rawValue: try row["timezone_source"].decode(String.self)) ?? .given, default: 0] += try row["n"].decode(Int.self)
        }
        return sources
    }

    public func scoreVersions() async throws -> [String: Int] {
        var versions: [String: Int] = [:]
        for row in try await rows("SELECT COALESCE(score_version, '') AS version, COUNT(*) AS n FROM lead GROUP BY 1") {
            versions[try row["version"].decode(String.self)] = try row["n"].decode(Int.self)
        }
        return versions
    }

    public func counts() async throws -> StoreCounts {
        var counts = StoreCounts()
        let row = try await rows("""
            SELECT (SELECT COUNT(*) FROM lead) AS leads, (SELECT COUNT(*) FROM event) AS events,
                   (SELECT COUNT(*) FROM enrollment WHERE status = 'active') AS active
            """)[0]
        counts.leads = try row["leads"].decode(Int.self)
        counts.events = try row["events"].decode(Int.self)
        counts.activeEnrollments = try row["active"].decode(Int.self)
        counts.messagesByStatus = try await outboxCounts()
        return counts
    }

    /// A run-time setting as the store's connections see it.
    public func setting(_ name: String) async throws -> String? {
        try await rows("SELECT current_setting(\(name)) AS value").first?["value"].decode(String.self)
    }

    /// `EXPLAIN` of the queries that must read only what they return, over the current data at
    /// `now` (PostgreSQL plans by the values: pass an instant at which the backlog is due).
    public func queryPlans(at now: Date = Date()) async throws -> [String: [String]] {
        func plan(_ query: PostgresQuery) async throws -> [String] {
            try await rows(PostgresQuery(unsafeSQL: "EXPLAIN " + query.sql, binds: query.binds)).map { try $0["QUERY PLAN"].decode(String.self) }
        }
        let prospects = RankingFilter(stages: Set(Stage.allCases.filter { $0 != .customer }))
        let cursor = RankingCursor(value: 10, id: "lead_x")
        return [
            "claim": try await plan(PostgresQuery(unsafeSQL: """
                SELECT m.id FROM outbox_message m WHERE m.status = 'pending' AND m.next_attempt_at <= $1 AND m.channel = $2
                ORDER BY m.next_attempt_at, m.created_at, m.id LIMIT $3 FOR UPDATE OF m SKIP LOCKED
                """, binds: Self.binds(now.timeIntervalSince1970, "email", 512))),
            "due leads": try await plan("SELECT lead_id FROM enrollment WHERE status = 'active' AND wake_at <= \(now.timeIntervalSince1970) ORDER BY wake_at LIMIT \(512)"),
            "ranking by fixed points": try await plan(try Self.rankingPageQuery(.fixedPoints, filter: prospects, after: cursor, limit: 512)),
            "ranking by behaviour": try await plan(try Self.rankingPageQuery(.gainsRank, filter: prospects, after: cursor, limit: 512)),
        ]
    }
}

/// What PostgreSQL (or the connection to it) refused, in words: PSQLError describes itself only
/// as "Generic description to prevent accidental leakage"; this keeps the server's message and
/// SQLSTATE, and leaves the query's values out.
public struct PostgresFailure: Error, CustomStringConvertible {
    public let description: String
    /// The SQLSTATE, e.g. 40001 for a serialization failure; nil when the server sent none.
    public let sqlState: String?

    init(_ error: PSQLError) {
        sqlState = error.serverInfo?[.sqlState]
        if let server = error.serverInfo, let message = server[.message] {
            var text = "PostgreSQL: \(message)"
            if let state = server[.sqlState] { text += " (SQLSTATE \(state))" }
            if let detail = server[.detail] { text += ": \(detail)" }
            description = text
        } else {
            description = "PostgreSQL connection: \(error.code)"
        }
    }
}

struct PostgresStoreError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

extension PostgresConnection {
    func all(_ query: PostgresQuery, _ logger: Logger) async throws -> [PostgresRandomAccessRow] {
        var rows: [PostgresRandomAccessRow] = []
        for try await row in try await self.query(query, logger: logger) { rows.append(row.makeRandomAccess()) }
        return rows
    }
}
