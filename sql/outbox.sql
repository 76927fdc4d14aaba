-- Queries of smsreg/outbox.py: the outbound reply queue.

-- supersede_stale_secrets --
-- Of the password SMS just claimed (ids), those whose password has moved on (re-issued,
-- changed by the citizen or disabled, e.g. after an SMSC outage longer than expiry.after) fail
-- instead of going out: they would teach the citizen a dead password.
UPDATE outbound_sms o
   SET state = 'failed', final_at = now(), not_before = 'infinity',
       error = 'superseded: the password changed before it was sent',
       body = replace(o.body, o.secret, repeat('*', length(o.secret))), secret = NULL, claimed_by = NULL
  FROM account a
 WHERE o.id = ANY(%(ids)s::bigint[])
   AND o.account_id = a.id
   AND o.secret IS NOT NULL
   AND (a.password_state IN ('changed', 'disabled')
        OR EXISTS (SELECT 1 FROM outbound_sms newer  -- a later reminder = a newer password
                    WHERE newer.account_id = o.account_id AND newer.id > o.id AND newer.kind = 'reminder'))
RETURNING o.id

-- claim_outbound --
-- Queued rows that are due, plus rows whose sender vanished (lease expired). Changes no indexed
-- column: a HOT update (migration 0008).
WITH due AS (
    SELECT id FROM outbound_sms
     WHERE sent_at IS NULL  -- on outbound_claim_idx
       AND state IN ('queued', 'sending')
       AND not_before <= now()
       AND (state = 'queued' OR claimed_at < now() - make_interval(secs => %(lease_s)s))
     ORDER BY not_before, id
     LIMIT %(limit)s
       FOR UPDATE SKIP LOCKED
)
UPDATE outbound_sms o
   SET state = 'sending', claimed_at = now(), claimed_by = %(worker)s, attempts = o.attempts + 1
  FROM due
 WHERE o.id = due.id
RETURNING o.id, o.destination, o.body, o.attempts,
          (SELECT i.received_at FROM inbound_sms i WHERE i.id = o.inbound_id), o.smsc_message_ids,
          o.secret IS NOT NULL

-- release_outbound --
-- Back to the queue, to be tried again after a delay.
UPDATE outbound_sms
   SET state = 'queued', not_before = now() + make_interval(secs => %(delay_s)s),
       error = %(error)s, claimed_at = NULL, claimed_by = NULL
 WHERE id = ANY(%(ids)s) AND state = 'sending'

-- release_partly_sent --
-- A concatenated reply some of whose segments the SMSC accepted: their ids are kept ('' for the
-- others) so that the retry sends only the missing segments, under the same reference.
UPDATE outbound_sms
   SET state = 'queued', not_before = now() + make_interval(secs => %(delay_s)s),
       error = %(error)s, claimed_at = NULL, claimed_by = NULL, smsc_message_ids = %(message_ids)s
 WHERE id = %(id)s AND state = 'sending'

-- fail_outbound --
-- For good: not_before 'infinity' keeps the row out of the claim's index range.
UPDATE outbound_sms
   SET state = 'failed', final_at = now(), not_before = 'infinity', error = %(error)s, claimed_by = NULL,
       body = CASE WHEN secret IS NULL THEN body ELSE replace(body, secret, repeat('*', length(secret))) END,
       secret = NULL
 WHERE id = %(id)s

-- lock_message_ids --
-- The rendezvous of a reply being marked sent and a receipt about it (migration 0007): both
-- transactions first lock every message id they touch, as transaction-level advisory locks in
-- one order (sorted keys, so never a deadlock). The second waits for the first to commit, and
-- its next statement, in a new snapshot, sees what the first wrote. No table writes.
SELECT pg_advisory_xact_lock(key)
  FROM (SELECT DISTINCT hashtextextended(m, 7) AS key FROM unnest(%(message_ids)s::text[]) AS m ORDER BY key) AS keys

