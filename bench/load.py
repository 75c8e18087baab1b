"""Load on `lingang-bot serve` replicas sharing one PostgreSQL database: signed Slack events and
Telegram webhook updates at increasing rates, against one replica and then two, beside a no-op
baseline; the CPU each message costs, the memory, and the highest rate each configuration holds.

    python bench/load.py [--rates 100,200,300,400] [--seconds 10] [--replicas 1,2]
                         [--forms 4] [--matcher auto[,lexical,semantic]]
                         [--channels telegram,slack,mixed] [--no-baseline]
                         [--ceiling [--ceiling-start 50] [--ceiling-step 50]]
                         [--profile DIR [--profile-rate 60]] [--source TREE]

What runs, all on 127.0.0.1: a fresh PostgreSQL database (from `LINGANG_TEST_POSTGRES_URL`, default
the machine's `test` database's server), migrated with `lingang-bot db upgrade` as an operator
would; the fake Telegram Bot API and Slack Web API in a process of their own; N `lingang-bot serve`
processes in webhook/HTTP mode (with `--source TREE`, the bot's code of that tree, e.g. a
`git worktree` of an older commit); and this process as the load generator, sending open-loop
(on a fixed schedule, whatever the answers) round-robin over the replicas, per `--channels` step:
only Telegram webhook updates, only Slack DMs, or both alternately ("mixed"; both are
acknowledged once the delivery is claimed in the database; the answer follows, and the replicas
may send 1000 Telegram messages a second, as with paid broadcasts, so Telegram's usual 30 do not
cap the replies), realistic questions from the catalog's held-out tests in English and Chinese,
some out of scope, from many people; plus `--forms` prospects per step with Telegram who walk
the whole lead form at a human pace.

The no-op baseline (bench/load_noop.py, unless `--no-baseline`): as many processes of a bare ASGI
app under uvicorn with the same options (uvloop, httptools) that reads each request and answers
200, sent the same steps in the same run (no lead forms: it answers nothing).

Reported per configuration (replica count x matcher), channel and rate: messages sent,
acknowledged (2xx), errors, acknowledged per second, latency p50/p99 of the acknowledgement from
the scheduled send time (so a backlog counts, the load generator's own lag too), the replies the
fakes received once they stopped coming, each replica's RSS, and the CPU time (user + system, all
threads, from /proc/<pid>/stat) the replicas used from the step's start until the replies
stopped, per message acknowledged (lead-form messages included), with how busy the machine was
and the load generator's CPU (the idle CPU the servers use between steps, measured once, counts
in too: a step lasts as long as its lead forms); then each configuration's peak RSS (VmHWM) and
idle CPU, the highest rate sustained (p99 under `--p99-ms`, no errors), the ratio two replicas
/ one, and a markdown table with ours / no-op ratios. CPU per message holds when the machine is
shared; rates and latencies do not: compare ratios from the same run.

`--ceiling`: for each configuration and channel, raise the rate from `--ceiling-start` by
`--ceiling-step` until a step fails (or reaches `--ceiling-cap`), then one step halfway between
the last good and the first bad; the no-op baseline doubles from the same start up to
`--noop-cap`, then two halving steps. Lead forms are off by default there (`--forms 0`): a form
that meets an overloaded replica waits 20 s for each answer.

`--profile DIR`: py-spy (a bench tool: `.venv/bin/pip install py-spy`; not needed otherwise)
records replica 1 of the first configuration during its first step at `--profile-rate` or above
(default: the first rate), and the top 15 functions by own and total time are printed and
written beside the raw profile (bench/load_profile.py).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the fakes live with the tests

import aiohttp  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from bench.load_procs import MachineTicks  # noqa: E402
from bench.load_profile import Recording, summary  # noqa: E402
from bench.load_report import (  # noqa: E402
    Config,
    Step,
    ceiling_table,
    rates_table,
    sustained,
)
from bench.load_servers import (  # noqa: E402
    SCRIPT,
    Fakes,
    Replica,
    fakes,
    settings_env,
    start_noop,
    start_replica,
    stop_replica,
)
from intents.catalog import load_catalog  # noqa: E402
from tests.databases import fresh_postgres  # noqa: E402
from tests.fakes.slack_requests import dm, encode, signed_headers  # noqa: E402
from tests.fakes.telegram_api import SECRET, press, user  # noqa: E402
from tests.fakes.telegram_api import message as telegram_message  # noqa: E402

CHANNELS = ("telegram", "slack", "mixed")
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
IDLE = 3.0  # seconds the servers are left alone after the warm-up, to count their idle CPU
FORM_CHATS = itertools.count(1_000_000, 1_000)  # a block of chats for each step's prospects


# -- the load --------------------------------------------------------------------------------


def questions() -> list[str]:
    """The catalog's held-out test questions and out-of-scope phrases, both languages."""
    catalog = load_catalog()
    asked = [text for intent in catalog.intents.values() for _, text in intent.tests.items()]
    asked += [text for _, text in catalog.settings.out_of_scope.items()]
    return asked


