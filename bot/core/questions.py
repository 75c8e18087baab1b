"""The inbox of what the bot misses, as admins see it: open questions grouped by meaning.

A miss is a question the bot could not answer (`fallback`), an answer that got a 👎
(`thumbs_down`), a "did you mean" choice (`clarify`) or a question that led to a handoff
(`handoff`). Misses are grouped once, when first seen, and the grouping is kept: a question
joins the nearest existing group whose head (its first question) is similar enough, else it
heads a new group. Similarity is the dot product of unit vectors: a multilingual sentence
encoder's when there is one (an English and a Chinese wording of one question meet), else
hashed character n-grams (`CharacterGrams`), which group alike wordings of one language.

Grouping a batch costs one matrix product against the heads and, within the batch, one
product of the batch with itself: bounded by the batch size, never quadratic in the inbox.
Only the first `MAX_QUESTION` characters of a question are compared.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from bot.core.records import MAX_EVENT_TEXT, MissReason
from intents.features import FloatArray
from intents.semantic import Encoder
from intents.text import normalize

MAX_QUESTION = MAX_EVENT_TEXT  # characters of a question that are grouped and shown
REASONS: tuple[MissReason, ...] = ("fallback", "thumbs_down", "clarify", "handoff")
SAMPLES = 5  # distinct wordings shown per group

# Cosine a question needs with a group's head to join it, per way of embedding. Tuned on the
# catalog's own examples (questions of one intent, English and Chinese, should meet; of two
# intents should not): `bench/inbox.py --tune` sweeps them on half the intents, picks the lowest
# with a pairwise precision of at least 0.5 (a wrong merge hides a question, a split only shows
# it twice) and reports precision and recall on the other half (docs/benchmarks.md, issue 15).
THRESHOLDS = {"use-multilingual-v3-0.2.1": 0.55, "char-grams-v1": 0.6}
DEFAULT_THRESHOLD = 0.6


@dataclass(frozen=True, slots=True)
class OpenQuestion:
    """A miss no admin has dealt with yet."""

    id: int
    channel: str
    text: str
    language: str
    at: datetime
    best_intent: str | None = None
    best_score: float | None = None
    reason: str = "fallback"
    detail: str | None = None  # the 👎's comment, or the consultant's reply


@dataclass(frozen=True, slots=True)
class QuestionGroup:
    """Open misses alike in meaning: how many, when last, which reasons, the newest few."""

    id: int
    count: int
    last_seen: datetime
    newest_id: int  # the newest question's id: actions cover the group up to it
    examples: tuple[OpenQuestion, ...]  # newest first, a few of the group
    reasons: tuple[tuple[str, int], ...] = ()  # (reason, how many), in `REASONS` order
    reply: str | None = None  # the newest consultant's reply to a question of the group

    @property
    def text(self) -> str:
        """The wording to offer as an example: the newest question's."""
        return self.examples[0].text

    @property
    def language(self) -> str:
        """The newest question's language."""
        return self.examples[0].language

    @property
    def ids(self) -> tuple[int, ...]:
        """The ids of the questions shown."""
        return tuple(question.id for question in self.examples)

    @property
    def samples(self) -> tuple[str, ...]:
        """A few of its distinct wordings, newest first."""
        seen: dict[str, None] = {}
        for question in self.examples:
            seen.setdefault(question.text.strip(), None)
        return tuple(seen)[:SAMPLES]


@dataclass(frozen=True, slots=True)
class InboxPage:
    """One page of groups, with what the page needs to say about the rest."""

    groups: tuple[QuestionGroup, ...]
    total: int  # groups that match the filter
    pending: int  # open questions not grouped yet
    offset: int
    limit: int


def grouping_text(text: str) -> str:
    """What of a question is compared: its first `MAX_QUESTION` characters, normalised."""
    return normalize(text[:MAX_QUESTION])


