"""The README tells the truth: its commands are CI's, its tables match the code."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.config import env_names
from tests.cli.test_cli import all_commands
from tests.cli.test_serve import free_port
from tests.web.test_chat import button, text_of

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def section(title: str) -> str:
    """The README text under the `## title` heading."""
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", README, re.M | re.S)
    assert match, f"README has no section {title!r}"
    return match.group(1)


def setup_commands() -> list[str]:
    block = re.search(r"```sh\n(.*?)```", section("Set-up: two commands"), re.S)
    assert block
    return [line.split("#")[0].strip() for line in block.group(1).splitlines() if line.strip()]


def test_readme_gives_exactly_two_setup_commands() -> None:
    assert setup_commands() == ["make run", "make test"]


def test_ci_runs_the_readmes_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    commands = [
        line.strip() for line in ci.splitlines() if line.strip() and not line.startswith("#")
    ]
    assert commands[-1] == setup_commands()[1]


def test_makefile_test_target_runs_linters_types_and_pytest() -> None:
    dry_run = subprocess.run(
        ["make", "-n", "-W", "pyproject.toml", "test"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    for tool in ("ruff check", "ruff format --check", "mypy", "pytest"):
        assert tool in dry_run


LEAD_FORM = (
    ("say", "I want to talk to a consultant"),
    ("press", "agree"),
    *(("say", answer) for answer in ("Ada Lovelace", "Analytical Ltd", "ada@example.com", "UK")),
    ("press", "skip"),
    ("press", "IC industry"),
    ("press", "3 months"),
    ("say", "A design centre."),
    ("press", "confirm"),
)


def wait_until_ready(base: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise AssertionError("make run did not come up")


def test_readme_run_command_serves_a_site_to_chat_and_log_in(tmp_path: Path) -> None:
    """`make run` on a fresh data folder: the chat answers, the printed login works, and the
    lead the chat produced is on the leads page."""
    env = {k: v for k, v in os.environ.items() if k not in env_names() and k != "MAKEFLAGS"}
    port = free_port()
    settings = {"LINGANG_DATA_DIR": str(tmp_path), "LINGANG_PORT": str(port)}
    process = subprocess.Popen(
        setup_commands()[0].split(),
        cwd=ROOT,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env={**env, **settings, "LINGANG_MATCHER": "lexical"},
        start_new_session=True,
    )
    try:
        assert process.stderr is not None
        printed = ""
        while "first run:" not in printed:
            line = process.stderr.readline()
            assert line, f"make run ended: {printed}"
            printed += line
        login = re.search(r"as (\S+) with the password (\S+) ", printed)
        assert login, printed
        base = f"http://127.0.0.1:{port}"
        wait_until_ready(base)
        with httpx.Client(base_url=base, follow_redirects=False) as browser:
            answer = browser.post("/chat/messages", json={"text": "where is Lingang?"})
            assert answer.status_code == 200
            assert "Pudong" in answer.text
            replies: list[dict[str, Any]] = []
            for kind, value in LEAD_FORM:
                body = {"text": value} if kind == "say" else {"payload": button(replies, value)}
                replies = browser.post("/chat/messages", json=body).json()["replies"]
            assert "Ada Lovelace" in text_of(replies)
            browser.post("/login", data={"email": login[1], "password": login[2]})
            leads = browser.get("/leads")
            assert leads.status_code == 200
            assert "Ada Lovelace" in leads.text
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
        if process.stderr is not None:
            process.stderr.close()
    assert (tmp_path / "lingang.db").exists()


def test_settings_table_lists_exactly_the_settings_in_the_code() -> None:
    rows = re.findall(r"^\| `([A-Z_]+)` \|", section("Settings"), re.M)
    assert rows == env_names()


@pytest.mark.parametrize("path", [p for p in all_commands() if p], ids=" ".join)
def test_every_command_is_documented(path: tuple[str, ...]) -> None:
    assert f"`lingang-bot {' '.join(path)}" in README
