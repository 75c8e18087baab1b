"""Sentence embeddings for the semantic matcher: the encoder interface, a cache and a classifier.

The encoder in use is chosen in the composition root (`bot.app`); the one shipped is
`intents.multilingual`. Embeddings of catalog examples are cached on disk, so rebuilding the
index after an edit only embeds the examples that changed.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from intents.features import FloatArray
from intents.lexical import softmax

log = logging.getLogger(__name__)


class SemanticUnavailable(Exception):
    """The semantic extra is not installed, or its model file is not the expected one."""


class Encoder(Protocol):
    """Turns texts into unit-length vectors whose dot product measures similar meaning."""

    name: str

    def encode(self, texts: Sequence[str]) -> FloatArray:
        """One row per text."""
        ...


class EmbeddingCache:
    """Embeddings of catalog examples kept in one file, so a rebuild only embeds new text.

    Questions from users are never put here; only the examples an index is built from. The
    file is read for each rebuild and not kept in memory in between.
    """

    def __init__(self, path: Path) -> None:
        self._path = path
        self._vectors: dict[str, FloatArray] = {}
        self._model = ""

    @staticmethod
    def _key(text: str) -> str:
        return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()

    def _load(self, model: str) -> None:
        if self._model == model:
            return
        self._model, self._vectors = model, {}
        file = self._file()
        if file.is_file():
            try:
                with np.load(file) as stored:
                    pairs = zip(stored["keys"], stored["vectors"], strict=True)
                    self._vectors = {str(key): vector for key, vector in pairs}
            except (OSError, ValueError, KeyError) as exc:
                log.warning("embedding cache %s unreadable (%s); rebuilding it", file, exc)

    def _file(self) -> Path:
        return self._path / f"embeddings-{self._model}.npz"

    def vectors(self, encoder: Encoder, texts: Sequence[str]) -> FloatArray:
        """Embeddings of `texts` by `encoder`, computing and saving only the missing ones."""
        self._load(encoder.name)
        keys = [self._key(text) for text in texts]
        missing = dict(zip(keys, texts, strict=True))
        for key in self._vectors.keys() & missing.keys():
            del missing[key]
        if missing:
            log.info("embedding %d new examples with %s", len(missing), encoder.name)
            fresh = encoder.encode(list(missing.values()))
            self._vectors.update(zip(missing, fresh, strict=True))
            self._save()
        stacked = (
            np.stack([self._vectors[key] for key in keys]) if keys else np.zeros((0, 0), np.float32)
        )
        # The file is read again at the next rebuild: a replica should not hold every vector
        # twice (here and in its matcher) between catalog edits.
        self._model, self._vectors = "", {}
        return stacked

    def classifier(
        self, encoder: Encoder, vectors: FloatArray, labels: Sequence[int], classes: int
    ) -> SoftmaxRegression:
        """The classifier for these vectors and labels, fitted once and then read back."""
        digest = hashlib.sha1(usedforsecurity=False)
        digest.update(f"{encoder.name}/{classes}/{SoftmaxRegression.version()}".encode())
        digest.update(np.ascontiguousarray(vectors).tobytes())
        digest.update(np.asarray(labels, dtype=np.int64).tobytes())
        file = self._path / f"classifier-{digest.hexdigest()[:20]}.npz"
        if file.is_file():
            try:
                with np.load(file) as stored:
                    return SoftmaxRegression.restore(stored["weights"], stored["bias"])
            except (OSError, ValueError, KeyError) as exc:
                log.warning("classifier cache %s unreadable (%s); fitting again", file, exc)
        fitted = SoftmaxRegression(vectors, labels, classes)
        self._write(file, weights=fitted.weights, bias=fitted.bias)
        return fitted

    def _save(self) -> None:
        keys = sorted(self._vectors)
        stacked = np.stack([self._vectors[k] for k in keys])
        self._write(self._file(), keys=np.array(keys), vectors=stacked)

    def _write(self, file: Path, **arrays: npt.NDArray[Any]) -> None:
        """Write atomically: readers in other processes never see half a file. A folder that
        cannot be written (a read-only home) costs the next start the work, not this one."""
        try:
            file.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=file.parent, suffix=".npz")
        except OSError as exc:
            log.warning("cache %s not written (%s)", file, exc)
            return
        os.close(handle)
        try:
            np.savez(temporary, allow_pickle=False, **arrays)
            Path(temporary).replace(file)
        except OSError as exc:
            Path(temporary).unlink(missing_ok=True)
            log.warning("cache %s not written (%s)", file, exc)


class SoftmaxRegression:
    """A linear classifier over embeddings, fitted by full-batch gradient descent.

    Embeddings are scaled up (cosines are small numbers) so that a few dozen steps of
    Nesterov momentum reach the accuracy of an L-BFGS fit within half a point (CLINC150).
    """

    SCALE = 20.0
    STEPS = 60
    RATE = 0.5
    MOMENTUM = 0.9
    L2 = 1e-4

    @classmethod
    def version(cls) -> str:
        """Changes whenever a setting that shapes the fit changes (for caches)."""
        return f"{cls.SCALE}-{cls.STEPS}-{cls.RATE}-{cls.MOMENTUM}-{cls.L2}"

    @classmethod
    def restore(cls, weights: FloatArray, bias: FloatArray) -> SoftmaxRegression:
        """A classifier from weights fitted before."""
        restored = cls.__new__(cls)
        restored.weights, restored.bias = weights, bias
        return restored

    def __init__(self, vectors: FloatArray, labels: Sequence[int], classes: int) -> None:
        x = vectors * self.SCALE
        count = x.shape[0]
        target = np.zeros((count, classes), np.float32)
        target[np.arange(count), np.asarray(labels)] = 1
        weights = np.zeros((x.shape[1], classes), np.float32)
        bias = np.zeros(classes, np.float32)
        velocity_w, velocity_b = np.zeros_like(weights), np.zeros_like(bias)
        for _ in range(self.STEPS):
            ahead_w = weights + self.MOMENTUM * velocity_w
            ahead_b = bias + self.MOMENTUM * velocity_b
            error = (softmax(x @ ahead_w + ahead_b) - target) / count
            velocity_w = self.MOMENTUM * velocity_w - self.RATE * (x.T @ error + self.L2 * ahead_w)
            velocity_b = self.MOMENTUM * velocity_b - self.RATE * error.sum(axis=0)
            weights += velocity_w
            bias += velocity_b
        self.weights, self.bias = weights, bias

    def probabilities(self, vectors: FloatArray) -> FloatArray:
        """Probability of each class, one row per vector."""
        return softmax(vectors * self.SCALE @ self.weights + self.bias)
