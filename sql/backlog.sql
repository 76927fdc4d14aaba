-- Queries of smsreg/backlog.py: run at Prometheus scrape time, read-only, bounded by a timeout.

-- backlog_statement_timeout --
-- SET LOCAL statement_timeout (is_local = true), as a function so the value can be a bound parameter.
SELECT set_config('statement_timeout', %(timeout_ms)s, true)

-- outbox_backlog --
-- Replies and reminders not yet accepted by the SMSC, and how long the oldest has waited
-- (from created_at: a retried row keeps its age). Uses the partial index outbound_claim_idx.
SELECT count(*) AS queued,
       COALESCE(EXTRACT(EPOCH FROM now() - min(created_at)), 0)::float8 AS oldest_age_s
  FROM outbound_sms
 WHERE sent_at IS NULL AND state IN ('queued', 'sending')
