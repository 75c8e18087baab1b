"""Fuzzing every inbound parser and handler with the strategies of tests/fuzz, at volume: the
Telegram webhook, Slack's request URL, the web chat, the login form, the staff pages and forms,
the catalog's edit parsers and the engine, all through one app (SQLite in a temporary folder,
the lexical matcher, fake platform APIs on 127.0.0.1).

    python bench/fuzz.py [--inputs 100000] [--seed 0] [--target NAME ...]

The inputs are shared among the targets (fewer to the slow login and staff forms: WEIGHTS).
Printed per target: inputs, 2xx/3xx, 4xx, 500s, exceptions raised, records logged at ERROR
and tracebacks; then its inputs per second
against a no-op target fed the same number of inputs of the same strategy in this process
(the cost of generating them), as a ratio. Every crash is printed with its input. Exits 1 on
any 500, exception, error logged or bad input not answered with a 4xx.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the strategies and the fakes live with the tests

from hypothesis import HealthCheck, Phase, given, seed, settings  # noqa: E402

from tests.fuzz.site import FuzzSite, describe, fuzz_site  # noqa: E402
from tests.fuzz.targets import Target, targets  # noqa: E402

SHOWN_CRASHES = 3  # per kind of crash and target
# Shares of the inputs, relative (1 unless named): each login hashes a password with Argon2id
# and each staff form drafts the catalog, so these get fewer inputs to keep the run near an hour.
COUNTS = ("inputs", "ok", "refused", "errors_5xx", "exceptions", "logged", "tracebacks",
          "unrefused_bad")  # fmt: skip
WEIGHTS = {"login": 0.15, "staff forms": 0.4}


@dataclass
class Tally:
    """What one target's inputs got."""

    inputs: int = 0
    ok: int = 0  # 2xx and 3xx
    refused: int = 0  # 4xx
    errors_5xx: int = 0
    exceptions: int = 0
    logged: int = 0  # records at ERROR or above
    tracebacks: int = 0  # of those, with a traceback
    unrefused_bad: int = 0  # bad input answered without a 4xx
    crashed: int = 0  # inputs with any of the above, or with an exception or a 500
    seconds: float = 0.0
    crashes: Counter[str] = field(default_factory=Counter)
    examples: dict[str, str] = field(default_factory=dict)

    def crash(self, kind: str, value: Any, detail: str = "") -> None:
        self.crashes[kind] += 1
        if len(self.examples) < SHOWN_CRASHES * 4 and kind not in self.examples:
            self.examples[kind] = f"{value!r}"[:2000] + (f"\n{detail}" if detail else "")


def run(site: FuzzSite, target: Target, count: int, start: int, feed: bool = True) -> Tally:
    """`count` inputs of `target`'s strategy, fed to the site (or, with `feed` false, to
    nothing: the baseline)."""
    tally = Tally()

    @seed(start)
    @settings(
        max_examples=count,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(target.inputs)
    def one(value: Any) -> None:
        tally.inputs += 1
        if not feed:
            return
        before = len(site.errors.records)
        crashes_before = sum(tally.crashes.values())
        try:
            outcome = target.feed(site, value)
        except Exception as exc:  # what the site let through is what we count
            tally.exceptions += 1
            tally.crash(f"raised {type(exc).__name__}: {exc}"[:160], value, traceback.format_exc())
        else:
            status = outcome.status
            if status >= 500:
                tally.errors_5xx += 1
                tally.crash(f"status {status}", value)
            elif status >= 400:
                tally.refused += 1
            else:
                tally.ok += 1
                if outcome.bad:
                    tally.unrefused_bad += 1
                    tally.crash(f"bad input answered {status}", value)
        for record in site.errors.records[before:]:
            tally.logged += 1
            tally.tracebacks += record.exc_info is not None
            text = describe(record)
            tally.crash(f"logged {record.name}: {text.splitlines()[-1]}"[:160], value, text)
        tally.crashed += sum(tally.crashes.values()) > crashes_before

    began = time.perf_counter()
    one()
    tally.seconds = time.perf_counter() - began
    return tally


def report(name: str, ours: Tally, baseline: Tally) -> None:
    rate = ours.inputs / ours.seconds if ours.seconds else 0.0
    base = baseline.inputs / baseline.seconds if baseline.seconds else 0.0
    print(
        f"{name}: inputs {ours.inputs}, 2xx/3xx {ours.ok}, 4xx {ours.refused}, "
        f"500s {ours.errors_5xx}, exceptions {ours.exceptions}, errors logged {ours.logged}, "
        f"tracebacks {ours.tracebacks}, bad input not refused {ours.unrefused_bad}"
    )
    print(
        f"  {rate:.1f} inputs/s vs {base:.1f} inputs/s into a no-op target: "
        f"ratio {rate / base if base else 0.0:.4f}"
    )
    for kind, number in ours.crashes.most_common():
        print(f"  CRASH x{number}: {kind}")
        if kind in ours.examples:
            print("    " + ours.examples[kind].replace("\n", "\n    "))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--inputs", type=int, default=100_000, help="in total, all targets")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--target", action="append", default=[], help="only these (repeat)")
    args = parser.parse_args(argv)
    logging.getLogger().setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory() as folder, fuzz_site(Path(folder)) as site:
        chosen = [t for t in targets(site) if not args.target or t.name in args.target]
        if not chosen:
            parser.error(f"no target among {args.target}")
        weights = [WEIGHTS.get(t.name, 1.0) for t in chosen]
        totals = Tally()
        for number, target in enumerate(chosen):
            each = max(1, round(args.inputs * weights[number] / sum(weights)))
            start = args.seed * 1000 + number
            baseline = run(site, target, each, start, feed=False)
            ours = run(site, target, each, start)
            report(target.name, ours, baseline)
            sys.stdout.flush()
            for name in (*COUNTS, "crashed"):
                setattr(totals, name, getattr(totals, name) + getattr(ours, name))
    crashes = totals.crashed
    print(
        f"all: inputs {totals.inputs}, 2xx/3xx {totals.ok}, 4xx {totals.refused}, "
        f"500s {totals.errors_5xx}, exceptions {totals.exceptions}, "
        f"errors logged {totals.logged}, tracebacks {totals.tracebacks}, "
        f"bad input not refused {totals.unrefused_bad}: "
        + ("no crash" if not crashes else f"{crashes} inputs crashed")
    )
    return 1 if crashes else 0


if __name__ == "__main__":
    sys.exit(main())
