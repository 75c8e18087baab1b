"""Who a web-chat browser is: an id the server made and signed, and the pseudonym kept in
its place.

The cookie holds `<id>.<signature>`: 24 random bytes (URL-safe base64) and their
HMAC-SHA256 under the server's key. A value the server did not sign is no identity: the
browser starts a new conversation, so nobody can pick an id (or replay one read in an
export). The database, exports, the API and the pages know only the pseudonym, SHA-256 of
the id, which cannot be turned back into a cookie.

The key is `LINGANG_COOKIE_SECRET`; without it, a random one is made on first use and kept
in the data folder (`web-chat.key`), which restarts and the replicas of docker-compose.yml
share.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
from pathlib import Path

from pydantic import SecretStr

KEY_FILE = "web-chat.key"
# The signature is for this purpose only, should the key ever sign something else.
PURPOSE = b"lingang web chat v1:"
ISSUED = re.compile(r"([A-Za-z0-9_-]{32})\.([A-Za-z0-9_-]{43})")


def _signature(key: bytes, browser_id: str) -> str:
    mac = hmac.new(key, PURPOSE + browser_id.encode("ascii"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode("ascii")


def pseudonym(browser_id: str) -> str:
    """What is stored and shown for a browser: SHA-256 of its id, 64 hex digits."""
    return hashlib.sha256(browser_id.encode("ascii")).hexdigest()


class ChatIdentity:
    """Issues signed browser ids and recognises only those."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def issue(self) -> tuple[str, str]:
        """A new browser: its cookie value and its pseudonym."""
        browser_id = secrets.token_urlsafe(24)
        return f"{browser_id}.{_signature(self._key, browser_id)}", pseudonym(browser_id)

    def pseudonym_of(self, cookie: str | None) -> str | None:
        """The pseudonym of the browser behind a cookie value this server issued; None for
        anything else (missing, malformed, forged, signed with another key)."""
        issued = ISSUED.fullmatch(cookie or "")
        if issued is None:
            return None
        browser_id, given = issued.groups()
        if not hmac.compare_digest(given, _signature(self._key, browser_id)):
            return None
        return pseudonym(browser_id)


def signing_key(secret: SecretStr | None, data_dir: Path) -> bytes:
    """The setting's key, or the one kept in the data folder (made the first time: whichever
    process writes it first wins, and every other one reads that)."""
    if secret is not None:
        return secret.get_secret_value().encode("utf-8")
    path = data_dir / KEY_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        draft = data_dir / f".{KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="ascii") as file:
            file.write(secrets.token_hex(32))
        try:
            os.link(draft, path)  # atomic, and fails if another process linked one first
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    key = path.read_text(encoding="ascii").strip()
    if len(key) < 64:
        raise ValueError(f"{path} holds no key; delete it to make a new one")
    return key.encode("ascii")
