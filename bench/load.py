"""Load on `lingang-bot serve` replicas sharing one PostgreSQL database: signed Slack events and
Telegram webhook updates at increasing rates, against one replica and then two.

    python bench/load.py [--rates 100,200,300,400] [--seconds 10] [--replicas 1,2]
                         [--forms 4] [--matcher auto]

What runs, all on 127.0.0.1: a fresh PostgreSQL database (from `LINGANG_TEST_POSTGRES_URL`, default
the machine's `test` database's server), migrated with `lingang-bot db upgrade` as an operator
would; the fake Telegram Bot API and Slack Web API in a process of their own; N `lingang-bot serve`
processes in webhook/HTTP mode; and this process as the load generator, sending open-loop (on a
fixed schedule, whatever the answers) round-robin over the replicas: half Telegram webhook
updates, half Slack DMs (both acknowledged once the delivery is claimed in the database; the
answer follows, and the replicas may send 1000 Telegram messages a second, as with paid
broadcasts, so Telegram's usual 30 do not cap the replies), realistic questions from
the catalog's held-out tests in English and Chinese, some out of scope, from many people; plus
`--forms` prospects per step who walk the whole lead form over Telegram at a human pace.

Reported per replica count and rate: messages sent, acknowledged (2xx), errors, acknowledged per
second, latency p50/p99 of the acknowledgement from the scheduled send time (so a backlog
counts), the replies the fakes received once they stopped coming, and each replica's peak RSS;
then the highest rate each replica count sustained (p99 under `--p99-ms`, no errors) and its
ratio, two replicas against one (the baseline, same run). Compare ratios: the machines are
shared and noisy.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import multiprocessing
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from statistics import quantiles
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the fakes live with the tests

import aiohttp  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from bot.config import env_names  # noqa: E402
from intents.catalog import load_catalog  # noqa: E402
from tests.databases import fresh_postgres  # noqa: E402
from tests.fakes.slack_api import BOT_TOKEN, SIGNING_SECRET, FakeSlackApi  # noqa: E402
from tests.fakes.slack_requests import dm, encode, signed_headers  # noqa: E402
from tests.fakes.telegram_api import SECRET, TOKEN, FakeBotApi, press, user  # noqa: E402
from tests.fakes.telegram_api import message as telegram_message  # noqa: E402

SCRIPT = str(Path(sys.executable).parent / "lingang-bot")
SALES_CHANNEL = "C0SALES01"
WEBHOOK = "https://bot.example.com/telegram/webhook"
FORM_PACE = 0.5  # seconds a prospect takes to type an answer of the lead form
REPLY_TIMEOUT = 20.0  # seconds a prospect waits for the bot's next question
READ_ALL = 1.2  # seconds without a new message after which the bot has said all it had to
FORM: list[tuple[str, str]] = [
    ("say", "I'd like a quote"),
    ("press", "form:agree"),
    ("say", "Ann Lee"),
    ("say", "Acme GmbH"),
    ("say", "ann-{chat}@acme.example"),  # one email each: the same email updates a lead
    ("say", "Germany"),
    ("say", "skip"),
    ("press", "form:choose:ic_industry"),
    ("press", "form:choose:within_3_months"),
    ("say", "skip"),
    ("press", "form:confirm"),
]


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


# -- the database and the replicas ---------------------------------------------------------------


def settings_env(database_url: str, api: Fakes, matcher: str, data_dir: Path) -> dict[str, str]:
    """The environment of a production replica, pointed at the fakes."""
    clean = {k: v for k, v in os.environ.items() if k not in env_names()}
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
    import socket  # noqa: PLC0415

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Replica:
    """One `lingang-bot serve` process."""

    process: subprocess.Popen[bytes]
    port: int

    @property
    def base(self) -> str:
        """Its address."""
        return f"http://127.0.0.1:{self.port}"

    def rss_mb(self, field: str = "VmRSS") -> float:
        """The memory the process holds now (VmRSS) or held at most (VmHWM), in MB."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        kb = next(int(line.split()[1]) for line in status.splitlines() if line.startswith(field))
        return kb / 1024


