"""Sparse TF-IDF vectors of word and character n-grams, the lexical view of a question.

Latin words give word unigrams and bigrams plus character 3-5-grams inside each word (so
"lingnag" still shares most of its grams with "lingang"); Chinese, written without spaces,
gives character unigrams, bigrams and trigrams. Weights are sublinear term frequency times
smoothed inverse document frequency, and every vector has unit length.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import numpy.typing as npt

from intents.text import HAN_RUNS

IntArray = npt.NDArray[np.int32]
FloatArray = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class SparseVector:
    """Feature indices (sorted, unique) and their weights."""

    indices: IntArray
    values: FloatArray

    @property
    def empty(self) -> bool:
        """Whether no known feature occurs."""
        return self.indices.size == 0


def _runs(text: str) -> Iterable[tuple[bool, str]]:
    """Maximal runs of Chinese and of non-Chinese characters, tagged."""
    for run in HAN_RUNS.finditer(text):
        yield run.group(1) is not None, run.group(0)


def ngrams(normalized: str) -> list[str]:
    """The features of one normalised text."""
    grams: list[str] = []
    words: list[str] = []
    for chinese, run in _runs(normalized):
        if chinese:
            grams.extend(f"h:{run[i : i + n]}" for n in (1, 2, 3) for i in range(len(run) - n + 1))
            continue
        for word in run.split():
            words.append(word)
            padded = f" {word} "
            grams.extend(
                f"c:{padded[i : i + n]}" for n in (3, 4, 5) for i in range(len(padded) - n + 1)
            )
    grams.extend(f"w:{word}" for word in words)
    grams.extend(f"b:{a} {b}" for a, b in pairwise(words))
    return grams


def _is_han_unigram(gram: str) -> bool:
    return gram.startswith("h:") and len(gram) == 3


class Vectorizer:
    """Maps normalised texts to `SparseVector`s over the n-grams seen when it was built."""

    def __init__(self, vocabulary: dict[str, int], idf: FloatArray) -> None:
        self.vocabulary = vocabulary
        self.idf = idf

    @classmethod
    def fit(cls, documents: Sequence[str]) -> tuple[Vectorizer, list[SparseVector]]:
        """A vectorizer over the n-grams of `documents`, and the documents' vectors."""
        grams = [ngrams(document) for document in documents]
        frequency: Counter[str] = Counter()
        for document_grams in grams:
            frequency.update(set(document_grams))
        ordered = sorted(frequency)
        count = len(documents)
        idf = np.array(
            [math.log((1 + count) / (1 + frequency[gram])) + 1 for gram in ordered],
            dtype=np.float32,
        )
        vectorizer = cls({gram: index for index, gram in enumerate(ordered)}, idf)
        return vectorizer, [vectorizer._from_grams(document_grams) for document_grams in grams]

    @property
    def size(self) -> int:
        """Number of features."""
        return len(self.vocabulary)

    def known_share(self, normalized: str) -> float:
        """Share of the text's words (Latin) and characters (Chinese) seen in the examples."""
        units = [g for g in ngrams(normalized) if g.startswith("w:") or _is_han_unigram(g)]
        return sum(g in self.vocabulary for g in units) / len(units) if units else 0.0

    def vector(self, normalized: str) -> SparseVector:
        """The unit-length TF-IDF vector of one normalised text (unknown n-grams dropped)."""
        return self._from_grams(ngrams(normalized))

    def _from_grams(self, grams: list[str]) -> SparseVector:
        counts = Counter(
            index for gram in grams if (index := self.vocabulary.get(gram)) is not None
        )
        if not counts:
            return SparseVector(np.zeros(0, np.int32), np.zeros(0, np.float32))
        indices = np.fromiter(sorted(counts), dtype=np.int32, count=len(counts))
        tf = np.array([1 + math.log(counts[i]) for i in indices.tolist()], dtype=np.float32)
        values = tf * self.idf[indices]
        values /= np.float32(np.linalg.norm(values))
        return SparseVector(indices, values)


class NearestExamples:
    """Cosine similarity of a question to every example, best per intent (an inverted index).

    `labels` must be sorted: each intent's examples are one contiguous block.
    """

    def __init__(
        self, vectors: Sequence[SparseVector], labels: Sequence[int], features: int
    ) -> None:
        if list(labels) != sorted(labels):
            raise ValueError("examples must be grouped by intent")
        rows = np.repeat(np.arange(len(vectors)), [v.indices.size for v in vectors])
        columns = np.concatenate([v.indices for v in vectors]) if vectors else np.zeros(0, np.int32)
        values = np.concatenate([v.values for v in vectors]) if vectors else np.zeros(0, np.float32)
        order = np.argsort(columns, kind="stable")
        self._rows = rows[order].astype(np.int32)
        self._values = values[order]
        self._pointers = np.concatenate(([0], np.cumsum(np.bincount(columns, minlength=features))))
        label_array = np.asarray(labels)
        self._intents = np.unique(label_array)
        self._starts = np.searchsorted(label_array, self._intents)
        self._classes = int(label_array.max()) + 1 if label_array.size else 0
        self._count = len(vectors)

    def best(self, query: SparseVector) -> FloatArray:
        """The best cosine per intent (intents without examples get 0)."""
        result = np.zeros(self._classes, np.float32)
        if query.empty or not self._count:
            return result
        starts = self._pointers[query.indices]
        lengths = self._pointers[query.indices + 1] - starts
        total = int(lengths.sum())
        if total == 0:
            return result
        offsets = np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(total)
        weights = self._values[offsets] * np.repeat(query.values, lengths)
        scores = np.bincount(self._rows[offsets], weights=weights, minlength=self._count)
        result[self._intents] = np.maximum.reduceat(scores, self._starts)
        return result
