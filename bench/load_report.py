"""What bench/load.py measured: one step (a rate against a set of servers), its report line,
and the markdown tables of a run, ours beside the no-op baseline."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from statistics import quantiles


@dataclass
class Step:
    """What one rate against one set of servers (replicas or no-op) gave."""

    label: str  # "1 replica(s) lexical", "1 no-op"
    replicas: int
    rate: int
    seconds: float
    channel: str = "mixed"
    baseline: bool = False  # the no-op servers
    sent: int = 0
    acked: int = 0
    errors: int = 0
    latencies: list[float] = field(default_factory=list)
    replies: tuple[int, int] = (0, 0)
    elapsed: float = 0.0  # seconds from the first message to the last acknowledgement
    rss: list[float] = field(default_factory=list)  # MB each server holds after the step
    cpu: float = 0.0  # CPU seconds (user + system) the servers used over the step, summed
    busy: float = 0.0  # share of the machine's CPUs busy over the step, 0-1
    generator: float = 0.0  # CPU seconds the load generator used over the step
    wall: float = 0.0  # seconds over which the CPU was counted (the step and its answers)
    profiled: bool = False

    def p(self, q: int) -> float:
        """The q-th percentile of the latency, in ms."""
        if len(self.latencies) < 2:
            return self.latencies[0] * 1000 if self.latencies else float("nan")
        return quantiles(self.latencies, n=100, method="inclusive")[q - 1] * 1000

    def cpu_ms(self) -> float:
        """CPU ms the servers spent per message acknowledged (lead-form messages included)."""
        return self.cpu * 1000 / self.acked if self.acked else float("nan")

    def ok(self, p99_ms: float) -> bool:
        """Acknowledged in full, on time (p99 under `p99_ms`), without an error."""
        return self.errors == 0 and self.acked == self.sent and self.p(99) < p99_ms

    def line(self) -> str:
        """One row of the report."""
        generator = self.generator / self.wall if self.wall else 0.0
        return (
            f"{self.label} {self.channel} {self.rate:>4}/s for {self.seconds:.0f} s: sent "
            f"{self.sent}, acknowledged {self.acked} "
            f"({self.acked / max(self.seconds, self.elapsed):.1f}/s), errors "
            f"{self.errors}, p50 {self.p(50):.1f} ms, p99 {self.p(99):.1f} ms, replies "
            f"telegram {self.replies[0]} slack {self.replies[1]}, RSS "
            f"{', '.join(f'{mb:.0f} MB' for mb in self.rss)}; CPU {self.cpu_ms():.2f} "
            f"ms/message ({self.cpu:.2f} s in {self.wall:.1f} s"
            f"{', profiled' if self.profiled else ''}), machine busy {self.busy:.0%}, "
            f"load generator {generator:.0%} of a core"
        )


@dataclass
class Config:
    """One set of servers (a replica count and matcher, or the no-op app) and its steps."""

    label: str
    replicas: int
    matcher: str | None  # None: the no-op baseline
    steps: list[Step] = field(default_factory=list)
    peak: list[float] = field(default_factory=list)  # VmHWM of each server, MB
    idle: float = 0.0  # CPU ms a second the servers use between steps, summed

    def channels(self) -> list[str]:
        """The channels its steps sent, in order."""
        return list(dict.fromkeys(s.channel for s in self.steps))


def sustained(steps: list[Step], p99_ms: float) -> int:
    """The highest rate acknowledged in full, on time, without an error."""
    return max((s.rate for s in steps if s.ok(p99_ms)), default=0)


def _num(value: float, digits: int = 1) -> str:
    return "n/a" if math.isnan(value) else f"{value:.{digits}f}"


def _ratio(ours: float, theirs: float, digits: int = 1) -> str:
    if math.isnan(ours) or math.isnan(theirs) or not theirs:
        return "n/a"
    return f"{ours / theirs:.{digits}f}"


def _baseline_for(baselines: list[Config], replicas: int) -> Config | None:
    return next((b for b in baselines if b.replicas == replicas), None)


def _nearest(steps: list[Step], channel: str, rate: int) -> Step | None:
    same = [s for s in steps if s.channel == channel]
    return min(same, key=lambda s: (abs(s.rate - rate), s.rate), default=None)


def _peak(config: Config) -> str:
    return ", ".join(f"{mb:.0f}" for mb in config.peak)


def rates_table(configs: list[Config], baselines: list[Config]) -> str:
    """Every step of ours beside the no-op baseline's at the same rate and channel."""
    rows = [
        "| configuration | channel | rate asked/s | acknowledged/s | CPU ms/msg | no-op CPU "
        "ms/msg | ratio | p50 ms | p99 ms | errors | replies (telegram/slack) | peak RSS MB |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for config in configs:
        baseline = _baseline_for(baselines, config.replicas)
        for s in config.steps:
            noop = _nearest(baseline.steps, s.channel, s.rate) if baseline else None
            theirs = noop.cpu_ms() if noop and noop.rate == s.rate else float("nan")
            rows.append(
                f"| {config.label} | {s.channel} | {s.rate} | "
                f"{s.acked / max(s.seconds, s.elapsed):.1f} | {_num(s.cpu_ms(), 2)} | "
                f"{_num(theirs, 2)} | {_ratio(s.cpu_ms(), theirs)} | {_num(s.p(50))} | "
                f"{_num(s.p(99))} | {s.errors} | {s.replies[0]}/{s.replies[1]} | {_peak(config)} |"
            )
    return "\n".join(rows)


def _ceiling(config: Config, channel: str, p99_ms: float, cap: int) -> tuple[int, str]:
    steps = [s for s in config.steps if s.channel == channel]
    best = sustained(steps, p99_ms)
    if not best:  # not even the lowest rate tried
        return 0, f"< {min(s.rate for s in steps)}" if steps else "n/a"
    return best, (f">= {best}" if best >= cap else str(best))


def ceiling_table(
    configs: list[Config], baselines: list[Config], p99_ms: float, caps: tuple[int, int]
) -> str:
    """Each configuration's highest sustained rate beside the no-op's, and the CPU per message
    at that rate."""
    rows = [
        f"| configuration | channel | ceiling msg/s (p99 < {p99_ms:.0f} ms, 0 errors) | no-op "
        "ceiling | ratio | CPU ms/msg at the ceiling (or the lowest rate) | no-op CPU ms/msg "
        "| ratio | p50 ms | p99 ms | peak RSS MB |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for config in configs:
        baseline = _baseline_for(baselines, config.replicas)
        for channel in config.channels():
            best, shown = _ceiling(config, channel, p99_ms, caps[0])
            # the step at the ceiling (or, if none held, the lowest rate tried)
            tried = sorted((s for s in config.steps if s.channel == channel), key=lambda s: s.rate)
            at = next((s for s in tried if s.rate == best), tried[0] if tried else None)
            theirs, their_shown, their_cpu = 0, "n/a", float("nan")
            if baseline is not None and channel in baseline.channels():
                theirs, their_shown = _ceiling(baseline, channel, p99_ms, caps[1])
                noop = _nearest(baseline.steps, channel, at.rate if at else best)
                their_cpu = noop.cpu_ms() if noop else float("nan")
            cpu = at.cpu_ms() if at else float("nan")
            rows.append(
                f"| {config.label} | {channel} | {shown} | {their_shown} | "
                f"{_ratio(best, theirs, 2) if best else 'n/a'} | {_num(cpu, 2)} | "
                f"{_num(their_cpu, 2)} | {_ratio(cpu, their_cpu)} | "
                f"{_num(at.p(50)) if at else 'n/a'} | {_num(at.p(99)) if at else 'n/a'} | "
                f"{_peak(config)} |"
            )
    return "\n".join(rows)
