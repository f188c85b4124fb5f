import ArgumentParser
import Campaigns
import Foundation
import GRDB
import NurtureDSL
import NurtureEngine
import NurtureSQLite
import NurtureTesting

/// Event ingestion with scoring through the engine call, one event per transaction and 100 per
/// transaction, on leads that run the shipped campaigns.
struct ScoreIngest: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "score-ingest")
    @Option var leads = 10_000
    @Option var single = 5_000
    @Option var batched = 50_000

    func run() async throws {
        let store = try SQLiteStore(path: scratchDatabase("ingest.sqlite"))
        let engine = try engine(store: store)
        let start = Date(timeIntervalSince1970: 1_795_000_000)
        for first in stride(from: 0, to: leads, by: 5_000) {
            _ = try await engine.upsert((first..<min(first + 5_000, leads)).map(ScoringBenchData.patch), now: start)
        }
        var random = SeededRandom(seed: 7)
        func event(_ n: Int) -> IncomingEvent {
            let (type, properties) = ScoringBenchData.events[Int(random.next() % UInt64(ScoringBenchData.events.count))]
            return IncomingEvent(subject: .email("lead\(Int(random.next() % UInt64(leads)))@example.com"), type: type,
                                 at: start.addingTimeInterval(Double(n)), properties: properties, clientID: "evt-\(n)")
        }
        let singleSeconds = try await elapsed {
            for n in 0..<single { _ = try await engine.track(event(n), now: start.addingTimeInterval(Double(n))) }
        }
        let batchedSeconds = try await elapsed {
            for first in stride(from: single, to: single + batched, by: 100) {
                let batch = (first..<min(first + 100, single + batched)).map(event)
                _ = try await engine.track(batch, now: batch.last!.at)
            }
        }
        let ceiling = try await Self.writerFloor(leads: leads, events: batched, perTransaction: 100, start: start)
        // What the server's group commit reaches with 32 connections of 100 events: 500 a transaction.
        let groupedCeiling = try await Self.writerFloor(leads: leads, events: batched, perTransaction: 500, start: start)
        // ... and with 32 connections of one event each: at most 32 a transaction.
        let singlesCeiling = try await Self.writerFloor(leads: leads, events: batched / 4, perTransaction: 32, start: start)
        report("score-ingest", [
            ("leads", "\(leads)"), ("single_events", "\(single)"), ("single_events_per_s", String(format: "%.0f", Double(single) / singleSeconds)),
            ("batched_events", "\(batched)"), ("batch", "100"), ("batched_events_per_s", String(format: "%.0f", Double(batched) / batchedSeconds)),
            ("writes_alone_events_per_s", String(format: "%.0f", ceiling)), ("writes_alone_500_events_per_s", String(format: "%.0f", groupedCeiling)),
            ("writes_alone_32_events_per_s", String(format: "%.0f", singlesCeiling)),
        ])
    }

    /// The ceiling for batched ingestion on this schema: the least a stored event writes (its
    /// row and indexes, the lead's version and its rescored row with the ranking indexes),
    /// `perTransaction` events a transaction, values prepared beforehand, on one connection as SQLite allows one
    /// writer. Enrollments, messages and alerts some events cause are left out, so the real
    /// path writes more than this.
    static func writerFloor(leads: Int, events: Int, perTransaction: Int, start: Date) async throws -> Double {
        let path = scratchDatabase("ingest-ceiling.sqlite")
        let engine = try engine(store: try SQLiteStore(path: path))
        for first in stride(from: 0, to: leads, by: 5_000) {
            _ = try await engine.upsert((first..<min(first + 5_000, leads)).map(ScoringBenchData.patch), now: start)
        }
        let pool = try writerPool(path)
        let columns = """
            email, phone, first_name, last_name, company, job_title, industry, company_size, country, timezone, source, stage,
            score, tags, attributes, email_consent, sms_consent, owner, score_fixed, score_gains, score_losses, score_rank,
            scored_at, last_activity_at, score_version, score_thresholds, updated_at
            """
        let rows = try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT id, version, \(columns) FROM lead ORDER BY CAST(substr(email, 5) AS INTEGER)")
        }
        var values = rows.map { row in (id: row[0] as String, version: row[1] as Int, columns: Array(row.databaseValues.dropFirst(2))) }
        var random = SeededRandom(seed: 11)
        let types = ScoringBenchData.events
        // Every statement's arguments, worked out before the clock starts.
        var batches: [[(version: StatementArguments, save: StatementArguments, event: StatementArguments)]] = []
        for first in stride(from: 0, to: events, by: perTransaction) {
            batches.append((first..<min(first + perTransaction, events)).map { n in
                let lead = Int(random.next() % UInt64(leads))
                let (type, properties) = types[Int(random.next() % UInt64(types.count))]
                let version: StatementArguments = [values[lead].id, values[lead].version]
                values[lead].version += 1
                // A scored event moves the score, its parts and the ranking key.
                let moment = start.timeIntervalSince1970 + Double(n)
                values[lead].columns[12] = Double(n % 97).databaseValue
                values[lead].columns[19] = Double(n % 89).databaseValue
                values[lead].columns[21] = (Double(n) / 1000).databaseValue
                values[lead].columns[22] = moment.databaseValue
                values[lead].columns[26] = moment.databaseValue
                let save = StatementArguments(values[lead].columns + [values[lead].id.databaseValue])
                let event: StatementArguments = [values[lead].id, type, moment, properties.isEmpty ? "{}" : "{\"path\":\"/pricing\"}", "ceiling-\(n)"]
                return (version, save, event)
            })
        }
        let assignments = columns.split(separator: ",").map { "\($0.trimmingCharacters(in: .whitespacesAndNewlines)) = ?" }.joined(separator: ", ")
        let seconds = try await elapsed {
            for batch in batches {
                try await pool.write { db in
                    let version = try db.cachedStatement(sql: "UPDATE lead SET version = version + 1 WHERE id = ? AND version = ?")
                    let save = try db.cachedStatement(sql: "UPDATE lead SET \(assignments) WHERE id = ?")
                    let insert = try db.cachedStatement(sql: """
                        INSERT INTO event (lead_id, type, at, properties, client_id) VALUES (?, ?, ?, ?, ?) ON CONFLICT (client_id) DO NOTHING
                        """)
                    for arguments in batch {
                        try version.execute(arguments: arguments.version)
                        guard db.changesCount == 1 else { throw ValidationError("the ceiling lost track of a lead's version") }
                        try save.execute(arguments: arguments.save)
                        try insert.execute(arguments: arguments.event)
                    }
                }
            }
        }
        return Double(events) / seconds
    }
}

