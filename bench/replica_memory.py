"""Memory of one `lingang-bot serve` replica, per matcher, against a bare interpreter's.

    python bench/replica_memory.py [--questions 40] [--port 8799] [--matchers lexical,semantic]
                                   [--source TREE]

The baseline, measured in the same run: `python -c "import time; time.sleep(...)"` with the
same interpreter. Then, for each matcher, a fresh data folder (SQLite) and cache folder and two
starts of a replica: the first on an empty database and a cold cache (the place index, the
example embeddings and the model's table are written to the cache; the first admin's password
is hashed at start), the second on the warm cache. After each start the replica's memory is
read from /proc: once it answers `/healthz` (idle), after `--questions` questions in English
and Chinese through the web chat, and after a login of the first admin (one Argon2 check,
64 MiB). Printed per step: RSS (VmRSS), peak (VmHWM), the peak's ratio to the baseline's RSS,
and whether the peak is within the target (`--target-mb`, 250: the issue's limit per
replica). `--source` runs the bot's code from another tree (a `git worktree` of an earlier
commit, say) with this interpreter and its packages: before and after on one machine. Timings
and sizes vary with the machine and what else runs: compare within one run.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

QUESTIONS = [
    "how big is lingang",
    "临港在哪里",
    "what is a WFOE",
    "外商独资企业注册要多久",
    "tell me about SMIC in lingang",
    "企業所得稅優惠",
    "how do I get a work permit",
    "洋山港吞吐量",
]
LINGANG = Path(sys.executable).with_name("lingang-bot")
FIRST_ADMIN = re.compile(r"as (\S+) with the password (\S+)")


@dataclass(frozen=True)
class Reading:
    """A replica's memory at one step, in MB."""

    step: str
    rss_mb: float
    peak_mb: float


@dataclass(frozen=True)
class Start:
    """One start of a replica: seconds until healthy and the readings after each step."""

    name: str
    seconds: float
    readings: list[Reading]


def memory(pid: int) -> tuple[float, float]:
    """VmRSS and VmHWM of `pid`, in MB."""
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def baseline_mb() -> float:
    """The RSS of this interpreter doing nothing (`python -c "import time; time.sleep(...)"`)."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        time.sleep(0.5)
        return memory(process.pid)[0]
    finally:
        process.terminate()
        process.wait(timeout=30)


def _ask(port: int, text: str) -> None:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/chat/messages",
        data=json.dumps({"text": text}).encode(),
        headers={"Content-Type": "application/json", "Origin": f"http://127.0.0.1:{port}"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        response.read()


def log_in(port: int, email: str, password: str) -> int:
    """POST the login form once (one password check); the status (303: logged in)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        body = urllib.parse.urlencode({"email": email, "password": password, "next": "/leads"})
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        connection.request("POST", "/login", body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
            return bool(r.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _admin(log: Path) -> tuple[str, str] | None:
    found = FIRST_ADMIN.search(log.read_text(encoding="utf-8", errors="replace"))
    return (found.group(1), found.group(2)) if found else None


def start(
    folder: Path,
    name: str,
    matcher: str,
    port: int,
    questions: int,
    *,
    admin: tuple[str, str] | None,
    source: Path | None = None,
) -> tuple[Start, tuple[str, str] | None]:
    """Start a replica on `folder`, measure it step by step, stop it; the readings and the
    first admin's credentials (printed by the first start, passed in to the second)."""
    env = dict(
        os.environ,
        LINGANG_DATA_DIR=str(folder / "data"),
        LINGANG_CACHE_DIR=str(folder / "cache"),
        LINGANG_MATCHER=matcher,
        LINGANG_PORT=str(port),
        LINGANG_LOG_FORMAT="text",
        LINGANG_WEB_CHAT_PER_MINUTE="100000",
        OPENBLAS_NUM_THREADS="1",
    )
    if source is not None:  # ahead of the editable install's finder
        env["PYTHONPATH"] = str(source)
    log = folder / f"{name}.log"
    began = time.perf_counter()
    with log.open("w", encoding="utf-8") as output:
        process = subprocess.Popen(  # noqa: S603
            [str(LINGANG), "serve"], env=env, stdout=output, stderr=subprocess.STDOUT
        )
    readings: list[Reading] = []
    try:
        deadline = began + 180
        while not _healthy(port):
            if time.perf_counter() > deadline or process.poll() is not None:
                raise SystemExit(f"serve ({matcher}) did not become healthy:\n{log.read_text()}")
            time.sleep(0.1)
        ready = time.perf_counter() - began
        readings.append(Reading("idle", *memory(process.pid)))
        for number in range(questions):
            _ask(port, f"{QUESTIONS[number % len(QUESTIONS)]} {number}")
        readings.append(Reading(f"{questions} questions", *memory(process.pid)))
        admin = admin or _admin(log)
        if admin is None:
            raise SystemExit(f"no first admin in the log:\n{log.read_text()}")
        status = log_in(port, *admin)
        if status != 303:
            raise SystemExit(f"the admin's login answered {status}")
        readings.append(Reading("admin login", *memory(process.pid)))
    finally:
        process.terminate()
        process.wait(timeout=60)
    return Start(name, ready, readings), admin


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--questions", type=int, default=40)
    parser.add_argument("--port", type=int, default=8799)
    parser.add_argument("--matchers", default="lexical,semantic")
    parser.add_argument("--target-mb", type=float, default=250.0)
    parser.add_argument("--source", type=Path, help="run the bot from this tree")
    args = parser.parse_args()
    base = baseline_mb()
    print(f"baseline (python -c 'import time; time.sleep(...)'): RSS {base:.1f} MB")
    print(
        f"{'matcher':9} {'start':5} {'ready s':>7} {'step':14} {'RSS MB':>7} {'peak MB':>7} "
        f"{'peak/base':>9}  target"
    )
    peaks: dict[str, float] = {}
    for matcher in args.matchers.split(","):
        with tempfile.TemporaryDirectory() as folder:
            admin = None
            for name in ("cold", "warm"):
                run, admin = start(
                    Path(folder),
                    name,
                    matcher,
                    args.port,
                    args.questions,
                    admin=admin,
                    source=args.source,
                )
                for reading in run.readings:
                    ok = "met" if reading.peak_mb <= args.target_mb else "MISSED"
                    print(
                        f"{matcher:9} {name:5} {run.seconds:7.2f} {reading.step:14} "
                        f"{reading.rss_mb:7.1f} {reading.peak_mb:7.1f} "
                        f"ratio {reading.peak_mb / base:5.2f}  {ok}"
                    )
                peaks[matcher] = max(peaks.get(matcher, 0.0), run.readings[-1].peak_mb)
    for matcher, peak in peaks.items():
        verdict = "within" if peak <= args.target_mb else "over"
        target = f"{args.target_mb:.0f} MB"
        print(f"{matcher}: highest peak {peak:.1f} MB, {verdict} the {target} target")
    if "lexical" in peaks and "semantic" in peaks:
        print(f"semantic / lexical peak: ratio {peaks['semantic'] / peaks['lexical']:.2f}")


if __name__ == "__main__":
    main()
