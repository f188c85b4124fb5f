-- A backlog of :rows leads, each with a due welcome enrollment and a pending welcome email, for
-- `nurture-bench backlog` (scripts/bench-scale.sh): the claim, due-work and ranking queries must
-- cost the same over it as over a small one. Synthetic rows, written straight into the tables.
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :rows)
INSERT INTO lead (id, email, first_name, timezone, stage, score, email_consent, sms_consent, created_at, updated_at,
                  score_fixed, score_gains, score_rank, scored_at, score_version)
SELECT printf('lead_%07d', i), printf('lead%d@example.com', i), 'Lead', 'Europe/Lisbon', 0, 0, 1, 0, 1795000000, 1795000000,
       (i * 7919) % 100, (i * 104729) % 50, ((i * 104729) % 50) * 1.0, 1795000000, 'bench' FROM n;
INSERT INTO enrollment (lead_id, campaign_id, sequence, status, step_id, phase, wake_at, enrolled_at)
SELECT id, 'welcome', 1, 'active', 'welcome-1', 'ready', 1795000000 + (rowid % 3600), 1795000000 FROM lead;
INSERT INTO outbox_message (id, lead_id, campaign_id, step_id, channel, address, transactional, created_at, status, attempts, next_attempt_at)
SELECT 'msg_' || id, id, 'welcome', 'welcome-1', 'email', email, 0, 1795000000, 'pending', 0, 1795000000 + (rowid % 3600) FROM lead;
INSERT INTO outbox_content (id, subject, preview, payload) SELECT id, 'Welcome', 'Hello', '{"id":"' || id || '"}' FROM outbox_message;
ANALYZE;
