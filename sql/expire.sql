-- Queries of smsreg/expire.py: replace first passwords nobody changed in time.
-- "Due" everywhere below means: a system-issued password (issued or rotated) whose
-- password_issued_at is at or before the cutoff (the run's clock minus expiry.after).

-- try_expire_lock --
-- Session-level, so it lasts the whole run and dies with the connection if the run dies.
SELECT pg_try_advisory_lock(hashtextextended('smsreg.expire', 0))

-- count_due_accounts --
-- The backlog at the start of a run (summary line and smsreg_expire_due).
SELECT count(*) FROM account
 WHERE password_state IN ('issued', 'rotated')
   AND password_issued_at <= %(cutoff)s

-- select_due_accounts --
-- The next batch, oldest first, read without locks (the slow hashing happens after this).
-- Keyset paging on (password_issued_at, id): every account is looked at once per run,
-- even one that is skipped or fails, so a run always ends.
SELECT id AS account_id, id_number AS username, password_issued_at AS issued_at, rotations
  FROM account
 WHERE password_state IN ('issued', 'rotated')
   AND password_issued_at <= %(cutoff)s
   AND (password_issued_at, id) > (%(after_issued_at)s, %(after_id)s)
 ORDER BY password_issued_at, id
 LIMIT %(limit)s

-- lock_due_accounts --
-- Lock the batch and re-check it is still due. A row another run or the portal holds is
-- skipped, not waited for; under READ COMMITTED a row changed since the batch was read
-- is re-evaluated on its newest version, so a password the citizen changed, or another
-- run rotated, drops out here.
SELECT id, rotations FROM account
 WHERE id = ANY(%(ids)s)
   AND password_state IN ('issued', 'rotated')
   AND password_issued_at <= %(cutoff)s
 FOR UPDATE SKIP LOCKED

-- rotate_passwords --
-- For rows this transaction has locked: the new hash, and the reminder in the same outbox
-- the worker sends from (expire.py then NOTIFYs the senders: outbox.wake_senders).
WITH fresh AS (
    SELECT * FROM unnest(%(ids)s::bigint[], %(hashes)s::text[], %(bodies)s::text[],
                         %(secrets)s::text[], %(segments)s::smallint[])
             AS t(id, password_hash, body, secret, segments)
), rotated AS (
    UPDATE account a
       SET password_hash = fresh.password_hash,
           password_state = 'rotated',
           rotations = a.rotations + 1,
           password_issued_at = %(now)s
      FROM fresh
     WHERE a.id = fresh.id
    RETURNING a.id, a.phone, fresh.body, fresh.secret, fresh.segments
)
INSERT INTO outbound_sms (kind, account_id, destination, body, secret, segments)
SELECT 'reminder', id, phone, body, secret, segments FROM rotated
RETURNING account_id

-- disable_passwords --
-- After expiry.max_rotations: no password at all, no SMS; the portal or the desk re-issues.
UPDATE account
   SET password_hash = NULL,
       password_state = 'disabled'
 WHERE id = ANY(%(ids)s)
RETURNING id
