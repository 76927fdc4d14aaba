-- Early receipts without the trigger rendezvous of 0006.
--
-- 0006 made every reply marked sent claim a key per message id in early_receipt (an insert and
-- a delete per id) and run a PL/pgSQL trigger; under load that was a third of PostgreSQL's work
-- and most of its lock waits. The rendezvous is now a transaction-level advisory lock per
-- message id (outbox.sql lock_message_ids), taken in sorted order by the transaction that marks
-- replies sent and by the one that records receipts: the later one waits for the earlier one's
-- commit and then sees its row. Locks live in memory: no table write, no trigger.
--
-- A held receipt keeps all the forms of its id (receipts.id_forms), so that when one form is
-- applied its siblings go too: a leftover form must not later match another reply's id.

DROP TRIGGER outbound_early_receipt ON outbound_sms;
DROP FUNCTION smsreg_apply_early_receipt_v1();

DELETE FROM early_receipt WHERE state IS NULL;  -- the trigger's claims; none outlive a transaction
ALTER TABLE early_receipt
    ALTER COLUMN state SET NOT NULL,
    ADD COLUMN forms text[] NOT NULL DEFAULT '{}';
