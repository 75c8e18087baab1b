"""bench/fuzz.py keeps running (a few inputs per target) and prints its counts and ratios."""

from __future__ import annotations

import importlib.util
import logging
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import cast

import pytest
from hypothesis import strategies as st

from tests.fuzz.site import ErrorRecords, FuzzSite
from tests.fuzz.targets import Outcome, Target

ROOT = Path(__file__).resolve().parent.parent.parent
TARGETS = ("web chat", "engine")  # the ones that find no crash today


def test_fuzz_bench_counts_each_target_and_prints_its_rate_against_a_no_op_target() -> None:
    script = ["bench/fuzz.py", "--inputs", "20"]
    for name in TARGETS:
        script += ["--target", name]
    result = subprocess.run(
        [sys.executable, *script], cwd=ROOT, capture_output=True, text=True, timeout=300,
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    for name in TARGETS:
        counts = re.search(rf"^{name}: inputs (\d+), 2xx/3xx (\d+), 4xx (\d+), 500s 0, ", out, re.M)
        assert counts is not None, out
        inputs, ok, refused = (int(n) for n in counts.groups())
        assert inputs == 10, out
        assert ok + refused == inputs, out
    ratios = re.findall(r"inputs/s into a no-op target: ratio (\d+\.\d+)", out)
    assert len(ratios) == 2, out
    assert all(float(r) > 0 for r in ratios), out
    assert out.rstrip().endswith("no crash"), out


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_fuzz", ROOT / "bench" / "fuzz.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _crashing(site: FuzzSite, number: int) -> Outcome:
    """A target that fails in each way the bench counts, by input."""
    if number % 4 == 0:
        raise RuntimeError(f"boom {number}")
    if number % 4 == 1:
        logging.getLogger("fuzzed").error("went wrong with %d", number)
        return Outcome(200)
    if number % 4 == 2:
        return Outcome(500)
    return Outcome(200, bad=True)


def test_every_kind_of_crash_is_counted_and_shown_with_its_input(
    capsys: pytest.CaptureFixture[str],
) -> None:
    bench = _bench()
    errors = ErrorRecords()
    logging.getLogger().addHandler(errors)
    try:
        site = cast(FuzzSite, SimpleNamespace(errors=errors))
        target = Target("crashing", st.integers(0, 3), _crashing)
        tally = bench.run(site, target, 40, 0)
        bench.report(target.name, tally, bench.run(site, target, 40, 0, feed=False))
    finally:
        logging.getLogger().removeHandler(errors)
    assert tally.inputs == tally.crashed > 0
    assert tally.exceptions > 0
    assert tally.errors_5xx > 0
    assert tally.logged > 0
    assert tally.unrefused_bad > 0
    out = capsys.readouterr().out
    assert "CRASH x" in out
    assert "raised RuntimeError: boom" in out
