"""Follow-up questions: "and since when?", "who can apply?", "那要多久?" read with what came before.

A short message whose words the catalog knows is matched twice: on its own, and appended to
the conversation's previous question. It is read in context when that fits an intent clearly
better than the message alone; a short question that stands on its own ("where is lingang?")
keeps its own reading, and one about something else ("tell me a joke": "joke" is in no
example) is never pulled into the previous topic.

The limits below were tuned on the development set: its follow-up conversations, and every
development question and out-of-scope question asked right after an unrelated question
(docs/benchmarks.md, "Follow-ups").
"""

from __future__ import annotations

from dataclasses import dataclass

from intents.matcher import Candidate, Matcher
from intents.text import han_count, normalize

# A follow-up is short: at most this many words (English) or Chinese characters.
MAX_WORDS = 7
MAX_HAN = 9
# How much better the reading in context must score to be preferred.
CONTEXT_GAIN = 0.1
# The share of a follow-up's words (Chinese: characters) that the examples must know.
KNOWN_SHARE = 0.9


@dataclass(frozen=True, slots=True)
class Reading:
    """How a message was understood: its ranked intents and the text they were ranked for."""

    ranked: list[Candidate]
    text: str
    in_context: bool = False


def is_short(text: str) -> bool:
    """Whether a message is short enough to be a follow-up."""
    normalized = normalize(text)
    han = han_count(normalized)
    return han <= MAX_HAN if han else len(normalized.split()) <= MAX_WORDS


def read(matcher: Matcher, text: str, previous: str | None = None) -> Reading:
    """Rank `text` on its own, or in the context of the `previous` question when that fits."""
    alone = matcher.rank(text)
    if not previous or not is_short(text) or matcher.known_share(text) < KNOWN_SHARE:
        return Reading(alone, text)
    combined = f"{previous} {text}"
    together = matcher.rank(combined)
    best_alone = alone[0].score if alone else 0.0
    if together and together[0].score > best_alone + CONTEXT_GAIN:
        return Reading(together, combined, in_context=True)
    return Reading(alone, text)
