-- Let the two most frequent updates of a reply be HOT (heap-only: no index entries, and the old
-- version is pruned in place without vacuum): the claim (queued → sending) and the delivery
-- receipt (sent → delivered). An update is HOT only when it changes no indexed column, and a
-- column in an index's WHERE counts as indexed; both updates change `state`, which was the
-- predicate of outbound_claim_idx. Measured in `make bench`: a non-HOT update of a reply cost
-- ~90 µs of PostgreSQL time, four index entries each.
--
-- * outbound_claim_idx now covers rows never accepted by the SMSC (sent_at IS NULL). A row
--   that failed for good gets not_before = 'infinity' ("never"), so the claim's range scan
--   (not_before <= now()) stops before it.
-- * outbound_message_ids_idx only holds rows that have message ids: the insert and the claim
--   no longer add an (empty) entry to it.
-- * fillfactor 50 leaves room on each page for the new versions (new pages only; old ones fill up).

ALTER TABLE outbound_sms SET (fillfactor = 50);

UPDATE outbound_sms SET not_before = 'infinity' WHERE state = 'failed' AND sent_at IS NULL;

DROP INDEX outbound_claim_idx;
CREATE INDEX outbound_claim_idx ON outbound_sms (not_before, id) WHERE sent_at IS NULL;

DROP INDEX outbound_message_ids_idx;
CREATE INDEX outbound_message_ids_idx ON outbound_sms USING gin (smsc_message_ids)
    WITH (fastupdate = off) WHERE cardinality(smsc_message_ids) > 0;