class CharacterGrams:
    """An `Encoder` without a model: character 2- and 3-grams hashed into a fixed vector.

    Alike wordings of one language land near each other; it knows nothing of meaning and
    nothing across languages. Used when no sentence encoder is installed; NumPy does the
    hashing, so a long question costs tens of microseconds.
    """

    name = "char-grams-v1"
    DIMENSIONS = 1024

    def encode(self, texts: Sequence[str]) -> FloatArray:
        """One unit row per text (a zero row for a text with no characters)."""
        rows = np.zeros((len(texts), self.DIMENSIONS), np.float32)
        for index, text in enumerate(texts):
            padded = f" {grouping_text(text)} "
            codes = np.frombuffer(padded.encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
            if codes.size < 3:
                continue
            grams = [
                codes[:-1] * 1_000_003 + codes[1:],
                (codes[:-2] * 1_000_003 + codes[1:-1]) * 1_000_003 + codes[2:],
            ]
            counts = sum(
                np.bincount(
                    (hashed + order * 7_919) % 2_147_483_647 % self.DIMENSIONS,
                    minlength=self.DIMENSIONS,
                )
                for order, hashed in enumerate(grams)
            )
            row = np.sqrt(counts)  # a gram repeated many times should not drown the rest
            norm = float(np.linalg.norm(row))
            if norm:
                rows[index] = row / norm
        return rows


def threshold_for(encoder: Encoder) -> float:
    """The cosine that joins a question to a group, for this way of embedding."""
    return THRESHOLDS.get(encoder.name, DEFAULT_THRESHOLD)


def embed_questions(encoder: Encoder, texts: Sequence[str]) -> FloatArray:
    """Unit vectors of questions as grouped (their first `MAX_QUESTION` characters)."""
    if not texts:
        return np.zeros((0, 0), np.float32)
    vectors = np.asarray(encoder.encode([grouping_text(t) for t in texts]), dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.where(norms > 0, norms, 1.0)).astype(np.float32)


@dataclass(frozen=True, slots=True)
class Assignment:
    """Where each question of a batch goes: `labels[i] < len(heads)` is an existing group,
    `labels[i] == len(heads) + j` the new group headed by question `new_heads[j]`."""

    labels: tuple[int, ...]
    new_heads: tuple[int, ...]


def assign(vectors: FloatArray, heads: FloatArray, threshold: float) -> Assignment:
    """Assign a batch of question vectors (in order) to the nearest head at or above
    `threshold`; a question near no head heads a new group that later ones may join."""
    count = len(vectors)
    if count == 0:
        return Assignment((), ())
    known = len(heads)
    if known:
        # heads @ vectors.T, not vectors @ heads.T: for a few vectors against many heads
        # OpenBLAS threads the latter badly on a busy machine (20x slower measured here).
        against_known = (heads @ vectors.T).T
        best_known = against_known.argmax(axis=1)
        best_known_score = against_known[np.arange(count), best_known]
    else:
        best_known = np.zeros(count, np.intp)
        best_known_score = np.full(count, -np.inf, np.float32)
    within = vectors @ vectors.T
    labels: list[int] = []
    new_heads: list[int] = []
    for index in range(count):
        label, score = int(best_known[index]), float(best_known_score[index])
        if new_heads:
            scores = within[index, new_heads]
            nearest = int(scores.argmax())
            if float(scores[nearest]) > score:
                label, score = known + nearest, float(scores[nearest])
        if score >= threshold:
            labels.append(label)
        else:
            labels.append(known + len(new_heads))
            new_heads.append(index)
    return Assignment(tuple(labels), tuple(new_heads))


def pairwise_quality(truth: Sequence[str], labels: Sequence[int]) -> tuple[float, float]:
    """Precision and recall of a grouping over pairs of items: a pair put in one group is
    right when both items have the same `truth`; recall counts the same-truth pairs grouped."""
    together = same = both = 0
    for i in range(len(truth)):
        for j in range(i + 1, len(truth)):
            grouped, alike = labels[i] == labels[j], truth[i] == truth[j]
            together += grouped
            same += alike
            both += grouped and alike
    return (both / together if together else 1.0), (both / same if same else 1.0)


def vector_bytes(vector: FloatArray) -> bytes:
    """A head's vector as stored (half precision: cosines to three decimals)."""
    return np.asarray(vector, dtype=np.float16).tobytes()


def vector_from(data: bytes) -> FloatArray:
    """A stored head's vector."""
    return np.frombuffer(data, dtype=np.float16).astype(np.float32)
