"""One-time passwords hashed ahead of need, so that a registration's transaction does not wait
for the deliberately slow argon2id hash."""

from __future__ import annotations

import queue
import threading
import time

from smsreg import config, metrics, passwords

STOCK_WAIT_S = 1.0  # an empty stock: wait this long for the hashing threads, then hash here


class PasswordStock:
    """One-time passwords hashed ahead of need by `threads` background threads, so a
    registration takes a ready (password, hash) pair instead of hashing in its transaction's
    path. The pairs exist only in this process's memory until used (never stored); a crash
    loses them, and no one has ever seen them."""

    def __init__(self, cfg: config.PasswordsConfig, stats: metrics.Metrics, size: int, threads: int) -> None:
        self._hasher = passwords.Hasher(cfg)
        self._stats = stats
        self._ready: queue.Queue[tuple[str, str]] = queue.Queue(maxsize=size)
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._fill, name=f"smsreg-hash-{i}", daemon=True)
                         for i in range(threads)]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def close(self) -> None:
        self._stop.set()

    def take(self) -> tuple[str, str]:
        """A fresh (password, argon2id hash); made here if the stock stays empty for STOCK_WAIT_S."""
        try:
            return self._ready.get(timeout=STOCK_WAIT_S if self._threads else 0)
        except queue.Empty:
            return self._make()

    def _make(self) -> tuple[str, str]:
        password = passwords.generate()
        started = time.perf_counter()
        digest = self._hasher.hash(password)
        self._stats.hash_duration.observe(time.perf_counter() - started)
        return password, digest

    def _fill(self) -> None:
        while not self._stop.is_set():
            pair = self._make()
            while not self._stop.is_set():
                try:
                    self._ready.put(pair, timeout=0.5)
                    break
                except queue.Full:
                    continue