/// `scores recompute` and `leads top --limit 100` over N leads with a realistic spread of
/// profiles and five months of behaviour, written straight into the store's tables.
struct ScoreRanking: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "score-ranking")
    @Option var leads = 1_000_000
    @Option(name: .customLong("events-per-lead")) var eventsPerLead = 3
    @Option var queries = 31
    @Option(help: "A file an earlier run seeded and scored with the same sizes: only the reads are measured again.")
    var database: String?

    func run() async throws {
        let path = database ?? scratchDatabase("ranking.sqlite")
        let store = try SQLiteStore(path: path)
        let now = Date(timeIntervalSince1970: 1_795_000_000)
        let engine = try engine(store: store)
        if database == nil {
            let seed = try await elapsed { try await Self.seed(path: path, leads: leads, eventsPerLead: eventsPerLead, now: now) }
            var summary = Engine.Recompute()
            let recompute = try await elapsed { summary = try await engine.recomputeScores(now: now, batchSize: 500) }
            report("score-recompute", [
                ("leads", "\(summary.leads)"), ("events", "\(leads * eventsPerLead)"), ("seed_s", String(format: "%.1f", seed)),
                ("seconds", String(format: "%.1f", recompute)), ("leads_per_s", String(format: "%.0f", Double(summary.leads) / recompute)),
            ])
        }
        // Ranked a few days later, so every score has decayed since it was stored
        let later = now.addingTimeInterval(5 * 86_400)
        var latencies: [Double] = []
        var top: [RankedLead] = []
        for _ in 0..<queries {
            latencies.append(try await elapsed { top = try await engine.top(limit: 100, now: later) } * 1000)
        }
        latencies.sort()
        report("score-top", [
            ("leads", "\(leads)"), ("limit", "100"), ("queries", "\(queries)"), ("median_ms", String(format: "%.1f", latencies[latencies.count / 2])),
            ("p90_ms", String(format: "%.1f", latencies[latencies.count * 9 / 10])), ("best_score", String(format: "%.1f", top.first?.score ?? 0)),
            ("100th_score", String(format: "%.1f", top.last?.score ?? 0)),
        ])
        // `leads show` of random leads: the lead, its score explained from its history, its timeline.
        var random = SeededRandom(seed: 5)
        var shows: [Double] = []
        var timeline = 0
        for _ in 0..<queries {
            let email = ScoringBenchData.patch(Int(random.next() % UInt64(leads))).email
            shows.append(try await elapsed {
                timeline = try await engine.detail(.email(email), now: later)?.detail.timeline.count ?? -1
            } * 1000)
            guard timeline >= 0 else { throw ValidationError("\(email) is not in the seeded file") }
        }
        shows.sort()
        report("leads-show", [
            ("leads", "\(leads)"), ("events", "\(leads * eventsPerLead)"), ("queries", "\(queries)"),
            ("median_ms", String(format: "%.1f", shows[shows.count / 2])), ("p90_ms", String(format: "%.1f", shows[shows.count * 9 / 10])),
            ("peak_rss_mb", String(format: "%.0f", peakRSSMegabytes())),
        ])
    }

    /// Leads and events in bulk, as years of imports and tracking would have left them.
    static func seed(path: String, leads: Int, eventsPerLead: Int, now: Date) async throws {
        let pool = try DatabasePool(path: path)
        let batch = 20_000
        for first in stride(from: 0, to: leads, by: batch) {
            try await pool.write { db in
                var random = SeededRandom(seed: UInt64(first) + 11)
                let lead = try db.cachedStatement(sql: """
                    INSERT INTO lead (id, email, first_name, job_title, industry, company_size, country, timezone, source, stage,
                        email_consent, sms_consent, created_at, updated_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, 'Europe/London', ?, 1, 1, 0, ?, ?)
                    """)
                let event = try db.cachedStatement(sql: "INSERT INTO event (lead_id, type, at, properties) VALUES (?, ?, ?, ?)")
                for n in first..<min(first + batch, leads) {
                    let patch = ScoringBenchData.patch(n)
                    let id = String(format: "ld_%09d", n)
                    let created = now.timeIntervalSince1970 - 150 * 86_400
                    try lead.execute(arguments: [id, patch.email, patch.firstName, patch.jobTitle, patch.industry, patch.companySize,
                                                 patch.country, patch.source, created, created])
                    try event.execute(arguments: [id, "lead.created", created, "{}"])
                    for _ in 0..<Int(random.next() % UInt64(eventsPerLead * 2 + 1)) {
                        let (type, properties) = ScoringBenchData.events[Int(random.next() % UInt64(ScoringBenchData.events.count))]
                        let at = now.timeIntervalSince1970 - Double(random.next() % (150 * 86_400))
                        try event.execute(arguments: [id, type, at, properties.isEmpty ? "{}" : "{\"path\":\"\(properties["path"]!.textValue)\"}"])
                    }
                }
            }
        }
    }
}

