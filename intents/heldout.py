"""The questions the catalog is measured on, kept apart from its examples.

Two sets, never mixed:

* the development set: every intent's `tests:`, catalog.yaml's `out_of_scope:` and the files in
  `heldout/dev/`. Thresholds, margins, weights, word lists and rules are tuned on it.
* the sealed test set: the files in `heldout/sealed/`. It is only reported (`intents test --set
  sealed`); nothing is ever chosen by looking at its results.

A held-out file may hold questions per intent, out-of-scope questions, lead requests (messages
that must start the contact form) and two-turn follow-up conversations.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
from rapidfuzz import fuzz, process

from intents.catalog import Catalog
from intents.content import Model, Phrases, Text
from intents.sourcefile import SourceError, SourceFile, read_source
from intents.text import Lang, normalize

SetName = Literal["dev", "sealed"]
# A held-out question this close to an example (rapidfuzz, 0..100) is a copy, not a test.
NEAR_COPY = 85


class FollowUpSpec(Model):
    """Two messages of one conversation: `then` only makes sense after `first`."""

    lang: Lang
    first: Text
    then: Text
    intent: Text


class HeldOutFile(Model):
    """The layout of one `heldout/*/*.yaml` file."""

    questions: Mapping[str, Phrases] = {}
    out_of_scope: Phrases = Phrases()
    lead_requests: Phrases = Phrases()
    follow_ups: tuple[FollowUpSpec, ...] = ()


@dataclass(frozen=True, slots=True)
class Question:
    """A held-out question and the intent that must answer it (None: out of scope)."""

    text: str
    lang: Lang
    intent: str | None
    location: str


@dataclass(frozen=True, slots=True)
class FollowUp:
    """A two-turn conversation and the intent that must answer its second message."""

    lang: Lang
    first: str
    then: str
    intent: str
    location: str


@dataclass(frozen=True, slots=True)
class HeldOut:
    """One set of held-out material."""

    name: SetName
    questions: list[Question] = field(default_factory=list)
    out_of_scope: list[Question] = field(default_factory=list)
    lead_requests: list[Question] = field(default_factory=list)
    follow_ups: list[FollowUp] = field(default_factory=list)


def load_heldout(catalog: Catalog, name: SetName) -> HeldOut:
    """The development or the sealed set of `catalog` (raises `SourceError` for a bad file)."""
    held = HeldOut(name)
    if name == "dev":
        sources: dict[Path, SourceFile] = {}
        for intent in catalog.intents.values():
            path, position = catalog.origin[intent.id]
            source = sources.get(path) or sources.setdefault(path, read_source(path))
            for lang, text in intent.tests.items():
                at = ("intents", position, "tests", lang, intent.tests.get(lang).index(text))
                where = f"{path}:{source.line_of(at)}"
                held.questions.append(Question(text, lang, intent.id, where))
        settings_file = str(catalog.directory / "catalog.yaml")
        for lang, text in catalog.settings.out_of_scope.items():
            held.out_of_scope.append(Question(text, lang, None, settings_file))
    for path in sorted((catalog.directory / "heldout" / name).glob("*.yaml")):
        _add_file(held, path, catalog)
    return held


def _add_file(held: HeldOut, path: Path, catalog: Catalog) -> None:
    source = read_source(path)
    try:
        part = HeldOutFile.model_validate(source.data or {})
    except ValueError as exc:
        raise SourceError(path, 1, f"not a held-out file: {exc}") from exc
    for intent_id, phrases in part.questions.items():
        if intent_id not in catalog.intents:
            raise SourceError(
                path, source.line_of(("questions", intent_id)), f"unknown intent {intent_id!r}"
            )
        for lang, text in phrases.items():
            index = phrases.get(lang).index(text)
            where = f"{path}:{source.line_of(('questions', intent_id, lang, index))}"
            held.questions.append(Question(text, lang, intent_id, where))
    for key, target in (("out_of_scope", held.out_of_scope), ("lead_requests", held.lead_requests)):
        phrases = getattr(part, key)
        for lang, text in phrases.items():
            where = f"{path}:{source.line_of((key, lang, phrases.get(lang).index(text)))}"
            target.append(Question(text, lang, None, where))
    for index, spec in enumerate(part.follow_ups):
        where = f"{path}:{source.line_of(('follow_ups', index))}"
        if spec.intent not in catalog.intents:
            raise SourceError(path, source.line_of(("follow_ups", index)), "unknown intent")
        held.follow_ups.append(FollowUp(spec.lang, spec.first, spec.then, spec.intent, where))


def near_copies(catalog: Catalog, held: HeldOut) -> Iterator[tuple[Question, str, float]]:
    """Held-out questions that are (nearly) an example: the question, the example, the score."""
    examples = [normalize(text) for i in catalog.intents.values() for _, text in i.examples.items()]
    # Out-of-scope questions are left out: a near miss is close to an example by design.
    asked = [*held.questions, *held.lead_requests]
    asked += [Question(f.then, f.lang, f.intent, f.location) for f in held.follow_ups]
    if not examples or not asked:
        return
    texts = [normalize(question.text) for question in asked]
    scores = np.maximum(
        process.cdist(texts, examples, scorer=fuzz.ratio, dtype=np.uint8),
        process.cdist(texts, examples, scorer=fuzz.token_sort_ratio, dtype=np.uint8),
    )
    best = scores.argmax(axis=1)
    for row, question in enumerate(asked):
        score = float(scores[row, best[row]])
        if score >= NEAR_COPY:
            yield question, examples[int(best[row])], score
