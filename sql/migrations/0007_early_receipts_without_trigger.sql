-- Early receipts without the trigger rendezvous of 0006.
--
-- 0006 made every reply marked sent claim a key per message id in early_receipt (an insert and
-- a delete per id) and run a PL/pgSQL trigger; under load that was a third of PostgreSQL's work
-- and most of its lock waits. The race it closed is now closed by ordering alone
-- (outbox.apply_early_receipts): each side commits its own write first, then looks for the
-- other's in a new transaction. Whichever of the two commits second sees the first one's row.
--
-- A held receipt keeps all the forms of its id (receipts.id_forms), so that when one form is
-- applied its siblings go too: a leftover form must not later match another reply's id.

DROP TRIGGER outbound_early_receipt ON outbound_sms;
DROP FUNCTION smsreg_apply_early_receipt_v1();

DELETE FROM early_receipt WHERE state IS NULL;  -- the trigger's claims; none outlive a transaction
ALTER TABLE early_receipt
    ALTER COLUMN state SET NOT NULL,
    ADD COLUMN forms text[] NOT NULL DEFAULT '{}';
