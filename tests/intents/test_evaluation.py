"""`intents eval`: benchmarks load, thresholds come from validation, reports add up."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from intents.evaluation import DatasetError, choose_threshold, evaluate, load_dataset, sample


def test_bundled_benchmarks_load_with_their_published_sizes() -> None:
    clinc = load_dataset("clinc150")
    assert (len(clinc.train), len(clinc.val), len(clinc.test)) == (15000, 3000, 4500)
    assert (len(clinc.oos_val), len(clinc.oos_test)) == (100, 1000)
    banking = load_dataset("banking77")
    assert (len(banking.train), len(banking.test)) == (10003, 3080)
    assert len({label for _, label in banking.train}) == 77


def test_unknown_dataset_is_a_clear_error() -> None:
    with pytest.raises(DatasetError, match="not clinc150, banking77 or a JSON file"):
        load_dataset("mnist")


def test_sampling_takes_at_most_n_per_intent_reproducibly() -> None:
    train = [(f"q{i}", "a") for i in range(20)] + [(f"r{i}", "b") for i in range(3)]
    chosen = sample(train, 5)
    assert sum(1 for _, label in chosen if label == "a") == 5
    assert sum(1 for _, label in chosen if label == "b") == 3
    assert chosen == sample(train, 5)


def test_threshold_is_the_most_accurate_one_that_reaches_the_recall_target() -> None:
    val = [("a", 0.9), ("a", 0.6), ("b", 0.4)]
    oos = [(None, 0.5), (None, 0.3), (None, 0.35), (None, 0.2)]
    assert choose_threshold(val, ["a", "a", "b"], oos, target=0.75) == 0.4
    assert choose_threshold(val, ["a", "a", "b"], oos, target=1.0) == 0.6


def test_evaluate_a_small_dataset_file(tmp_path: Path) -> None:
    data = {
        "train": [[f"how big is the {w} zone", "size"] for w in ("port", "free", "new")]
        + [[f"where is the {w} zone", "place"] for w in ("port", "free", "new")],
        "val": [["how big is that zone", "size"], ["where is that zone", "place"]],
        "test": [["how large is the zone", "size"], ["where exactly is the zone", "place"]],
        "oos_val": [["bake a cake", "oos"]],
        "oos_test": [["play some jazz", "oos"]],
    }
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    report = evaluate(load_dataset(str(path)), oos_target=1.0)
    assert (report.intents, report.train_examples) == (2, 6)
    assert report.accuracy == 1.0
    assert report.oos_recall == 1.0
    assert report.latency_p99_ms >= report.latency_p50_ms > 0
    assert report.sweep[0].threshold == 0
