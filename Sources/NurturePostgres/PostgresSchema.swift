import Foundation
import NurtureStorage

/// Versioned migrations, applied in order at start-up (or alone by `nurture migrate`), each in its
/// own transaction under an advisory lock so two processes starting together apply each once.
/// Shipped migrations are never edited; new ones are appended. Times are seconds since 1970 as
/// `double precision`, like the embedded store, so a deployment moves up without conversion.
enum PostgresSchema {
    static let lockKey: Int64 = 0x6E75_7274_7572_65   // "nurture"

    /// A migration's statements one by one: the extended protocol runs one statement a query.
    /// Comment lines go first, so a `;` inside one splits nothing.
    /// A `;` inside a `$$`-quoted function body belongs to the body.
    static func statements(_ sql: String) -> [String] {
        let text = sql.split(separator: "\n").filter { !$0.trimmingCharacters(in: .whitespaces).hasPrefix("--") }.joined(separator: "\n")
        var statements: [String] = []
        var current = ""
        for (index, piece) in text.components(separatedBy: "$$").enumerated() {
            if index % 2 == 1 {
                current += "$$" + piece + "$$"
                continue
            }
            let parts = piece.split(separator: ";", omittingEmptySubsequences: false)
            for (partIndex, part) in parts.enumerated() {
                current += part
                if partIndex < parts.count - 1 {
                    statements.append(current)
                    current = ""
                }
            }
        }
        statements.append(current)
        return statements.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.filter { !$0.isEmpty }
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
        (2, "campaign counters", """
            -- Results are counted as the facts are written, by triggers in the same transaction,
            -- as on the embedded store. Each connection counts into rows of its own (its backend
            -- pid as the shard), so concurrent workers never wait on, or deadlock over, one
            -- counter row; a report adds the shards up.
            \(CampaignCounter.firstMarks.map { "ALTER TABLE outbox_message ADD COLUMN \($0.column) double precision;" }.joined(separator: "\n"))
            CREATE TABLE campaign_counter (
                campaign_id text NOT NULL,
                step_id text NOT NULL,
                variant text NOT NULL,
                channel text NOT NULL,
                metric text NOT NULL,
                detail text NOT NULL,
                day text NOT NULL,
                shard integer NOT NULL,
                count bigint NOT NULL,
                PRIMARY KEY (campaign_id, step_id, variant, channel, metric, detail, day, shard)
            );
            CREATE FUNCTION nurture_count(campaign text, step text, variant text, channel text, metric text, detail text, at double precision, n bigint)
            RETURNS void LANGUAGE sql AS $$
                INSERT INTO campaign_counter (campaign_id, step_id, variant, channel, metric, detail, day, shard, count)
                VALUES (campaign, step, coalesce(variant, ''), channel, metric, coalesce(detail, ''),
                        to_char(to_timestamp(at) AT TIME ZONE 'UTC', 'YYYY-MM-DD'), pg_backend_pid(), n)
                ON CONFLICT (campaign_id, step_id, variant, channel, metric, detail, day, shard)
                DO UPDATE SET count = campaign_counter.count + excluded.count
            $$;
            -- Deployments that ran before counting: the facts already there, counted once,
            -- before the triggers exist.
            \(CampaignCounter.deliveryMarks.map { mark in
                "UPDATE outbox_message SET \(mark.column) = delivery_at WHERE delivery = '\(mark.metric)';"
            }.joined(separator: "\n"))
            UPDATE outbox_message m SET opened_at = e.at FROM (
                SELECT properties::jsonb ->> 'message' AS id, MIN(at) AS at FROM event WHERE type IN ('email.opened', 'email.clicked') GROUP BY 1
            ) e WHERE m.id = e.id;
            UPDATE outbox_message m SET clicked_at = e.at FROM (
                SELECT properties::jsonb ->> 'message' AS id, MIN(at) AS at FROM event WHERE type = 'email.clicked' GROUP BY 1
            ) e WHERE m.id = e.id;
            \(recountInto.map { $0 + ";" }.joined(separator: "\n"))
            CREATE FUNCTION count_enrollment() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_OP = 'INSERT' THEN
                    PERFORM nurture_count(NEW.campaign_id, '', '', '', 'entered', '', NEW.enrolled_at, 1);
                END IF;
                IF NEW.status <> 'active' AND (TG_OP = 'INSERT' OR OLD.status = 'active') THEN
                    PERFORM nurture_count(NEW.campaign_id, '', '', '', NEW.status, NEW.end_reason, coalesce(NEW.ended_at, NEW.enrolled_at), 1);
                END IF;
                RETURN NULL;
            END $$;
            CREATE TRIGGER count_enrollment AFTER INSERT OR UPDATE OF status ON enrollment FOR EACH ROW EXECUTE FUNCTION count_enrollment();
            CREATE FUNCTION count_message() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_OP = 'INSERT' THEN
                    PERFORM nurture_count(NEW.campaign_id, NEW.step_id, NEW.variant, NEW.channel, 'queued', '', NEW.created_at, 1);
                    RETURN NULL;
                END IF;
                IF NEW.status IS DISTINCT FROM OLD.status AND NEW.status IN ('sent', 'dead', 'suppressed') THEN
                    PERFORM nurture_count(NEW.campaign_id, NEW.step_id, NEW.variant, NEW.channel, NEW.status,
                        CASE WHEN NEW.status = 'suppressed' THEN NEW.last_error ELSE '' END, coalesce(NEW.sent_at, NEW.next_attempt_at), 1);
                END IF;
                \(CampaignCounter.firstMarks.map { mark in
                    """
                    IF OLD.\(mark.column) IS NULL AND NEW.\(mark.column) IS NOT NULL THEN
                        PERFORM nurture_count(NEW.campaign_id, NEW.step_id, NEW.variant, NEW.channel, '\(mark.metric)', '', NEW.\(mark.column), 1);
                    END IF;
                    """
                }.joined(separator: "\n"))
                RETURN NULL;
            END $$;
            CREATE TRIGGER count_message AFTER INSERT OR UPDATE ON outbox_message FOR EACH ROW EXECUTE FUNCTION count_message();
            -- An open or a click names its message, or only its step: then it is the lead's latest
            -- message of that step. The first of each marks the message, which counts it once.
            CREATE FUNCTION mark_message_engaged() RETURNS trigger LANGUAGE plpgsql AS $$
            DECLARE
                engaged text := coalesce(NEW.properties::jsonb ->> 'message', (SELECT m.id FROM outbox_message m WHERE m.lead_id = NEW.lead_id
                    AND m.step_id = NEW.properties::jsonb ->> 'step' AND m.channel = 'email' ORDER BY m.created_at DESC LIMIT 1));
            BEGIN
                UPDATE outbox_message SET opened_at = NEW.at WHERE id = engaged AND opened_at IS NULL;
                IF NEW.type = 'email.clicked' THEN
                    UPDATE outbox_message SET clicked_at = NEW.at WHERE id = engaged AND clicked_at IS NULL;
                END IF;
                RETURN NULL;
            END $$;
            CREATE TRIGGER mark_message_engaged AFTER INSERT ON event FOR EACH ROW
                WHEN (NEW.type IN ('email.opened', 'email.clicked')) EXECUTE FUNCTION mark_message_engaged();
            """),
        (3, "campaign controls: pauses, experiment decisions, journal", """
            CREATE TABLE campaign_pause (
                campaign_id text PRIMARY KEY,
                at double precision NOT NULL,
                reason text NOT NULL,
                paused_by text NOT NULL,
                notice_sent_at double precision
            );
            CREATE TABLE experiment_decision (
                campaign_id text NOT NULL,
                step_id text NOT NULL,
                variant text NOT NULL,
                at double precision NOT NULL,
                decided_by text NOT NULL,
                figures text NOT NULL DEFAULT '{}',
                PRIMARY KEY (campaign_id, step_id)
            );
            CREATE TABLE campaign_journal (
                seq bigserial PRIMARY KEY,
                campaign_id text NOT NULL,
                type text NOT NULL,
                at double precision NOT NULL,
                properties text NOT NULL DEFAULT '{}'
            );
            CREATE INDEX campaign_journal_campaign ON campaign_journal (campaign_id, seq);
            """),
        (4, "enrollments counted by holdout arm", """
            -- Before holdouts no enrollment had an arm, so the counters kept so far stay right.
            CREATE OR REPLACE FUNCTION count_enrollment() RETURNS trigger LANGUAGE plpgsql AS $$
            DECLARE
                arm text := \(arm("NEW."));
            BEGIN
                IF TG_OP = 'INSERT' THEN
                    PERFORM nurture_count(NEW.campaign_id, '', arm, '', 'entered', '', NEW.enrolled_at, 1);
                END IF;
                IF NEW.status <> 'active' AND (TG_OP = 'INSERT' OR OLD.status = 'active') THEN
                    PERFORM nurture_count(NEW.campaign_id, '', arm, '', NEW.status, NEW.end_reason, coalesce(NEW.ended_at, NEW.enrolled_at), 1);
                END IF;
                RETURN NULL;
            END $$;
            """),
        (5, "conversions credited to their last touch", """
            CREATE TABLE conversion (
                seq bigserial PRIMARY KEY,
                lead_id text NOT NULL REFERENCES lead(id) ON DELETE CASCADE,
                campaign_id text NOT NULL,
                step_id text NOT NULL,
                variant text,
                channel text NOT NULL,
                goal text NOT NULL,
                value double precision NOT NULL,
                at double precision NOT NULL
            );
            CREATE INDEX conversion_lead ON conversion (lead_id, at);
            -- Counted once as a conversion, and its value in hundredths (counters are whole numbers).
            CREATE FUNCTION count_conversion() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                PERFORM nurture_count(NEW.campaign_id, NEW.step_id, NEW.variant, NEW.channel, 'converted', NEW.goal, NEW.at, 1);
                IF NEW.value <> 0 THEN
                    PERFORM nurture_count(NEW.campaign_id, NEW.step_id, NEW.variant, NEW.channel, 'value-cents', NEW.goal, NEW.at, round(NEW.value * 100)::bigint);
                END IF;
                RETURN NULL;
            END $$;
            CREATE TRIGGER count_conversion AFTER INSERT ON conversion FOR EACH ROW EXECUTE FUNCTION count_conversion();
            """),
        (6, "step facts: skipped and capped sends, unsubscribes", """
            CREATE TABLE step_fact (
                seq bigserial PRIMARY KEY,
                lead_id text NOT NULL REFERENCES lead(id) ON DELETE CASCADE,
                campaign_id text NOT NULL,
                step_id text NOT NULL,
                variant text,
                channel text NOT NULL,
                kind text NOT NULL,
                reason text NOT NULL,
                at double precision NOT NULL
            );
            CREATE INDEX step_fact_lead ON step_fact (lead_id, at);
            CREATE FUNCTION count_step_fact() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                PERFORM nurture_count(NEW.campaign_id, NEW.step_id, NEW.variant, NEW.channel, NEW.kind, NEW.reason, NEW.at, 1);
                RETURN NULL;
            END $$;
            CREATE TRIGGER count_step_fact AFTER INSERT ON step_fact FOR EACH ROW EXECUTE FUNCTION count_step_fact();
            """),
        // Each channel claims on its own; with the due index ordered by time alone, a channel
        // with nothing to send (SMS in an email run) walked every pending email at every poll.
        (7, "due messages by channel", """
            CREATE INDEX outbox_due_channel ON outbox_message (channel, next_attempt_at, created_at, id) WHERE status = 'pending';
            CREATE INDEX outbox_leased_channel ON outbox_message (channel, lease_until) WHERE status = 'sending';
            DROP INDEX outbox_due;
            DROP INDEX outbox_leased;
            """),
        // Counted once per statement from its transition tables, not once per row: the row
        // triggers' function calls and one-row upserts were a third of the server's time in a
        // run-due (the claim's UPDATE paid a function call per message to count nothing).
        (8, "counters counted per statement", """
            DROP TRIGGER count_message ON outbox_message;
            DROP TRIGGER count_enrollment ON enrollment;
            DROP FUNCTION count_message();
            DROP FUNCTION count_enrollment();
            \(countingTrigger("count_messages_queued", after: "INSERT ON outbox_message", referencing: "NEW TABLE AS queued", facts: """
                SELECT campaign_id, step_id, variant, channel, 'queued', '', created_at FROM queued
                """))
            \(countingTrigger("count_messages_changed", after: "UPDATE ON outbox_message", referencing: "OLD TABLE AS before_rows NEW TABLE AS after_rows", facts: """
                SELECT n.campaign_id, n.step_id, n.variant, n.channel, fact.metric, fact.detail, fact.at
                FROM after_rows n JOIN before_rows o ON o.id = n.id
                CROSS JOIN LATERAL (VALUES
                    (CASE WHEN n.status IS DISTINCT FROM o.status AND n.status IN ('sent', 'dead', 'suppressed') THEN n.status END,
                     CASE WHEN n.status = 'suppressed' THEN n.last_error ELSE '' END, coalesce(n.sent_at, n.next_attempt_at)),
                    \(CampaignCounter.firstMarks.map { mark in
                        "(CASE WHEN o.\(mark.column) IS NULL AND n.\(mark.column) IS NOT NULL THEN '\(mark.metric)' END, '', n.\(mark.column))"
                    }.joined(separator: ",\n"))
                ) AS fact (metric, detail, at)
                WHERE fact.metric IS NOT NULL
                """))
            \(countingTrigger("count_enrollments_entered", after: "INSERT ON enrollment", referencing: "NEW TABLE AS entered", facts: """
                SELECT campaign_id, '', \(arm("")), '', 'entered', '', enrolled_at FROM entered
                UNION ALL
                SELECT campaign_id, '', \(arm("")), '', status, end_reason, coalesce(ended_at, enrolled_at) FROM entered WHERE status <> 'active'
                """))
            \(countingTrigger("count_enrollments_ended", after: "UPDATE ON enrollment", referencing: "OLD TABLE AS before_rows NEW TABLE AS after_rows", facts: """
                SELECT n.campaign_id, '', \(arm("n.")), '', n.status, n.end_reason, coalesce(n.ended_at, n.enrolled_at)
                FROM after_rows n JOIN before_rows o ON (o.lead_id, o.campaign_id, o.sequence) = (n.lead_id, n.campaign_id, n.sequence)
                WHERE o.status = 'active' AND n.status <> 'active'
                """))
            """),
        // A rendered email (4-5 KB) is compressed as it is stored; lz4 takes 25 µs a message
        // where the default pglz took 59. A server built without lz4 keeps pglz.
        (9, "rendered content compressed with lz4", """
            DO $$
            BEGIN
                IF EXISTS (SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY(enumvals)) THEN
                    ALTER TABLE outbox_content ALTER COLUMN payload SET COMPRESSION lz4, ALTER COLUMN preview SET COMPRESSION lz4;
                END IF;
            END $$;
            """),
        // Each running worker and server, refreshed by its heartbeat, so two playbooks never run side by side.
        (10, "processes running a playbook", """
            CREATE TABLE playbook_process (
                id text PRIMARY KEY,
                fingerprint text NOT NULL,
                role text NOT NULL,
                host text NOT NULL,
                pid bigint NOT NULL,
                started_at double precision NOT NULL,
                seen_at double precision NOT NULL
            );
            """),
        // The walk that enters quiet leads into Entry(whenInactiveFor:) campaigns.
        (11, "leads by last activity", """
            UPDATE lead SET last_activity_at = created_at WHERE last_activity_at IS NULL;
            CREATE INDEX lead_last_activity ON lead (last_activity_at, id) WHERE last_activity_at IS NOT NULL;
            """),
        // Leads imported before zones were inferred got UTC when they came without one: counted
        // as the default, so their next change infers a zone from country or phone.
        (12, "where a lead's time zone came from", """
            ALTER TABLE lead ADD COLUMN timezone_source text NOT NULL DEFAULT 'given';
            UPDATE lead SET timezone_source = 'default' WHERE timezone = 'UTC';
            """),
        (13, "suppressions by scope", Suppression.scopeMigration),
        (14, "privacy requests", """
            CREATE TABLE privacy_request (
                at double precision NOT NULL,
                action text NOT NULL,
                lead_id text NOT NULL,
                actor text NOT NULL,
                counts text
            );
            CREATE INDEX privacy_request_at ON privacy_request (at);
            """),
    ]

