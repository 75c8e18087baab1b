"""Running `lingang-bot` as a user runs it: the installed console script, in a folder of its own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from bot.config import env_names

SCRIPT = str(Path(sys.executable).parent / "lingang-bot")
SHARED_CACHE: dict[str, str] = {}


def run(
    *args: str, stdin: str | bytes = "", env: dict[str, str] | None = None, cwd: Path
) -> subprocess.CompletedProcess[bytes]:
    """Run `lingang-bot args...` in `cwd` with only `env` as settings."""
    clean = {k: v for k, v in os.environ.items() if k not in env_names()}
    data = stdin.encode() if isinstance(stdin, str) else stdin
    return subprocess.run(
        [SCRIPT, *args],
        input=data,
        capture_output=True,
        env={**clean, **SHARED_CACHE, **(env or {})},
        cwd=cwd,
        timeout=120,
        check=False,
    )


def out_lines(result: subprocess.CompletedProcess[bytes]) -> list[str]:
    """Standard output, line by line."""
    return result.stdout.decode().splitlines()


def start(*args: str, env: dict[str, str] | None = None, cwd: Path) -> subprocess.Popen[bytes]:
    """Start `lingang-bot args...` in the background, as `run` would run it."""
    clean = {k: v for k, v in os.environ.items() if k not in env_names()}
    return subprocess.Popen(
        [SCRIPT, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**clean, **SHARED_CACHE, **(env or {})},
        cwd=cwd,
    )