class Load:
    """Signed requests to the servers, round-robin."""

    def __init__(self, replicas: list[Replica], session: aiohttp.ClientSession, api: Fakes) -> None:
        self._api = api
        self._targets = itertools.cycle(replicas)
        self._session = session
        self._update = itertools.count(10_000_000)
        self._event = itertools.count(1)
        self._questions = questions()
        self._random = random.Random(7)

    async def _post(
        self, step: Step, url: str, body: bytes, headers: dict[str, str], due: float | None
    ) -> None:
        step.sent += 1
        start = time.perf_counter() if due is None else due
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

    async def telegram(self, step: Step, update: dict[str, Any], due: float | None = None) -> None:
        """One Telegram webhook delivery."""
        update = {"update_id": next(self._update), **update}
        target = next(self._targets)
        headers = {
            "Content-Type": "application/json",
            "X-Telegram-Bot-Api-Secret-Token": SECRET,
        }
        url = f"{target.base}/telegram/webhook"
        await self._post(step, url, json.dumps(update).encode(), headers, due)

    async def slack(self, step: Step, question: str, person: int, due: float) -> None:
        """One signed Slack DM event."""
        event = dm(
            question,
            user=f"U{person:08d}",
            channel=f"D{person:08d}",
            event_id=f"Ev{next(self._event):012d}",
        )
        body = encode(event)
        target = next(self._targets)
        await self._post(step, f"{target.base}/slack/events", body, signed_headers(body), due)

    async def question(self, step: Step, n: int, due: float) -> None:
        """The n-th message of the step, due at `due`: a question on Telegram or Slack (per
        the step's channel) from one of many."""
        question = self._random.choice(self._questions)
        person = self._random.randrange(1, 5000)
        on_telegram = step.channel == "telegram" or (step.channel == "mixed" and n % 2 == 1)
        if on_telegram:
            chat = 100_000 + person
            lang = "zh" if any("\u4e00" <= c <= "\u9fff" for c in question) else "en"
            update = telegram_message(question, chat=chat, sender=user(chat, lang))
            await self.telegram(step, update, due)
        else:
            await self.slack(step, question, person, due)

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

    async def run(self, step: Step, forms: int) -> None:
        """Send `step.rate` questions a second for `step.seconds`, on schedule, while `forms`
        prospects walk the lead form."""
        first_chat = next(FORM_CHATS)
        walking = [asyncio.create_task(self.lead_form(step, first_chat + i)) for i in range(forms)]
        asked = []
        total = int(step.rate * step.seconds)
        begin = time.perf_counter()
        for n in range(total):
            due = begin + n / step.rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            asked.append(asyncio.create_task(self.question(step, n, due)))
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


@dataclass
class Profiling:
    """Where and at which rate to record replica 1 with py-spy (once a run)."""

    directory: Path
    rate: int
    done: bool = False


class Bench:
    """Steps against one set of servers, each measured and printed."""

    def __init__(
        self,
        config: Config,
        targets: list[Replica],
        load: Load,
        *,
        api: Fakes,
        args: argparse.Namespace,
        profiling: Profiling | None,
    ) -> None:
        self.config, self._targets, self._load, self._api = config, targets, load, api
        self._seconds, self._forms, self.p99_ms = args.seconds, args.forms, args.p99_ms
        self._profiling = profiling

    def _recording(self, step: Step) -> Recording | None:
        profiling = self._profiling
        if profiling is None or profiling.done or step.baseline or step.rate < profiling.rate:
            return None
        profiling.done = step.profiled = True
        config = self.config
        name = f"{config.replicas}-replicas-{config.matcher}-{step.channel}-{step.rate}.txt"
        return Recording(self._targets[0].process.pid, profiling.directory / name)

    async def step(self, channel: str, rate: int) -> Step:
        """One rate on one channel: send, wait for the answers, count the CPU; print it."""
        config = self.config
        step = Step(config.label, config.replicas, rate, self._seconds, channel)
        step.baseline = config.matcher is None
        forms = 0 if step.baseline or channel == "slack" else self._forms
        recording = self._recording(step)
        replies = self._api.replies()
        cpu = [target.cpu() for target in self._targets]
        ticks, mine, begin = MachineTicks.now(), os.times(), time.perf_counter()
        await self._load.run(step, forms)
        if not step.baseline:
            after = await drained(self._api)
            step.replies = (after[0] - replies[0], after[1] - replies[1])
        step.cpu = sum(target.cpu() - used for target, used in zip(self._targets, cpu, strict=True))
        step.wall = time.perf_counter() - begin
        step.busy = MachineTicks.now().busy_since(ticks)
        now = os.times()
        step.generator = now.user + now.system - mine.user - mine.system
        step.rss = [target.rss_mb() for target in self._targets]
        if recording is not None:
            recording.stop()
        print(step.line(), flush=True)
        if recording is not None:
            top = summary(recording.out, f"{config.label}, {channel}, {rate}/s")
            recording.out.with_suffix(".top.md").write_text(top)
            print(top, flush=True)
        config.steps.append(step)
        return step


