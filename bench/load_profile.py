"""py-spy on a replica during one step of bench/load.py, and the top entries of what it saw.

py-spy is a bench tool, not a dependency of the bot: `.venv/bin/pip install py-spy` (it reads
the process's memory: run as root, or with ptrace allowed). Samples are taken 100 times a second
from the thread holding the GIL (`--gil`: Python's CPU; a thread waiting, or in native code that
released the GIL, such as libpq's I/O or ONNX Runtime, is not sampled), aggregated by function
(py-spy's `--function`: the line is the function's first). "Own" counts the samples where the
function was running, "total" those where it was anywhere on the stack.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

RATE = ("--rate", "100", "--gil")  # samples a second, of the thread holding the GIL
ATTACH = 1.0  # seconds py-spy takes to find the interpreter in the process


def py_spy() -> str:
    """The py-spy executable, beside this Python or on the PATH."""
    beside = Path(sys.executable).parent / "py-spy"
    found = str(beside) if beside.exists() else shutil.which("py-spy")
    if found is None:
        raise SystemExit("--profile needs py-spy: .venv/bin/pip install py-spy")
    return found


class Recording:
    """py-spy recording one process into a raw (collapsed stacks) file until stopped."""

    def __init__(self, pid: int, out: Path) -> None:
        out.parent.mkdir(parents=True, exist_ok=True)
        self.out = out
        self._process = subprocess.Popen(  # noqa: S603  (py-spy, found above)
            [
                py_spy(),
                "record",
                "--pid",
                str(pid),
                "--format",
                "raw",
                "--function",
                *RATE,
                "-o",
                str(out),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        time.sleep(ATTACH)
        if self._process.poll() is not None:
            said = self._process.communicate()[0].decode(errors="replace")
            raise SystemExit(f"py-spy did not start: {said[:500]}")

    def stop(self) -> None:
        """Ctrl-C, as py-spy expects: it writes the file and exits."""
        self._process.send_signal(signal.SIGINT)
        said = self._process.communicate(timeout=60)[0].decode(errors="replace")
        if not self.out.exists():
            raise SystemExit(f"py-spy wrote nothing: {said[-500:]}")


# Where every sample of a thread starts (threads, the CLI, the event loop): left out of the
# entries by total time, where they would fill the top without saying where the time goes.
PLUMBING = (
    "threading.py:",
    "concurrent/futures/thread.py:",
    "typer/",
    "click/",
    "bot/cli.py:",
    "bot/serve_cli.py:",
    "uvicorn/server.py:",
    "uvicorn/_compat.py:",
    "asyncio/runners.py:",
    "asyncio/base_events.py:",
    "asyncio/events.py:",
    "<string>:",
)


def plumbing(frame: str) -> bool:
    """Whether the frame is one every sample of its thread starts with."""
    where = frame.rpartition(" (")[2]
    return frame.startswith("<module> ") or any(where.startswith(p) for p in PLUMBING)


@dataclass(frozen=True)
class Entry:
    """One function of the profile and its share of the samples."""

    frame: str  # "function (file:line)"
    own: float  # 0-1
    total: float  # 0-1


def top(raw: Path, count: int = 15) -> tuple[int, list[Entry], list[Entry]]:
    """The samples in all, and the `count` functions first by own and by total time."""
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    samples = 0
    for line in raw.read_text().splitlines():
        stack, _, times = line.rpartition(" ")
        if not stack or not times.isdigit():
            continue
        n = int(times)
        frames = stack.split(";")
        samples += n
        own[frames[-1]] += n
        for frame in set(frames):
            total[frame] += n
    if not samples:
        return 0, [], []

    def entry(frame: str) -> Entry:
        return Entry(frame, own[frame] / samples, total[frame] / samples)

    by_own = [entry(frame) for frame, _ in own.most_common(count)]
    ranked = [frame for frame, _ in total.most_common() if not plumbing(frame)]
    by_total = [entry(frame) for frame in ranked[:count]]
    return samples, by_own, by_total


def package(frame: str) -> str:
    """Where the frame's code lives: its top-level package or module ("sqlalchemy", "bot")."""
    where = frame.rpartition(" (")[2]
    first = where.split("/", 1)[0].split(":", 1)[0]
    return first.removesuffix(".py")


def by_package(raw: Path) -> list[tuple[str, float]]:
    """The share of the samples each package was running (own time), first the largest."""
    own: Counter[str] = Counter()
    samples = 0
    for line in raw.read_text().splitlines():
        stack, _, times = line.rpartition(" ")
        if stack and times.isdigit():
            own[package(stack.split(";")[-1])] += int(times)
            samples += int(times)
    return [(name, n / samples) for name, n in own.most_common()] if samples else []


def table(title: str, entries: list[Entry]) -> str:
    """A markdown table of the entries: function, file:line, own %, total %."""
    rows = [f"{title}\n", "| function | file:line | own % | total % |", "| --- | --- | --- | --- |"]
    for e in entries:
        name, _, where = e.frame.partition(" (")
        rows.append(
            f"| `{name}` | `{where.rstrip(')')}` | {e.own * 100:.1f} | {e.total * 100:.1f} |"
        )
    return "\n".join(rows)


def summary(raw: Path, label: str, count: int = 15) -> str:
    """The profile's top entries by own and by total time, in markdown."""
    samples, by_own, by_total = top(raw, count)
    head = f"py-spy, {label}: {samples} samples ({raw})"
    own = table(f"Top {count} by own time:", by_own)
    title = f"Top {count} by total time (on the stack; threads, CLI and event loop left out):"
    total = table(title, by_total)
    shares = by_package(raw)[:count]
    packages = ", ".join(f"{name} {share * 100:.0f} %" for name, share in shares)
    return f"{head}\n\nOwn time by package: {packages}.\n\n{own}\n\n{total}\n"
