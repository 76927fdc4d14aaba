"""Switchable fault state (throttling, silence, lost responses), safe to change while running."""

from __future__ import annotations

import threading
import time

from smsreg.smsc import pdus


class Faults:
    """The faults that change how requests are answered; the link-level ones live in Simulator."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._throttle_every = 0
        self._throttle_status = pdus.ESME_RTHROTTLED
        self._throttle_count = 0
        self._silent_until = 0.0
        self._lose_resps = 0

    def throttle(self, every: int = 3, status: int = pdus.ESME_RTHROTTLED) -> None:
        """Answer every Nth submit_sm from now on with status (every=0 turns it off)."""
        if every < 0:
            raise ValueError("every must be >= 0")
        with self._lock:
            self._throttle_every = every
            self._throttle_status = status
            self._throttle_count = 0

    def take_throttle(self) -> int | None:
        """Count one submit_sm; return the error status if this one is throttled."""
        if not self._throttle_every:  # unlocked read: the common no-fault case stays cheap
            return None
        with self._lock:
            if not self._throttle_every:
                return None
            self._throttle_count += 1
            if self._throttle_count % self._throttle_every:
                return None
            return self._throttle_status

    def silence(self, seconds: float) -> None:
        """Answer nothing and deliver nothing for that long (0 ends a silence)."""
        with self._lock:
            self._silent_until = time.monotonic() + seconds if seconds > 0 else 0.0

    def silenced_for(self) -> float:
        """Seconds of silence left (0.0 when not silenced)."""
        until = self._silent_until
        if not until:
            return 0.0
        return max(0.0, until - time.monotonic())

    def lose_submit_resp(self, n: int = 1) -> None:
        """Accept the next n submit_sm but drop the link instead of answering each."""
        with self._lock:
            self._lose_resps += n

    def take_lost_resp(self) -> bool:
        """True if this submit's resp must be lost (consumes one)."""
        if not self._lose_resps:
            return False
        with self._lock:
            if not self._lose_resps:
                return False
            self._lose_resps -= 1
            return True
