"""Normalisation and the language guess."""

from __future__ import annotations

import pytest

from intents.text import guess_language, normalize


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  What IS   Lingang?! ", "what is lingang"),
        ("ＬＩＮＧＡＮＧ　１２３", "lingang 123"),
        ("临港在哪里？", "临港在哪里"),
        ("Lin-gang\tSpecial\nArea", "lin gang special area"),
        ("", ""),
        ("?!…", ""),
    ],
)
def test_normalize(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("where is Lingang?", "en"),
        ("临港在哪里", "zh"),
        ("Lingang 在哪里", "zh"),
        ("what does 临港 mean in English?", "en"),
        ("12345 !!!", None),
    ],
)
def test_guess_language(text: str, language: str | None) -> None:
    assert guess_language(text) == language


def test_traditional_chinese_is_folded_to_simplified() -> None:
    assert normalize("臨港新片區在哪裡？") == normalize("临港新片区在哪里?")
