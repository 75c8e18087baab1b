"""Giving intents review dates in a copy of the catalog's files, as an admin edits them."""

from __future__ import annotations

import re
from pathlib import Path

DATES = re.compile(r"^    (reviewed|valid_until|review_every):.*\n", re.MULTILINE)


def set_dates(path: Path, intent_id: str, **fields: str) -> None:
    """Give the intent `intent_id` in `path` these review fields (and no others), right under
    its id."""
    text = path.read_text(encoding="utf-8")
    start = text.index(f"  - id: {intent_id}\n")
    following = text.find("\n  - id: ", start + 1)
    end = len(text) if following < 0 else following + 1
    block = DATES.sub("", text[start:end])
    head, rest = block.split("\n", 1)
    added = "".join(f"    {key}: {value}\n" for key, value in fields.items())
    path.write_text(f"{text[:start]}{head}\n{added}{rest}{text[end:]}", encoding="utf-8")


def id_line(path: Path, intent_id: str) -> int:
    """The line of the intent's `- id:` (its review fields follow it)."""
    text = path.read_text(encoding="utf-8")
    return text[: text.index(f"  - id: {intent_id}\n")].count("\n") + 1
