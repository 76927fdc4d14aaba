-- Queries of smsreg/register.py: one transaction per MO.

-- lock_redelivery_key --
-- Serialise identical MOs (an SMSC re-sending while the first is still in flight).
SELECT pg_advisory_xact_lock(hashtextextended(encode(%(key)s::bytea, 'hex'), 0))

-- find_redelivery --
-- An identical MO stored within the redelivery window.
SELECT id FROM inbound_sms
 WHERE redelivery_key = %(key)s
   AND received_at > %(received_at)s - make_interval(secs => %(window_s)s)
 LIMIT 1

-- insert_account --
-- The unique constraints decide; no arbiter, so either conflict yields no row.
INSERT INTO account (id_number, phone, full_name, name_as_typed, birth_date,
                     password_hash, password_issued_at)
VALUES (%(id_number)s, %(phone)s, %(full_name)s, %(name_as_typed)s, %(birth_date)s,
        %(password_hash)s, %(received_at)s)
ON CONFLICT DO NOTHING
RETURNING id

-- classify_conflict --
-- Runs only after insert_account yielded no row, in a new snapshot that sees the winner.
SELECT EXISTS (SELECT 1 FROM account WHERE id_number = %(id_number)s) AS id_taken

-- insert_inbound_and_reply --
WITH mo AS (
    INSERT INTO inbound_sms (received_at, source_addr, source_ton, phone, dest_addr, data_coding,
                             payload, text, redelivery_key, outcome, reason, account_id)
    VALUES (%(received_at)s, %(source_addr)s, %(source_ton)s, %(phone)s, %(dest_addr)s,
            %(data_coding)s, %(payload)s, %(text)s, %(key)s, %(outcome)s, %(reason)s, %(account_id)s)
    RETURNING id
), mt AS (
    INSERT INTO outbound_sms (kind, inbound_id, account_id, destination, body, secret, segments)
    SELECT %(outcome)s, mo.id, %(account_id)s, %(phone)s, %(body)s, %(secret)s, %(segments)s
      FROM mo
     WHERE %(body)s::text IS NOT NULL
    RETURNING id
)
SELECT mo.id, (SELECT id FROM mt) FROM mo
