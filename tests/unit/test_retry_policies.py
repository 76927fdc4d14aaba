"""The retry policies build without warnings (pytest turns warnings into errors, and a warning
raised on the session's reader thread killed it: the worker never bound under test)."""

from __future__ import annotations

import threading
import warnings

import tenacity

from smsreg import config, db, metrics, session


class _NoHandler:
    def on_incoming(self, link: int, mo: object) -> None: ...
    def on_submit_resp(self, link: int, sequence: int, status: int | None, message_id: str | None) -> None: ...
    def on_link_down(self, link: int) -> None: ...


def _waits(retrying: tenacity.Retrying, attempts: int) -> list[float]:
    out = []
    for n in range(1, attempts + 1):
        state = tenacity.RetryCallState(retrying, fn=None, args=(), kwargs={})
        state.attempt_number = n
        out.append(float(retrying.wait(state)))
    return out


def test_database_retry_policy_has_no_deprecated_arguments() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        policy = db.retrying(threading.Event(), 1.0)
    waits = _waits(policy, 8)
    assert 0.05 <= waits[0] <= 0.1
    assert all(w <= db.RETRY_MAX_WAIT_S + 0.05 for w in waits)


def test_reconnect_policy_has_no_deprecated_arguments() -> None:
    cfg = config.load("/dev/null", {"SMSREG_SMPP_RECONNECT_MIN_S": "0.1", "SMSREG_SMPP_RECONNECT_MAX_S": "2"})
    link = session.Session(cfg.smpp, _NoHandler(), metrics.Metrics(), threading.Event())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        policy = link._reconnecting()
    waits = _waits(policy, 10)
    assert 0.1 <= waits[0] <= 0.2
    assert all(w <= 2.0 + 0.1 for w in waits)
    assert max(waits) >= 1.0
