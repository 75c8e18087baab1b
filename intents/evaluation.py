"""Measure a matcher: on public benchmarks (CLINC150, BANKING77) and on the catalog's own
held-out questions.

A benchmark's training split is used as if it were a catalog (each intent's examples are its
training sentences); a question whose score is under the threshold counts as out of scope.
The threshold is chosen on the validation split, never on the test split: the highest
in-scope accuracy whose out-of-scope recall reaches the target.
"""

from __future__ import annotations

import csv
import json
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from intents.catalog import MatchingSettings
from intents.matcher import Candidate, Example, Matcher
from intents.semantic import EmbeddingCache, Encoder

DATASETS_DIR = Path(__file__).resolve().parent.parent / "bench" / "datasets"
# The out-of-scope recall the threshold must reach on validation: `intents eval`'s default and
# the setting of every figure in docs/benchmarks.md.
DEFAULT_OOS_TARGET = 0.8
Labelled = list[tuple[str, str]]


class DatasetError(Exception):
    """A dataset name or file that cannot be read."""


@dataclass(frozen=True, slots=True)
class Dataset:
    """Labelled sentences in the CLINC150 layout; empty splits are allowed."""

    name: str
    train: Labelled
    test: Labelled
    val: Labelled = field(default_factory=list)
    oos_val: list[str] = field(default_factory=list)
    oos_test: list[str] = field(default_factory=list)


def load_dataset(name: str, directory: Path = DATASETS_DIR) -> Dataset:
    """`clinc150`, `banking77`, or a JSON file in CLINC150's layout."""
    if name == "clinc150":
        return _clinc(directory / "clinc150" / "data_full.json", name)
    if name == "banking77":
        folder = directory / "banking77"
        return Dataset(name, _csv(folder / "train.csv"), _csv(folder / "test.csv"))
    path = Path(name)
    if not path.is_file():
        raise DatasetError(f"{name}: not clinc150, banking77 or a JSON file")
    return _clinc(path, path.name)


def _csv(path: Path) -> Labelled:
    with path.open(encoding="utf-8", newline="") as file:
        return [(row["text"], row["category"]) for row in csv.DictReader(file)]


def _clinc(path: Path, name: str) -> Dataset:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))

        def pairs(key: str) -> Labelled:
            return [(str(text), str(label)) for text, label in data.get(key, [])]

        return Dataset(
            name,
            pairs("train"),
            pairs("test"),
            pairs("val"),
            [text for text, _ in pairs("oos_val")],
            [text for text, _ in pairs("oos_test")],
        )
    except (OSError, ValueError, TypeError, AttributeError) as exc:
        raise DatasetError(f"{path}: {exc}") from exc


def sample(train: Labelled, shots: int, seed: int = 0) -> Labelled:
    """At most `shots` sentences per intent, drawn reproducibly."""
    by_intent: dict[str, list[str]] = {}
    for text, label in train:
        by_intent.setdefault(label, []).append(text)
    rng = random.Random(seed)  # noqa: S311  (a reproducible sample, not a secret)
    chosen: Labelled = []
    for label in sorted(by_intent):
        texts = by_intent[label][:]
        rng.shuffle(texts)
        chosen += [(text, label) for text in texts[:shots]]
    return chosen


@dataclass(frozen=True, slots=True)
class Point:
    """In-scope accuracy and out-of-scope recall at one threshold."""

    threshold: float
    in_scope: float
    oos_recall: float | None


@dataclass(frozen=True, slots=True)
class Report:
    """What `intents eval` prints."""

    dataset: str
    matcher: str
    shots: int | None
    intents: int
    train_examples: int
    build_seconds: float
    accuracy: float
    threshold: float
    in_scope: float
    oos_recall: float | None
    oos_target: float | None
    latency_p50_ms: float
    latency_p99_ms: float
    sweep: list[Point]

    def as_dict(self) -> dict[str, object]:
        """JSON-ready."""
        return asdict(self)


