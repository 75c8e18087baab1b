"""The lead form's country index: build time, memory, lookup time, and form-step checks.

    .venv/bin/python bench/countries.py [--runs 5]

Each run builds the index in a fresh process (the libraries' names are read once per process):
the build time, the memory tracemalloc sees retained after it (Babel's and pycountry's data
included, imports excluded) and its peak; then the lookup time per answer over a mix of
names, codes, typos and company names. tracemalloc slows Python down: the build is timed in
its own process without it.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from typing import Any

CHILD = r"""
import gc, json, sys, time, tracemalloc
import babel, babel.localedata, pycountry, rapidfuzz, gettext  # imports are not the index
from intents import countries
traced = sys.argv[1] == "traced"
if traced:
    tracemalloc.start()
started = time.perf_counter()
names = countries.library_names()
index = countries.CountryIndex(names, aliases={}, fillers=[], word_codes=[])
built = time.perf_counter() - started
gc.collect()
current, peak = tracemalloc.get_traced_memory() if traced else (0, 0)
top = []
if traced:
    for stat in tracemalloc.take_snapshot().statistics("filename")[:4]:
        where = stat.traceback[0].filename.split("site-packages/")[-1].split("/work/main/")[-1]
        top.append([where, stat.size])
print(json.dumps({"build_s": built, "retained": current, "peak": peak, "top": top,
                  "names": len(names.names), "countries": len(names.countries)}))
"""

ANSWERS = [
    "Germany", "德國", "美国", "USA", "UK", "Singapur", "Swizerland", "Berlin, Germany",
    "we are based in the Netherlands", "Acme Ltd", "Shanghai Semiconductor Co.",
    "上海半导体有限公司", "中国移动", "Hong Kong", "台灣", "Cote d'Ivoire",
]  # fmt: skip


def child(mode: str) -> dict[str, Any]:
    """One fresh process building the index."""
    done = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", CHILD, mode], capture_output=True, text=True, check=True
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    builds = [child("plain")["build_s"] for _ in range(runs)]
    traced = child("traced")
    print(f"countries {traced['countries']:.0f}, distinct names {traced['names']:.0f}")
    print(
        f"build: median {statistics.median(builds) * 1000:.0f} ms over {runs} fresh processes "
        f"(min {min(builds) * 1000:.0f}, max {max(builds) * 1000:.0f})"
    )
    print(
        f"memory (tracemalloc): retained {traced['retained'] / 1e6:.2f} MB, "
        f"peak {traced['peak'] / 1e6:.2f} MB while building; the most of it:"
    )
    for where, size in traced["top"]:
        print(f"  {size / 1e6:.2f} MB  {where}")

    from intents.catalog import PACKAGED_DIR, load_catalog  # noqa: PLC0415 - after the children

    index = load_catalog(PACKAGED_DIR).lead_form.countries.index
    started = time.perf_counter()
    for answer in ANSWERS:
        index.find(answer)
    first = (time.perf_counter() - started) / len(ANSWERS)
    print(f"lookup: {first * 1e6:.0f} µs per answer the first time (normalisation not cached)")
    rounds = 200
    started = time.perf_counter()
    for _ in range(rounds):
        for answer in ANSWERS:
            index.find(answer)
    per = (time.perf_counter() - started) / (rounds * len(ANSWERS))
    print(f"lookup: {per * 1e6:.0f} µs per answer again (mean over {rounds * len(ANSWERS)})")


if __name__ == "__main__":
    main()
