"""bench/replica_memory.py keeps running (tiny sizes, one matcher) and prints what it promises:
the memory after each step of a cold and a warm start, with ratios to a bare interpreter."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
ROW = re.compile(
    r"^lexical +(cold|warm) +\d+\.\d\d (idle|2 questions|admin login) +(\d+\.\d) +(\d+\.\d) "
    r"ratio +(\d+\.\d\d)  (met|MISSED)$",
    re.MULTILINE,
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def test_replica_memory_reports_each_step_against_a_bare_interpreter() -> None:
    script = ["bench/replica_memory.py", "--questions", "2", "--matchers", "lexical"]
    script += ["--port", str(_free_port())]
    result = subprocess.run(
        [sys.executable, *script], cwd=ROOT, capture_output=True, text=True, timeout=600,
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr + result.stdout
    out = result.stdout
    [base] = re.findall(r"baseline \(python .*\): RSS (\d+\.\d) MB", out)
    rows = ROW.findall(out)
    assert [(start, step) for start, step, *_ in rows] == [
        (start, step)
        for start in ("cold", "warm")
        for step in ("idle", "2 questions", "admin login")
    ], out
    for _, _, rss, peak, ratio, _ in rows:
        assert float(peak) >= float(rss) > float(base) > 0
        # (the numbers printed are rounded to 0.1 MB)
        assert float(ratio) == pytest.approx(float(peak) / float(base), rel=0.01)
    assert re.search(
        r"^lexical: highest peak \d+\.\d MB, (within|over) the 250 MB target$", out, re.M
    )
