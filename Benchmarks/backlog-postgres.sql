-- The PostgreSQL twin of backlog-sqlite.sql (psql -v rows=N).
INSERT INTO lead (id, email, first_name, timezone, stage, score, email_consent, sms_consent, created_at, updated_at,
                  score_fixed, score_gains, score_rank, scored_at, score_version)
SELECT 'lead_' || lpad(i::text, 7, '0'), 'lead' || i || '@example.com', 'Lead', 'Europe/Lisbon', 0, 0, true, false, 1795000000, 1795000000,
       (i::bigint * 7919) % 100, (i::bigint * 104729) % 50, ((i::bigint * 104729) % 50) * 1.0, 1795000000, 'bench' FROM generate_series(1, :rows) AS i;
INSERT INTO enrollment (lead_id, campaign_id, sequence, status, step_id, phase, wake_at, enrolled_at)
SELECT id, 'welcome', 1, 'active', 'welcome-1', 'ready', 1795000000 + (substr(id, 6)::int % 3600), 1795000000 FROM lead;
INSERT INTO outbox_message (id, lead_id, campaign_id, step_id, channel, address, transactional, created_at, status, attempts, next_attempt_at)
SELECT 'msg_' || id, id, 'welcome', 'welcome-1', 'email', email, false, 1795000000, 'pending', 0, 1795000000 + (substr(id, 6)::int % 3600) FROM lead;
INSERT INTO outbox_content (id, subject, preview, payload) SELECT id, 'Welcome', 'Hello', '{"id":"' || id || '"}' FROM outbox_message;
VACUUM ANALYZE;
