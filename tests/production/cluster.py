"""Several `lingang-bot serve` replicas on one database, as production runs them: webhook mode
for Telegram, HTTP mode for Slack, the fake Bot API and the fake Slack Web API on 127.0.0.1.

Tests talk to replica `i` as a load balancer would (`telegram(i, update)`, `slack(i, body)`),
wait for what the bot sent at the fakes, and stop or kill replicas.
"""

from __future__ import annotations

import itertools
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.cli.commands import run, start
from tests.fakes.slack_api import BOT_TOKEN, SIGNING_SECRET, FakeSlackApi
from tests.fakes.slack_requests import FORM, block_action, dm, encode, signed_headers
from tests.fakes.telegram_api import SECRET, TOKEN, FakeBotApi
from tests.production.pgserver import free_port

WEBHOOK = "https://bot.example.com/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
SALES = "C0SALES"
SELLER = "U0SELL"
UP_TIMEOUT = 60.0  # seconds a replica may take to start (imports on a busy 2-core machine)
REQUEST_TIMEOUT = 60.0

_update_ids = itertools.count(50_000)


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll `condition` until it holds; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.1)


@dataclass
class Replica:
    """One `lingang-bot serve` process; its standard error is collected as it comes."""

    name: str
    port: int
    process: subprocess.Popen[bytes]
    lines: list[str] = field(default_factory=list)
    settings: dict[str, str] = field(default_factory=dict)  # its environment

    def __post_init__(self) -> None:
        self._readers = [
            threading.Thread(target=self._drain, args=(stream, keep), daemon=True)
            for stream, keep in ((self.process.stderr, True), (self.process.stdout, False))
        ]
        for reader in self._readers:
            reader.start()

    def _drain(self, stream: Any, keep: bool) -> None:
        # A server that logs at INFO fills a pipe nobody reads, and then blocks.
        for raw in iter(stream.readline, b""):
            if keep:
                self.lines.append(raw.decode(errors="replace"))

    @property
    def url(self) -> str:
        """Where the replica listens."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> str:
        """Everything it wrote to standard error so far."""
        return "".join(self.lines)

    @property
    def alive(self) -> bool:
        """Whether the process still runs."""
        return self.process.poll() is None

    def wait_up(self, timeout: float = UP_TIMEOUT) -> None:
        """Block until `/readyz` answers 200."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive:
                self.finish()
                raise AssertionError(f"{self.name} exited:\n{self.log}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"{self.name} did not come up:\n{self.log}")

    def kill(self) -> None:
        """SIGKILL: gone at once, nothing finished."""
        self.process.send_signal(signal.SIGKILL)
        self.finish()

    def terminate(self) -> None:
        """SIGTERM, as an orchestrator stops a replica."""
        self.process.send_signal(signal.SIGTERM)

    def finish(self, timeout: float = 30) -> int:
        """Wait for the process to end (killing it after `timeout`); its exit status."""
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait()
        for reader in self._readers:
            reader.join(timeout=5)
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()
        return code


class Cluster:
    """Replicas of `lingang-bot serve` sharing `database_url`, with the fake platforms."""

    def __init__(
        self,
        database_url: str,
        folder: Path,
        telegram: FakeBotApi,
        slack: FakeSlackApi,
        **settings: str,
    ) -> None:
        self.database_url = database_url
        self.folder = folder
        self.telegram_api = telegram
        self.slack_api = slack
        self.settings = settings
        self.replicas: list[Replica] = []
        self.http = httpx.Client(timeout=REQUEST_TIMEOUT)
        slack.members.setdefault(SALES, [SELLER, "UBOT"])

    def environment(self, port: int, **more: str) -> dict[str, str]:
        """The settings of one replica: everything but the port is shared."""
        return {
            "LINGANG_MATCHER": "lexical",
            "LINGANG_LOG_LEVEL": "INFO",
            "LINGANG_HOST": "127.0.0.1",
            "LINGANG_PORT": str(port),
            "LINGANG_DATA_DIR": str(self.folder / "var"),
            "LINGANG_DATABASE_URL": self.database_url,
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_BASE_URL": self.telegram_api.base_url,
            "TELEGRAM_WEBHOOK_URL": WEBHOOK,
            "TELEGRAM_WEBHOOK_SECRET": SECRET,
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": self.slack_api.base_url,
            "SLACK_SALES_CHANNEL": SALES,
            **self.settings,
            **more,
        }

    def command(self, *args: str, stdin: str = "") -> subprocess.CompletedProcess[bytes]:
        """`lingang-bot args...` with the cluster's settings, as an operator runs it."""
        return run(*args, stdin=stdin, env=self.environment(free_port()), cwd=self.folder)

    def start(
        self,
        count: int = 1,
        own: Callable[[int], dict[str, str]] | None = None,
        **more: str,
    ) -> list[Replica]:
        """Start `count` more replicas at once, replica `i` with the settings `own(i)` too;
        return once all of them are ready."""
        started = []
        for _ in range(count):
            port = free_port()
            mine = own(len(self.replicas)) if own else {}
            environment = self.environment(port, **more, **mine)
            process = start("serve", env=environment, cwd=self.folder)
            replica = Replica(f"replica {len(self.replicas)}", port, process, settings=environment)
            self.replicas.append(replica)
            started.append(replica)
        for replica in started:
            replica.wait_up()
        return started

    def close(self) -> None:
        """Kill what still runs."""
        self.http.close()
        for replica in self.replicas:
            if replica.alive:
                replica.kill()
            else:
                replica.finish()

    # -- Telegram ---------------------------------------------------------------------------

    def telegram(self, i: int, update: dict[str, Any]) -> int:
        """Deliver an update to replica `i`'s webhook, as Telegram does; the HTTP status.

        The webhook answers once the update is recorded; the replies follow.
        """
        if "update_id" not in update:
            update = {"update_id": next(_update_ids), **update}
        response = self.http.post(
            f"{self.replicas[i].url}/telegram/webhook",
            json=update,
            headers={SECRET_HEADER: SECRET},
        )
        return response.status_code

    def telegram_say(self, i: int, update: dict[str, Any], expect: str | None = None) -> list[str]:
        """Deliver an update to replica `i`; the texts the bot sent in answer: up to one with
        `expect` in it (a chat gets a message a second), or else once no more come."""
        before = len(self.telegram_api.texts())
        assert self.telegram(i, update) == 200
        if expect is None:
            return self.telegram_replies(before)
        wanted = expect

        def arrived() -> bool:
            return any(wanted in text for text in self.telegram_api.texts()[before:])

        wait_until(arrived, 20, f"a Telegram message with {expect!r}")
        return self.telegram_api.texts()[before:]

    def telegram_replies(self, before: int, quiet: float = 0.3, timeout: float = 20) -> list[str]:
        """The texts sent after the first `before`, once some came and then no more for
        `quiet` seconds."""
        seen, since = before, time.monotonic()

        def settled() -> bool:
            nonlocal seen, since
            now = len(self.telegram_api.texts())
            if now != seen:
                seen, since = now, time.monotonic()
            return now > before and time.monotonic() - since >= quiet

        wait_until(settled, timeout, "the bot's answer on Telegram")
        return self.telegram_api.texts()[before:]

    # -- Slack ------------------------------------------------------------------------------

    def slack(self, i: int, body: dict[str, Any] | bytes) -> int:
        """Post a signed event (a dict) or interaction (a form body) to replica `i`."""
        raw = encode(body) if isinstance(body, dict) else body
        kind = "application/json" if isinstance(body, dict) else FORM
        response = self.http.post(
            f"{self.replicas[i].url}/slack/events",
            content=raw,
            headers=signed_headers(raw, content_type=kind),
        )
        return response.status_code

    def slack_wait(self, before: int, expect: str, timeout: float = 20) -> list[dict[str, Any]]:
        """Wait until a message posted after the first `before` contains `expect`; the
        messages posted since."""

        def arrived() -> bool:
            return any(expect in text for text in self.slack_api.texts()[before:])

        wait_until(arrived, timeout, f"a Slack message with {expect!r}")
        return self.slack_api.sent()[before:]

    def slack_say(
        self, i: int, text: str, expect: str, user: str = "U0001", channel: str = "D0001"
    ) -> list[dict[str, Any]]:
        """A DM from `user` to replica `i`; the messages the bot posted until one contains
        `expect`."""
        before = len(self.slack_api.sent())
        assert self.slack(i, dm(text, user=user, channel=channel)) == 200
        return self.slack_wait(before, expect)

    def slack_press(
        self, i: int, channel: str, words: str, expect: str, user: str = "U0001"
    ) -> list[dict[str, Any]]:
        """Press the button labelled with `words` on the bot's newest message in `channel`;
        the messages the bot posted until one contains `expect`."""
        ts, message = [(k[1], v) for k, v in self.slack_api.messages.items() if k[0] == channel][-1]
        for block in message["blocks"]:
            for element in block.get("elements", []):
                label = element.get("text", {}).get("text", "")
                if element.get("type") == "button" and words.lower() in label.lower():
                    before = len(self.slack_api.sent())
                    body = block_action(
                        element["action_id"], element["value"], user, channel,
                        message_ts=ts, block_id=block["block_id"], label=label,
                        message=message, response_url=self.slack_api.response_url(),
                    )  # fmt: skip
                    assert self.slack(i, body) == 200
                    return self.slack_wait(before, expect)
        raise AssertionError(f"no button {words!r} in {message['blocks']}")

    # -- both -------------------------------------------------------------------------------

    def at_once(self, *calls: Callable[[], int]) -> list[int]:
        """Run the calls concurrently (one request to each replica at the same moment)."""
        barrier = threading.Barrier(len(calls))

        def call(work: Callable[[], int]) -> int:
            barrier.wait()
            return work()

        with ThreadPoolExecutor(len(calls)) as pool:
            return list(pool.map(call, calls))