enum ScoringBenchData {
    static let titles = ["Head of Growth", "Marketing Manager", "Analyst", "VP Sales", "Founder", "Director of Demand Generation", "Engineer"]
    static let industries = ["SaaS", "Retail", "Fintech", "Education", "Logistics", "Manufacturing"]
    static let sources = ["referral", "website", "social media", "advertising", "trade show", "webinar"]
    static let events: [(String, [String: Value])] = [
        ("email.opened", [:]), ("email.opened", [:]), ("email.clicked", [:]), ("page.viewed", ["path": "/pricing"]),
        ("page.viewed", ["path": "/customers/fernhill"]), ("page.viewed", ["path": "/blog/scoring"]), ("resource.downloaded", [:]),
        ("webinar.attended", [:]), ("demo.requested", [:]), ("email.bounced", [:]),
    ]

    static func patch(_ n: Int) -> LeadPatch {
        var patch = LeadPatch(email: "lead\(n)@example.com")
        patch.firstName = "Lead \(n)"
        patch.jobTitle = titles[n % titles.count]
        patch.industry = industries[(n / 7) % industries.count]
        patch.companySize = [5, 40, 120, 600, 1800, 9000][(n / 42) % 6]
        patch.country = ["GB", "DE", "US", "FR"][(n / 252) % 4]
        patch.source = sources[(n / 1009) % sources.count]
        return patch
    }
}

