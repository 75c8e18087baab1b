"""The building blocks of every content file: texts in both languages, lists of phrases."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

from intents.text import Lang

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class Model(BaseModel):
    """Content models: unknown keys are errors, values never change after loading."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Localized(Model):
    """One text in English and Chinese."""

    en: Text
    zh: Text

    def get(self, lang: Lang) -> str:
        """The text in `lang`."""
        return self.en if lang == "en" else self.zh


class Phrases(Model):
    """Example sentences per language (either may be empty)."""

    en: tuple[Text, ...] = ()
    zh: tuple[Text, ...] = ()

    def get(self, lang: Lang) -> tuple[str, ...]:
        """The phrases in `lang`."""
        return self.en if lang == "en" else self.zh

    def items(self) -> Iterator[tuple[Lang, str]]:
        """Every phrase with its language."""
        for lang in ("en", "zh"):
            for phrase in self.get(lang):
                yield lang, phrase
