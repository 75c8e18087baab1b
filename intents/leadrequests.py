"""Requests for the firm itself: its people, a call or meeting, its prices, a quote, hiring it.

Such a message must start the contact form whatever else it asks about ("I'd like to talk to a
consultant. About customs.", "注册外商独资企业要多少钱"), while the matcher, trained on whole
questions, often ranks the topic it mentions first or refuses a long message. So the request is
recognised by its cues (`lead_requests.yaml`: regular expressions over the normalised text,
both languages, traditional characters through `normalize`) and answered by a lead intent.

A cost word alone is not a request: "how much is the subsidy", "what does office rent cost" and
"how much registered capital" ask the FAQ. A cost cue counts only when it addresses the firm
("what would you charge") or names a service the firm sells ("fee for customs clearance"),
and never next to a cost in another sense (rent, tax rate, capital, a flight).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from intents.content import Model, Phrases, Text
from intents.matcher import Candidate
from intents.sourcefile import SourceError, SourceFile, read_source
from intents.text import normalize

FILE_NAME = "lead_requests.yaml"
PACKAGED_FILE = Path(__file__).resolve().parent / FILE_NAME
Reach = Literal["alone", "with_firm", "with_service"]
REACHES: tuple[Reach, ...] = ("alone", "with_firm", "with_service")
Elsewhere = Callable[[str], bool]
"""Whether a message is about another place or organisation than the ones the bot covers."""


class CueSpec(Model):
    """The cues of one kind of request (one lead intent)."""

    alone: Phrases = Phrases()
    with_firm: Phrases = Phrases()
    with_service: Phrases = Phrases()
    unless: Phrases = Phrases()
    costs: bool = False  # about money: a cost in another sense (`other_senses`) contradicts it


class LeadRequestSpec(Model):
    """The layout of `lead_requests.yaml`."""

    version: Literal[1]
    order: tuple[Text, ...]
    requests: Mapping[str, CueSpec]
    firm: Phrases = Phrases()
    services: Phrases = Phrases()
    other_senses: Phrases = Phrases()


@dataclass(frozen=True, slots=True)
class LeadRequest:
    """A message read as a request: the lead intent that answers it and the cue that told."""

    intent_id: str
    cue: str


@dataclass(frozen=True, slots=True)
class _Kind:
    intent_id: str
    cues: tuple[tuple[Reach, re.Pattern[str]], ...]
    unless: re.Pattern[str] | None
    costs: bool


class LeadRequests:
    """Tells whether a message asks for the firm itself, and which lead intent answers it."""

    def __init__(
        self,
        kinds: tuple[_Kind, ...],
        context: Mapping[str, re.Pattern[str] | None],
        elsewhere: Elsewhere | None = None,
    ) -> None:
        self._kinds = kinds
        self._firm = context["firm"]
        self._services = context["services"]
        self._other_senses = context["other_senses"]
        self._elsewhere = elsewhere

    @classmethod
    def load(
        cls, path: Path, lead_intents: Collection[str], elsewhere: Elsewhere | None = None
    ) -> LeadRequests:
        """Read a cue file; `lead_intents` are the catalog's intents tagged `lead`.

        A kind whose intent the catalog lacks is answered by the last intent of `order` (when
        the catalog has that one), so a request is never silently lost. `elsewhere` tells a
        message about another place or organisation: a cost word there ("Deloitte's fees for
        an audit") is no request, unless a cue that counts on its own addresses us. Raises
        `SourceError`.
        """
        source = read_source(path)
        try:
            spec = LeadRequestSpec.model_validate(source.data or {})
        except ValueError as exc:
            raise SourceError(path, 1, f"not a lead-request file: {exc}") from exc
        unknown = [kind for kind in spec.requests if kind not in spec.order]
        if unknown or not spec.order:
            raise source.error(("requests",), f"kinds missing from `order`: {unknown}")
        default = spec.order[-1] if spec.order[-1] in lead_intents else None
        kinds: list[_Kind] = []
        for kind in spec.order:
            cues = spec.requests.get(kind)
            answering = kind if kind in lead_intents else default
            if cues is None or answering is None:
                continue
            compiled = tuple(
                (reach, pattern)
                for reach in REACHES
                if (pattern := _compile(source, ("requests", kind, reach), getattr(cues, reach)))
            )
            unless = _compile(source, ("requests", kind, "unless"), cues.unless)
            kinds.append(_Kind(answering, compiled, unless, cues.costs))
        context = {
            key: _compile(source, (key,), getattr(spec, key))
            for key in ("firm", "services", "other_senses")
        }
        return cls(tuple(kinds), context, elsewhere)

    def detect(self, text: str) -> LeadRequest | None:
        """The lead intent `text` asks for, or None when it is no request for the firm."""
        query = normalize(text)
        if not query:
            return None
        ours = not _found(self._other_senses, query)  # no rent, tax rate, flight, ...
        usable: dict[Reach, bool] = {
            "alone": True,
            "with_firm": ours and _found(self._firm, query),
            "with_service": ours and _found(self._services, query),
        }
        about_us: bool | None = None  # asked of `elsewhere` once, and only when it matters
        for kind in self._kinds:
            if kind.unless is not None and kind.unless.search(query):
                continue
            for reach, pattern in kind.cues:
                found = pattern.search(query) if usable[reach] else None
                if found and reach != "alone":
                    if about_us is None:
                        about_us = self._elsewhere is None or not self._elsewhere(text)
                    found = found if about_us else None
                if found:
                    return LeadRequest(kind.intent_id, found.group(0).strip())
        return None

    def contradicts(self, text: str, intent_id: str) -> bool:
        """Whether `text` says it is not a request for `intent_id`, which the matcher chose: it
        asks whether the bot is a human, or the price of a flight or the tax rate."""
        query = normalize(text)
        for kind in self._kinds:
            if kind.intent_id != intent_id:
                continue
            if _found(kind.unless, query) or (kind.costs and _found(self._other_senses, query)):
                return True
        return False

    def drop_contradicted(self, text: str, ranked: Sequence[Candidate]) -> list[Candidate]:
        """The matcher's candidates for `text` without the lead intents it contradicts."""
        return [c for c in ranked if not self.contradicts(text, c.intent_id)]


def _found(pattern: re.Pattern[str] | None, query: str) -> bool:
    return pattern is not None and pattern.search(query) is not None


def _compile(source: SourceFile, at: tuple[str, ...], phrases: Phrases) -> re.Pattern[str] | None:
    """One pattern for all the entries of a key: English ones as whole words only (no letter or
    digit touching either end, which `\\b` cannot say next to a Chinese character)."""
    parts: list[str] = []
    for lang, entry in phrases.items():
        index = phrases.get(lang).index(entry)
        try:
            re.compile(entry)
        except re.error as exc:
            raise source.error((*at, lang, index), f"not a regular expression: {exc}") from exc
        parts.append(f"(?<![a-z0-9])(?:{entry})(?![a-z0-9])" if lang == "en" else f"(?:{entry})")
    return re.compile("|".join(parts)) if parts else None


def lead_requests_file(directory: Path) -> Path:
    """The cue file of the catalog in `directory`, else the packaged one (a catalog folder
    filled before the file existed, or a test's catalog, still recognises requests)."""
    own = directory / FILE_NAME
    return own if own.is_file() else PACKAGED_FILE
