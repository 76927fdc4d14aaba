-- Finds the replies that carry a password of one account (see supersede_stale_secrets).
CREATE INDEX outbound_account_idx ON outbound_sms (account_id) WHERE account_id IS NOT NULL;
