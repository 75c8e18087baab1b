"""The matcher beside two baselines, on CLINC150 and BANKING77, in one process.

    python bench/matching.py [--datasets clinc150,banking77] [--shots full,10] [--lexical-only]

Baselines (the ones docs/benchmarks.md and the shared measurements use):
  * rapidfuzz `extractOne` with token_sort_ratio over every training sentence;
  * TF-IDF (word 1-2-grams + char_wb 3-5-grams) with a linear SVM (scikit-learn).
For each, the script prints in-scope accuracy without a threshold, and (CLINC150) in-scope
accuracy and out-of-scope recall at the threshold chosen on the validation split, then the
ratio of our figures to each baseline's. Latency is per question, single thread; compare the
ratios, not the milliseconds (shared machines are noisy).
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # single-thread latency, as the issue asks

import numpy as np
from rapidfuzz import fuzz, process
from scipy.sparse import hstack
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.svm import LinearSVC

from intents.evaluation import (
    DEFAULT_OOS_TARGET,
    Dataset,
    choose_threshold,
    evaluate,
    load_dataset,
    sample,
)
from intents.multilingual import UseMultilingualEncoder
from intents.semantic import EmbeddingCache

# Benchmark embeddings stay out of the bot's own cache folder.
CACHE = Path(os.environ.get("LINGANG_BENCH_CACHE_DIR", "var/bench-cache"))
OOS_TARGET = DEFAULT_OOS_TARGET


@dataclass(frozen=True)
class Row:
    method: str
    accuracy: float
    in_scope: float | None
    oos: float | None
    build: float
    p50: float
    p99: float


Scorer = Callable[[str], tuple[str, float]]


def baseline(
    name: str,
    data: Dataset,
    train: list[tuple[str, str]],
    fit: Callable[[list[tuple[str, str]]], Scorer],
) -> Row:
    started = time.perf_counter()
    scorer = fit(train)
    build = time.perf_counter() - started
    tops, seconds = [], []
    for text, _ in data.test:
        begin = time.perf_counter()
        tops.append(scorer(text))
        seconds.append(time.perf_counter() - begin)
    gold = [g for _, g in data.test]
    accuracy = float(np.mean([t[0] == g for t, g in zip(tops, gold, strict=True)]))
    in_scope = oos = None
    if data.oos_val:
        val = [scorer(t) for t, _ in data.val]
        oos_val = [scorer(t) for t in data.oos_val]
        threshold = choose_threshold(list(val), [g for _, g in data.val], list(oos_val), OOS_TARGET)
        oos_test = [scorer(t) for t in data.oos_test]
        in_scope = float(
            np.mean([t[0] == g and t[1] >= threshold for t, g in zip(tops, gold, strict=True)])
        )
        oos = float(np.mean([s < threshold for _, s in oos_test]))
    ms = np.array(seconds) * 1000
    return Row(
        name,
        accuracy,
        in_scope,
        oos,
        build,
        float(np.percentile(ms, 50)),
        float(np.percentile(ms, 99)),
    )


def fuzzy_fit(train: list[tuple[str, str]]) -> Scorer:
    texts = [t for t, _ in train]
    labels = [label for _, label in train]

    def score(text: str) -> tuple[str, float]:
        best = process.extractOne(text, texts, scorer=fuzz.token_sort_ratio)
        return (labels[best[2]], best[1] / 100) if best else ("", 0.0)

    return score


def tfidf_fit(train: list[tuple[str, str]]) -> Scorer:
    words = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
    chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True)
    texts = [t for t, _ in train]
    matrix = hstack([words.fit_transform(texts), chars.fit_transform(texts)]).tocsr()
    model = LinearSVC(C=1.0).fit(matrix, [label for _, label in train])

    def score(text: str) -> tuple[str, float]:
        row = hstack([words.transform([text]), chars.transform([text])]).tocsr()
        values = model.decision_function(row)[0]
        best = int(np.argmax(values))
        return str(model.classes_[best]), float(values[best])

    return score


def ours(name: str, data: Dataset, shots: int | None, semantic: bool) -> Row:
    encoder = UseMultilingualEncoder(CACHE) if semantic else None
    report = evaluate(
        data, shots=shots, encoder=encoder, oos_target=OOS_TARGET, cache=EmbeddingCache(CACHE)
    )
    oos = report.oos_recall
    return Row(
        name,
        report.accuracy,
        report.in_scope if oos is not None else None,
        oos,
        report.build_seconds,
        report.latency_p50_ms,
        report.latency_p99_ms,
    )


def show(rows: Sequence[Row], title: str) -> None:
    print(f"\n== {title}")
    print(
        f"{'method':34} {'acc':>6} {'in@th':>6} {'oos@th':>6} "
        f"{'build s':>8} {'p50 ms':>7} {'p99 ms':>7}"
    )
    for r in rows:
        fmt = lambda v: "   n/a" if v is None else f"{v:6.1%}"  # noqa: E731
        print(
            f"{r.method:34} {r.accuracy:6.1%} {fmt(r.in_scope)} {fmt(r.oos)} "
            f"{r.build:8.2f} {r.p50:7.2f} {r.p99:7.2f}"
        )
    base = {r.method: r for r in rows if r.method.startswith("baseline")}
    for r in rows:
        if r.method.startswith("baseline"):
            continue
        for b in base.values():
            ratio = f"accuracy x{r.accuracy / b.accuracy:.2f}, p99 latency x{r.p99 / b.p99:.2f}"
            if r.in_scope is not None and b.in_scope:
                oos_ratio = (r.oos or 0) / max(b.oos or 0, 1e-9)
                ratio += f", in-scope@th x{r.in_scope / b.in_scope:.2f}, oos@th x{oos_ratio:.2f}"
            print(f"  {r.method} / {b.method}: {ratio}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--datasets", default="clinc150,banking77")
    parser.add_argument("--shots", default="full,10")
    parser.add_argument("--lexical-only", action="store_true")
    args = parser.parse_args()
    for name in args.datasets.split(","):
        data = load_dataset(name)
        for shots_text in args.shots.split(","):
            shots = None if shots_text == "full" else int(shots_text)
            train = sample(data.train, shots) if shots else data.train
            rows = [
                baseline("baseline rapidfuzz token_sort", data, train, fuzzy_fit),
                baseline("baseline tf-idf + linear svm", data, train, tfidf_fit),
                ours("ours lexical", data, shots, semantic=False),
            ]
            if not args.lexical_only:
                rows.append(ours("ours + USE multilingual (semantic)", data, shots, semantic=True))
            show(rows, f"{name}, {shots_text} examples per intent")


if __name__ == "__main__":
    main()
