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


def test_load_reports_rates_latency_rss_and_two_replicas_against_one(postgres_url: str) -> None:
    """`postgres_url`: the load needs the PostgreSQL server (a skip or, in CI, a failure)."""
    script = ["bench/load.py", "--rates", "10", "--seconds", "2", "--forms", "1"]
    script += ["--matcher", "lexical", "--p99-ms", "10000", "--no-baseline"]
    result = subprocess.run(
        [sys.executable, *script], cwd=ROOT, capture_output=True, text=True, timeout=300,
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert len(re.findall(r"errors 0, p50 \d+\.\d ms, p99 \d+\.\d ms", out)) == 2, out
    assert re.findall(r"leads completed (\d+) of 1", out) == ["1", "1"], out
    assert len(re.findall(r"peak RSS per replica: \d+ MB(, \d+ MB)?;", out)) == 2, out
    [ratio] = re.findall(r"2 replicas / 1 replica: ratio (\d+\.\d+)", out)
    assert float(ratio) == 1.0, out  # both sustained the highest rate asked for


def test_handoff_bench_prints_the_cost_of_the_choke_point_against_the_engine_before() -> None:
    script = ["bench/handoff.py", "--messages", "5", "--rounds", "1"]
    result = subprocess.run(
        [sys.executable, *script], cwd=ROOT, capture_output=True, text=True, timeout=300,
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    ratios = re.findall(r"ratio (\d+\.\d+)", result.stdout)
    assert len(ratios) == 4, result.stdout
    assert float(ratios[0]) == 1.0
    assert all(float(r) > 0 for r in ratios)
