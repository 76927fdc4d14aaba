-- Delivery receipts that arrive before their reply is marked sent (an SMSC may send the
-- receipt right behind the submit_sm_resp, and a worker thread can store it before the sender
-- has committed the message id). They wait here and are applied when the id is recorded.
--
-- The table is also the rendezvous that makes the two sides race-free: both insert the
-- message id as a key first, so whichever transaction comes second waits for the first to
-- commit and then sees its data (READ COMMITTED takes a new snapshot per statement).

CREATE TABLE early_receipt (
    message_id   text PRIMARY KEY,        -- one row per form of the id (receipts.id_forms)
    state        text CONSTRAINT early_receipt_state CHECK (state IN ('delivered', 'undeliverable')),
    received_at  timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION smsreg_apply_early_receipt_v1() RETURNS trigger
    LANGUAGE plpgsql AS
$$
DECLARE
    early_state text;
BEGIN
    -- Claim the ids' keys: waits for a receipt transaction holding one (NULL marks our claim).
    INSERT INTO early_receipt (message_id)
        SELECT DISTINCT unnest(NEW.smsc_message_ids)
        ON CONFLICT DO NOTHING;
    -- 'undeliverable' sorts after 'delivered': one failed segment makes the reply undeliverable.
    SELECT max(state) INTO early_state FROM early_receipt WHERE message_id = ANY (NEW.smsc_message_ids);
    DELETE FROM early_receipt WHERE message_id = ANY (NEW.smsc_message_ids) AND state IS NULL;
    IF early_state IS NOT NULL THEN
        NEW.state := early_state;
        NEW.final_at := now();
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER outbound_early_receipt
    BEFORE UPDATE OF smsc_message_ids ON outbound_sms
    FOR EACH ROW
    WHEN (NEW.state = 'sent' AND cardinality(NEW.smsc_message_ids) > 0)
    EXECUTE FUNCTION smsreg_apply_early_receipt_v1();
