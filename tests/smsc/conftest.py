"""Fixtures: a fast-retrying simulator and ESMEs bound to it, all torn down after each test."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from smsreg.smsc import Simulator
from tests.smsc.esme import Esme

# Short timers keep redelivery tests fast; waits below are generous so a slow CI box still passes.
RETRY_DELAY_S = 0.2
RESPONSE_TIMEOUT_S = 0.5
WAIT_S = 5.0


@pytest.fixture
def smsc() -> Iterator[Simulator]:
    with Simulator(retry_delay_s=RETRY_DELAY_S, response_timeout_s=RESPONSE_TIMEOUT_S, max_retries=3) as sim:
        yield sim


@pytest.fixture
def connect(smsc: Simulator) -> Iterator[Callable[..., Esme]]:
    """connect(**kwargs) → a bound Esme (kwargs go to Esme.bind, status_for to Esme)."""
    made: list[Esme] = []

    def factory(status_for: Any = None, **bind: Any) -> Esme:
        esme = Esme(smsc.address, status_for=status_for)
        made.append(esme)
        return esme.bind(**bind)

    yield factory
    for esme in made:
        esme.close()


@pytest.fixture
def esme(smsc: Simulator, connect: Callable[..., Esme]) -> Esme:
    bound = connect()
    # The simulator sends bind_resp before it counts the link as bound: wait for both sides.
    assert smsc.wait_bound(1, WAIT_S)
    return bound


def eventually(predicate: Callable[[], bool], timeout: float = WAIT_S) -> bool:
    """Poll predicate until it holds or timeout passes (for state with no wait method)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True
