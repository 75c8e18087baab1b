"""A multinomial naive Bayes model over TF-IDF n-grams: trained by counting, so instant.

It gives every intent a probability from the words and character n-grams a question shares
with the intent's examples. Raw naive Bayes probabilities are far too sure of themselves, and
their spread grows with the number of n-grams in the question; the log-likelihood is therefore
averaged over the question's n-grams and then sharpened by a fixed factor, chosen on the
catalog's held-out questions and CLINC150's validation split (docs/benchmarks.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from intents.features import FloatArray, SparseVector

SMOOTHING = 0.03  # additive smoothing of the n-gram weights
SHARPNESS = 6.0


def softmax(scores: npt.NDArray[np.floating[Any]]) -> FloatArray:
    """Scores to probabilities (along the last axis)."""
    shifted = scores - scores.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    probabilities: FloatArray = (exp / exp.sum(axis=-1, keepdims=True)).astype(np.float32)
    return probabilities


class NaiveBayes:
    """Per-intent n-gram weights learnt from the examples; a uniform prior over intents."""

    def __init__(
        self, vectors: Sequence[SparseVector], labels: Sequence[int], classes: int, features: int
    ) -> None:
        columns = np.concatenate([v.indices for v in vectors]).astype(np.int64)
        rows = np.repeat(np.asarray(labels, dtype=np.int64), [v.indices.size for v in vectors])
        weights = np.concatenate([v.values for v in vectors]).astype(np.float64)
        flat = np.bincount(columns * classes + rows, weights, minlength=features * classes)
        counts: npt.NDArray[np.float64] = flat.astype(np.float64, copy=False).reshape(
            features, classes
        )
        counts += SMOOTHING  # in place throughout: this array can be large
        counts /= counts.sum(axis=0, keepdims=True)
        np.log(counts, out=counts)
        # Half precision: the weights are logs (two decimals are plenty) and the table is the
        # largest part of the lexical index (n-grams x intents).
        self._log_weights = counts.astype(np.float16)

    def probabilities(self, vector: SparseVector) -> FloatArray:
        """The probability of each intent for one question (uniform when nothing is known)."""
        if vector.empty:
            classes = self._log_weights.shape[1]
            return np.full(classes, 1 / classes, dtype=np.float32)
        # Dividing by the L1 norm makes the spread of the scores independent of how many
        # n-grams the question has (a short Chinese question has few, an English one many).
        rows = self._log_weights[vector.indices].astype(np.float32)
        scores = vector.values @ rows / vector.values.sum()
        return softmax(scores * SHARPNESS)
