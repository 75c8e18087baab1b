"""Memory and start-up of one `lingang-bot serve` replica: lexical (baseline) against semantic.

    python bench/replica_memory.py [--questions 40] [--port 8799]

For each matcher, in one run: a fresh data folder, a first start (the example embeddings and the
model's table are written to the cache folder), questions in English and Chinese through the web
chat, a stop, then a second start on the warm cache and the same questions again. It prints the
time until `/healthz` answers and the RSS (`VmRSS`) and peak (`VmHWM`) after the questions, and
the ratio semantic / lexical. Timings on shared machines are noisy: compare within one run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
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


@dataclass(frozen=True)
class Start:
    seconds: float
    rss_mb: float
    peak_mb: float


def _memory(pid: int) -> tuple[float, float]:
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def _post(port: int, text: str) -> None:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/chat/messages",
        data=json.dumps({"text": text}).encode(),
        headers={"Content-Type": "application/json", "Origin": f"http://127.0.0.1:{port}"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        response.read()


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
            return r.status == 200
    except (urllib.error.URLError, OSError):
        return False


def start(data: Path, matcher: str, port: int, questions: int) -> Start:
    env = dict(
        os.environ,
        LINGANG_DATA_DIR=str(data),
        LINGANG_MATCHER=matcher,
        LINGANG_PORT=str(port),
        LINGANG_WEB_CHAT_PER_MINUTE="100000",
        OPENBLAS_NUM_THREADS="1",
    )
    began = time.perf_counter()
    process = subprocess.Popen(  # noqa: S603
        [str(LINGANG), "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = began + 120
        while not _healthy(port):
            if time.perf_counter() > deadline or process.poll() is not None:
                raise SystemExit(f"serve ({matcher}) did not become healthy")
            time.sleep(0.1)
        ready = time.perf_counter() - began
        for number in range(questions):
            _post(port, f"{QUESTIONS[number % len(QUESTIONS)]} {number}")
        rss, peak = _memory(process.pid)
    finally:
        process.terminate()
        process.wait(timeout=60)
    return Start(ready, rss, peak)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--questions", type=int, default=40)
    parser.add_argument("--port", type=int, default=8799)
    args = parser.parse_args()
    results: dict[str, list[Start]] = {}
    for matcher in ("lexical", "semantic"):
        with tempfile.TemporaryDirectory() as folder:
            data = Path(folder)
            results[matcher] = [start(data, matcher, args.port, args.questions) for _ in "12"]
    print(f"{'matcher':10} {'start':6} {'ready s':>8} {'RSS MB':>8} {'peak MB':>8}")
    for matcher, starts in results.items():
        for name, run in zip(("first", "warm"), starts, strict=True):
            print(f"{matcher:10} {name:6} {run.seconds:8.2f} {run.rss_mb:8.1f} {run.peak_mb:8.1f}")
    lexical, semantic = results["lexical"][1], results["semantic"][1]
    print(
        f"warm replica, semantic / lexical: RSS x{semantic.rss_mb / lexical.rss_mb:.2f} "
        f"(+{semantic.rss_mb - lexical.rss_mb:.0f} MB), "
        f"ready x{semantic.seconds / lexical.seconds:.2f}"
    )


if __name__ == "__main__":
    main()