/// `stats` over a year of counters for every step of the shipped playbook: what a report reads
/// whatever the number of leads and events behind it (the counters grow by day, not by lead).
struct StatsRead: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "stats-read")
    @Option var days = 365
    @Option var queries = 15

    func run() async throws {
        let path = scratchDatabase("stats.sqlite")
        let store = try SQLiteStore(path: path)
        let playbook = Campaigns.playbook
        let metrics = ["queued", "sent", "delivered", "opened", "clicked", "bounced", "soft-bounced", "complained", "dead", "suppressed"]
        let pool = try DatabasePool(path: path)
        let rows = try await pool.write { db -> Int in
            var rows = 0
            let insert = try db.cachedStatement(sql: "INSERT INTO campaign_counter VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
            let start = Date(timeIntervalSince1970: 1_764_000_000)
            let formatter = DateFormatter()
            formatter.dateFormat = "yyyy-MM-dd"
            formatter.timeZone = TimeZone(identifier: "UTC")
            for offset in 0..<days {
                let day = formatter.string(from: start.addingTimeInterval(Double(offset) * 86_400))
                for campaign in playbook.campaigns {
                    for (metric, detail) in [("entered", ""), ("completed", "completed"), ("exited", "goal reached: demo.booked")] {
                        try insert.execute(arguments: [campaign.id, "", "", "", metric, detail, day, 100 + offset])
                        rows += 1
                    }
                    for step in campaign.allSteps {
                        guard case .email(let message) = step.action else { continue }
                        for variant in [""] + message.variants.map(\.name) {
                            for metric in metrics {
                                try insert.execute(arguments: [campaign.id, step.id, variant, "email", metric, "", day, 1_000 + offset])
                                rows += 1
                            }
                        }
                    }
                }
            }
            return rows
        }
        var latencies: [Double] = []
        var built: [CampaignStats] = []
        for _ in 0..<queries {
            latencies.append(try await elapsed {
                built = CampaignStats.build(playbook, counters: try await store.campaignCounters(CounterFilter()), filter: CounterFilter())
            } * 1000)
        }
        latencies.sort()
        report("stats-read", [
            ("days", "\(days)"), ("counter_rows", "\(rows)"), ("campaigns", "\(built.count)"), ("queries", "\(queries)"),
            ("median_ms", String(format: "%.1f", latencies[latencies.count / 2])), ("p90_ms", String(format: "%.1f", latencies[latencies.count * 9 / 10])),
        ])
    }
}
