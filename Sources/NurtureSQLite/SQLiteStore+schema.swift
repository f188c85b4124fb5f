import GRDB
import NurtureStorage

extension SQLiteStore {
    /// Versioned migrations. Shipped migrations are never edited; new ones are appended.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1 leads, events, enrollments, outbox, suppressions") { db in
            try db.execute(sql: """
                CREATE TABLE lead (
                    id TEXT PRIMARY KEY NOT NULL,
                    email TEXT COLLATE NOCASE UNIQUE,
                    phone TEXT,
                    first_name TEXT, last_name TEXT, company TEXT, job_title TEXT, industry TEXT,
                    company_size INTEGER, country TEXT,
                    timezone TEXT NOT NULL,
                    source TEXT,
                    stage INTEGER NOT NULL,
                    score REAL NOT NULL DEFAULT 0,
                    tags TEXT NOT NULL DEFAULT '[]',
                    attributes TEXT NOT NULL DEFAULT '{}',
                    email_consent INTEGER NOT NULL,
                    sms_consent INTEGER NOT NULL,
                    created_at REAL NOT NULL,
                    updated_at REAL NOT NULL
                );
                CREATE INDEX lead_score ON lead(score DESC);

                CREATE TABLE event (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    lead_id TEXT NOT NULL REFERENCES lead(id) ON DELETE CASCADE,
                    type TEXT NOT NULL,
                    at REAL NOT NULL,
                    properties TEXT NOT NULL DEFAULT '{}',
                    client_id TEXT UNIQUE
                );
                CREATE INDEX event_lead_at ON event(lead_id, at);

                CREATE TABLE enrollment (
                    lead_id TEXT NOT NULL REFERENCES lead(id) ON DELETE CASCADE,
                    campaign_id TEXT NOT NULL,
                    sequence INTEGER NOT NULL,
                    status TEXT NOT NULL,
                    step_id TEXT,
                    phase TEXT NOT NULL,
                    wake_at REAL,
                    enrolled_at REAL NOT NULL,
                    ended_at REAL,
                    end_reason TEXT,
                    variants TEXT NOT NULL DEFAULT '{}',
                    trigger TEXT NOT NULL DEFAULT '{}',
                    messages_produced INTEGER NOT NULL DEFAULT 0,
                    PRIMARY KEY (lead_id, campaign_id, sequence)
                );
                CREATE INDEX enrollment_due ON enrollment(wake_at) WHERE status = 'active';

                CREATE TABLE outbox_message (
                    id TEXT PRIMARY KEY NOT NULL,
                    lead_id TEXT NOT NULL REFERENCES lead(id) ON DELETE CASCADE,
                    campaign_id TEXT NOT NULL,
                    step_id TEXT NOT NULL,
                    channel TEXT NOT NULL,
                    address TEXT NOT NULL,
                    variant TEXT,
                    transactional INTEGER NOT NULL,
                    created_at REAL NOT NULL,
                    status TEXT NOT NULL,
                    attempts INTEGER NOT NULL DEFAULT 0,
                    next_attempt_at REAL NOT NULL,
                    last_error TEXT,
                    lease_owner TEXT,
                    lease_until REAL,
                    sent_at REAL
                );
                CREATE INDEX outbox_due ON outbox_message(next_attempt_at) WHERE status = 'pending';
                CREATE INDEX outbox_leased ON outbox_message(lease_until) WHERE status = 'sending';
                CREATE INDEX outbox_lead ON outbox_message(lead_id, created_at);
                CREATE INDEX outbox_status_created ON outbox_message(status, created_at);

                -- What a message says never changes; kept apart so that claiming and completing a
                -- message rewrites a small row, not kilobytes of rendered email.
                CREATE TABLE outbox_content (
                    id TEXT PRIMARY KEY NOT NULL REFERENCES outbox_message(id) ON DELETE CASCADE,
                    subject TEXT,
                    preview TEXT NOT NULL,
                    payload TEXT NOT NULL
                );

                CREATE TABLE setting (
                    key TEXT PRIMARY KEY NOT NULL,
                    value BLOB NOT NULL
                );

                CREATE TABLE suppression (
                    address TEXT NOT NULL COLLATE NOCASE,
                    channel TEXT NOT NULL,
                    reason TEXT NOT NULL,
                    at REAL NOT NULL,
                    PRIMARY KEY (address, channel)
                );
                """)
        }
        migrator.registerMigration("v2 score parts, owner") { db in
            // The parts a score is computed from, so the score at any instant follows without the
            // history; score_rank orders behaviour gains at a common instant (see ScoreCalculator).
            try db.execute(sql: """
                ALTER TABLE lead ADD COLUMN owner TEXT;
                ALTER TABLE lead ADD COLUMN score_fixed REAL NOT NULL DEFAULT 0;
                ALTER TABLE lead ADD COLUMN score_gains REAL NOT NULL DEFAULT 0;
                ALTER TABLE lead ADD COLUMN score_losses REAL NOT NULL DEFAULT 0;
                ALTER TABLE lead ADD COLUMN score_rank REAL;
                ALTER TABLE lead ADD COLUMN scored_at REAL;
                ALTER TABLE lead ADD COLUMN last_activity_at REAL;
                ALTER TABLE lead ADD COLUMN score_version TEXT;
                ALTER TABLE lead ADD COLUMN score_thresholds TEXT NOT NULL DEFAULT '[]';
                DROP INDEX lead_score;
                CREATE INDEX lead_score_fixed ON lead(score_fixed DESC);
                CREATE INDEX lead_score_rank ON lead(score_rank DESC) WHERE score_rank IS NOT NULL;
                CREATE INDEX outbox_lead_created ON outbox_message(lead_id, created_at DESC);
                """)
        }
        migrator.registerMigration("v3 delivery reports, leads by phone") { db in
            // What the provider said after a message left (delivered, bounced, complained), and
            // the index that lets an SMS reply (STOP, START, HELP) find its lead by number.
            try db.execute(sql: """
                ALTER TABLE outbox_message ADD COLUMN delivery TEXT;
                ALTER TABLE outbox_message ADD COLUMN delivery_at REAL;
                CREATE INDEX lead_phone ON lead(phone) WHERE phone IS NOT NULL;
                """)
        }
        migrator.registerMigration("v4 versions and leases, ranking walks by id") { db in
            // Every commit moves a lead's version, so work computed outside the writer commits
            // only if nothing changed the lead meanwhile; due work is leased with a fencing
            // token. The ranking indexes carry the id so a page resumes exactly after the last.
            try db.execute(sql: """
                ALTER TABLE lead ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
                ALTER TABLE lead ADD COLUMN lease_owner TEXT;
                ALTER TABLE lead ADD COLUMN lease_until REAL;
                ALTER TABLE lead ADD COLUMN lease_token INTEGER NOT NULL DEFAULT 0;
                DROP INDEX lead_score_fixed;
                DROP INDEX lead_score_rank;
                CREATE INDEX lead_fixed_id ON lead(score_fixed DESC, id);
                CREATE INDEX lead_rank_id ON lead(score_rank DESC, id) WHERE score_rank IS NOT NULL;
                """)
        }
        migrator.registerMigration("v5 campaign counters") { db in
            // Results are counted as the facts are written, by triggers in the same transaction,
            // so every path that writes an enrollment, a message or an event (a commit, a claim,
            // a send, a provider's report) counts, and a report over millions of rows reads a
            // few hundred counter rows instead. See `counterSQL` for what each trigger counts.
            try db.execute(sql: """
                \(CampaignCounter.firstMarks.map { "ALTER TABLE outbox_message ADD COLUMN \($0.column) REAL;" }.joined(separator: "\n"))
                CREATE TABLE campaign_counter (
                    campaign_id TEXT NOT NULL,
                    step_id TEXT NOT NULL,
                    variant TEXT NOT NULL,
                    channel TEXT NOT NULL,
                    metric TEXT NOT NULL,
                    detail TEXT NOT NULL,
                    day TEXT NOT NULL,
                    count INTEGER NOT NULL,
                    PRIMARY KEY (campaign_id, step_id, variant, channel, metric, detail, day)
                ) WITHOUT ROWID;
                """)
            // Deployments that ran before counting: the facts already there, counted once,
            // before the triggers exist.
            try db.execute(sql: engagementBackfill)
            for select in recountSQL { try db.execute(sql: count(select)) }
            try db.execute(sql: counterTriggers)
        }
        migrator.registerMigration("v6 campaign controls: pauses, experiment decisions, journal") { db in
            try db.execute(sql: campaignControlTables)
        }
        migrator.registerMigration("v7 enrollments counted by holdout arm") { db in
            // Before holdouts no enrollment had an arm, so the counters kept so far stay right.
            try db.execute(sql: "DROP TRIGGER count_enrollment_entered; DROP TRIGGER count_enrollment_ended;" + enrollmentArmTriggers)
        }
        migrator.registerMigration("v8 conversions credited to their last touch") { db in
            try db.execute(sql: """
                CREATE TABLE conversion (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    lead_id TEXT NOT NULL REFERENCES lead(id) ON DELETE CASCADE,
                    campaign_id TEXT NOT NULL,
                    step_id TEXT NOT NULL,
                    variant TEXT,
                    channel TEXT NOT NULL,
                    goal TEXT NOT NULL,
                    value REAL NOT NULL,
                    at REAL NOT NULL
                );
                CREATE INDEX conversion_lead ON conversion(lead_id, at);
                -- Counted once as a conversion, and its value in hundredths (counters are whole numbers).
                CREATE TRIGGER count_conversion AFTER INSERT ON conversion BEGIN
                    \(count("SELECT new.campaign_id, new.step_id, coalesce(new.variant, ''), new.channel, 'converted', new.goal, date(new.at, 'unixepoch'), 1"))
                    \(count("SELECT new.campaign_id, new.step_id, coalesce(new.variant, ''), new.channel, 'value-cents', new.goal, date(new.at, 'unixepoch'), CAST(round(new.value * 100) AS INTEGER) WHERE new.value != 0"))
                END;
                """)
        }
        migrator.registerMigration("v9 step facts: skipped and capped sends, unsubscribes") { db in
            try db.execute(sql: """
                CREATE TABLE step_fact (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    lead_id TEXT NOT NULL REFERENCES lead(id) ON DELETE CASCADE,
                    campaign_id TEXT NOT NULL,
                    step_id TEXT NOT NULL,
                    variant TEXT,
                    channel TEXT NOT NULL,
                    kind TEXT NOT NULL,
                    reason TEXT NOT NULL,
                    at REAL NOT NULL
                );
                CREATE INDEX step_fact_lead ON step_fact(lead_id, at);
                CREATE TRIGGER count_step_fact AFTER INSERT ON step_fact BEGIN
                    \(count("SELECT new.campaign_id, new.step_id, coalesce(new.variant, ''), new.channel, new.kind, new.reason, date(new.at, 'unixepoch'), 1"))
                END;
                """)
        }
        migrator.registerMigration("v10 event history read from its index") { db in
            // Every event a lead receives reads the lead's recent history. The table keeps
            // events in arrival order, so one lead's events sat one to a page and each cost a
            // page read; an index holding every column the history reads keeps them together.
            try db.execute(sql: """
                CREATE INDEX event_history ON event(lead_id, at, seq, type, properties);
                DROP INDEX event_lead_at;
                """)
        }
        migrator.registerMigration("v11 due messages by channel") { db in
            // Each channel claims on its own. With the due index ordered by time alone, a
            // channel with nothing to send (SMS in an email run) walked every pending email to
            // learn so, at every poll: a tenth of a worker's time in an end-to-end run.
            try db.execute(sql: """
                CREATE INDEX outbox_due_channel ON outbox_message(channel, next_attempt_at) WHERE status = 'pending';
                CREATE INDEX outbox_leased_channel ON outbox_message(channel, lease_until) WHERE status = 'sending';
                DROP INDEX outbox_due;
                DROP INDEX outbox_leased;
                """)
        }
        migrator.registerMigration("v12 processes running a playbook") { db in
            try db.execute(sql: Self.playbookProcessTable)
        }
        migrator.registerMigration("v13 leads by last activity") { db in
            // The walk that enters quiet leads into Entry(whenInactiveFor:) campaigns.
            // Leads scored by no model had none kept: quiet since they were created, as the engine now counts it.
            try db.execute(sql: """
                UPDATE lead SET last_activity_at = created_at WHERE last_activity_at IS NULL;
                CREATE INDEX lead_last_activity ON lead(last_activity_at, id) WHERE last_activity_at IS NOT NULL;
                """)
        }
        migrator.registerMigration("v14 where a lead's time zone came from") { db in
            // Leads imported before zones were inferred got UTC when they came without one:
            // counted as the default, so their next change infers a zone from country or phone.
            try db.execute(sql: """
                ALTER TABLE lead ADD COLUMN timezone_source TEXT NOT NULL DEFAULT 'given';
                UPDATE lead SET timezone_source = 'default' WHERE timezone = 'UTC';
                """)
        }
        migrator.registerMigration("v15 suppressions by scope") { db in
            try db.execute(sql: Suppression.scopeMigration)
        }
        migrator.registerMigration("v16 privacy requests") { db in
            try db.execute(sql: """
                CREATE TABLE privacy_request (
                    at REAL NOT NULL,
                    action TEXT NOT NULL,
                    lead_id TEXT NOT NULL,
                    actor TEXT NOT NULL,
                    counts TEXT
                );
                """)
        }
        return migrator
    }

    /// The processes running a playbook against the database, each refreshed by its heartbeat;
    /// not copied by `nurture migrate`, since none of them runs against the new database yet.
    static let playbookProcessTable = """
        CREATE TABLE playbook_process (
            id TEXT PRIMARY KEY NOT NULL,
            fingerprint TEXT NOT NULL,
            role TEXT NOT NULL,
            host TEXT NOT NULL,
            pid INTEGER NOT NULL,
            started_at REAL NOT NULL,
            seen_at REAL NOT NULL
        );
        """

    /// Shared with the PostgreSQL schema but for the types: one row per paused campaign and per
    /// decided split, and the journal of what happened to campaigns.
    static let campaignControlTables = """
        CREATE TABLE campaign_pause (
            campaign_id TEXT PRIMARY KEY NOT NULL,
            at REAL NOT NULL,
            reason TEXT NOT NULL,
            paused_by TEXT NOT NULL,
            notice_sent_at REAL
        );
        CREATE TABLE experiment_decision (
            campaign_id TEXT NOT NULL,
            step_id TEXT NOT NULL,
            variant TEXT NOT NULL,
            at REAL NOT NULL,
            decided_by TEXT NOT NULL,
            figures TEXT NOT NULL DEFAULT '{}',
            PRIMARY KEY (campaign_id, step_id)
        );
        CREATE TABLE campaign_journal (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            campaign_id TEXT NOT NULL,
            type TEXT NOT NULL,
            at REAL NOT NULL,
            properties TEXT NOT NULL DEFAULT '{}'
        );
        CREATE INDEX campaign_journal_campaign ON campaign_journal(campaign_id, seq);
        """

    /// One counter row per (campaign, step, variant, channel, metric, detail, UTC day).
    static func count(_ select: String) -> String {
        """
        INSERT INTO campaign_counter (campaign_id, step_id, variant, channel, metric, detail, day, count) \(select)
            ON CONFLICT (campaign_id, step_id, variant, channel, metric, detail, day) DO UPDATE SET count = count + excluded.count;
        """
    }

    static let engagedMessage = """
        coalesce(json_extract(new.properties, '$.message'), (SELECT m.id FROM outbox_message m WHERE m.lead_id = new.lead_id
            AND m.step_id = json_extract(new.properties, '$.step') AND m.channel = 'email' ORDER BY m.created_at DESC LIMIT 1))
        """

    static let counterTriggers = """
        CREATE TRIGGER count_enrollment_entered AFTER INSERT ON enrollment BEGIN
            \(count("SELECT new.campaign_id, '', '', '', 'entered', '', date(new.enrolled_at, 'unixepoch'), 1"))
            \(count("SELECT new.campaign_id, '', '', '', new.status, coalesce(new.end_reason, ''), date(coalesce(new.ended_at, new.enrolled_at), 'unixepoch'), 1 WHERE new.status != 'active'"))
        END;
        CREATE TRIGGER count_enrollment_ended AFTER UPDATE OF status ON enrollment WHEN old.status = 'active' AND new.status != 'active' BEGIN
            \(count("SELECT new.campaign_id, '', '', '', new.status, coalesce(new.end_reason, ''), date(coalesce(new.ended_at, new.enrolled_at), 'unixepoch'), 1"))
        END;
        CREATE TRIGGER count_message_queued AFTER INSERT ON outbox_message BEGIN
            \(count("SELECT new.campaign_id, new.step_id, coalesce(new.variant, ''), new.channel, 'queued', '', date(new.created_at, 'unixepoch'), 1"))
        END;
        CREATE TRIGGER count_message_outcome AFTER UPDATE OF status ON outbox_message
            WHEN new.status != old.status AND new.status IN ('sent', 'dead', 'suppressed') BEGIN
            \(count("""
                SELECT new.campaign_id, new.step_id, coalesce(new.variant, ''), new.channel, new.status,
                    CASE new.status WHEN 'suppressed' THEN coalesce(new.last_error, '') ELSE '' END,
                    date(coalesce(new.sent_at, new.next_attempt_at), 'unixepoch'), 1
                """))
        END;
        \(CampaignCounter.firstMarks.map { mark in
            """
            CREATE TRIGGER "count_message_\(mark.metric)" AFTER UPDATE OF \(mark.column) ON outbox_message
                WHEN old.\(mark.column) IS NULL AND new.\(mark.column) IS NOT NULL BEGIN
                \(count("SELECT new.campaign_id, new.step_id, coalesce(new.variant, ''), new.channel, '\(mark.metric)', '', date(new.\(mark.column), 'unixepoch'), 1"))
            END;
            """
        }.joined(separator: "\n"))
        -- An open or a click names its message (Nurture's own pixel and links), or only its step
        -- (a provider's report, a script): then it is the lead's latest message of that step.
        -- The first of each marks the message, which counts it once.
        CREATE TRIGGER mark_message_engaged AFTER INSERT ON event WHEN new.type IN ('email.opened', 'email.clicked') BEGIN
            UPDATE outbox_message SET opened_at = new.at
                WHERE id = \(engagedMessage) AND opened_at IS NULL;
            UPDATE outbox_message SET clicked_at = new.at
                WHERE new.type = 'email.clicked' AND id = \(engagedMessage) AND clicked_at IS NULL;
        END;
        """

    /// An enrollment's holdout arm ('holdout' or 'treatment', '' in a campaign without one),
    /// the variant its entry and its ending are counted under.
    static func arm(_ row: String) -> String { "coalesce(json_extract(\(row)variants, '$.\"\(Enrollment.armKey)\"'), '')" }

    static let enrollmentArmTriggers = """
        CREATE TRIGGER count_enrollment_entered AFTER INSERT ON enrollment BEGIN
            \(count("SELECT new.campaign_id, '', \(arm("new.")), '', 'entered', '', date(new.enrolled_at, 'unixepoch'), 1"))
            \(count("SELECT new.campaign_id, '', \(arm("new.")), '', new.status, coalesce(new.end_reason, ''), date(coalesce(new.ended_at, new.enrolled_at), 'unixepoch'), 1 WHERE new.status != 'active'"))
        END;
        CREATE TRIGGER count_enrollment_ended AFTER UPDATE OF status ON enrollment WHEN old.status = 'active' AND new.status != 'active' BEGIN
            \(count("SELECT new.campaign_id, '', \(arm("new.")), '', new.status, coalesce(new.end_reason, ''), date(coalesce(new.ended_at, new.enrolled_at), 'unixepoch'), 1"))
        END;
        """

    /// The counters from the rows as they stand, one query per kind of fact: what a migration
    /// counts once for a deployment that ran before counting, and what `recountedCounters()`
    /// compares the live counters with.
    static let recountSQL: [String] = [
        // By holdout arm (v7); every enrollment before holdouts counts under ''.
        "SELECT campaign_id, '', \(arm("")), '', 'entered', '', date(enrolled_at, 'unixepoch'), COUNT(*) FROM enrollment GROUP BY 1, 3, 7",
        """
        SELECT campaign_id, '', \(arm("")), '', status, coalesce(end_reason, ''), date(coalesce(ended_at, enrolled_at), 'unixepoch'), COUNT(*)
        FROM enrollment WHERE status != 'active' GROUP BY 1, 3, 5, 6, 7
        """,
        "SELECT campaign_id, step_id, coalesce(variant, ''), channel, 'queued', '', date(created_at, 'unixepoch'), COUNT(*) FROM outbox_message GROUP BY 1, 2, 3, 4, 7",
        """
        SELECT campaign_id, step_id, coalesce(variant, ''), channel, status, CASE status WHEN 'suppressed' THEN coalesce(last_error, '') ELSE '' END,
            date(coalesce(sent_at, next_attempt_at), 'unixepoch'), COUNT(*)
        FROM outbox_message WHERE status IN ('sent', 'dead', 'suppressed') GROUP BY 1, 2, 3, 4, 5, 6, 7
        """,
    ] + CampaignCounter.firstMarks.map { mark in
        """
        SELECT campaign_id, step_id, coalesce(variant, ''), channel, '\(mark.metric)', '', date(\(mark.column), 'unixepoch'), COUNT(*)
        FROM outbox_message WHERE \(mark.column) IS NOT NULL GROUP BY 1, 2, 3, 4, 7
        """
    }

    /// The conversions' and step facts' counters from their rows (v8 and v9, after the v5 migration that counts the rest).
    static let laterFactsRecountSQL: [String] = [
        "SELECT campaign_id, step_id, coalesce(variant, ''), channel, kind, reason, date(at, 'unixepoch'), COUNT(*) FROM step_fact GROUP BY 1, 2, 3, 4, 5, 6, 7",
        "SELECT campaign_id, step_id, coalesce(variant, ''), channel, 'converted', goal, date(at, 'unixepoch'), COUNT(*) FROM conversion GROUP BY 1, 2, 3, 4, 6, 7",
        """
        SELECT campaign_id, step_id, coalesce(variant, ''), channel, 'value-cents', goal, date(at, 'unixepoch'), SUM(CAST(round(value * 100) AS INTEGER))
        FROM conversion WHERE value != 0 GROUP BY 1, 2, 3, 4, 6, 7
        """,
    ]

    /// Marks the first open and click of each message from the events already stored, and the
    /// report each message holds now.
    static let engagementBackfill = CampaignCounter.deliveryMarks.map { mark in
        "UPDATE outbox_message SET \(mark.column) = delivery_at WHERE delivery = '\(mark.metric)';"
    }.joined(separator: "\n") + """
        UPDATE outbox_message SET opened_at = e.at FROM (
            SELECT json_extract(properties, '$.message') AS id, MIN(at) AS at FROM event WHERE type IN ('email.opened', 'email.clicked') GROUP BY 1
        ) e WHERE outbox_message.id = e.id;
        UPDATE outbox_message SET clicked_at = e.at FROM (
            SELECT json_extract(properties, '$.message') AS id, MIN(at) AS at FROM event WHERE type = 'email.clicked' GROUP BY 1
        ) e WHERE outbox_message.id = e.id;
        """
}
