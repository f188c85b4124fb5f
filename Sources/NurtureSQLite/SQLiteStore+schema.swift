import GRDB

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
        return migrator
    }
}
