"""What one `smsreg expire` run did, and its two reports: the summary line, and a Prometheus
text file for node_exporter's textfile collector (a cron job cannot be scraped).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import prometheus_client
from prometheus_client import parser

logger = logging.getLogger(__name__)

LAST_SUCCESS = "smsreg_expire_last_success_timestamp_seconds"


@dataclass(slots=True)
class Tally:
    """What one run did. skipped = no longer due once locked (the citizen changed the password,
    or another run holds or already rotated it). The textfile exports these as gauges of the
    last run: a file rewritten by each run cannot keep a counter honestly."""

    due: int = 0
    rotated: int = 0
    disabled: int = 0
    skipped: int = 0
    errors: int = 0

    def add(self, other: Tally) -> None:
        self.rotated += other.rotated
        self.disabled += other.disabled
        self.skipped += other.skipped
        self.errors += other.errors

    def summary(self, duration_s: float, *, dry_run: bool) -> str:
        """The one line a run prints for cron and people."""
        head = "expire (dry run):" if dry_run else "expire:"
        return (f"{head} due={self.due} rotated={self.rotated} disabled={self.disabled} "
                f"skipped={self.skipped} errors={self.errors} duration={duration_s:.2f}s")


def previous_last_success(path: str) -> float | None:
    """The last-success timestamp an earlier run wrote to path, or None if there is none."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        logger.warning("cannot read the previous metrics file %s: %s", path, exc)
        return None
    try:
        for family in parser.text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == LAST_SUCCESS:
                    return float(sample.value)
    except ValueError as exc:
        logger.warning("ignoring an unparsable metrics file %s: %s", path, exc)
    return None


def write(path: str, run: Tally, *, duration_s: float, finished_at_s: float) -> None:
    """Write the run's metrics to path (temp file + rename, so a reader never sees half a file).

    The last-success timestamp moves only when the run had no error; otherwise the previous
    value is carried over, so an alert on its age fires. Raises OSError if path is unwritable.
    """
    registry = prometheus_client.CollectorRegistry()

    def gauge(name: str, documentation: str, value: float) -> None:
        prometheus_client.Gauge(name, documentation, registry=registry).set(value)

    last_success = finished_at_s if run.errors == 0 else previous_last_success(path)
    if last_success is not None:
        gauge(LAST_SUCCESS, "When smsreg expire last finished without any error.", last_success)
    gauge("smsreg_expire_last_run_timestamp_seconds", "When smsreg expire last finished.",
          finished_at_s)
    gauge("smsreg_expire_duration_seconds", "How long the last run took.", duration_s)
    gauge("smsreg_expire_due", "Accounts due for rotation when the last run started.", run.due)
    gauge("smsreg_expire_rotated", "Passwords the last run replaced (reminder queued).", run.rotated)
    gauge("smsreg_expire_disabled", "Passwords the last run disabled after expiry.max_rotations.",
          run.disabled)
    gauge("smsreg_expire_errors", "Accounts or steps that failed in the last run.", run.errors)
    prometheus_client.write_to_textfile(path, registry)
