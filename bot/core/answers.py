"""What the catalog says: answers to questions, and the engine's own replies around them.

Pure functions of one `Knowledge` snapshot, so a turn uses one catalog from start to end
even when an admin reloads meanwhile. "Today" (which decides whether an answer is past its
`valid_until` and carries the dated caveat) is a parameter; left out, it is the day in Shanghai.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from bot.core.messages import Button, Language, Reply
from bot.core.screening import Verdict, screen
from intents import followups, review
from intents.catalog import ButtonSpec, Catalog
from intents.knowledge import Knowledge
from intents.matcher import Candidate, Match, decide
from intents.quality import Handling
from intents.text import guess_language


@dataclass(frozen=True, slots=True)
class Answer:
    """The reply to one question, the match that explains it and the language chosen."""

    match: Match | None
    reply: Reply
    language: Language
    read_as: str = ""  # the question as understood: with its context when it was a follow-up


def answer(
    knowledge: Knowledge,
    text: str,
    language: Language | None = None,
    usual: Language | None = None,
    previous: str | None = None,
    *,
    today: date | None = None,
) -> Answer:
    """The catalog's answer to one question, read after the `previous` one if any.

    The reply is in `language` when given, else in the language of the question, else in
    `usual` (the conversation's language so far), else in English. An answer past its
    `valid_until` on `today` (default: the day in Shanghai) ends with the dated caveat.
    """
    catalog = knowledge.catalog
    on = today or review.today()
    lang = language or guess_language(text) or usual or "en"
    screened = screen(text, catalog.settings.limits.max_message_chars)
    if screened.verdict != "ok":
        return Answer(None, refusal(catalog, screened.verdict, lang), lang)
    request = knowledge.lead_requests.detect(screened.text)
    if request is not None:  # a request for the firm itself, whatever else it mentions
        match = Match(request.intent_id, 1.0, (Candidate(request.intent_id, 1.0),))
        return Answer(
            match, intent_reply(catalog, request.intent_id, lang, on), lang, screened.text
        )
    reading = followups.read(knowledge.matcher, screened.text, previous)
    # About another place or organisation, on its own or read after the previous question
    # ("and how long does it take?" after one about Poland): not our figures.
    outside = knowledge.scope.outside(screened.text) or (
        knowledge.scope.outside(reading.text) if reading.in_context else None
    )
    if outside is not None:
        reply = outside_scope(catalog, outside.subject, lang)
        # Not answered; the matcher's runner-ups still tell an admin what it was near.
        nearest = tuple(reading.ranked[: catalog.settings.matching.alternatives + 1])
        return Answer(Match(None, 0.0, nearest), reply, lang, reading.text)
    ranked = knowledge.lead_requests.drop_contradicted(screened.text, reading.ranked)
    match = decide(ranked, catalog.settings.matching)
    if match.intent_id is not None:
        return Answer(match, intent_reply(catalog, match.intent_id, lang, on), lang, reading.text)
    if match.ambiguous:
        threshold = catalog.settings.matching.threshold
        buttons = tuple(
            Button(catalog.intent(c.intent_id).title.get(lang), f"intent:{c.intent_id}")
            for c in match.candidates
            if c.score >= threshold
        )
        clarify = Reply(catalog.replies.did_you_mean.get(lang), buttons, "clarify")
        return Answer(match, clarify, lang, reading.text)
    return Answer(match, fallback(catalog, lang), lang, reading.text)


def handling(knowledge: Knowledge, text: str, previous: str | None = None) -> Handling:
    """What the bot does with `text` (after `previous`): for `intents test`."""
    got = answer(knowledge, text, previous=previous)
    intent_id = got.match.intent_id if got.match else None
    starts = intent_id is not None and "lead" in knowledge.catalog.intent(intent_id).tags
    return Handling(got.match, starts)


def form_starts(knowledge: Knowledge, texts: Iterable[str]) -> list[str | None]:
    """For each text asked at the start of a conversation, the lead intent whose answer starts
    the contact form, or None when the form does not start (bench/lead_requests.py)."""
    started: list[str | None] = []
    for text in texts:
        got = handling(knowledge, text)
        started.append(got.match.intent_id if got.starts_form and got.match else None)
    return started


def intent_reply(
    catalog: Catalog, intent_id: str, lang: Language, today: date | None = None
) -> Reply:
    """An intent's answer with its follow-up buttons; past the intent's `valid_until` on
    `today` (default: the day in Shanghai) with the dated caveat, so every channel shows it."""
    intent = catalog.intent(intent_id)
    text = review.dated_answer(catalog, intent, lang, today or review.today())
    return Reply(text, buttons(intent.buttons, lang))


def fallback(catalog: Catalog, lang: Language) -> Reply:
    """The honest "I don't know that one", with a way to reach a consultant."""
    return Reply(
        catalog.replies.fallback.get(lang),
        buttons(catalog.settings.fallback_buttons, lang),
        kind="fallback",
    )


def outside_scope(catalog: Catalog, subject: str, lang: Language) -> Reply:
    """What the bot covers, that `subject` is not part of it, and a way to a consultant."""
    return Reply(
        catalog.replies.outside_scope.get(lang).format(place=subject),
        buttons(catalog.settings.fallback_buttons, lang),
        kind="fallback",
    )


def refusal(catalog: Catalog, verdict: Verdict, lang: Language) -> Reply:
    """Why a message could not be taken (empty, too long, not text)."""
    replies = catalog.replies
    if verdict == "too_long":
        limit = catalog.settings.limits.max_message_chars
        return Reply(replies.too_long.get(lang).format(limit=limit), kind="error")
    text = replies.not_text if verdict == "not_text" else replies.empty_message
    return Reply(text.get(lang), kind="error")


def buttons(specs: tuple[ButtonSpec, ...], lang: Language) -> tuple[Button, ...]:
    """Button specs from the catalog as buttons in `lang`."""
    return tuple(Button(spec.title.get(lang), spec.payload) for spec in specs)
