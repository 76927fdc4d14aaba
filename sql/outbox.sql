-- Queries of smsreg/outbox.py: the outbound reply queue.

-- supersede_stale_secrets --
-- A queued password SMS whose password has moved on (re-issued, changed by the citizen or
-- disabled, e.g. after an SMSC outage longer than expiry.after) must not go out: it would
-- teach the citizen a dead password.
UPDATE outbound_sms o
   SET state = 'failed', final_at = now(), error = 'superseded: the password changed before it was sent',
       body = replace(o.body, o.secret, repeat('*', length(o.secret))), secret = NULL, claimed_by = NULL
  FROM account a
 WHERE o.account_id = a.id
   AND o.secret IS NOT NULL
   AND o.state IN ('queued', 'sending')
   AND o.not_before <= now()
   AND (a.password_state IN ('changed', 'disabled')
        OR EXISTS (SELECT 1 FROM outbound_sms newer  -- a later reminder = a newer password
                    WHERE newer.account_id = o.account_id AND newer.id > o.id AND newer.kind = 'reminder'))

-- claim_outbound --
-- Queued rows that are due, plus rows whose sender vanished (lease expired).
WITH due AS (
    SELECT id FROM outbound_sms
     WHERE state IN ('queued', 'sending')
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
          (SELECT i.received_at FROM inbound_sms i WHERE i.id = o.inbound_id), o.smsc_message_ids

-- mark_submitted --
-- The SMSC has it: keep its message ids and erase the plaintext password (architecture.md rule 4).
UPDATE outbound_sms
   SET state = 'sent', sent_at = now(), smsc_message_ids = %(message_ids)s, error = NULL,
       body = CASE WHEN secret IS NULL THEN body ELSE replace(body, secret, repeat('*', length(secret))) END,
       secret = NULL, claimed_by = NULL
 WHERE id = %(id)s

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
UPDATE outbound_sms
   SET state = 'failed', final_at = now(), error = %(error)s, claimed_by = NULL,
       body = CASE WHEN secret IS NULL THEN body ELSE replace(body, secret, repeat('*', length(secret))) END,
       secret = NULL
 WHERE id = %(id)s

-- record_receipt --
UPDATE outbound_sms
   SET state = %(state)s, final_at = now()
 WHERE smsc_message_ids && %(message_ids)s::text[]
   AND state IN ('sent', 'sending', 'delivered', 'undeliverable')
RETURNING id

-- claim_receipt_keys --
-- The message ids mark_submitted_many is about to record, claimed in sorted order before any row
-- is updated. The trigger of migration 0006 claims each row's ids as it updates the row, in no
-- particular order; a receipt group holds its ids in sorted order (hold_receipts): the two
-- orders deadlocked every second or so under load. Claimed here first, the trigger finds them
-- its own.
INSERT INTO early_receipt (message_id)
SELECT DISTINCT m FROM unnest(%(message_ids)s::text[]) AS m ORDER BY m
ON CONFLICT DO NOTHING

-- mark_submitted_many --
-- mark_submitted for many rows in one statement: one (row id, part number, message id) per
-- segment. `id = ANY(…)` keeps the update on the primary key whatever the plan.
WITH sent AS (
    SELECT id, array_agg(message_id ORDER BY part) AS message_ids
      FROM unnest(%(ids)s::bigint[], %(parts)s::int[], %(message_ids)s::text[]) AS t(id, part, message_id)
     GROUP BY id
)
UPDATE outbound_sms o
   SET state = 'sent', sent_at = now(), smsc_message_ids = sent.message_ids, error = NULL,
       body = CASE WHEN o.secret IS NULL THEN o.body ELSE replace(o.body, o.secret, repeat('*', length(o.secret))) END,
       secret = NULL, claimed_by = NULL
  FROM sent
 WHERE o.id = sent.id AND o.id = ANY(%(ids)s::bigint[])

-- record_receipts --
-- record_receipt for the receipts of one group commit: (n, state, message id form) per form of
-- each receipt's id. A reply takes the state of the last receipt about it (the highest n), as if
-- they were recorded one after the other. Each id is looked up on its own (OFFSET 0 keeps the
-- subquery per id, so on the message-id index; as one join the planner may scan the table
-- once per id); `id = ANY(…)` keeps the update itself on the primary key.
WITH r AS (
    SELECT * FROM unnest(%(n)s::int[], %(states)s::text[], %(message_ids)s::text[]) AS t(n, state, message_id)
), latest AS (
    SELECT DISTINCT ON (hit.id) hit.id, r.state
      FROM r CROSS JOIN LATERAL (
               SELECT o.id FROM outbound_sms o
                WHERE o.smsc_message_ids && ARRAY[r.message_id]
                  AND o.state IN ('sent', 'sending', 'delivered', 'undeliverable')
               OFFSET 0) AS hit
     ORDER BY hit.id, r.n DESC
)
UPDATE outbound_sms o
   SET state = latest.state, final_at = now()
  FROM latest
 WHERE o.id = latest.id AND o.id = ANY(ARRAY(SELECT id FROM latest))

-- hold_receipts --
-- Every receipt's id forms, before the receipts are applied: a receipt whose reply is not yet
-- marked sent stays here until it is (see migration 0006). A later receipt about the same id
-- replaces the state.
INSERT INTO early_receipt (message_id, state)
SELECT DISTINCT ON (message_id) message_id, state
  FROM unnest(%(n)s::int[], %(states)s::text[], %(message_ids)s::text[]) AS t(n, state, message_id)
 ORDER BY message_id, n DESC
ON CONFLICT (message_id) DO UPDATE SET state = EXCLUDED.state, received_at = now()

-- purge_early_receipts --
-- Receipts kept for a day: long enough for any reply still in flight, then strangers' go.
DELETE FROM early_receipt WHERE received_at < now() - interval '1 day'
