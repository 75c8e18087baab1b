"""The processes bench/load.py runs: the fake Telegram Bot API and Slack Web API in a process of
their own, `lingang-bot serve` replicas pointed at them, and the no-op baseline servers."""

from __future__ import annotations

import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the fakes live with the tests

from bench.load_procs import cpu_seconds, memory_mb  # noqa: E402
from bot.config import env_names  # noqa: E402
from tests.fakes.slack_api import BOT_TOKEN, SIGNING_SECRET, FakeSlackApi  # noqa: E402
from tests.fakes.telegram_api import SECRET, TOKEN, FakeBotApi  # noqa: E402

SCRIPT = str(Path(sys.executable).parent / "lingang-bot")
NOOP = str(ROOT / "bench" / "load_noop.py")
SALES_CHANNEL = "C0SALES01"
WEBHOOK = "https://bot.example.com/telegram/webhook"

# -- the fakes, in a process of their own ------------------------------------------------------


def _serve_fakes(pipe: Connection) -> None:
    with FakeBotApi() as telegram, FakeSlackApi() as slack:
        pipe.send((telegram.base_url, slack.base_url))
        per_chat: Counter[str] = Counter()
        counted = 0
        while True:
            request = pipe.recv()
            if request == "stop":
                return
            if isinstance(request, int):  # messages sent to one Telegram chat
                calls = telegram.calls[counted:]  # only appended to: count the new ones
                counted += len(calls)
                for call in calls:
                    if call.method == "sendMessage" and "fault" not in call.params:
                        per_chat[str(call.params["chat_id"])] += 1
                pipe.send(per_chat[str(request)])
                continue
            pipe.send((len(telegram.sent()), len(slack.sent())))


@dataclass
class Fakes:
    """The fake platform APIs and a way to count what reached them."""

    pipe: Connection
    process: multiprocessing.Process
    telegram_url: str
    slack_url: str

    def replies(self) -> tuple[int, int]:
        """Messages sent to Telegram and posted to Slack so far."""
        self.pipe.send("count")
        telegram, slack = self.pipe.recv()
        return int(telegram), int(slack)

    def sent_to(self, chat: int) -> int:
        """Messages sent to one Telegram chat so far."""
        self.pipe.send(chat)
        return int(self.pipe.recv())


@contextmanager
def fakes() -> Iterator[Fakes]:
    """Start the fake Bot API and Slack Web API in a child process."""
    ours, theirs = multiprocessing.Pipe()
    process = multiprocessing.Process(target=_serve_fakes, args=(theirs,), daemon=True)
    process.start()
    telegram_url, slack_url = ours.recv()
    try:
        yield Fakes(ours, process, telegram_url, slack_url)
    finally:
        ours.send("stop")
        process.join(10)


# -- the replicas and the no-op servers ----------------------------------------------------------


def settings_env(
    database_url: str, api: Fakes, matcher: str, data_dir: Path, source: Path | None = None
) -> dict[str, str]:
    """The environment of a production replica, pointed at the fakes (and, with `source`, at
    the bot's code in that tree rather than this one)."""
    clean = {k: v for k, v in os.environ.items() if k not in env_names()}
    if source is not None:  # ahead of the editable install's finder
        clean["PYTHONPATH"] = str(source)
    return {
        **clean,
        "LINGANG_DATABASE_URL": database_url,
        "LINGANG_DATA_DIR": str(data_dir),
        "LINGANG_MATCHER": matcher,
        "LINGANG_LOG_LEVEL": "WARNING",
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": api.telegram_url,
        "TELEGRAM_WEBHOOK_URL": WEBHOOK,
        "TELEGRAM_WEBHOOK_SECRET": SECRET,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": api.slack_url,
        "SLACK_SALES_CHANNEL": SALES_CHANNEL,
        # Telegram's 30 messages a second would cap the replies, not the messages taken in:
        # measure as a bot with paid broadcasts (one a second per chat still holds).
        "TELEGRAM_MESSAGES_PER_SECOND": "1000",
    }


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Replica:
    """One server process: `lingang-bot serve` or the no-op app."""

    process: subprocess.Popen[bytes]
    port: int

    @property
    def base(self) -> str:
        """Its address."""
        return f"http://127.0.0.1:{self.port}"

    def rss_mb(self, field: str = "VmRSS") -> float:
        """The memory the process holds now (VmRSS) or held at most (VmHWM), in MB."""
        return memory_mb(self.process.pid, field)

    def cpu(self) -> float:
        """The CPU time (user + system, all threads) it has used, in seconds."""
        return cpu_seconds(self.process.pid)


def start_replica(env: dict[str, str], workdir: Path, command: list[str] | None = None) -> Replica:
    """Start `lingang-bot serve` (or `command` plus `--port`) and wait until `/readyz` says
    ready."""
    port = free_port()
    argv = [SCRIPT, "serve", "--host", "127.0.0.1"] if command is None else command
    process = subprocess.Popen(  # noqa: S603  (our own console script or bench/load_noop.py)
        [*argv, "--port", str(port)],
        env=env,
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"a replica exited with {process.returncode} while starting")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1) as answer:
                if answer.status == 200:
                    return Replica(process, port)
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("a replica did not become ready in 120 s")


def start_noop(workdir: Path) -> Replica:
    """Start the no-op baseline server (bench/load_noop.py)."""
    return start_replica(dict(os.environ), workdir, [sys.executable, NOOP])


def stop_replica(replica: Replica) -> None:
    """SIGTERM, as an orchestrator stops it."""
    replica.process.send_signal(signal.SIGTERM)
    try:
        replica.process.wait(30)
    except subprocess.TimeoutExpired:
        replica.process.kill()
        replica.process.wait()
