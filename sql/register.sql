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

-- lock_redelivery_keys --
-- lock_redelivery_key for the MOs of one group commit; keys come sorted, so two groups
-- sharing keys take them in the same order (no deadlock).
SELECT pg_advisory_xact_lock(hashtextextended(encode(k, 'hex'), 0))
  FROM unnest(%(keys)s::bytea[]) WITH ORDINALITY AS t(k, n)
 ORDER BY n

-- find_redeliveries --
-- Per key, the latest MO stored since the earliest any MO of the group could match. One index
-- probe per key (LATERAL … LIMIT 1): as `redelivery_key = ANY(…)` the planner, without
-- statistics on a young table, guessed 0.5 % of the rows per key and scanned the whole table.
SELECT k.key, hit.received_at, hit.id
  FROM unnest(%(keys)s::bytea[]) AS k(key)
 CROSS JOIN LATERAL (
       SELECT received_at, id FROM inbound_sms
        WHERE redelivery_key = k.key AND received_at > %(since)s
        ORDER BY received_at DESC
        LIMIT 1) AS hit

-- insert_inbound_and_replies --
-- insert_inbound_and_reply for the MOs of one group commit in one statement. The rows come as
-- one JSON array of objects, one per MO, keyed like insert_inbound_and_reply's parameters
-- (bytea as hex): building one JSON text costs the client a fraction of dumping fifteen arrays.
-- Each row's inbound id is drawn first, so the result maps back to the input order (n).
WITH input AS (
    SELECT t.*, nextval(pg_get_serial_sequence('inbound_sms', 'id')) AS id
      FROM ROWS FROM (json_to_recordset(%(rows)s::json) AS (
               received_at timestamptz, source_addr text, source_ton smallint, phone text, dest_addr text,
               data_coding smallint, payload text, text text, key text, outcome text, reason text,
               account_id bigint, body text, secret text, segments smallint))
           WITH ORDINALITY AS t(received_at, source_addr, source_ton, phone, dest_addr, data_coding, payload,
                                text, key, outcome, reason, account_id, body, secret, segments, n)
), mo AS (
    INSERT INTO inbound_sms (id, received_at, source_addr, source_ton, phone, dest_addr, data_coding,
                             payload, text, redelivery_key, outcome, reason, account_id)
    SELECT id, received_at, source_addr, source_ton, phone, dest_addr, data_coding,
           decode(payload, 'hex'), text, decode(key, 'hex'), outcome, reason, account_id
      FROM input ORDER BY n
), mt AS (
    INSERT INTO outbound_sms (kind, inbound_id, account_id, destination, body, secret, segments)
    SELECT outcome, id, account_id, phone, body, secret, segments
      FROM input
     WHERE body IS NOT NULL
     ORDER BY n
    RETURNING id, inbound_id
)
SELECT input.id, mt.id FROM input LEFT JOIN mt ON mt.inbound_id = input.id ORDER BY input.n