-- mark_submitted_many --
-- The SMSC has them: keep each row's message ids and erase the plaintext password (architecture.md
-- rule 4). One (row id, part number, message id) per segment. A receipt that came before the row
-- was marked (held in early_receipt) sets its final state at once and is deleted with all its id
-- forms. After lock_message_ids. `id = ANY(…)` keeps the update on the primary key whatever the plan.
WITH sent AS (
    SELECT id, array_agg(message_id ORDER BY part) AS message_ids
      FROM unnest(%(ids)s::bigint[], %(parts)s::int[], %(message_ids)s::text[]) AS t(id, part, message_id)
     GROUP BY id
), held AS (
    SELECT sent.id, e.state, e.forms
      FROM sent JOIN early_receipt e ON e.message_id = ANY(sent.message_ids)
), early AS (
    SELECT id, max(state) AS state FROM held GROUP BY id  -- 'undeliverable' sorts after 'delivered'
), consumed AS (
    DELETE FROM early_receipt WHERE message_id = ANY(ARRAY(SELECT unnest(forms) FROM held))
)
UPDATE outbound_sms o
   SET state = coalesce(early.state, 'sent'), sent_at = now(), smsc_message_ids = sent.message_ids,
       final_at = CASE WHEN early.state IS NULL THEN o.final_at ELSE now() END, error = NULL,
       body = CASE WHEN o.secret IS NULL THEN o.body ELSE replace(o.body, o.secret, repeat('*', length(o.secret))) END,
       secret = NULL, claimed_by = NULL
  FROM sent LEFT JOIN early USING (id)
 WHERE o.id = sent.id AND o.id = ANY(%(ids)s::bigint[])

-- record_receipts --
-- The receipts of one group commit: (n, state, message id form) per form of each receipt's id.
-- A reply takes the state of the last receipt about it (the highest n), as if they were recorded
-- one after the other. A receipt that matches no reply marked sent is held in early_receipt
-- with all its forms: its reply's mark takes it (mark_submitted_many). After lock_message_ids.
-- Each id is looked up on its own (OFFSET 0 keeps the subquery per id, so on the message-id
-- index; as one join the planner may scan the table once per id); `id = ANY(…)` keeps the
-- update itself on the primary key. Returns the number of replies updated.
WITH r AS (
    SELECT * FROM unnest(%(n)s::int[], %(states)s::text[], %(message_ids)s::text[]) AS t(n, state, message_id)
), hits AS (
    SELECT r.n, r.state, hit.id
      FROM r CROSS JOIN LATERAL (
               SELECT o.id FROM outbound_sms o
                WHERE cardinality(o.smsc_message_ids) > 0 AND o.smsc_message_ids && ARRAY[r.message_id]
                  AND o.state IN ('sent', 'sending', 'delivered', 'undeliverable')
               OFFSET 0) AS hit
), latest AS (
    SELECT DISTINCT ON (id) id, state FROM hits ORDER BY id, n DESC
), applied AS (
    UPDATE outbound_sms o
       SET state = latest.state, final_at = now()
      FROM latest
     WHERE o.id = latest.id AND o.id = ANY(ARRAY(SELECT id FROM latest))
    RETURNING o.id
), unmatched AS (
    SELECT n, state, array_agg(message_id ORDER BY message_id) AS forms
      FROM r
     WHERE n NOT IN (SELECT n FROM hits)
     GROUP BY n, state
), held AS (
    INSERT INTO early_receipt (message_id, state, forms)
    SELECT DISTINCT ON (form) form, state, forms
      FROM unmatched CROSS JOIN unnest(forms) AS form
     ORDER BY form, n DESC
    ON CONFLICT (message_id) DO UPDATE
       SET state = EXCLUDED.state, forms = EXCLUDED.forms, received_at = now()
)
SELECT count(*) FROM applied

-- wake_senders --
-- Delivered at commit to every sender LISTENing (sender.py); for writers outside the worker.
SELECT pg_notify('smsreg_outbound', '')

-- purge_early_receipts --
-- Receipts kept for a day: long enough for any reply still in flight, then strangers' go.
DELETE FROM early_receipt WHERE received_at < now() - interval '1 day'
