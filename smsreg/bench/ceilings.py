"""The ceilings the worker is compared with, measured in the same run on the same machine:
password hashes per second on all cores, and PostgreSQL commits per second for the rows an MO
writes, from the same client library (psycopg 3), with no SMPP and no worker in the way.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Callable

import psycopg

from smsreg import config, passwords

# The two rows every answered MO writes (inbound + its reply), as one statement.
MO_ROWS = """
WITH mo AS (
    INSERT INTO inbound_sms (source_addr, phone, dest_addr, data_coding, payload, text, redelivery_key, outcome)
    VALUES (%(source)s, %(source)s, '8188', 0, %(payload)s, %(text)s, %(key)s, 'syntax_error')
    RETURNING id
)
INSERT INTO outbound_sms (kind, inbound_id, destination, body, segments)
SELECT 'syntax_error', mo.id, %(source)s, %(body)s, 1 FROM mo
"""
BODY = "Loi. Tin nhan sai cu phap. Cu phap dung la: TK,Ho va ten,soCMND,nn.tt.nnnn (ngay thang nam sinh)"


def _for(duration_s: float, threads: int, work: Callable[[int, Callable[[], bool]], int]) -> float:
    """Run work(thread_no, keep_going) on each thread for duration_s; total units per second."""
    done = [0] * threads
    stop_at = time.monotonic() + duration_s

    def target(i: int) -> None:
        done[i] = work(i, lambda: time.monotonic() < stop_at)

    started = time.monotonic()
    pool = [threading.Thread(target=target, args=(i,), name=f"bench-ceiling-{i}") for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return sum(done) / (time.monotonic() - started)


def hashes_per_s(cfg: config.PasswordsConfig, duration_s: float) -> float:
    """argon2id hashes per second with the configured cost, one thread per CPU (it releases the GIL)."""
    hasher = passwords.Hasher(cfg)

    def work(_: int, keep_going: Callable[[], bool]) -> int:
        n = 0
        while keep_going():
            hasher.hash(passwords.generate())
            n += 1
        return n
    return _for(duration_s, os.cpu_count() or 1, work)


def commits_per_s(dsn: str, connections: int, per_commit: int, duration_s: float) -> float:
    """Transactions per second, each inserting per_commit MOs' rows (inbound + reply)."""
    def work(i: int, keep_going: Callable[[], bool]) -> int:
        n = 0
        with psycopg.connect(dsn) as conn:
            while keep_going():
                with conn.transaction(), conn.cursor() as cur:
                    cur.executemany(MO_ROWS, [_params(i, n, k) for k in range(per_commit)])
                n += 1
        return n
    return _for(duration_s, connections, work)


def _params(i: int, n: int, k: int) -> dict[str, object]:
    source = f"849{i:02d}{n:06d}"[:11] + str(k)
    payload = f"TK Nguyen Van An {i}.{n}.{k}".encode()
    return {"source": source, "payload": payload, "text": payload.decode(), "body": BODY,
            "key": hashlib.sha256(payload).digest()}
