"""bench/inbox.py keeps running (with tiny sizes) and prints the ratios and the tuning it
promises."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def run(*args: str) -> str:
    result = subprocess.run(
        [sys.executable, "bench/inbox.py", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_inbox_prints_page_ratios_against_the_small_inbox() -> None:
    out = run("--questions", "300", "--baseline", "30", "--loads", "2", "--matcher", "lexical")
    ratios = re.findall(r"ratio (\d+\.\d+)", out)
    assert len(ratios) == 4, out  # first load and filed page, for each kind of flood
    assert all(float(r) > 0 for r in ratios)
    assert len(re.findall(r"filing the other \d+: \d+\.\d+ s", out)) == 2, out


def test_inbox_tuning_reports_held_apart_precision_and_recall() -> None:
    out = run("--tune", "--matcher", "lexical")
    assert re.search(r"chosen 0\.\d\d \(in use 0\.\d\d\)", out), out
    held = re.findall(r"held apart at 0\.\d\d: precision (\d\.\d+) recall (\d\.\d+)", out)
    assert held, out
    assert all(0 <= float(p) <= 1 and 0 <= float(r) <= 1 for p, r in held)