    /// A statement-level trigger `name` (and its function) that counts the `facts` a statement
    /// wrote, read from the transition tables `referencing` names.
    static func countingTrigger(_ name: String, after event: String, referencing: String, facts: String) -> String {
        """
        CREATE FUNCTION \(name)() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            \(countFacts(facts));
            RETURN NULL;
        END $$;
        CREATE TRIGGER \(name) AFTER \(event) REFERENCING \(referencing) FOR EACH STATEMENT EXECUTE FUNCTION \(name)();
        """
    }

    /// Counts the facts a statement wrote into this connection's counter rows (its backend pid
    /// is the shard, as `nurture_count` does): `facts` selects campaign, step, variant, channel,
    /// metric, detail and the fact's time, one row per fact, added up per counter row.
    static func countFacts(_ facts: String) -> String {
        """
        INSERT INTO campaign_counter (campaign_id, step_id, variant, channel, metric, detail, day, shard, count)
        SELECT campaign_id, step_id, coalesce(variant, ''), channel, metric, coalesce(detail, ''), \(day("at")), pg_backend_pid(), COUNT(*)
        FROM (\(facts)) AS fact (campaign_id, step_id, variant, channel, metric, detail, at) GROUP BY 1, 2, 3, 4, 5, 6, 7
        ON CONFLICT (campaign_id, step_id, variant, channel, metric, detail, day, shard) DO UPDATE SET count = campaign_counter.count + excluded.count
        """
    }

