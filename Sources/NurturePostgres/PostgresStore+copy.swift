import Foundation
import NurtureDSL
public import NurtureStorage
import PostgresNIO

/// PostgreSQL as the target of `nurture migrate --to`: each batch one multi-row INSERT per table,
/// values bound, never spliced into the SQL.
extension PostgresStore: CopyTarget {
    static let copyTables: [CopyTable: String] = [.leads: "lead", .events: "event", .enrollments: "enrollment", .messages: "outbox_message",
                                                  .suppressions: "suppression", .settings: "setting", .pauses: "campaign_pause",
                                                  .decisions: "experiment_decision", .journal: "campaign_journal", .conversions: "conversion",
                                                  .stepFacts: "step_fact", .privacyRequests: "privacy_request"]

    public func copyCounts() async throws -> [CopyTable: Int] {
        var counts: [CopyTable: Int] = [:]
        for (table, name) in Self.copyTables {
            counts[table] = try await rows(PostgresQuery(unsafeSQL: "SELECT COUNT(*) AS n FROM \(name)")).first.map { try $0["n"].decode(Int.self) } ?? 0
        }
        return counts
    }

    public func eraseForCopy() async throws {
        try await execute("TRUNCATE lead, event, enrollment, outbox_message, outbox_content, suppression, setting, campaign_counter, campaign_pause, experiment_decision, campaign_journal, conversion, step_fact, privacy_request")
    }

    public func writeCopy(_ rows: CopyRows) async throws {
        guard rows.count > 0 else { return }
        try await transaction { connection in
            switch rows {
            case .leads(let leads):
                try await connection.insert(into: "lead", columns: Self.leadColumns.map(\.name) + ["created_at", "version"], rows: leads, logger) { row, binds in
                    Self.bindLead(row.lead, row.scoring, now: row.updatedAt, &binds)
                    binds.append(row.createdAt.timeIntervalSince1970)
                    binds.append(row.version)
                }
            case .events(let events):
                try await connection.insert(into: "event", columns: ["seq", "lead_id", "type", "at", "properties", "client_id"], rows: events, logger) { row, binds in
                    binds.append(row.seq); binds.append(row.leadID); binds.append(row.event.type); binds.append(row.event.at.timeIntervalSince1970)
                    binds.append(row.event.properties.isEmpty ? "{}" : FlatJSON.json(row.event.properties)); binds.append(row.clientID)
                }
            case .enrollments(let enrollments):
                try await connection.insert(into: "enrollment", columns: [
                    "lead_id", "campaign_id", "sequence", "status", "step_id", "phase", "wake_at", "enrolled_at", "ended_at", "end_reason",
                    "variants", "trigger", "messages_produced",
                ], rows: enrollments, logger) { row, binds in Self.bindEnrollment(row, now: Date(), &binds) }
            case .messages(let messages):
                try await connection.insert(into: "outbox_message", columns: [
                    "id", "lead_id", "campaign_id", "step_id", "channel", "address", "variant", "transactional", "created_at", "status", "attempts",
                    "next_attempt_at", "last_error", "lease_owner", "lease_until", "sent_at", "delivery", "delivery_at",
                ] + CampaignCounter.firstMarks.map(\.column), rows: messages, logger) { row, binds in
                    let message = row.message
                    binds.append(message.id); binds.append(message.leadID); binds.append(message.campaignID); binds.append(message.stepID)
                    binds.append(message.channel.rawValue); binds.append(message.address); binds.append(message.variant); binds.append(message.isTransactional)
                    binds.append(message.createdAt.timeIntervalSince1970); binds.append(message.status.rawValue); binds.append(message.attempts)
                    binds.append(message.nextAttemptAt.timeIntervalSince1970); binds.append(message.lastError); binds.append(message.leaseOwner)
                    binds.append(message.leaseUntil?.timeIntervalSince1970); binds.append(message.sentAt?.timeIntervalSince1970); binds.append(message.delivery)
                    binds.append(row.deliveryAt?.timeIntervalSince1970)
                    for mark in CampaignCounter.firstMarks { binds.append(row.marks[mark.column]?.timeIntervalSince1970) }
                }
                try await connection.insert(into: "outbox_content", columns: ["id", "subject", "preview", "payload"], rows: messages, logger) { row, binds in
                    binds.append(row.message.id); binds.append(row.message.subject); binds.append(row.message.preview); binds.append(row.message.payload)
                }
            case .suppressions(let suppressions):
                try await connection.insert(into: "suppression", columns: ["address", "channel", "reason", "scope", "at"], rows: suppressions, logger) { row, binds in
                    binds.append(row.address.lowercased()); binds.append(row.channel); binds.append(row.reason); binds.append(row.scope)
                    binds.append(row.at.timeIntervalSince1970)
                }
            case .settings(let settings):
                try await connection.insert(into: "setting", columns: ["key", "value"], rows: settings, logger) { row, binds in
                    binds.append(row.key); binds.append(ByteBuffer(bytes: row.value))
                }
            case .pauses(let pauses):
                try await connection.insert(into: "campaign_pause", columns: ["campaign_id", "at", "reason", "paused_by", "notice_sent_at"], rows: pauses, logger) { row, binds in
                    binds.append(row.campaignID); binds.append(row.at.timeIntervalSince1970); binds.append(row.reason); binds.append(row.by)
                    binds.append(row.noticeSentAt?.timeIntervalSince1970)
                }
            case .decisions(let decisions):
                try await connection.insert(into: "experiment_decision", columns: ["campaign_id", "step_id", "variant", "at", "decided_by", "figures"],
                                            rows: decisions, logger) { row, binds in
                    binds.append(row.campaignID); binds.append(row.stepID); binds.append(row.variant); binds.append(row.at.timeIntervalSince1970)
                    binds.append(row.by); binds.append(FlatJSON.json(row.figures))
                }
            case .stepFacts(let facts):
                try await connection.insert(into: "step_fact", columns: ["lead_id", "campaign_id", "step_id", "variant", "channel", "kind", "reason", "at"],
                                            rows: facts, logger) { row, binds in
                    binds.append(row.leadID); binds.append(row.campaignID); binds.append(row.stepID); binds.append(row.variant); binds.append(row.channel.rawValue)
                    binds.append(row.kind); binds.append(row.reason); binds.append(row.at.timeIntervalSince1970)
                }
            case .conversions(let conversions):
                try await connection.insert(into: "conversion", columns: ["lead_id", "campaign_id", "step_id", "variant", "channel", "goal", "value", "at"],
                                            rows: conversions, logger) { row, binds in
                    binds.append(row.leadID); binds.append(row.campaignID); binds.append(row.stepID); binds.append(row.variant)
                    binds.append(row.channel.rawValue); binds.append(row.goal); binds.append(row.value); binds.append(row.at.timeIntervalSince1970)
                }
            case .privacyRequests(let entries):
                try await connection.insert(into: "privacy_request", columns: ["at", "action", "lead_id", "actor", "counts"], rows: entries, logger) { row, binds in
                    Self.bind(row, &binds)
                }
            case .journal(let entries):
                try await connection.insert(into: "campaign_journal", columns: ["campaign_id", "type", "at", "properties"], rows: entries, logger) { row, binds in
                    binds.append(row.campaignID); binds.append(row.type); binds.append(row.at.timeIntervalSince1970); binds.append(FlatJSON.json(row.properties))
                }
            }
        }
    }

