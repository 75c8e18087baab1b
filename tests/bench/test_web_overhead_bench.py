"""bench/web_overhead.py keeps running (tiny sizes) and prints every row of its table."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
ROWS = (
    "bare ASGI app", "telegram webhook", "slack events", "bolt dispatch, configured as before",
    "bolt dispatch, configured as now", "telegram sendMessage, a connection per call",
    "telegram sendMessage, kept-alive", "telegram sendMessage, kept-alive, over aiohttp (ours)",
    "slack chat.postMessage, a session per call",
    "slack chat.postMessage, one session",
)  # fmt: skip


def test_the_web_layer_bench_prints_cpu_per_request_and_ratios() -> None:
    result = subprocess.run(
        [sys.executable, "bench/web_overhead.py", "--requests", "60"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    table = re.findall(r"^\| ([^|]+) \| (\d+) \| (\d+\.\d) \|$", result.stdout, re.MULTILINE)
    rows = {name: float(ratio) for name, _, ratio in table}
    assert tuple(rows) == ROWS, result.stdout
    assert rows["bare ASGI app"] == 1.0
    assert all(ratio > 0 for ratio in rows.values())
