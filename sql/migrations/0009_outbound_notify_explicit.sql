-- No NOTIFY on every insert into outbound_sms. A transaction that NOTIFYs holds a cluster-wide
-- lock from its commit until the commit is on disk (PostgreSQL keeps notifications in commit
-- order), so the worker's concurrent group commits queued behind one another: in `make bench`
-- a quarter of them waited more than 5 ms for it. The worker now wakes its own sender in
-- process after each commit; the other writers (`smsreg expire`, `smsreg inject`) NOTIFY
-- smsreg_outbound themselves, and every sender still polls once a second.

DROP TRIGGER outbound_notify ON outbound_sms;
DROP FUNCTION smsreg_notify_outbound_v1();
