"""The benchmark scripts keep running (with tiny sizes) and print the ratios they promise."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def test_telegram_throughput_prints_ratios_against_the_no_op_bot() -> None:
    script = ["bench/telegram_throughput.py", "--messages", "30", "--latency-samples", "10"]
    result = subprocess.run(
        [sys.executable, *script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    ratios = re.findall(r"ratio (\d+\.\d+)", result.stdout)
    assert len(ratios) == 4, result.stdout
    assert all(float(r) > 0 for r in ratios)


def test_slack_throughput_prints_ratios_against_the_no_op_app() -> None:
    script = ["bench/slack_throughput.py", "--requests", "30", "--latency-samples", "10"]
    result = subprocess.run(
        [sys.executable, *script], cwd=ROOT, capture_output=True, text=True, timeout=300,
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    ratios = re.findall(r"ratio (\d+\.\d+)", result.stdout)
    assert len(ratios) == 3, result.stdout
    assert all(float(r) > 0 for r in ratios)
