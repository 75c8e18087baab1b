"""Match a question to an intent, or decide honestly that none fits.

Scores are similarities in 0..1 between the normalised question and an intent's examples
(the best example counts). Latin text is compared word by word with rapidfuzz's token
scorers, so word order and small typos matter little; Chinese, which has no spaces, is
compared character by character.
"""

from __future__ import annotations

from dataclasses import dataclass

from rapidfuzz import fuzz

from intents.catalog import Catalog, MatchingSettings
from intents.text import han_count, han_only, normalize


@dataclass(frozen=True, slots=True)
class Candidate:
    """An intent and how well the question fits it."""

    intent_id: str
    score: float


@dataclass(frozen=True, slots=True)
class Match:
    """The matcher's verdict, with the runner-ups that explain it.

    `intent_id` is None when no intent is good enough (out of scope) or when the best two are
    too close to pick one (`ambiguous`); `candidates` are the best intents, best first.
    """

    intent_id: str | None
    score: float
    candidates: tuple[Candidate, ...]
    ambiguous: bool = False

    @property
    def alternatives(self) -> tuple[Candidate, ...]:
        """The candidates other than the chosen intent."""
        return tuple(c for c in self.candidates if c.intent_id != self.intent_id)


@dataclass(frozen=True, slots=True)
class _Example:
    intent_id: str
    text: str
    chinese: bool


class Matcher:
    """Scores questions against one catalog; build a new one to use a new catalog."""

    def __init__(self, catalog: Catalog) -> None:
        self._settings: MatchingSettings = catalog.settings.matching
        self._examples = tuple(
            _Example(intent.id, normalized, han_count(normalized) > 0)
            for intent in catalog.intents.values()
            for _, phrase in intent.examples.items()
            if (normalized := normalize(phrase))
        )

    def rank(self, text: str) -> list[Candidate]:
        """Every intent with a non-zero score for `text`, best first."""
        query = normalize(text)
        if not query:
            return []
        query_chinese = han_count(query) > 0
        best: dict[str, float] = {}
        for example in self._examples:
            score = _similarity(query, query_chinese, example)
            if score > best.get(example.intent_id, 0.0):
                best[example.intent_id] = score
        ranked = [Candidate(intent_id, score) for intent_id, score in best.items()]
        ranked.sort(key=lambda c: (-c.score, c.intent_id))
        return ranked

    def match(self, text: str) -> Match:
        """The intent that answers `text`, or an explained refusal to pick one.

        Examples of every language take part, which a mixed-script question needs.
        """
        ranked = self.rank(text)
        candidates = tuple(ranked[: self._settings.alternatives + 1])
        if not candidates or candidates[0].score < self._settings.threshold:
            return Match(None, candidates[0].score if candidates else 0.0, candidates)
        top = candidates[0]
        runner_up = candidates[1].score if len(candidates) > 1 else 0.0
        if runner_up >= self._settings.threshold and top.score - runner_up < self._settings.margin:
            return Match(None, top.score, candidates, ambiguous=True)
        return Match(top.intent_id, top.score, candidates)


def _similarity(query: str, query_chinese: bool, example: _Example) -> float:
    if query_chinese or example.chinese:
        compact_example = example.text.replace(" ", "")
        whole = fuzz.ratio(query.replace(" ", ""), compact_example)
        # "Lingang 临港面积多大 km2?": the Chinese part alone may be the question.
        return max(whole, fuzz.ratio(han_only(query), compact_example)) / 100
    sort = fuzz.token_sort_ratio(query, example.text)
    overlap = fuzz.token_set_ratio(query, example.text)
    return (sort + overlap) / 200