    public func finishCopy() async throws {
        // The counters are counted afresh from the rows as copied: the inserts counted only
        // entries, endings and queued messages, not what happened to the messages since.
        try await transaction { connection in
            try await connection.query("DELETE FROM campaign_counter", logger: logger)
            for statement in PostgresSchema.recountInto + PostgresSchema.laterFactsRecountInto {
                try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
            }
        }
        // Events keep their order numbers; new ones continue after the highest.
        try await execute("SELECT setval(pg_get_serial_sequence('event', 'seq'), GREATEST(COALESCE((SELECT MAX(seq) FROM event), 0), 1))")
        try await execute("ANALYZE")
    }
}

extension PostgresConnection {
    /// One INSERT of many rows; the batch is split so no statement binds more than PostgreSQL's
    /// 65,535 parameters.
    func insert<Row>(into table: String, columns: [String], rows: [Row], _ logger: Logger, bind: (Row, inout PostgresBindings) -> Void) async throws {
        _ = try await many("INSERT INTO \(table) (\(columns.joined(separator: ", "))) VALUES ", columns: columns.count, rows: rows, then: "", logger, bind: bind)
    }

    /// `head` followed by a VALUES list of `rows` (each bound by `bind`, each placeholder cast to
    /// `types` when given, so NULLs and VALUES in a FROM know their type) and `tail`, in as many
    /// statements as the parameter limit needs; the rows all of them returned.
    func many<Row>(
        _ head: String, columns: Int, types: [String]? = nil, rows: [Row], then tail: String, _ logger: Logger, bind: (Row, inout PostgresBindings) -> Void
    ) async throws -> [PostgresRandomAccessRow] {
        let perStatement = max(1, 65_535 / columns)
        var returned: [PostgresRandomAccessRow] = []
        var start = 0
        while start < rows.count {
            let slice = rows[start..<min(rows.count, start + perStatement)]
            var binds = PostgresBindings(capacity: slice.count * columns)
            var tuples: [String] = []
            tuples.reserveCapacity(slice.count)
            for row in slice {
                let first = binds.count + 1
                bind(row, &binds)
                precondition(binds.count - first + 1 == columns, "each row binds every column")
                tuples.append("(" + (first...binds.count).map { index in
                    types.map { "$\(index)::\($0[index - first])" } ?? "$\(index)"
                }.joined(separator: ", ") + ")")
            }
            returned += try await all(PostgresQuery(unsafeSQL: head + tuples.joined(separator: ", ") + tail, binds: binds), logger)
            start += perStatement
        }
        return returned
    }
}
