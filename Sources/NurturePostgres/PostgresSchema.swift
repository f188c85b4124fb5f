import Foundation

/// Versioned migrations, applied in order at start-up (or alone by `nurture migrate`), each in its
/// own transaction under an advisory lock so two processes starting together apply each once.
/// Shipped migrations are never edited; new ones are appended. Times are seconds since 1970 as
/// `double precision`, like the embedded store, so a deployment moves up without conversion.
enum PostgresSchema {
    static let lockKey: Int64 = 0x6E75_7274_7572_65   // "nurture"

    /// A migration's statements one by one: the extended protocol runs one statement a query.
    /// Comment lines go first, so a `;` inside one splits nothing.
    static func statements(_ sql: String) -> [String] {
        sql.split(separator: "\n").filter { !$0.trimmingCharacters(in: .whitespaces).hasPrefix("--") }.joined(separator: "\n")
            .split(separator: ";").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.filter { !$0.isEmpty }
    }

    static let migrations: [(version: Int, name: String, sql: String)] = [
        (1, "leads, events, enrollments, outbox, suppressions, settings", """
            CREATE TABLE lead (
                id text PRIMARY KEY,
                email text UNIQUE,
                phone text,
                first_name text, last_name text, company text, job_title text, industry text,
                company_size integer, country text,
                timezone text NOT NULL,
                source text,
                stage integer NOT NULL,
                score double precision NOT NULL DEFAULT 0,
                tags text NOT NULL DEFAULT '[]',
                attributes text NOT NULL DEFAULT '{}',
                email_consent boolean NOT NULL,
                sms_consent boolean NOT NULL,
                owner text,
                score_fixed double precision NOT NULL DEFAULT 0,
                score_gains double precision NOT NULL DEFAULT 0,
                score_losses double precision NOT NULL DEFAULT 0,
                score_rank double precision,
                scored_at double precision,
                last_activity_at double precision,
                score_version text,
                score_thresholds text NOT NULL DEFAULT '[]',
                created_at double precision NOT NULL,
                updated_at double precision NOT NULL,
                version bigint NOT NULL DEFAULT 0,
                lease_owner text,
                lease_until double precision,
                lease_token bigint NOT NULL DEFAULT 0
            );
            CREATE INDEX lead_phone ON lead (phone, created_at) WHERE phone IS NOT NULL;
            CREATE INDEX lead_fixed_id ON lead (score_fixed DESC, id);
            CREATE INDEX lead_rank_id ON lead (score_rank DESC, id) WHERE score_rank IS NOT NULL;

            CREATE TABLE event (
                seq bigserial PRIMARY KEY,
                lead_id text NOT NULL REFERENCES lead (id) ON DELETE CASCADE,
                type text NOT NULL,
                at double precision NOT NULL,
                properties text NOT NULL DEFAULT '{}',
                client_id text UNIQUE
            );
            CREATE INDEX event_lead_at ON event (lead_id, at, seq);

            CREATE TABLE enrollment (
                lead_id text NOT NULL REFERENCES lead (id) ON DELETE CASCADE,
                campaign_id text NOT NULL,
                sequence integer NOT NULL,
                status text NOT NULL,
                step_id text,
                phase text NOT NULL,
                wake_at double precision,
                enrolled_at double precision NOT NULL,
                ended_at double precision,
                end_reason text,
                variants text NOT NULL DEFAULT '{}',
                trigger text NOT NULL DEFAULT '{}',
                messages_produced integer NOT NULL DEFAULT 0,
                PRIMARY KEY (lead_id, campaign_id, sequence)
            );
            CREATE INDEX enrollment_due ON enrollment (wake_at) WHERE status = 'active';

            CREATE TABLE outbox_message (
                id text PRIMARY KEY,
                lead_id text NOT NULL REFERENCES lead (id) ON DELETE CASCADE,
                campaign_id text NOT NULL,
                step_id text NOT NULL,
                channel text NOT NULL,
                address text NOT NULL,
                variant text,
                transactional boolean NOT NULL,
                created_at double precision NOT NULL,
                status text NOT NULL,
                attempts integer NOT NULL DEFAULT 0,
                next_attempt_at double precision NOT NULL,
                last_error text,
                lease_owner text,
                lease_until double precision,
                sent_at double precision,
                delivery text,
                delivery_at double precision
            );
            CREATE INDEX outbox_due ON outbox_message (next_attempt_at, created_at, id) WHERE status = 'pending';
            CREATE INDEX outbox_leased ON outbox_message (lease_until) WHERE status = 'sending';
            CREATE INDEX outbox_lead_created ON outbox_message (lead_id, created_at DESC);
            CREATE INDEX outbox_status_created ON outbox_message (status, created_at DESC);

            -- What a message says never changes; kept apart so that claiming and completing a
            -- message rewrites a small row, not kilobytes of rendered email.
            CREATE TABLE outbox_content (
                id text PRIMARY KEY REFERENCES outbox_message (id) ON DELETE CASCADE,
                subject text,
                preview text NOT NULL,
                payload text NOT NULL
            );

            CREATE TABLE setting (
                key text PRIMARY KEY,
                value bytea NOT NULL
            );

            -- Addresses are stored lower-cased: an email suppression binds every spelling.
            CREATE TABLE suppression (
                address text NOT NULL,
                channel text NOT NULL,
                reason text NOT NULL,
                at double precision NOT NULL,
                PRIMARY KEY (address, channel)
            );
            """),
    ]
}
