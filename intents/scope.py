"""Whether a question is about what the bot covers, or about another place or organisation.

A question about another country's tax rate, another city's population or registering a
company in Europe sits close to the catalog's own questions, and the matcher would answer it
with Lingang's or China's figures. This rule catches it before matching: the question names a
place that the bot does not cover as its subject (not as where the prospect comes from: "we
are a German company", "来自新加坡") and names no covered place; or it asks about another
organisation by name ("Deloitte's fees").

The covered places, the words that mark an origin and the organisation nouns are data
(`scope.yaml`); every other place name comes from `intents.places`.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from intents.content import Model, Phrases, Text
from intents.places import Gazetteer, GazetteerSettings, Mention, Place
from intents.sourcefile import SourceError, SourceFile, read_source
from intents.text import normalize

FILE_NAME = "scope.yaml"
PACKAGED_FILE = Path(__file__).resolve().parent / FILE_NAME
COVERED = Place("Lingang", "covered", "CN")


class Cues(Model):
    """Regular expressions that must end right before, or start right after, a place."""

    before: tuple[Text, ...] = ()
    after: tuple[Text, ...] = ()


class LocalizedCues(Model):
    """Cues in both languages (both are tried on every question: languages mix)."""

    en: Cues = Cues()
    zh: Cues = Cues()


class Suffixes(Model):
    """Name endings per language."""

    en: tuple[str, ...] = ()
    zh: tuple[str, ...] = ()


class GazetteerSpec(Model):
    """What `intents.places` reads from the libraries."""

    min_population: int
    common_word_count: int
    subdivisions_of: tuple[Text, ...] = ()
    suffixed_names_in: tuple[Text, ...] = ()
    drop_suffixes: Suffixes = Suffixes()


class OrganisationNouns(Model):
    """What a question asks about an organisation ("fees", "address")."""

    nouns: tuple[Text, ...] = ()


class OrganisationSpec(Model):
    """The organisation rule's words (English only: Chinese has no possessive to go by)."""

    en: OrganisationNouns = OrganisationNouns()


class ScopeSpec(Model):
    """The layout of `scope.yaml`."""

    version: Literal[1]
    gazetteer: GazetteerSpec
    covered: Phrases
    not_a_place_after: Phrases = Phrases()
    origin: LocalizedCues = LocalizedCues()
    organisation: OrganisationSpec = OrganisationSpec()


@dataclass(frozen=True, slots=True)
class Outside:
    """Why a question is outside the scope: the place or organisation it is about."""

    subject: str
    kind: Literal["place", "organisation"]