Plan = Callable[[Bench], Awaitable[None]]


def rates_plan(channels: list[str], rates: list[int]) -> Plan:
    """Every rate on every channel, in turn."""

    async def plan(bench: Bench) -> None:
        for channel in channels:
            for rate in rates:
                await bench.step(channel, rate)

    return plan


def ceiling_plan(
    channels: list[str], start: int, grow: Callable[[int], int], cap: int, halvings: int
) -> Plan:
    """For each channel: raise the rate until a step fails or reaches `cap`, then `halvings`
    steps halfway between the last good rate and the first bad."""

    async def climb(bench: Bench, channel: str) -> None:
        good, bad, rate = 0, 0, start
        while not bad:
            if (await bench.step(channel, rate)).ok(bench.p99_ms):
                good = rate
                if rate >= cap:
                    return
                rate = min(grow(rate), cap)
            else:
                bad = rate
        for _ in range(halvings):
            middle = (good + bad) // 2 // 5 * 5  # a round rate
            if middle <= good or middle >= bad:
                return
            if (await bench.step(channel, middle)).ok(bench.p99_ms):
                good = middle
            else:
                bad = middle

    async def plan(bench: Bench) -> None:
        for channel in channels:
            await climb(bench, channel)

    return plan


async def measure(
    config: Config,
    targets: list[Replica],
    api: Fakes,
    *,
    args: argparse.Namespace,
    plan: Plan,
    profiling: Profiling | None,
) -> None:
    """A short warm-up, then the plan's steps against `targets`."""
    connector = aiohttp.TCPConnector(limit=400)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        load = Load(targets, session, api)
        await load.run(Step("warm-up", len(targets), 20, 2), 0)
        await drained(api)
        used, begin = sum(t.cpu() for t in targets), time.perf_counter()
        await asyncio.sleep(IDLE)
        idle = sum(t.cpu() for t in targets) - used
        config.idle = idle * 1000 / (time.perf_counter() - begin)
        await plan(Bench(config, targets, load, api=api, args=args, profiling=profiling))


def leads_in(database_url: str) -> int:
    """How many leads the database holds."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(text("SELECT count(*) FROM leads")).scalar_one())
    finally:
        engine.dispose()


def run_replicas(
    count: int,
    matcher: str,
    args: argparse.Namespace,
    *,
    api: Fakes,
    plan: Plan,
    profiling: Profiling | None,
) -> Config:
    """A fresh database, `count` replicas on it, the plan's steps; and the peak RSS."""
    config = Config(f"{count} replica(s) {matcher}", count, matcher)
    with (
        fresh_postgres("lingang_load") as url,
        tempfile.TemporaryDirectory(prefix="bench-load-") as tmp,
    ):
        env = settings_env(url, api, matcher, Path(tmp) / "data", args.source)
        migrated = subprocess.run(  # noqa: S603  (our own console script)
            [SCRIPT, "db", "upgrade"], env=env, cwd=tmp, capture_output=True, check=False
        )
        if migrated.returncode != 0:
            raise SystemExit(migrated.stderr.decode())
        replicas = [start_replica(env, Path(tmp)) for _ in range(count)]
        try:
            asyncio.run(measure(config, replicas, api, args=args, plan=plan, profiling=profiling))
            config.peak = [replica.rss_mb("VmHWM") for replica in replicas]
        finally:
            for replica in replicas:
                stop_replica(replica)
        forms_done = leads_in(url)
    expected = args.forms * sum(1 for s in config.steps if s.channel != "slack")
    print(
        f"{config.label}: leads completed {forms_done} of {expected}; peak RSS per "
        f"replica: {', '.join(f'{mb:.0f} MB' for mb in config.peak)}; idle CPU "
        f"{config.idle:.1f} ms/s",
        flush=True,
    )
    return config


def run_noop(count: int, args: argparse.Namespace, api: Fakes, plan: Plan) -> Config:
    """`count` no-op servers and the plan's steps against them."""
    config = Config(f"{count} no-op", count, None)
    with tempfile.TemporaryDirectory(prefix="bench-load-noop-") as tmp:
        servers = [start_noop(Path(tmp)) for _ in range(count)]
        try:
            asyncio.run(measure(config, servers, api, args=args, plan=plan, profiling=None))
            config.peak = [server.rss_mb("VmHWM") for server in servers]
        finally:
            for server in servers:
                stop_replica(server)
    peak = ", ".join(f"{mb:.0f} MB" for mb in config.peak)
    print(f"{config.label}: peak RSS per server: {peak}; idle CPU {config.idle:.1f} ms/s")
    return config