    /// The conversions' and step facts' counters from their rows (migrations 5 and 6, after the one that counts the rest).
    static let laterFactsRecountSQL: [String] = [
        "SELECT campaign_id, step_id, coalesce(variant, ''), channel, kind, reason, \(day("at")), COUNT(*) FROM step_fact GROUP BY 1, 2, 3, 4, 5, 6, 7",
        "SELECT campaign_id, step_id, coalesce(variant, ''), channel, 'converted', goal, \(day("at")), COUNT(*) FROM conversion GROUP BY 1, 2, 3, 4, 6, 7",
        """
        SELECT campaign_id, step_id, coalesce(variant, ''), channel, 'value-cents', goal, \(day("at")), SUM(round(value * 100)::bigint)::bigint
        FROM conversion WHERE value <> 0 GROUP BY 1, 2, 3, 4, 6, 7
        """,
    ]

    /// An enrollment's holdout arm ('holdout' or 'treatment', '' in a campaign without one).
    static func arm(_ row: String) -> String { "coalesce(\(row)variants::jsonb ->> '\(Enrollment.armKey)', '')" }

    /// The counters from the rows as they stand (see the SQLite store's `recountSQL`), each
    /// select giving campaign, step, variant, channel, metric, detail, day and count.
    static let recountSQL: [String] = [
        // By holdout arm (migration 4); every enrollment before holdouts counts under ''.
        "SELECT campaign_id, '', \(arm("")), '', 'entered', '', \(day("enrolled_at")), COUNT(*) FROM enrollment GROUP BY 1, 3, 7",
        """
        SELECT campaign_id, '', \(arm("")), '', status, coalesce(end_reason, ''), \(day("coalesce(ended_at, enrolled_at)")), COUNT(*)
        FROM enrollment WHERE status <> 'active' GROUP BY 1, 3, 5, 6, 7
        """,
        "SELECT campaign_id, step_id, coalesce(variant, ''), channel, 'queued', '', \(day("created_at")), COUNT(*) FROM outbox_message GROUP BY 1, 2, 3, 4, 7",
        """
        SELECT campaign_id, step_id, coalesce(variant, ''), channel, status, CASE WHEN status = 'suppressed' THEN coalesce(last_error, '') ELSE '' END,
            \(day("coalesce(sent_at, next_attempt_at)")), COUNT(*)
        FROM outbox_message WHERE status IN ('sent', 'dead', 'suppressed') GROUP BY 1, 2, 3, 4, 5, 6, 7
        """,
    ] + CampaignCounter.firstMarks.map { mark in
        "SELECT campaign_id, step_id, coalesce(variant, ''), channel, '\(mark.metric)', '', \(day(mark.column)), COUNT(*) FROM outbox_message "
            + "WHERE \(mark.column) IS NOT NULL GROUP BY 1, 2, 3, 4, 7"
    }

    /// The recount written into the counters (shard 0): what a migration counts once for an
    /// existing deployment, and what a copy from the embedded store counts from its rows.
    static let recountInto = into(recountSQL)
    static let laterFactsRecountInto = into(laterFactsRecountSQL)

    static func into(_ selects: [String]) -> [String] { selects.map { select in
        "INSERT INTO campaign_counter (campaign_id, step_id, variant, channel, metric, detail, day, count, shard) SELECT *, 0 FROM (\(select)) counted "
            + "ON CONFLICT (campaign_id, step_id, variant, channel, metric, detail, day, shard) DO UPDATE SET count = campaign_counter.count + excluded.count"
    } }

    static func day(_ seconds: String) -> String { "to_char(to_timestamp(\(seconds)) AT TIME ZONE 'UTC', 'YYYY-MM-DD')" }
}
