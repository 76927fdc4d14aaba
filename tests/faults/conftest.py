"""Fixtures of the fault scenarios: a recording simulator, real worker processes, and the
one-line result of each scenario, printed in pytest's terminal summary."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults import stream, workers

SMSC_RETRY_DELAY_S = 0.2
SMSC_RESPONSE_TIMEOUT_S = 2.0
SMSC_MAX_RETRIES = 1000  # an MO must survive every outage of a scenario
RESULTS: list[str] = []


@pytest.fixture
def smsc() -> Iterator[stream.RecordingSimulator]:
    with stream.RecordingSimulator(password=workers.SMSC_PASSWORD, retry_delay_s=SMSC_RETRY_DELAY_S,
                                       response_timeout_s=SMSC_RESPONSE_TIMEOUT_S,
                                       max_retries=SMSC_MAX_RETRIES) as sim:
        yield sim


@pytest.fixture
def workers_of(tmp_path: Path, smsc: stream.RecordingSimulator) -> Iterator[object]:
    """workers_of(dsn) → a Workers set for that database; every process is stopped afterwards."""
    made: list[workers.Workers] = []

    def make(dsn: str) -> workers.Workers:
        group = workers.Workers(dsn, smsc.address, tmp_path)
        made.append(group)
        return group

    yield make
    for group in made:
        group.stop_all()


@pytest.fixture
def result_line() -> Iterator[list[str]]:
    """Append a scenario's one-line result; it is printed at the end of the run."""
    lines: list[str] = []
    yield lines
    RESULTS.extend(lines)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if RESULTS:
        terminalreporter.section("fault scenarios")
        for line in RESULTS:
            terminalreporter.write_line(line)