def _top(ranked: list[Candidate]) -> tuple[str | None, float]:
    return (ranked[0].intent_id, ranked[0].score) if ranked else (None, 0.0)


def _timed_tops(
    matcher: Matcher, texts: Sequence[str]
) -> tuple[list[tuple[str | None, float]], list[float]]:
    tops, seconds = [], []
    for text in texts:
        start = time.perf_counter()
        tops.append(_top(matcher.rank(text)))
        seconds.append(time.perf_counter() - start)
    return tops, seconds


def _point(
    threshold: float,
    tops: list[tuple[str | None, float]],
    gold: Sequence[str],
    oos: list[tuple[str | None, float]],
) -> Point:
    hits = [
        intent == label and score >= threshold
        for (intent, score), label in zip(tops, gold, strict=True)
    ]
    recall = sum(score < threshold for _, score in oos) / len(oos) if oos else None
    return Point(round(threshold, 4), sum(hits) / max(len(hits), 1), recall)


def choose_threshold(
    val_tops: list[tuple[str | None, float]],
    gold: Sequence[str],
    oos: list[tuple[str | None, float]],
    target: float,
) -> float:
    """The threshold with the best in-scope accuracy among those reaching `target` recall."""
    if not oos:
        return 0.0
    options = sorted({score for _, score in val_tops} | {score for _, score in oos} | {0.0})
    points = [_point(t, val_tops, gold, oos) for t in options]
    reaching = [p for p in points if p.oos_recall is not None and p.oos_recall >= target]
    if reaching:
        return max(reaching, key=lambda p: (p.in_scope, -p.threshold)).threshold
    return max(points, key=lambda p: (p.oos_recall or 0.0, p.in_scope)).threshold


def evaluate(
    dataset: Dataset,
    *,
    shots: int | None = None,
    encoder: Encoder | None = None,
    oos_target: float = DEFAULT_OOS_TARGET,
    cache: EmbeddingCache | None = None,
    progress: Callable[[str], None] = lambda _: None,
) -> Report:
    """Train on the dataset's training split, pick the threshold on validation, test."""
    train = sample(dataset.train, shots) if shots else dataset.train
    settings = MatchingSettings(threshold=0.0, margin=0.0, alternatives=3)
    progress(f"building on {len(train)} examples")
    started = time.perf_counter()
    matcher = Matcher([Example(label, text) for text, label in train], settings, encoder, cache)
    build = time.perf_counter() - started
    progress("scoring the test split")
    test_tops, seconds = _timed_tops(matcher, [t for t, _ in dataset.test])
    oos_test, _ = _timed_tops(matcher, dataset.oos_test)
    threshold = 0.0
    if dataset.oos_val and dataset.val:
        progress("choosing the threshold on the validation split")
        val_tops, _ = _timed_tops(matcher, [t for t, _ in dataset.val])
        oos_val, _ = _timed_tops(matcher, dataset.oos_val)
        threshold = choose_threshold(val_tops, [g for _, g in dataset.val], oos_val, oos_target)
    gold = [g for _, g in dataset.test]
    at = _point(threshold, test_tops, gold, oos_test)
    scores = sorted({round(s, 2) for _, s in test_tops + oos_test})
    sweep = [_point(t, test_tops, gold, oos_test) for t in np.linspace(0, max(scores or [1]), 11)]
    milliseconds = np.array(seconds) * 1000
    return Report(
        dataset=dataset.name,
        matcher=f"lexical+fuzzy{'+' + encoder.name if encoder else ''}",
        shots=shots,
        intents=len(matcher.intents),
        train_examples=len(train),
        build_seconds=round(build, 3),
        accuracy=sum(i == g for (i, _), g in zip(test_tops, gold, strict=True)) / len(gold),
        threshold=threshold,
        in_scope=at.in_scope,
        oos_recall=at.oos_recall,
        oos_target=oos_target if dataset.oos_val else None,
        latency_p50_ms=round(float(np.percentile(milliseconds, 50)), 3),
        latency_p99_ms=round(float(np.percentile(milliseconds, 99)), 3),
        sweep=sweep,
    )
