"""Start-up of the command line: `ask`, `chat`'s first answer and `serve` until ready.

    python bench/startup.py [--runs 5] [--port 8797] [--source DIR] [--cache-dir DIR]

In one run, with the interpreter that runs this script, each measured as the median wall
time of `--runs` runs:

* baselines: `python -c pass` and `python -c "import bot"`;
* `lingang-bot ask QUESTION` once in a new folder with an empty cache (cold, one run), then
  warm: each run in another new folder (the cache is per user, not per working folder), and
  in a second folder run after run (what an older build, whose cache sat in `./var`, needed
  to be warm);
* `lingang-bot chat --jsonl` until its first answer is printed (standard input fed, in a
  folder whose database exists);
* `lingang-bot serve` until `GET /readyz` answers 200 (the same folder and database).

Each line prints the median wall time, its ratio to `python -c pass` and to `import bot`, and
the median CPU time the process used (on a busy machine the wall time mostly waits for a
core). The cache folder is a temporary one (XDG_CACHE_HOME) unless `--cache-dir` names one,
so the user's own cache is neither used nor changed; the matcher is the default (`auto`:
semantic when the model is installed).
`--source DIR` runs the bot from another checkout (put first on PYTHONPATH), e.g. the commit
before a change exported with `git archive`, for a before/after table in one sitting.
Timings on a shared machine are noisy: compare ratios within one run.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

PYTHON = sys.executable
QUESTION = "What is Lingang?"
CLI = "from bot.cli import main; main()"  # the console script's own code, for --source too


def _environment(cache: Path, source: Path | None, cache_dir: Path | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LINGANG_", "TELEGRAM_"))}
    env = {k: v for k, v in env.items() if not k.startswith("SLACK_")}
    env["XDG_CACHE_HOME"] = str(cache)
    if cache_dir is not None:
        env["LINGANG_CACHE_DIR"] = str(cache_dir)
    # Bytecode is written and read as for an installed package (else every run of a checkout
    # whose .pyc files are missing or stale compiles those modules again).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if source is not None:
        env["PYTHONPATH"] = str(source)
    return env


@dataclass(frozen=True)
class Run:
    """Wall seconds, and the CPU seconds (user + system) the process used meanwhile: on a
    busy machine the wall time waits for a core, the CPU time much less so."""

    wall: float
    cpu: float


def _cpu(pid: int) -> float:
    """CPU seconds used so far by the live process `pid` (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _wall(command: list[str], cwd: Path, env: dict[str, str]) -> Run:
    """Until `command` exits (it must succeed)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    result = subprocess.run(  # noqa: S603  (our own command line)
        command, cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stderr[-2000:]}")
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return Run(seconds, cpu)


def _first_line(command: list[str], cwd: Path, env: dict[str, str], stdin: str) -> Run:
    """Until `command` prints its first line on standard output."""
    start = time.perf_counter()
    process = subprocess.Popen(  # noqa: S603  (our own command line)
        command,
        cwd=cwd,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    if process.stdin is None or process.stdout is None:
        raise SystemExit("no pipes")
    process.stdin.write(stdin)
    process.stdin.flush()
    line = process.stdout.readline()
    seconds = time.perf_counter() - start
    cpu = _cpu(process.pid)
    process.stdin.close()
    process.wait(timeout=60)
    if not line:
        raise SystemExit(f"{' '.join(command)} printed nothing")
    return Run(seconds, cpu)


def _ready(command: list[str], cwd: Path, env: dict[str, str], port: int) -> Run:
    """Until the server started by `command` answers GET /readyz with 200."""
    start = time.perf_counter()
    process = subprocess.Popen(  # noqa: S603  (our own command line)
        command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = start + 120
        while time.perf_counter() < deadline:
            if process.poll() is not None:
                raise SystemExit(f"{' '.join(command)} exited with {process.returncode}")
            try:
                url = f"http://127.0.0.1:{port}/readyz"
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        return Run(time.perf_counter() - start, _cpu(process.pid))
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.02)
        raise SystemExit(f"{' '.join(command)} not ready in 120 s")
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def main() -> None:
    """Measure and print each start-up against the baselines."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per measurement (median)")
    parser.add_argument("--port", type=int, default=8797, help="port for `serve`")
    parser.add_argument("--source", type=Path, help="run the bot from this checkout")
    parser.add_argument("--question", default=QUESTION)
    parser.add_argument(
        "--cache-dir", type=Path, help="LINGANG_CACHE_DIR to use (default: a new, empty one)"
    )
    args = parser.parse_args()
    source = args.source.resolve() if args.source else None

    work = Path(tempfile.mkdtemp(prefix="lingang-startup-"))
    try:
        env = _environment(work / "cache", source, args.cache_dir)
        lingang = [PYTHON, "-c", CLI]
        ask = [*lingang, "ask", args.question]
        folders = iter(range(10_000))

        def fresh() -> Path:
            folder = work / f"folder-{next(folders)}"
            folder.mkdir()
            return folder

        rows: list[tuple[str, Run]] = []

        def median(name: str, measure: Callable[[], Run]) -> None:
            runs = [measure() for _ in range(args.runs)]
            wall = statistics.median(r.wall for r in runs)
            rows.append((name, Run(wall, statistics.median(r.cpu for r in runs))))

        median("python -c pass", lambda: _wall([PYTHON, "-c", "pass"], work, env))
        median('python -c "import bot"', lambda: _wall([PYTHON, "-c", "import bot"], work, env))
        rows.append(("ask, first run (cold cache)", _wall(ask, fresh(), env)))
        median("ask, warm, each run a new folder", lambda: _wall(ask, fresh(), env))
        second = fresh()
        _wall(ask, second, env)  # what a cache kept in the working folder needs first
        median("ask, warm, a second folder again", lambda: _wall(ask, second, env))

        home = fresh()
        chat = [*lingang, "chat", "--jsonl"]
        line = args.question + "\n"
        _first_line(chat, home, env, line)  # makes the database
        median("chat, first answer", lambda: _first_line(chat, home, env, line))
        serve = [*lingang, "serve", "--port", str(args.port)]
        median("serve, until /readyz is 200", lambda: _ready(serve, home, env, args.port))
    finally:
        shutil.rmtree(work, ignore_errors=True)

    bare, imported = rows[0][1], rows[1][1]
    origin = f"source {source}" if source else "this checkout"
    print(f"startup ({args.runs} runs each, median; {origin}; wall and CPU seconds)")
    for name, run in rows:
        print(
            f"{name:<34} wall {run.wall:7.3f} s (ratio {run.wall / bare.wall:.1f} to python -c "
            f"pass, ratio {run.wall / imported.wall:.2f} to import bot)  cpu {run.cpu:6.3f} s"
        )


if __name__ == "__main__":
    main()
