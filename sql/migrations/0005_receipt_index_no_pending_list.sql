-- Delivery receipts find their reply by SMSC message id through outbound_message_ids_idx. With
-- GIN's fast update, new entries wait in a pending list that every lookup scans in full until a
-- vacuum (or gin_pending_list_limit, 4 MB) merges it: measured 8 ms a receipt at 1.3 MB, so at a
-- few hundred replies a second receipts alone saturate the server. Insert into the tree at once.
ALTER INDEX outbound_message_ids_idx SET (fastupdate = off);
