"""The admin's checks on a catalog: `intents check` (is it well made?) and `intents test`
(does the matcher answer the held-out questions right, and refuse the out-of-scope ones?)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from intents.catalog import Catalog, MatchingSettings
from intents.matcher import Candidate, Matcher, decide
from intents.text import Lang, normalize

Outcome = Literal["correct", "clarify", "wrong", "refused"]


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing to fix, at `file:line`."""

    location: str
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.message}"


def check(catalog: Catalog, matcher: Matcher) -> list[Problem]:
    """Everything `intents check` reports beyond schema errors (which stop loading)."""
    return [*_counts(catalog), *_lengths(catalog), *_overlaps(catalog), *_strays(catalog, matcher)]


def _counts(catalog: Catalog) -> Iterator[Problem]:
    quality = catalog.settings.quality
    needed: dict[tuple[str, Lang], int] = {
        ("examples", "en"): quality.min_examples_en,
        ("examples", "zh"): quality.min_examples_zh,
        ("tests", "en"): quality.min_tests_en,
        ("tests", "zh"): quality.min_tests_zh,
    }
    for intent in catalog.intents.values():
        for (kind, lang), minimum in needed.items():
            have = len((intent.examples if kind == "examples" else intent.tests).get(lang))
            if have < minimum:
                yield Problem(
                    catalog.locate(intent.id, kind),
                    f"{intent.id}: {have} {lang} {kind}, at least {minimum} needed",
                )


def _lengths(catalog: Catalog) -> Iterator[Problem]:
    limit = catalog.settings.limits.max_answer_chars
    for intent in catalog.intents.values():
        for lang in ("en", "zh"):
            length = len(intent.answer.get(lang))
            if length > limit:
                yield Problem(
                    catalog.locate(intent.id, "answer", lang),
                    f"{intent.id}: {lang} answer has {length} characters, at most {limit}",
                )


def _overlaps(catalog: Catalog) -> Iterator[Problem]:
    """The same sentence in two intents, or a held-out question that is also an example."""
    owner: dict[str, str] = {}
    for intent in catalog.intents.values():
        for lang, text in intent.examples.items():
            key = normalize(text)
            other = owner.setdefault(key, intent.id)
            if other != intent.id:
                index = intent.examples.get(lang).index(text)
                yield Problem(
                    catalog.locate(intent.id, "examples", lang, index),
                    f"{intent.id}: example {text!r} is also an example of {other}",
                )
    for intent in catalog.intents.values():
        for lang, text in intent.tests.items():
            if normalize(text) in owner:
                index = intent.tests.get(lang).index(text)
                yield Problem(
                    catalog.locate(intent.id, "tests", lang, index),
                    f"{intent.id}: test {text!r} is also an example of {owner[normalize(text)]}"
                    " (tests must be held out)",
                )
    for _, text in catalog.settings.out_of_scope.items():
        if normalize(text) in owner:
            yield Problem(
                str(catalog.directory / "catalog.yaml"),
                f"out-of-scope question {text!r} is an example of {owner[normalize(text)]}",
            )


def _strays(catalog: Catalog, matcher: Matcher) -> Iterator[Problem]:
    """Examples the matcher ranks under another intent than their own."""
    for intent in catalog.intents.values():
        for lang, text in intent.examples.items():
            ranked = matcher.rank(text)
            if ranked and ranked[0].intent_id != intent.id:
                index = intent.examples.get(lang).index(text)
                yield Problem(
                    catalog.locate(intent.id, "examples", lang, index),
                    f"{intent.id}: example {text!r} matches {ranked[0].intent_id} better "
                    "than its own intent",
                )


@dataclass(frozen=True, slots=True)
class Trial:
    """One test question, what it should get and what it got."""

    question: str
    language: Lang
    expected: str | None  # None: the question is out of scope
    got: str | None
    outcome: Outcome
    score: float


@dataclass(frozen=True, slots=True)
class TestReport:
    """What `intents test` prints."""

    trials: list[Trial]
    threshold: float
    margin: float
    min_accuracy: float
    min_oos_rejection: float

    def _in_scope(self, lang: Lang | None = None) -> list[Trial]:
        return [t for t in self.trials if t.expected and (lang is None or t.language == lang)]

    def accuracy(self, lang: Lang | None = None) -> float:
        """Share of held-out questions answered with their own intent."""
        trials = self._in_scope(lang)
        return sum(t.outcome == "correct" for t in trials) / len(trials) if trials else 1.0

    def outcomes(self, in_scope: bool) -> Counter[str]:
        """How many trials of one kind ended which way."""
        return Counter(t.outcome for t in self.trials if (t.expected is not None) == in_scope)

    @property
    def oos_rejection(self) -> float:
        """Share of out-of-scope questions not answered (refused, or "did you mean")."""
        trials = [t for t in self.trials if t.expected is None]
        return sum(t.got is None for t in trials) / len(trials) if trials else 1.0

    def confusions(self, top: int = 10) -> list[tuple[str, str, int]]:
        """Most frequent (expected, got) pairs of wrong answers; "-" is out of scope."""
        pairs = Counter(
            (t.expected or "-", t.got or "-") for t in self.trials if t.outcome == "wrong"
        )
        return [(a, b, n) for (a, b), n in pairs.most_common(top)]

    @property
    def passed(self) -> bool:
        """Whether the catalog meets its own quality bar."""
        return self.accuracy() >= self.min_accuracy and self.oos_rejection >= self.min_oos_rejection


def run_tests(catalog: Catalog, matcher: Matcher, threshold: float | None = None) -> TestReport:
    """Match every held-out and out-of-scope question of the catalog."""
    settings = catalog.settings.matching
    if threshold is not None:
        settings = settings.model_copy(update={"threshold": threshold})
    quality = catalog.settings.quality
    trials = [
        _trial(question, lang, intent.id, matcher.rank(question), settings)
        for intent in catalog.intents.values()
        for lang, question in intent.tests.items()
    ] + [
        _trial(question, lang, None, matcher.rank(question), settings)
        for lang, question in catalog.settings.out_of_scope.items()
    ]
    bar = quality.min_accuracy.semantic if matcher.semantic else quality.min_accuracy.lexical
    return TestReport(trials, settings.threshold, settings.margin, bar, quality.min_oos_rejection)


def _trial(
    question: str,
    lang: Lang,
    expected: str | None,
    ranked: list[Candidate],
    settings: MatchingSettings,
) -> Trial:
    match = decide(ranked, settings)
    offered = {c.intent_id for c in match.candidates if c.score >= settings.threshold}
    outcome: Outcome
    if expected is None:  # out of scope: right when not answered
        outcome = "wrong" if match.intent_id else "clarify" if match.ambiguous else "refused"
    elif match.intent_id is not None:
        outcome = "correct" if match.intent_id == expected else "wrong"
    else:
        outcome = "clarify" if match.ambiguous and expected in offered else "refused"
    return Trial(question, lang, expected, match.intent_id, outcome, match.score)
