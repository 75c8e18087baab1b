"""bench/startup.py keeps running (one run each, on the session's warm cache) and prints every
measurement with its ratios to the baselines."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from intents.knowledge import KnowledgeBase
from tests.cli.test_serve import free_port

ROOT = Path(__file__).resolve().parent.parent.parent
ROWS = (
    "python -c pass",
    'python -c "import bot"',
    "ask, first run (cold cache)",
    "ask, warm, each run a new folder",
    "ask, warm, a second folder again",
    "chat, first answer",
    "serve, until /readyz is 200",
)


def test_startup_bench_prints_each_start_against_the_baselines(
    knowledge_semantic: KnowledgeBase, cache_dir: Path
) -> None:
    """`knowledge_semantic`: the session's cache holds the example embeddings already."""
    del knowledge_semantic
    script = ["bench/startup.py", "--runs", "1", "--cache-dir", str(cache_dir)]
    script += ["--port", str(free_port())]
    result = subprocess.run(
        [sys.executable, *script], cwd=ROOT, capture_output=True, text=True, timeout=600,
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("startup (1 runs each, median; this checkout")
    pattern = r"wall +(\d+\.\d+) s \(ratio (\d+\.\d) to python -c pass, ratio (\d+\.\d+) to import bot\)  cpu +(\d+\.\d+) s"  # noqa: E501
    for name, line in zip(ROWS, lines[1:], strict=True):
        assert line.startswith(name), result.stdout
        found = re.search(pattern, line)
        assert found, line
        assert float(found.group(1)) > 0
    assert lines[1].split("ratio ")[1].startswith("1.0 "), result.stdout
