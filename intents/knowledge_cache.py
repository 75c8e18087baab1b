"""A built `Knowledge` kept in the cache folder: a start reads it instead of building it.

Building the matcher, the scope rule and the lead cues from a catalog takes a second or more
(n-gram tables, the place index, pydantic validation of every file); reading the result back
takes a tenth of that. The file is keyed by everything the result is made from: the catalog's
files (as `intents.snapshot` reads them), the folder they are in (a `Catalog` knows it), the
code of this package, the encoder's name and the interpreter and NumPy versions. A change to
any of them is a new key, so a stale file is never read; a file that does not read back is
built again.

The encoder itself is not in the file (it is the model, loaded on its own): it is written as a
reference and the caller's encoder takes its place when the file is read.

Only derived, non-personal data goes here: the catalog's own content and indexes of it.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import os
import pickle
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, TypeVar

import numpy as np

from intents.semantic import Encoder
from intents.snapshot import SnapshotError, files_digest, read_files

log = logging.getLogger(__name__)

FORMAT = 1
KEEP_FILES = 4  # the newest files kept: a few catalogs or checkouts in turn, not every edit
_ENCODER = "encoder"
_CODE = Path(__file__).resolve().parent
T = TypeVar("T")


def cache_key(directory: Path, encoder: Encoder | None) -> str | None:
    """The key of the knowledge built from `directory` with `encoder`; None when the folder
    cannot be read as a catalog (the build then says why)."""
    try:
        files = read_files(directory)
    except (SnapshotError, OSError):
        return None
    digest = hashlib.sha256()
    for part in (
        f"format {FORMAT}",
        str(directory.resolve()),
        files_digest(files),
        code_digest(),
        encoder.name if encoder is not None else "lexical",
        sys.version,
        np.__version__,
    ):
        digest.update(part.encode() + b"\0")
    return digest.hexdigest()


@functools.cache
def code_digest() -> str:
    """A digest of this package's Python sources: a changed class is a new key (read once per
    process: the code a process runs does not change under it)."""
    digest = hashlib.sha256()
    for path in sorted(_CODE.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def cached(
    folder: Path,
    directory: Path,
    encoder: Encoder | None,
    build: Callable[[], T],
    kind: type[T],
) -> T:
    """The knowledge (a `kind`) of `directory` from `folder` if it was built before, else
    `build()` (and written there for the next start)."""
    key = cache_key(directory, encoder)
    if key is None:
        return build()
    file = folder / f"knowledge-{key[:32]}.pickle"
    found = _read(file, encoder, kind)
    if found is not None:
        return found
    knowledge = build()
    _write(file, knowledge, encoder)
    return knowledge


class _Pickler(pickle.Pickler):
    def __init__(self, file: IO[bytes], encoder: Encoder | None) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self._encoder = encoder

    def persistent_id(self, obj: object) -> str | None:
        return _ENCODER if self._encoder is not None and obj is self._encoder else None


class _Unpickler(pickle.Unpickler):
    def __init__(self, file: IO[bytes], encoder: Encoder | None) -> None:
        super().__init__(file)
        self._encoder = encoder

    def persistent_load(self, pid: object) -> object:
        if pid != _ENCODER or self._encoder is None:
            raise pickle.UnpicklingError(f"unknown reference {pid!r}")
        return self._encoder


def trusted(file: Path) -> bool:
    """Whether `file` may be unpickled: this user's own, written by no one else (not group-
    or world-writable, in a folder others cannot write to). A pickle runs code when read, so a
    cache folder shared with other users (LINGANG_CACHE_DIR=/tmp/...) is never trusted."""
    try:
        mine = file.stat()
        folder = file.parent.stat()
    except OSError:
        return False
    uid = os.getuid()
    return (
        mine.st_uid == uid
        and not mine.st_mode & 0o022
        and folder.st_uid == uid
        and not folder.st_mode & 0o022
    )


def _read(file: Path, encoder: Encoder | None, kind: type[T]) -> T | None:
    if not file.is_file():
        return None
    if not trusted(file):
        log.warning("knowledge cache %s not read: others can write it or its folder", file)
        return None
    try:
        with file.open("rb") as handle:
            knowledge = _Unpickler(handle, encoder).load()
    except FileNotFoundError:
        return None
    except Exception as exc:  # any damage to a cache file means: build again
        log.warning("knowledge cache %s unreadable (%s); building it again", file, exc)
        return None
    if not isinstance(knowledge, kind):
        log.warning("knowledge cache %s holds something else; building it again", file)
        return None
    with contextlib.suppress(OSError):
        os.utime(file)  # recently used: the pruning below keeps it
    return knowledge


def _write(file: Path, knowledge: object, encoder: Encoder | None) -> None:
    """Write atomically (a process starting meanwhile never reads half a file), then keep
    only the newest few files."""
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=file.parent, prefix=".knowledge-")
        try:
            with os.fdopen(handle, "wb") as out:
                _Pickler(out, encoder).dump(knowledge)
            os.replace(temporary, file)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except (OSError, pickle.PicklingError, TypeError, AttributeError) as exc:
        log.warning("knowledge cache %s not written (%s)", file, exc)
        return
    _prune(file.parent)


def _prune(folder: Path) -> None:
    files = []
    for path in folder.glob("knowledge-*.pickle"):
        try:
            files.append((path.stat().st_mtime, path))
        except OSError:
            continue
    for _, stale in sorted(files, reverse=True)[KEEP_FILES:]:
        stale.unlink(missing_ok=True)
