-- Queries of smsreg/concat.py: reassembly of concatenated MOs.

-- lock_part_group --
SELECT pg_advisory_xact_lock(hashtextextended(%(source_addr)s || '/' || %(dest_addr)s || '/' || %(reference)s || '/' || %(total)s, 1))

-- insert_part --
-- No row back = this part was stored already (an SMSC redelivery). A part of a group that was
-- already answered (completed, or expired as incomplete) is stored as completed: `late`.
INSERT INTO inbound_part (source_addr, dest_addr, reference, total, seq, source_ton, data_coding, payload,
                          received_at, completed_at)
SELECT %(source_addr)s, %(dest_addr)s, %(reference)s, %(total)s, %(seq)s, %(source_ton)s, %(data_coding)s,
       %(payload)s, %(received_at)s,
       (SELECT max(completed_at) FROM inbound_part
         WHERE source_addr = %(source_addr)s AND dest_addr = %(dest_addr)s
           AND reference = %(reference)s AND total = %(total)s)
ON CONFLICT DO NOTHING
RETURNING completed_at IS NOT NULL AS late

-- open_group_parts --
SELECT seq, payload, data_coding, source_ton, received_at
  FROM inbound_part
 WHERE source_addr = %(source_addr)s AND dest_addr = %(dest_addr)s
   AND reference = %(reference)s AND total = %(total)s AND completed_at IS NULL
 ORDER BY seq

-- complete_group --
UPDATE inbound_part SET completed_at = now()
 WHERE source_addr = %(source_addr)s AND dest_addr = %(dest_addr)s
   AND reference = %(reference)s AND total = %(total)s AND completed_at IS NULL

-- expired_groups --
-- Groups still missing parts after the timeout; each gets the wrong-syntax reply.
SELECT source_addr, dest_addr, reference, total
  FROM inbound_part
 WHERE completed_at IS NULL
 GROUP BY source_addr, dest_addr, reference, total
HAVING min(received_at) < now() - make_interval(secs => %(timeout_s)s)
 LIMIT 100

-- purge_parts --
DELETE FROM inbound_part WHERE completed_at < now() - make_interval(secs => %(keep_s)s)
