"""The semantic extra: the model file is checked, embeddings and classifiers are cached."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from intents.features import FloatArray
from intents.semantic import EmbeddingCache, SoftmaxRegression


class CountingEncoder:
    """Deterministic vectors, and a count of the texts it was asked to embed."""

    name = "counting"

    def __init__(self) -> None:
        self.embedded = 0

    def encode(self, texts: Sequence[str]) -> FloatArray:
        self.embedded += len(texts)
        rows = np.array([[len(t), t.count("a") + 1, 1.0] for t in texts], dtype=np.float32)
        return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_cache_embeds_only_what_it_has_not_seen_even_after_a_restart(tmp_path: Path) -> None:
    encoder = CountingEncoder()
    first = EmbeddingCache(tmp_path).vectors(encoder, ["alpha", "beta"])
    assert encoder.embedded == 2
    again = EmbeddingCache(tmp_path).vectors(encoder, ["beta", "alpha", "gamma"])
    assert encoder.embedded == 3
    assert np.allclose(again[1], first[0])


def test_a_corrupt_cache_file_is_rebuilt(tmp_path: Path) -> None:
    encoder = CountingEncoder()
    EmbeddingCache(tmp_path).vectors(encoder, ["alpha"])
    next(tmp_path.glob("embeddings-*.npz")).write_bytes(b"not numpy")
    assert EmbeddingCache(tmp_path).vectors(encoder, ["alpha"]).shape == (1, 3)
    assert encoder.embedded == 2


def test_classifier_is_fitted_once_and_read_back(tmp_path: Path) -> None:
    vectors = CountingEncoder().encode(["a", "aa", "bbbb", "bbbbbb"])
    fitted = EmbeddingCache(tmp_path).classifier(CountingEncoder(), vectors, [0, 0, 1, 1], 2)
    restored = EmbeddingCache(tmp_path).classifier(CountingEncoder(), vectors, [0, 0, 1, 1], 2)
    assert len(list(tmp_path.glob("classifier-*.npz"))) == 1
    assert np.allclose(fitted.probabilities(vectors), restored.probabilities(vectors))
    assert fitted.probabilities(vectors).argmax(axis=1).tolist() == [0, 0, 1, 1]


def test_softmax_regression_separates_separable_classes() -> None:
    rng = np.random.default_rng(7)
    centres = np.eye(4, dtype=np.float32)
    vectors = np.repeat(centres, 10, axis=0) + rng.normal(0, 0.05, (40, 4)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    labels = [i // 10 for i in range(40)]
    model = SoftmaxRegression(vectors, labels, 4)
    assert model.probabilities(vectors).argmax(axis=1).tolist() == labels