def start_replica(env: dict[str, str], workdir: Path) -> Replica:
    """Start `lingang-bot serve` and wait until `/readyz` says ready."""
    port = free_port()
    process = subprocess.Popen(  # noqa: S603  (our own console script)
        [SCRIPT, "serve", "--host", "127.0.0.1", "--port", str(port)],
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


def stop_replica(replica: Replica) -> None:
    """SIGTERM, as an orchestrator stops it."""
    replica.process.send_signal(signal.SIGTERM)
    try:
        replica.process.wait(30)
    except subprocess.TimeoutExpired:
        replica.process.kill()
        replica.process.wait()


# -- the load --------------------------------------------------------------------------------


def questions() -> list[str]:
    """The catalog's held-out test questions and out-of-scope phrases, both languages."""
    catalog = load_catalog()
    asked = [text for intent in catalog.intents.values() for _, text in intent.tests.items()]
    asked += [text for _, text in catalog.settings.out_of_scope.items()]
    return asked


@dataclass
class Step:
    """What one rate against one set of replicas gave."""

    replicas: int
    rate: int
    seconds: float
    sent: int = 0
    acked: int = 0
    errors: int = 0
    latencies: list[float] = field(default_factory=list)
    replies: tuple[int, int] = (0, 0)
    elapsed: float = 0.0  # seconds from the first message to the last acknowledgement
    rss: list[float] = field(default_factory=list)  # MB each replica holds after the step

    def p(self, q: int) -> float:
        """The q-th percentile of the latency, in ms."""
        if len(self.latencies) < 2:
            return self.latencies[0] * 1000 if self.latencies else float("nan")
        return quantiles(self.latencies, n=100, method="inclusive")[q - 1] * 1000

    def line(self) -> str:
        """One row of the report."""
        return (
            f"{self.replicas} replica(s) {self.rate:>4}/s for {self.seconds:.0f} s: sent "
            f"{self.sent}, acknowledged {self.acked} "
            f"({self.acked / max(self.seconds, self.elapsed):.1f}/s), errors "
            f"{self.errors}, p50 {self.p(50):.1f} ms, p99 {self.p(99):.1f} ms, replies "
            f"telegram {self.replies[0]} slack {self.replies[1]}, RSS "
            f"{', '.join(f'{mb:.0f} MB' for mb in self.rss)}"
        )


class Load:
    """Signed requests to the replicas, round-robin."""

    def __init__(self, replicas: list[Replica], session: aiohttp.ClientSession, api: Fakes) -> None:
        self._api = api
        self._targets = itertools.cycle(replicas)
        self._session = session
        self._update = itertools.count(10_000_000)
        self._event = itertools.count(1)
        self._questions = questions()
        self._random = random.Random(7)

    async def _post(self, step: Step, url: str, body: bytes, headers: dict[str, str]) -> None:
        step.sent += 1
        start = time.perf_counter()
        try:
            async with self._session.post(url, data=body, headers=headers) as answer:
                await answer.read()
                ok = 200 <= answer.status < 300
        except (aiohttp.ClientError, TimeoutError):
            ok = False
        if ok:
            step.acked += 1
            step.latencies.append(time.perf_counter() - start)
        else:
            step.errors += 1

    async def telegram(self, step: Step, update: dict[str, Any]) -> None:
        """One Telegram webhook delivery."""
        update = {"update_id": next(self._update), **update}
        target = next(self._targets)
        headers = {
            "Content-Type": "application/json",
            "X-Telegram-Bot-Api-Secret-Token": SECRET,
        }
        await self._post(
            step, f"{target.base}/telegram/webhook", json.dumps(update).encode(), headers
        )

    async def slack(self, step: Step, question: str, person: int) -> None:
        """One signed Slack DM event."""
        event = dm(
            question,
            user=f"U{person:08d}",
            channel=f"D{person:08d}",
            event_id=f"Ev{next(self._event):012d}",
        )
        body = encode(event)
        target = next(self._targets)
        await self._post(step, f"{target.base}/slack/events", body, signed_headers(body))

    async def question(self, step: Step, n: int) -> None:
        """The n-th message of the step: a question on Telegram or Slack from one of many."""
        question = self._random.choice(self._questions)
        person = self._random.randrange(1, 5000)
        if n % 2:
            chat = 100_000 + person
            lang = "zh" if any("\u4e00" <= c <= "\u9fff" for c in question) else "en"
            await self.telegram(
                step, telegram_message(question, chat=chat, sender=user(chat, lang))
            )
        else:
            await self.slack(step, question, person)

    async def lead_form(self, step: Step, chat: int) -> None:
        """A prospect walking the whole lead form on Telegram: each answer once the bot has
        asked for it (a person reads all the bot said: a chat gets a message a second), then a
        moment to type."""
        for kind, value in FORM:
            said = value.format(chat=chat)
            update = telegram_message(said, chat=chat) if kind == "say" else press(value, chat)
            seen = self._api.sent_to(chat)
            await self.telegram(step, update)
            answered, since = False, time.monotonic()
            deadline = since + REPLY_TIMEOUT
            while time.monotonic() < deadline:
                await asyncio.sleep(0.1)
                now = self._api.sent_to(chat)
                if now != seen:
                    answered, seen, since = True, now, time.monotonic()
                elif answered and time.monotonic() - since > READ_ALL:
                    break
            await asyncio.sleep(FORM_PACE)

    async def run(self, step: Step, forms: int, first_chat: int) -> None:
        """Send `step.rate` questions a second for `step.seconds`, on schedule, while `forms`
        prospects walk the lead form."""
        walking = [asyncio.create_task(self.lead_form(step, first_chat + i)) for i in range(forms)]
        asked = []
        total = int(step.rate * step.seconds)
        begin = time.perf_counter()
        for n in range(total):
            due = begin + n / step.rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            asked.append(asyncio.create_task(self.question(step, n)))
        await asyncio.gather(*asked)
        step.elapsed = time.perf_counter() - begin  # to the last question's acknowledgement
        await asyncio.gather(*walking)


async def drained(api: Fakes, quiet: float = 1.0, timeout: float = 60) -> tuple[int, int]:
    """The reply counts once they stop growing (the answers follow the acknowledgements)."""
    counts, since = api.replies(), time.monotonic()
    deadline = since + timeout
    while time.monotonic() < deadline and time.monotonic() - since < quiet:
        await asyncio.sleep(0.2)
        now = api.replies()
        if now != counts:
            counts, since = now, time.monotonic()
    return counts


async def measure(
    replicas: list[Replica], rates: list[int], seconds: float, forms: int, api: Fakes
) -> list[Step]:
    """Every rate in turn against `replicas`."""
    connector = aiohttp.TCPConnector(limit=400)
    timeout = aiohttp.ClientTimeout(total=30)
    steps = []
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        load = Load(replicas, session, api)
        warm = Step(len(replicas), 20, 2)
        await load.run(warm, 0, 0)
        for i, rate in enumerate(rates):
            before = api.replies()
            step = Step(len(replicas), rate, seconds)
            await load.run(step, forms, 1_000_000 * (len(replicas) * 10 + i + 1))
            after = await drained(api)
            step.replies = (after[0] - before[0], after[1] - before[1])
            step.rss = [replica.rss_mb() for replica in replicas]
            print(step.line(), flush=True)
            steps.append(step)
    return steps


def leads_in(database_url: str) -> int:
    """How many leads the database holds."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(text("SELECT count(*) FROM leads")).scalar_one())
    finally:
        engine.dispose()


def run_replicas(
    count: int, args: argparse.Namespace, api: Fakes, rates: list[int]
) -> tuple[list[Step], list[float]]:
    """A fresh database, `count` replicas on it, every rate; the steps and the peak RSS."""
    with (
        fresh_postgres("lingang_load") as url,
        tempfile.TemporaryDirectory(prefix="bench-load-") as tmp,
    ):
        env = settings_env(url, api, args.matcher, Path(tmp) / "data")
        migrated = subprocess.run(  # noqa: S603  (our own console script)
            [SCRIPT, "db", "upgrade"], env=env, cwd=tmp, capture_output=True, check=False
        )
        if migrated.returncode != 0:
            raise SystemExit(migrated.stderr.decode())
        replicas = [start_replica(env, Path(tmp)) for _ in range(count)]
        try:
            steps = asyncio.run(measure(replicas, rates, args.seconds, args.forms, api))
            rss = [replica.rss_mb("VmHWM") for replica in replicas]
        finally:
            for replica in replicas:
                stop_replica(replica)
        forms_done = leads_in(url)
        expected = args.forms * len(rates)
        print(
            f"{count} replica(s): leads completed {forms_done} of {expected}; peak RSS per "
            f"replica: {', '.join(f'{mb:.0f} MB' for mb in rss)}",
            flush=True,
        )
    return steps, rss


def sustained(steps: list[Step], p99_ms: float) -> int:
    """The highest rate acknowledged in full, on time, without an error."""
    good = [s.rate for s in steps if s.errors == 0 and s.acked == s.sent and s.p(99) < p99_ms]
    return max(good, default=0)


def main() -> None:
    """Run the load and print the report."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rates", default="100,200,300,400")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--replicas", default="1,2")
    parser.add_argument("--forms", type=int, default=4)
    parser.add_argument("--matcher", default="auto", choices=["auto", "lexical", "semantic"])
    parser.add_argument("--p99-ms", type=float, default=100)
    args = parser.parse_args()
    rates = [int(r) for r in args.rates.split(",")]
    counts = [int(c) for c in args.replicas.split(",")]
    print(f"load: rates {rates}/s, {args.seconds:.0f} s each, matcher {args.matcher}")
    best: dict[int, int] = {}
    with fakes() as api:
        for count in counts:
            steps, _ = run_replicas(count, args, api, rates)
            best[count] = sustained(steps, args.p99_ms)
    for count, rate in best.items():
        print(f"{count} replica(s) sustained {rate}/s (p99 < {args.p99_ms:.0f} ms, no errors)")
    if 1 in best and len(best) > 1:
        for count, rate in best.items():
            if count != 1:
                if best[1]:
                    print(f"{count} replicas / 1 replica: ratio {rate / best[1]:.2f}")
                else:
                    print(f"{count} replicas / 1 replica: no ratio (one replica sustained none)")


if __name__ == "__main__":
    main()
