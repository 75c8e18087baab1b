"""`lingang-bot serve` and `lingang-bot telegram ...`, run as an operator runs them, against a
fake Bot API on 127.0.0.1."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.commands import out_lines, run, start
from tests.fakes.telegram_api import SECRET, TOKEN, FakeBotApi, message

WEBHOOK = "https://bot.example.com/telegram/webhook"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def environment(api: FakeBotApi, port: int, **more: str) -> dict[str, str]:
    return {
        "LINGANG_MATCHER": "lexical",
        "LINGANG_LOG_LEVEL": "INFO",  # what an operator would see must hold no secrets
        "LINGANG_HOST": "127.0.0.1",
        "LINGANG_PORT": str(port),
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": api.base_url,
        **more,
    }


def wait_until_up(process: subprocess.Popen[bytes], port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(process.communicate()[1].decode())
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("serve did not come up")


@pytest.fixture
def serving(api: FakeBotApi, tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    port = free_port()
    process = start("serve", env=environment(api, port), cwd=tmp_path)
    try:
        wait_until_up(process, port)
        yield process, port
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate()


def test_serve_with_a_token_chats_by_polling(
    serving: tuple[subprocess.Popen[bytes], int], api: FakeBotApi
) -> None:
    api.push(message("how big is Lingang?"))
    api.wait_for(1)
    assert "119.5 km²" in api.texts()[0]
    assert api.sent("setWebhook") == [], "polling does not touch the webhook"
    assert len(api.sent("setMyCommands")) == 2


def test_sigterm_finishes_the_reply_in_flight_then_exits(
    serving: tuple[subprocess.Popen[bytes], int], api: FakeBotApi
) -> None:
    process, _ = serving
    api.fail_next("sendMessage", "slow")
    api.push(message("hello"))
    deadline = time.monotonic() + 30
    while api.faults["sendMessage"]:  # until the slow reply is on its way
        assert time.monotonic() < deadline, "the update was not handled"
        time.sleep(0.01)
    process.send_signal(signal.SIGTERM)
    # uvicorn re-raises the signal once it has shut down, so the exit status says SIGTERM
    assert process.wait(timeout=30) == -signal.SIGTERM
    log = process.communicate()[1].decode()
    assert "Application shutdown complete" in log
    assert len(api.texts()) == 1, "the reply in flight was delivered"
    assert TOKEN.split(":")[1] not in log, "the token is a secret"
    assert "hello" not in log, "what people write is personal data"
    polls = len(api.sent("getUpdates"))
    api.push(message("anyone there?"))
    time.sleep(0.5)
    assert len(api.sent("getUpdates")) == polls, "no fetching after shutdown"


def test_sigint_stops_serve_without_a_token(api: FakeBotApi, tmp_path: Path) -> None:
    port = free_port()
    env = environment(api, port)
    del env["TELEGRAM_BOT_TOKEN"]
    process = start("serve", env=env, cwd=tmp_path)
    try:
        wait_until_up(process, port)
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 130  # the shell's code for "stopped by Ctrl-C"
        assert b"no telegram token" in process.communicate()[1]
        assert api.calls == []
    finally:
        if process.poll() is None:
            process.kill()


def test_webhook_mode_does_not_set_the_webhook_on_start(api: FakeBotApi, tmp_path: Path) -> None:
    port = free_port()
    env = environment(api, port, TELEGRAM_WEBHOOK_URL=WEBHOOK, TELEGRAM_WEBHOOK_SECRET=SECRET)
    process = start("serve", env=env, cwd=tmp_path)
    try:
        wait_until_up(process, port)
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/telegram/webhook",
            data=json.dumps({"update_id": 9, **message("hello")}).encode(),
            headers={"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
            assert answer.status == 200
        api.wait_for(1)
        assert api.sent("setWebhook") == []
        assert api.sent("getUpdates") == []
    finally:
        process.terminate()
        process.communicate(timeout=30)


def test_telegram_commands_manage_the_webhook(api: FakeBotApi, tmp_path: Path) -> None:
    env = environment(
        api, free_port(), TELEGRAM_WEBHOOK_URL=WEBHOOK, TELEGRAM_WEBHOOK_SECRET=SECRET
    )
    done = run("telegram", "set-webhook", env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert out_lines(done) == [f"webhook set to {WEBHOOK}"]
    [call] = api.sent("setWebhook")
    assert (call["url"], call["secret_token"], call["drop_pending_updates"]) == (
        WEBHOOK,
        SECRET,
        "false",
    )
    info = run("telegram", "info", env=env, cwd=tmp_path)
    assert f'"url": "{WEBHOOK}"' in info.stdout.decode()
    assert SECRET not in info.stdout.decode() + info.stderr.decode()
    deleted = run("telegram", "delete-webhook", env=env, cwd=tmp_path)
    assert out_lines(deleted) == ["webhook deleted"]
    assert api.webhook_url == ""


def test_set_webhook_needs_the_url_and_the_secret(api: FakeBotApi, tmp_path: Path) -> None:
    result = run("telegram", "set-webhook", env=environment(api, free_port()), cwd=tmp_path)
    assert result.returncode == 2
    assert "TELEGRAM_WEBHOOK_URL and TELEGRAM_WEBHOOK_SECRET" in result.stderr.decode()
    assert api.sent("setWebhook") == []


def test_telegram_commands_need_a_token(tmp_path: Path) -> None:
    result = run("telegram", "info", env={"LINGANG_MATCHER": "lexical"}, cwd=tmp_path)
    assert result.returncode == 2
    assert "TELEGRAM_BOT_TOKEN: not set" in result.stderr.decode()
