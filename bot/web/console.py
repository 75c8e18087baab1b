"""What the admin console's pages share: the page that says why a request was refused, and
what the bot would answer to a question (against the catalog in use or an unsaved draft)."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response

from bot.core import answers
from bot.core.messages import Language
from bot.web.context import Web
from intents.knowledge import Knowledge

OUTCOMES = {
    "answer": "answered",
    "clarify": "did you mean (the bot asks which one)",
    "fallback": "fallback (the bot says it does not know)",
    "error": "refused (empty or too long)",
}


def language(value: str | None) -> Language | None:
    """A language chosen in a form ("" or anything else: none)."""
    return "zh" if value == "zh" else "en" if value == "en" else None


def refused(web: Web, request: Request, message: str, status: int = 400) -> Response:
    """An error page saying why a request was not carried out."""
    title = "Not found" if status == 404 else "Not possible"
    context = {"title": title, "message": message}
    return web.page(request, "error.html", context, status_code=status)


def try_question(knowledge: Knowledge, question: str, lang: Language | None) -> dict[str, Any]:
    """What the bot would answer to `question`, with the match and the runner-ups."""
    catalog = knowledge.catalog
    result = answers.answer(knowledge, question, lang)
    match = result.match
    candidates = [
        {
            "intent_id": c.intent_id,
            "title": catalog.intent(c.intent_id).title.get(result.language),
            "score": c.score,
        }
        for c in (match.candidates if match else ())
    ]
    return {
        "question": question,
        "language": result.language,
        "outcome": OUTCOMES.get(result.reply.kind, result.reply.kind),
        "intent_id": match.intent_id if match else None,
        "score": match.score if match else None,
        "candidates": candidates,
        "reply": result.reply.text,
        "threshold": catalog.settings.matching.threshold,
        "margin": catalog.settings.matching.margin,
    }
