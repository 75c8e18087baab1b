"""What bench/load.py reads of a process and of the machine in /proc: CPU time (all threads),
peak and current RSS, and how busy the machine's CPUs were."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")  # clock ticks a second, the unit of /proc's CPU times


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process (all its threads) has used, in seconds."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    # After "pid (comm) ": state is field 3; utime and stime are fields 14 and 15.
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def memory_mb(pid: int, field: str = "VmRSS") -> float:
    """The memory the process holds now (VmRSS) or held at most (VmHWM), in MB."""
    status = Path(f"/proc/{pid}/status").read_text()
    kb = next(int(line.split()[1]) for line in status.splitlines() if line.startswith(field))
    return kb / 1024


@dataclass(frozen=True)
class MachineTicks:
    """The machine's CPU ticks, busy and in all, since boot (/proc/stat's first line)."""

    busy: int
    total: int

    @classmethod
    def now(cls) -> MachineTicks:
        """Read them."""
        first = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
        ticks = [int(t) for t in first]
        idle = ticks[3] + ticks[4]  # idle and iowait
        total = sum(ticks[:8])  # guest time is counted in user already
        return cls(total - idle, total)

    def busy_since(self, before: MachineTicks) -> float:
        """The share of all CPUs busy between `before` and these, 0-1."""
        total = self.total - before.total
        return (self.busy - before.busy) / total if total else 0.0
