"""Decide whether a message is a question the matcher can take, before anything else sees it."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Literal

Verdict = Literal["ok", "empty", "too_long", "not_text"]

# Share of characters that cannot be text (controls, unassigned, private use, replacement)
# above which a message is taken for binary data rather than a question with some noise.
_MAX_NOISE = 0.2
_KEEP_CONTROLS = {"\n", "\t"}


@dataclass(frozen=True, slots=True)
class Screened:
    """The verdict on a message and, when it is usable, its cleaned text."""

    verdict: Verdict
    text: str = ""


def _is_noise(char: str) -> bool:
    if char in _KEEP_CONTROLS:
        return False
    return char == "\ufffd" or unicodedata.category(char) in {"Cc", "Cf", "Cs", "Co", "Cn"}


def screen(text: str, max_chars: int) -> Screened:
    """Classify `text`: usable (with controls removed), empty, too long, or not text at all."""
    if len(text) > max_chars:
        return Screened("too_long")
    noise = sum(1 for char in text if _is_noise(char))
    cleaned = " ".join("".join(" " if _is_noise(c) else c for c in text).split())
    if noise and (not cleaned or noise / len(text) > _MAX_NOISE):
        return Screened("not_text")
    if not cleaned:
        return Screened("empty")
    return Screened("ok", cleaned)
