"""The admin's checks on a catalog: `intents check` (is it well made?) and `intents test`
(does the matcher answer the held-out questions right, and refuse the out-of-scope ones?)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Literal

from intents.catalog import Catalog, MatchingSettings
from intents.heldout import NEAR_COPY, HeldOut, load_heldout, near_copies
from intents.matcher import Match, Matcher
from intents.sourcefile import SourceError
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
    return [
        *_counts(catalog),
        *_lengths(catalog),
        *_overlaps(catalog),
        *_copies(catalog),
        *_strays(catalog, matcher),
    ]


def _copies(catalog: Catalog) -> Iterator[Problem]:
    """Held-out questions (development and sealed) that are nearly an example."""
    for name in ("dev", "sealed"):
        try:
            held = load_heldout(catalog, "dev" if name == "dev" else "sealed")
        except SourceError as exc:
            yield Problem(f"{exc.file}:{exc.line}", exc.message)
            continue
        for question, example, score in near_copies(catalog, held):
            # A sealed question's words stay out of the report: whoever reads it edits examples.
            asked = f"{question.text!r}" if name == "dev" else "(sealed)"
            yield Problem(
                question.location,
                f"held-out question {asked} is a near copy of the example {example!r} (fuzzy "
                f"score {score:.0f}, at most {NEAR_COPY - 1}): reword the example or the question",
            )


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
    every = [
        (intent, lang, text)
        for intent in catalog.intents.values()
        for lang, text in intent.examples.items()
    ]
    ranks = matcher.rank_many([text for _, _, text in every])
    for (intent, lang, text), ranked in zip(every, ranks, strict=True):
        if ranked and ranked[0].intent_id != intent.id:
            index = intent.examples.get(lang).index(text)
            yield Problem(
                catalog.locate(intent.id, "examples", lang, index),
                f"{intent.id}: example {text!r} matches {ranked[0].intent_id} better "
                "than its own intent",
            )


NEIGHBOURS = 3  # the intents nearest an edited one whose examples are checked with it


def check_intent(catalog: Catalog, matcher: Matcher, intent_id: str) -> list[Problem]:
    """`check` for one intent and its neighbours, fast enough to run before every save: its
    counts and lengths, sentences it shares with others, its examples that match another
    intent better, and the examples of its nearest intents that now match it instead."""
    if intent_id not in catalog.intents:
        return []
    mine = catalog.intent(intent_id)
    own = [p for p in (*_counts(catalog), *_lengths(catalog)) if f"{intent_id}:" in p.message]
    overlaps = [p for p in _overlaps(catalog) if intent_id in p.message]
    near: set[str] = set()
    strays = []
    mine_examples = list(mine.examples.items())
    for (lang, text), ranked in zip(
        mine_examples, matcher.rank_many([t for _, t in mine_examples]), strict=True
    ):
        near.update(c.intent_id for c in ranked[:NEIGHBOURS] if c.intent_id != intent_id)
        if ranked and ranked[0].intent_id != intent_id:
            index = mine.examples.get(lang).index(text)
            strays.append(
                Problem(
                    catalog.locate(intent_id, "examples", lang, index),
                    f"{intent_id}: example {text!r} matches {ranked[0].intent_id} better "
                    "than its own intent",
                )
            )
    theirs = [
        (other, lang, text)
        for other in sorted(near & set(catalog.intents))
        for lang, text in catalog.intent(other).examples.items()
    ]
    for (other, lang, text), ranked in zip(
        theirs, matcher.rank_many([t for _, _, t in theirs]), strict=True
    ):
        if ranked and ranked[0].intent_id == intent_id:
            index = catalog.intent(other).examples.get(lang).index(text)
            strays.append(
                Problem(
                    catalog.locate(other, "examples", lang, index),
                    f"{other}: example {text!r} now matches {intent_id} better than its own intent",
                )
            )
    return [*own, *overlaps, *strays]


@dataclass(frozen=True, slots=True)
class Handling:
    """What the bot does with one message: the match, and whether the contact form starts."""

    match: Match | None
    starts_form: bool = False


Ask = Callable[[str, str | None], Handling]
"""Ask the bot one message (with the previous question of the conversation, if any)."""


@dataclass(frozen=True, slots=True)
class Trial:
    """One test question, what it should get and what it got.

    `kind` is "question" (an intent must answer), "out_of_scope", "lead" (the contact form
    must start) or "follow_up" (an intent must answer it after the first question).
    """

    question: str
    language: Lang
    expected: str | None  # None: the question is out of scope (or a lead request)
    got: str | None
    outcome: Outcome
    score: float
    kind: str = "question"
    starts_form: bool = False


@dataclass(frozen=True, slots=True)
class TestReport:
    """What `intents test` prints."""

    trials: list[Trial]
    threshold: float
    margin: float
    min_accuracy: float
    min_oos_rejection: float
    set_name: str = "dev"
    lead_intents: frozenset[str] = frozenset()

    def _in_scope(self, lang: Lang | None = None) -> list[Trial]:
        return [
            t for t in self.trials if t.kind == "question" and (lang is None or t.language == lang)
        ]

    def accuracy(self, lang: Lang | None = None) -> float:
        """Share of held-out questions answered with their own intent."""
        trials = self._in_scope(lang)
        return sum(t.outcome == "correct" for t in trials) / len(trials) if trials else 1.0

    def count(self, kind: str, lang: Lang | None = None) -> int:
        """How many trials of one kind (and language)."""
        return sum(t.kind == kind and (lang is None or t.language == lang) for t in self.trials)

    def outcomes(self, in_scope: bool) -> Counter[str]:
        """How many questions (in scope) or out-of-scope questions ended which way."""
        kind = "question" if in_scope else "out_of_scope"
        return Counter(t.outcome for t in self.trials if t.kind == kind)

    def oos_rejection_in(self, lang: Lang | None = None) -> float:
        """Share of out-of-scope questions not answered (refused, or "did you mean")."""
        trials = [t for t in self.trials if t.kind == "out_of_scope" and lang in (None, t.language)]
        return sum(t.got is None for t in trials) / len(trials) if trials else 1.0

    @property
    def oos_rejection(self) -> float:
        """Share of out-of-scope questions not answered, both languages."""
        return self.oos_rejection_in()

    def lead_rate(self, lang: Lang | None = None) -> float | None:
        """Share of lead requests that start the contact form (None without any)."""
        trials = [t for t in self.trials if t.kind == "lead" and lang in (None, t.language)]
        return sum(t.starts_form for t in trials) / len(trials) if trials else None

    @property
    def false_form_rate(self) -> float:
        """Share of ordinary questions (not lead requests) that start the form by mistake."""
        trials = [
            t
            for t in self.trials
            if t.kind in ("question", "out_of_scope") and t.expected not in self.lead_intents
        ]
        return sum(t.starts_form for t in trials) / len(trials) if trials else 0.0

    def follow_up_accuracy(self, lang: Lang | None = None) -> float | None:
        """Share of follow-ups answered with the intent they need (None without any)."""
        trials = [t for t in self.trials if t.kind == "follow_up" and lang in (None, t.language)]
        return sum(t.outcome == "correct" for t in trials) / len(trials) if trials else None

    def confusions(self, top: int = 10) -> list[tuple[str, str, int]]:
        """Most frequent (expected, got) pairs of wrong answers; "-" is out of scope."""
        pairs = Counter(
            (t.expected or "-", t.got or "-")
            for t in self.trials
            if t.outcome == "wrong" and t.kind in ("question", "out_of_scope")
        )
        return [(a, b, n) for (a, b), n in pairs.most_common(top)]

    @property
    def passed(self) -> bool:
        """Whether the catalog meets its own quality bar."""
        return self.accuracy() >= self.min_accuracy and self.oos_rejection >= self.min_oos_rejection


def run_tests(
    catalog: Catalog,
    held: HeldOut,
    ask: Ask,
    *,
    semantic: bool,
    lead_intents: frozenset[str] = frozenset(),
) -> TestReport:
    """Ask the bot every question of a held-out set and judge what it does."""
    settings = catalog.settings.matching
    trials = [
        _trial(q.text, q.lang, q.intent, ask(q.text, None), settings, kind="question")
        for q in held.questions
    ]
    trials += [
        _trial(q.text, q.lang, None, ask(q.text, None), settings, kind="out_of_scope")
        for q in held.out_of_scope
    ]
    trials += [
        _trial(q.text, q.lang, None, ask(q.text, None), settings, kind="lead")
        for q in held.lead_requests
    ]
    trials += [
        _trial(f.then, f.lang, f.intent, ask(f.then, f.first), settings, kind="follow_up")
        for f in held.follow_ups
    ]
    quality = catalog.settings.quality
    bar = quality.min_accuracy.semantic if semantic else quality.min_accuracy.lexical
    return TestReport(
        trials,
        settings.threshold,
        settings.margin,
        bar,
        quality.min_oos_rejection,
        held.name,
        lead_intents,
    )


def _trial(
    question: str,
    lang: Lang,
    expected: str | None,
    handling: Handling,
    settings: MatchingSettings,
    *,
    kind: str,
) -> Trial:
    match = handling.match
    got = match.intent_id if match else None
    ambiguous = bool(match and match.ambiguous)
    offered = (
        {c.intent_id for c in match.candidates if c.score >= settings.threshold} if match else set()
    )
    outcome: Outcome
    if kind == "lead":
        outcome = "correct" if handling.starts_form else "wrong"
    elif expected is None:  # out of scope: right when not answered
        outcome = "wrong" if got else "clarify" if ambiguous else "refused"
    elif got is not None:
        outcome = "correct" if got == expected else "wrong"
    else:
        outcome = "clarify" if ambiguous and expected in offered else "refused"
    return Trial(
        question,
        lang,
        expected,
        got,
        outcome,
        match.score if match else 0.0,
        kind,
        handling.starts_form,
    )