# -- the report --------------------------------------------------------------------------------


def report_rates(configs: list[Config], baselines: list[Config], p99_ms: float) -> None:
    """The highest rate each configuration sustained, two replicas against one, the table."""
    best: dict[tuple[str, str], dict[int, int]] = {}
    for config in configs:
        for channel in config.channels():
            rate = sustained([s for s in config.steps if s.channel == channel], p99_ms)
            best.setdefault((str(config.matcher), channel), {})[config.replicas] = rate
            print(
                f"{config.replicas} replica(s) {config.matcher} {channel} sustained {rate}/s "
                f"(p99 < {p99_ms:.0f} ms, no errors)"
            )
    for (matcher, channel), rates in best.items():
        for count, rate in rates.items():
            if count == 1 or 1 not in rates:
                continue
            if rates[1]:
                ratio = rate / rates[1]
                print(f"{matcher} {channel}: {count} replicas / 1 replica: ratio {ratio:.2f}")
            else:
                print(f"{matcher} {channel}: {count} replicas / 1 replica: no ratio (one: none)")
    print("\n" + rates_table(configs, baselines) + "\n", flush=True)


def parse() -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rates", default="100,200,300,400")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--replicas", default="1,2")
    parser.add_argument("--forms", type=int, default=None, help="default 4, 0 with --ceiling")
    parser.add_argument("--matcher", default="auto", help="auto, lexical, semantic: one or more")
    parser.add_argument("--channels", default="mixed", help="telegram, slack, mixed: one or more")
    parser.add_argument("--p99-ms", type=float, default=100)
    parser.add_argument("--no-baseline", dest="baseline", action="store_false")
    parser.add_argument("--ceiling", action="store_true")
    parser.add_argument("--ceiling-start", type=int, default=50)
    parser.add_argument("--ceiling-step", type=int, default=50)
    parser.add_argument("--ceiling-cap", type=int, default=1000)
    parser.add_argument("--noop-cap", type=int, default=2000)
    parser.add_argument("--profile", type=Path, default=None, help="py-spy output directory")
    parser.add_argument("--profile-rate", type=int, default=None)
    parser.add_argument("--source", type=Path, default=None, help="run the bot from this tree")
    args = parser.parse_args()
    args.rates = [int(r) for r in args.rates.split(",")]
    args.counts = [int(c) for c in args.replicas.split(",")]
    args.matchers = args.matcher.split(",")
    args.channels = args.channels.split(",")
    for name, given, known in [
        ("--matcher", args.matchers, ("auto", "lexical", "semantic")),
        ("--channels", args.channels, CHANNELS),
    ]:
        if not set(given) <= set(known):
            parser.error(f"{name}: one or more of {', '.join(known)}")
    if args.forms is None:
        args.forms = 0 if args.ceiling else 4
    return args


def main() -> None:
    """Run the load and print the report."""
    args = parse()
    if args.ceiling:
        step = args.ceiling_step
        ours = ceiling_plan(
            args.channels, args.ceiling_start, lambda r: r + step, args.ceiling_cap, 1
        )
        noop = ceiling_plan(args.channels, args.ceiling_start, lambda r: r * 2, args.noop_cap, 2)
        what = f"ceiling from {args.ceiling_start}/s by +{step} (no-op: doubling)"
    else:
        ours = noop = rates_plan(args.channels, args.rates)
        what = f"rates {args.rates}/s"
    print(
        f"load: {what}, {args.seconds:.0f} s each, matcher {args.matcher}, channels "
        f"{', '.join(args.channels)}, {args.forms} lead forms a step"
        f"{', bot from ' + str(args.source) if args.source else ''}",
        flush=True,
    )
    profile_rate = args.profile_rate or (args.ceiling_start if args.ceiling else args.rates[0])
    profiling = Profiling(args.profile, profile_rate) if args.profile else None
    configs: list[Config] = []
    baselines: list[Config] = []
    with fakes() as api:
        for count in args.counts:
            for matcher in args.matchers:
                configs.append(
                    run_replicas(count, matcher, args, api=api, plan=ours, profiling=profiling)
                )
            if args.baseline:
                baselines.append(run_noop(count, args, api, noop))
    if args.ceiling:
        caps = (args.ceiling_cap, args.noop_cap)
        print("\n" + ceiling_table(configs, baselines, args.p99_ms, caps) + "\n", flush=True)
    else:
        report_rates(configs, baselines, args.p99_ms)


if __name__ == "__main__":
    main()
