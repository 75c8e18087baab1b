"""The catalog as files: which files make it, read from a folder, written to one, digested.

A revision of the catalog is exactly these files (paths inside the catalog folder, UTF-8
text), byte for byte: what `intents import` reads is what `intents export` writes back.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path, PurePosixPath

# The content the bot serves; tests, held-out sets, sources and coverage stay in git only.
SINGLE_FILES = ("catalog.yaml", "sales.yaml", "scope.yaml", "lead_requests.yaml")
FOLDERS = ("faq", "forms")
MAX_FILE_BYTES = 2_000_000  # far above any real content file; refuses a stray dump


class SnapshotError(Exception):
    """The folder cannot be read as a catalog; the message says why."""


def read_files(directory: Path) -> dict[str, str]:
    """The catalog's files under `directory`, by path relative to it (POSIX separators)."""
    paths = [directory / name for name in SINGLE_FILES if (directory / name).is_file()]
    for folder in FOLDERS:
        paths.extend(sorted((directory / folder).glob("*.yaml")))
    files: dict[str, str] = {}
    for path in paths:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise SnapshotError(f"{path} is larger than {MAX_FILE_BYTES} bytes")
        try:
            files[path.relative_to(directory).as_posix()] = path.read_bytes().decode("utf-8")
        except UnicodeDecodeError as exc:
            raise SnapshotError(f"{path} is not UTF-8 text") from exc
    if "catalog.yaml" not in files:
        raise SnapshotError(f"{directory} holds no catalog.yaml")
    return dict(sorted(files.items()))


def check_path(path: str) -> str:
    """`path` if it may name a catalog file (no folder escapes, a known place), else raise."""
    pure = PurePosixPath(path)
    inside = len(pure.parts) == 1 and path in SINGLE_FILES
    inside = inside or (
        len(pure.parts) == 2 and pure.parts[0] in FOLDERS and pure.suffix == ".yaml"
    )
    if not inside or pure.name.startswith("."):
        raise SnapshotError(f"{path!r} is not a catalog file")
    return path


def write_files(files: Mapping[str, str], directory: Path) -> None:
    """Write exactly `files` into `directory` (made if missing), byte for byte; catalog files
    already there that `files` does not hold are removed, anything else is left alone."""
    for stale in set(read_paths(directory)) - set(files):
        (directory / stale).unlink()
    for path, text in files.items():
        target = directory / check_path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        data = text.encode("utf-8")
        if target.is_file() and target.read_bytes() == data:
            continue
        target.write_bytes(data)


def read_paths(directory: Path) -> list[str]:
    """The catalog files present under `directory`."""
    found = [name for name in SINGLE_FILES if (directory / name).is_file()]
    for folder in FOLDERS:
        found.extend(
            p.relative_to(directory).as_posix() for p in (directory / folder).glob("*.yaml")
        )
    return found


def materialize(files: Mapping[str, str], root: Path, name: str) -> Path:
    """A private folder `root/name` holding `files`, made whole before it appears (so a
    process that finds it finds it complete); an existing one is reused."""
    final = root / name
    if final.is_dir():
        return final
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=root, prefix=f".{name}."))
    try:
        write_files(files, staging)
        os.replace(staging, final)
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)
        if not final.is_dir():  # not another process that made it first
            raise
    return final


def files_digest(files: Mapping[str, str]) -> str:
    """One SHA-256 over every path and text, in path order: equal files, equal digest."""
    digest = hashlib.sha256()
    for path in sorted(files):
        digest.update(path.encode() + b"\0")
        digest.update(hashlib.sha256(files[path].encode()).digest())
    return digest.hexdigest()
