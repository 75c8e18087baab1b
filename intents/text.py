"""Text normalisation and a per-message language guess, shared by the catalog and the matcher."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Literal

import opencc

Lang = Literal["en", "zh"]

_HAN_CLASS = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ebef"
_CJK = re.compile(f"[{_HAN_CLASS}]")
HAN_RUNS = re.compile(f"([{_HAN_CLASS}]+)|[^{_HAN_CLASS}]+")
"""Maximal runs of Chinese characters (group 1 set) and of anything else."""
_LATIN = re.compile(r"[a-z]", re.IGNORECASE)
_SPACES = re.compile(r"\s+")
_TO_SIMPLIFIED = opencc.OpenCC("t2s.json")


def _is_separator(char: str) -> bool:
    """Punctuation, symbols and controls carry no meaning for matching; letters, digits do."""
    return unicodedata.category(char)[0] in "PSCZ"


@lru_cache(maxsize=4096)
def normalize(text: str) -> str:
    """NFKC (folds full-width forms), traditional to simplified Chinese, case-fold,
    punctuation and symbols to spaces, single spaces."""
    folded = unicodedata.normalize("NFKC", text)
    if _CJK.search(folded):
        folded = _TO_SIMPLIFIED.convert(folded)
    folded = folded.casefold()
    cleaned = "".join(" " if _is_separator(char) else char for char in folded)
    return _SPACES.sub(" ", cleaned).strip()


def han_count(text: str) -> int:
    """Number of Chinese characters (CJK unified ideographs) in `text`."""
    return len(_CJK.findall(text))


def han_only(text: str) -> str:
    """The Chinese characters of `text`, in order, without anything else."""
    return "".join(_CJK.findall(text))


def guess_language(text: str) -> Lang | None:
    """`zh` when Chinese characters carry the message, `en` for Latin text, None if neither.

    One Chinese character weighs as much as one Latin word: "Lingang 在哪里" is Chinese,
    "what does 临港 mean" is English.
    """
    han = han_count(text)
    latin_words = len(re.findall(r"[a-z]+", text, re.IGNORECASE))
    if han == 0 and latin_words == 0:
        return None
    return "zh" if han >= latin_words else "en"


def has_latin(text: str) -> bool:
    """Whether the text has any Latin letter."""
    return _LATIN.search(text) is not None