class Scope:
    """Tells whether a question is about somewhere or someone the bot does not cover."""

    def __init__(
        self,
        gazetteer: Gazetteer,
        *,
        before: re.Pattern[str] | None,
        after: re.Pattern[str] | None,
        not_after: re.Pattern[str] | None,
        organisation: re.Pattern[str] | None,
        vocabulary: Collection[str],
    ) -> None:
        self._gazetteer = gazetteer
        self._before = before
        self._after = after
        self._not_after = not_after
        self._organisation = organisation
        self._vocabulary = vocabulary

    @classmethod
    def load(
        cls,
        path: Path,
        vocabulary: Iterable[str] = (),
        chinese: str = "",
        cache_dir: Path | None = None,
    ) -> Scope:
        """Read a scope file. `vocabulary` is the catalog's own English words as written and
        `chinese` its Chinese text: a city name the catalog writes in lower case ("hub") is
        read as that word, and an organisation named with any of its words is ours or a
        topic ("Elite Stage's fees", "Lingang's"). Raises `SourceError`."""
        source = read_source(path)
        try:
            spec = ScopeSpec.model_validate(source.data or {})
        except ValueError as exc:
            raise SourceError(path, 1, f"not a scope file: {exc}") from exc
        g = spec.gazetteer
        settings = GazetteerSettings(
            g.min_population,
            g.common_word_count,
            g.subdivisions_of,
            g.suffixed_names_in,
            g.drop_suffixes.en,
            g.drop_suffixes.zh,
        )
        written = set(vocabulary)
        words = {w.casefold() for w in written}
        lower_case = {w for w in written if w.islower()}
        covered = (name for _, name in spec.covered.items())
        gazetteer = (
            library_gazetteer(settings, cache_dir)
            .with_words(lower_case, normalize(chinese))
            .with_names(covered, COVERED)
        )
        cues = spec.origin
        before = _compile(source, ("origin",), cues.en.before, cues.zh.before, "({})$")
        after = _compile(source, ("origin",), cues.en.after, cues.zh.after, "^({})")
        not_after = _compile(source, ("not_a_place_after",), (), spec.not_a_place_after.zh, "^({})")
        nouns = "|".join(spec.organisation.en.nouns)
        organisation = (
            re.compile(
                r"\b([A-Z][\w&-]*(?: [A-Z][\w&-]*){0,3})['’]s (?:\w+ )?"
                rf"(?:{nouns})\b"
            )
            if nouns
            else None
        )
        return cls(
            gazetteer,
            before=before,
            after=after,
            not_after=not_after,
            organisation=organisation,
            vocabulary=words,
        )

    def outside(self, text: str) -> Outside | None:
        """What `text` is about that the bot does not cover, or None when it is in scope."""
        mentions = self._gazetteer.find(text)
        if any(m.place.kind == "covered" for m in mentions):
            return None
        for mention in mentions:
            if self._is_subject(text, mention):
                return Outside(mention.written, "place")
        return self._other_organisation(text)

    def places(self, text: str) -> list[Mention]:
        """The places `text` names (for explaining a decision)."""
        return self._gazetteer.find(text)

    def _is_subject(self, text: str, mention: Mention) -> bool:
        latin = not mention.han
        whole = unicodedata.normalize("NFKC", text) if latin else normalize(text)
        before = normalize(whole[: mention.start])
        after = normalize(whole[mention.end :]) if latin else whole[mention.end :].lstrip()
        if not latin and _found(self._not_after, after):
            return False
        return not (_found(self._before, before) or _found(self._after, after))

    def _other_organisation(self, text: str) -> Outside | None:
        if self._organisation is None:
            return None
        for found in self._organisation.finditer(unicodedata.normalize("NFKC", text)):
            name = found.group(1)
            if not any(word.casefold() in self._vocabulary for word in name.split()):
                return Outside(name, "organisation")
        return None


def _found(pattern: re.Pattern[str] | None, text: str) -> bool:
    return pattern is not None and pattern.search(text) is not None


def _compile(
    source: SourceFile,
    at: tuple[str, ...],
    english: Iterable[str],
    chinese: Iterable[str],
    shape: str,
) -> re.Pattern[str] | None:
    """One pattern for the cues: English ones as whole words (no letter or digit touching the
    outer end), Chinese ones as they are."""
    parts: list[str] = []
    for entry in english:
        parts.append(
            shape.format(f"(?<![a-z0-9]){entry}" if shape.endswith("$") else f"{entry}(?![a-z0-9])")
        )
    parts.extend(shape.format(entry) for entry in chinese)
    if not parts:
        return None
    try:
        return re.compile("|".join(p.replace("$", " ?$") if p.endswith("$") else p for p in parts))
    except re.error as exc:
        raise source.error(at, f"not a regular expression: {exc}") from exc


@functools.cache
def library_gazetteer(settings: GazetteerSettings, cache_dir: Path | None) -> Gazetteer:
    """Built once per process for the same settings (a reload reuses it)."""
    return Gazetteer.load(settings, cache_dir)


def scope_file(directory: Path) -> Path:
    """The scope file of the catalog in `directory`, else the packaged one."""
    own = directory / FILE_NAME
    return own if own.is_file() else PACKAGED_FILE
