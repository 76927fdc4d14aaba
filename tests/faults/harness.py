"""One fault scenario from start to verdict: feed the stream, let the test inject its faults,
then wait for quiet, prove the worker still answers, stop the workers and check the invariants."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from smsreg.smsc import MoSpec
from tests.conftest import make_config
from tests.faults import invariants, stream, workers
from tests.faults.invariants import Report
from tests.faults.stream import Feeder, Planned, RecordingSimulator

# A loaded 2-core CI box: generous bounds for things that take well under a second.
DONE_TIMEOUT_S = 90.0
PROBE_TIMEOUT_S = 20.0
QUIET_TIMEOUT_S = 60.0
PROBE_NUMBER = 999_000


@dataclass
class Harness:
    name: str
    smsc: RecordingSimulator
    dsn: str
    workers: workers.Workers
    results: list[str]
    extra: dict[str, object] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)  # found by the scenario itself

    def feed(self, stream: Sequence[Planned], rate_per_s: float) -> Feeder:
        return Feeder(self.smsc, stream, rate_per_s).start()

    def finish(self, feeder: Feeder, *, expect_exit: int = 0, expected_extra: Sequence[bytes] = ()) -> Report:
        """The end of every scenario; raises AssertionError listing every broken invariant."""
        feeder.join(DONE_TIMEOUT_S)
        feeder.wait_done(DONE_TIMEOUT_S)
        probe = self._probe(feeder)
        quiet = invariants.wait_quiet(self.smsc, self.dsn, QUIET_TIMEOUT_S)
        running = [w for w in self.workers.all if w.alive]
        exited = [w.name for w in self.workers.all if not w.alive and w.proc is not None
                  and w.proc.returncode != -9]
        codes = {w.name: w.stop() for w in running}
        report = invariants.check(self.name, self.smsc, self.dsn, feeder.sent, make_config(self.dsn),
                                  self.workers.logs(), expected_extra)
        report.extra.update(self.extra)
        for problem in self.problems:
            report.problem(problem)
        if probe is not None:
            report.problem(probe)
        if not quiet:
            report.problem("the outbox never settled: " + repr(invariants.rows(
                self.dsn, "SELECT id, state, attempts, error FROM outbound_sms WHERE state IN ('queued', 'sending') "
                          "LIMIT 5")))
        if exited:
            report.problem(f"worker(s) {exited} exited on their own")
        if any(code != expect_exit for code in codes.values()):
            report.problem(f"exit codes after SIGTERM: {codes}")
        self.results.append(report.line())
        print(report.line())
        invariants.assert_clean(report, lambda: self.workers.tails())
        return report

    def _probe(self, feeder: Feeder) -> str | None:
        """Once the faults are over, a new citizen is answered promptly (the worker serves again)."""
        number = PROBE_NUMBER + len(feeder.sent)
        started = time.monotonic()
        spec = MoSpec(stream.reg_text(number), source=stream.phone(number))
        sent = feeder.send(Planned(spec, "probe", frozenset({stream.OK}), stream.id_number(number)))
        if not sent.handle.wait_acked(PROBE_TIMEOUT_S):
            return f"the probe MO after the faults was not acknowledged: {sent.handle.statuses}"
        dest = stream.phone(number)
        deadline = started + PROBE_TIMEOUT_S
        while time.monotonic() < deadline:
            if any(r.destination == dest for r in self.smsc.replies):
                self.extra["probe_s"] = f"{time.monotonic() - started:.2f}"
                return None
            time.sleep(0.05)
        return f"the probe MO after the faults got no reply within {PROBE_TIMEOUT_S:.0f} s"
