"""What a process costs, read from /proc: CPU seconds, resident and peak resident memory."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

_TICKS_PER_S = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True, slots=True)
class Usage:
    cpu_s: float      # user + system, all threads
    rss_kib: int      # resident now
    hwm_kib: int      # peak resident since the process started


def cpu_seconds(pid: int) -> float:
    """User + system CPU of pid (all its threads); 0.0 if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    # The command name may hold spaces and parentheses: split after the last ')'.
    fields = stat[stat.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS_PER_S


def usage(pid: int) -> Usage:
    """CPU and memory of pid. Raises OSError if it is gone."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0])
    return Usage(cpu_seconds(pid), values.get("VmRSS", 0), values.get("VmHWM", 0))


def self_cpu_seconds() -> float:
    """CPU of this process (the simulator, the load generator and the probes)."""
    times = os.times()
    return times.user + times.system


def machine() -> dict[str, object]:
    """The facts a reader needs to compare figures between machines."""
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpus": os.cpu_count(), "cpu_model": model, "load_average": os.getloadavg(),
            "memory_mib": os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 2**20}
