"""bench/load.py measures the replicas' CPU per message beside the no-op baseline's, and finds
a configuration's ceiling (tiny sizes: the numbers only have to come out)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT))  # bench/ is not an installed package
from bench.load_profile import summary, top  # noqa: E402

NUMBER = r"(\d+\.\d+)"


def run(*args: str) -> str:
    script = ["bench/load.py", "--seconds", "3", "--replicas", "1", "--matcher", "lexical"]
    result = subprocess.run(
        [sys.executable, *script, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_load_reports_cpu_per_message_beside_the_no_op_baseline(postgres_url: str) -> None:
    """`postgres_url`: the load needs the PostgreSQL server (a skip or, in CI, a failure)."""
    out = run("--rates", "50", "--forms", "0", "--channels", "slack,telegram", "--p99-ms", "10000")
    ours = re.findall(rf"1 replica\(s\) lexical (\w+) +50/s .* CPU {NUMBER} ms/message", out)
    noop = re.findall(rf"1 no-op (\w+) +50/s .* CPU {NUMBER} ms/message", out)
    assert [channel for channel, _ in ours] == ["slack", "telegram"], out
    assert [channel for channel, _ in noop] == ["slack", "telegram"], out
    assert all(float(ms) > 0 for _, ms in ours + noop), out
    assert re.search(rf"1 replica\(s\) lexical: .*; idle CPU {NUMBER} ms/s", out), out
    rows = re.findall(
        rf"\| 1 replica\(s\) lexical \| (\w+) \| 50 \| {NUMBER} \| {NUMBER} \| {NUMBER} \| "
        rf"{NUMBER} \|",
        out,
    )
    assert [row[0] for row in rows] == ["slack", "telegram"], out
    for _, acknowledged, cpu, noop_cpu, ratio in rows:
        assert float(acknowledged) > 0
        assert float(cpu) > float(noop_cpu) > 0, out  # a replica does more than acknowledge
        # from the unrounded times: near the rounded ones' quotient
        assert float(ratio) == pytest.approx(float(cpu) / float(noop_cpu), rel=0.05), out


def test_load_ceiling_reports_the_highest_rate_held_against_the_no_op_one(
    postgres_url: str,
) -> None:
    """Capped at the first rate: one step each, both hold it."""
    out = run(
        "--ceiling", "--ceiling-start", "20", "--ceiling-cap", "20", "--noop-cap", "20",
        "--p99-ms", "10000",
    )  # fmt: skip
    [row] = re.findall(r"\| 1 replica\(s\) lexical \| mixed \| (.+?) \| (.+?) \| (.+?) \|", out)
    assert row == (">= 20", ">= 20", "1.00"), out
    assert re.search(rf"1 no-op mixed +20/s .* CPU {NUMBER} ms/message", out), out


def test_profile_summary_ranks_functions_by_own_and_total_time(tmp_path: Path) -> None:
    """py-spy's raw output (collapsed stacks and counts) read without py-spy."""
    raw = tmp_path / "profile.txt"
    raw.write_text(
        "_bootstrap (threading.py:988);handle (bot/core/engine.py:174);"
        "execute (sqlalchemy/engine/base.py:1450) 6\n"
        "_bootstrap (threading.py:988);handle (bot/core/engine.py:174) 1\n"
        "run (asyncio/runners.py:86);send (anyio/_backends/_asyncio.py:1459) 3\n"
    )
    samples, by_own, by_total = top(raw, 2)
    assert samples == 10
    assert [(e.frame.split(" ")[0], e.own, e.total) for e in by_own] == [
        ("execute", 0.6, 0.6),
        ("send", 0.3, 0.3),
    ]
    # the thread's and the loop's entry frames are left out of the total ranking
    assert [(e.frame.split(" ")[0], e.total) for e in by_total] == [
        ("handle", 0.7),
        ("execute", 0.6),
    ]
    text = summary(raw, "test", 2)
    assert "Own time by package: sqlalchemy 60 %, anyio 30 %." in text  # the first 2
    assert "| `handle` | `bot/core/engine.py:174` | 10.0 | 70.0 |" in text
