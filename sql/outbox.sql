-- Queries of smsreg/outbox.py: the outbound reply queue.

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
          (SELECT i.received_at FROM inbound_sms i WHERE i.id = o.inbound_id)

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
