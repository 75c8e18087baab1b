"""Deliveries taken in while the database is down: files in a folder the replicas share (the
data volume of docker-compose).

A delivery is spooled by writing its payload to a private file, syncing it, and linking it to
a name made of its channel and id: the link fails when the name exists, so on one host
exactly one process spools each delivery, and whoever finds the name sees a complete file.
The process whose link succeeded answers the delivery, then adds an `.answered` mark. Once
the database is back, `Intake.recover` files each entry into the inbox and removes it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import secrets
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

SUFFIX = ".json"
ANSWERED = ".answered"
STALE_TEMPORARY = timedelta(hours=1)  # a private file never linked: its writer died


@dataclass(frozen=True, slots=True)
class Spooled:
    """One spooled delivery: when it was spooled, and answered if it was."""

    channel: str
    delivery_id: str
    payload: Mapping[str, Any]
    spooled_at: datetime
    answered_at: datetime | None


def private_spool() -> DeliverySpool:
    """A spool of this process alone, in a temporary folder (for a service built without
    one: a retry to this process is then still answered once)."""
    name = f"lingang-spool-{os.getpid()}-{secrets.token_hex(4)}"
    return DeliverySpool(Path(tempfile.gettempdir()) / name)


def _modified(path: Path) -> datetime:
    return datetime.fromtimestamp(path.stat().st_mtime, UTC)


class DeliverySpool:
    """A folder of spooled deliveries (created when first needed)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _path(self, channel: str, delivery_id: str) -> Path:
        digest = hashlib.sha256(delivery_id.encode()).hexdigest()[:40]
        return self.folder / f"{channel}-{digest}{SUFFIX}"

    def take(self, channel: str, delivery_id: str, payload: Mapping[str, Any]) -> bool:
        """Spool the delivery; True if this call did, False if it was spooled before.

        Raises `OSError` when it cannot be written (then nobody has it).
        """
        self.folder.mkdir(parents=True, exist_ok=True)
        final = self._path(channel, delivery_id)
        if final.exists():
            return False
        body = json.dumps({"channel": channel, "delivery_id": delivery_id, "payload": payload})
        private = self.folder / f".{final.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
        descriptor = os.open(private, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as file:
                file.write(body)
                file.flush()
                os.fsync(file.fileno())
            try:
                os.link(private, final)  # atomic, and fails if the name exists
            except FileExistsError:
                return False
            self._sync_folder()
            return True
        finally:
            with contextlib.suppress(FileNotFoundError):
                private.unlink()

    def _sync_folder(self) -> None:
        descriptor = os.open(self.folder, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)

    def holds(self, channel: str, delivery_id: str) -> bool:
        """Whether the delivery is spooled (taken by some replica, not yet filed)."""
        return self._path(channel, delivery_id).exists()

    def answered(self, channel: str, delivery_id: str) -> None:
        """Mark the spooled delivery answered.

        Raises `OSError` when the mark cannot be written.
        """
        mark = self._path(channel, delivery_id).with_suffix(ANSWERED)
        descriptor = os.open(mark, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        self._sync_folder()

    def entries(self, channel: str) -> list[Spooled]:
        """The channel's spooled deliveries, oldest first (unreadable ones are skipped)."""
        if not self.folder.is_dir():
            return []
        found: list[Spooled] = []
        for path in sorted(self.folder.glob(f"{channel}-*{SUFFIX}")):
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                spooled_at = _modified(path)
            except (OSError, ValueError):
                log.warning("spooled delivery %s unreadable; skipped", path.name)
                continue
            mark = path.with_suffix(ANSWERED)
            answered_at = _modified(mark) if mark.exists() else None
            found.append(
                Spooled(
                    channel,
                    str(data["delivery_id"]),
                    data.get("payload") or {},
                    spooled_at,
                    answered_at,
                )
            )
        self._clear_temporaries()
        return found

    def _clear_temporaries(self) -> None:
        now = datetime.now(UTC)
        for path in self.folder.glob(".*.tmp"):
            with contextlib.suppress(OSError):
                if now - _modified(path) > STALE_TEMPORARY:
                    path.unlink()

    def remove(self, channel: str, delivery_id: str) -> None:
        """Forget the delivery (it is in the inbox now): the mark first, then the entry."""
        final = self._path(channel, delivery_id)
        for path in (final.with_suffix(ANSWERED), final):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
