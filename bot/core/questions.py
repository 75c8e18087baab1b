"""Unanswered questions as admins see them: open ones, grouped by similar wording.

Grouping is one greedy pass over the questions, newest first: a question joins the first group
(of its language) whose first question it resembles closely enough, else starts a group. The
result depends only on the questions, so the page is the same on every load and every replica.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from rapidfuzz import fuzz

from intents.text import han_only, normalize

# 0..100. The mean of two rapidfuzz scores: `token_set_ratio` forgives word order and extra
# words, `token_sort_ratio` does not forgive a short question inside a long one (on its own
# the set ratio puts "lingang" in the same group as every question that mentions Lingang).
SIMILAR = 75.0
SAMPLES = 5


@dataclass(frozen=True, slots=True)
class OpenQuestion:
    """A question the bot could not answer and no admin has dealt with yet."""

    id: int
    channel: str
    text: str
    language: str
    at: datetime
    best_intent: str | None = None
    best_score: float | None = None


@dataclass(frozen=True, slots=True)
class QuestionGroup:
    """Open questions worded alike, newest first."""

    language: str
    questions: tuple[OpenQuestion, ...]

    @property
    def text(self) -> str:
        """The wording to offer as an example: the newest question's."""
        return self.questions[0].text

    @property
    def count(self) -> int:
        """How many times it was asked."""
        return len(self.questions)

    @property
    def last_seen(self) -> datetime:
        """When it was last asked."""
        return self.questions[0].at

    @property
    def ids(self) -> tuple[int, ...]:
        """The ids of its questions."""
        return tuple(question.id for question in self.questions)

    @property
    def samples(self) -> tuple[str, ...]:
        """A few of its distinct wordings, newest first."""
        seen: dict[str, None] = {}
        for question in self.questions:
            seen.setdefault(question.text.strip(), None)
        return tuple(seen)[:SAMPLES]


def similarity(a: str, b: str) -> float:
    """How alike two normalised questions are (0..100); Chinese compares characters."""
    if han_only(a) or han_only(b):
        return fuzz.ratio(a.replace(" ", ""), b.replace(" ", ""))
    if not a or not b:
        return 100.0 if a == b else 0.0
    return (fuzz.token_set_ratio(a, b) + fuzz.token_sort_ratio(a, b)) / 2


def group_questions(
    questions: Sequence[OpenQuestion], threshold: float = SIMILAR
) -> list[QuestionGroup]:
    """Group alike questions; the most asked groups first, then the most recent."""
    ordered = sorted(questions, key=lambda q: (q.at, q.id), reverse=True)
    heads: list[tuple[str, str]] = []  # per group: language and normalised first question
    members: list[list[OpenQuestion]] = []
    for question in ordered:
        text = normalize(question.text)
        for index, (language, head) in enumerate(heads):
            if language == question.language and similarity(text, head) >= threshold:
                members[index].append(question)
                break
        else:
            heads.append((question.language, text))
            members.append([question])
    groups = [
        QuestionGroup(language, tuple(found))
        for (language, _), found in zip(heads, members, strict=True)
    ]
    groups.sort(key=lambda g: (-g.count, -g.last_seen.timestamp(), -g.questions[0].id))
    return groups
