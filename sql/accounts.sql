-- Queries of smsreg/accounts.py: what the portal does against the same tables.

-- get_password_hash --
SELECT password_hash FROM account WHERE id_number = %(username)s

-- set_password --
-- A password chosen by the citizen: never expires. `rotations` stays as history.
UPDATE account
   SET password_hash = %(password_hash)s,
       password_state = 'changed',
       password_changed_at = now()
 WHERE id_number = %(username)s
RETURNING id
