"""An intent as the fields of a form, and back: what the console's editor shows and reads.

Lists are one item a line (follow-up buttons as `payload | English title | Chinese title`),
tags are comma separated, dates are `YYYY-MM-DD`. Reading never throws away what the admin
typed: a value that does not parse is reported against its field (`FieldProblem`), and the
form is shown again with the text as typed. Keys of the intent that the form does not know are
kept from the version the admin opened, so a field added to the catalog later is not lost by
an edit made with an older form.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Any

from bot.catalog_edits import FieldProblem

LANGS = ("en", "zh")
TEXTS = ("title", "answer")  # one text per language
PHRASES = ("examples", "negatives", "tests")  # one phrase a line, per language
LISTS = ("sources",)  # one item a line
DATES = ("reviewed", "valid_until")
# Every field of the form, in the order it shows them.
FIELDS = (
    *(f"{key}_{lang}" for key in TEXTS for lang in LANGS),
    *(f"{key}_{lang}" for key in PHRASES for lang in LANGS),
    "buttons",
    "sources",
    "tags",
    *DATES,
    "review_every",
)
KNOWN = {"id", *TEXTS, *PHRASES, *LISTS, "buttons", "tags", *DATES, "review_every"}
SEPARATOR = "|"
_TAGS = re.compile(r"[,，、]")


def form_values(data: Mapping[str, Any]) -> dict[str, str]:
    """The form's fields filled from an intent (plain values, as `faq_intents` gives them)."""
    values = dict.fromkeys(FIELDS, "")
    for key in TEXTS:
        texts = data.get(key) or {}
        for lang in LANGS:
            values[f"{key}_{lang}"] = _text(texts.get(lang))
    for key in PHRASES:
        phrases = data.get(key) or {}
        for lang in LANGS:
            values[f"{key}_{lang}"] = "\n".join(_text(p) for p in phrases.get(lang) or ())
    values["sources"] = "\n".join(_text(s) for s in data.get("sources") or ())
    values["tags"] = ", ".join(_text(t) for t in data.get("tags") or ())
    values["buttons"] = "\n".join(_button_line(b) for b in data.get("buttons") or ())
    for key in (*DATES, "review_every"):
        values[key] = _text(data.get(key))
    return values


def read_values(form: Mapping[str, Any]) -> dict[str, str]:
    """The form's fields from a submitted form (missing ones empty, line breaks as `\\n`)."""
    values = {}
    for name in FIELDS:
        value = form.get(name)
        values[name] = value.replace("\r\n", "\n") if isinstance(value, str) else ""
    return values


def intent_data(
    intent_id: str, values: Mapping[str, str], keep: Mapping[str, Any] | None = None
) -> tuple[dict[str, Any], list[FieldProblem]]:
    """The intent written from the form's fields, and what in them does not parse.

    `keep` is the intent as opened: its keys that the form does not show are carried over.
    Empty fields are left out, so the catalog's own checks name what is required.
    """
    problems: list[FieldProblem] = []
    data: dict[str, Any] = {"id": intent_id}
    for key in TEXTS:
        data[key] = {
            lang: values.get(f"{key}_{lang}", "").strip()
            for lang in LANGS
            if values.get(f"{key}_{lang}", "").strip()
        }
    for key in PHRASES:
        phrases = {lang: _lines(values.get(f"{key}_{lang}", "")) for lang in LANGS}
        data[key] = {lang: lines for lang, lines in phrases.items() if lines}
    data["sources"] = _lines(values.get("sources", ""))
    data["tags"] = [tag.strip() for tag in _TAGS.split(values.get("tags", "")) if tag.strip()]
    data["buttons"] = _buttons(values.get("buttons", ""), problems)
    data.update(_numbers(values, problems))
    for key, value in (keep or {}).items():
        if key not in KNOWN:
            data[key] = value
    # an empty title or answer stays, so that the check names each missing language
    kept = {k: v for k, v in data.items() if k in TEXTS or v not in ({}, [])}
    return kept, problems


def _buttons(text: str, problems: list[FieldProblem]) -> list[dict[str, Any]]:
    """The buttons, one a line; a line without its three parts is a problem."""
    buttons = []
    for number, line in enumerate(_lines(text), start=1):
        button = _button(line)
        if button is None:
            message = f"line {number}: write payload | English title | Chinese title"
            problems.append(FieldProblem("buttons", message))
        else:
            buttons.append(button)
    return buttons


def _numbers(values: Mapping[str, str], problems: list[FieldProblem]) -> dict[str, Any]:
    """The dates and the review interval that are given and parse."""
    data: dict[str, Any] = {}
    for key in DATES:
        text = values.get(key, "").strip()
        if text:
            try:
                data[key] = date.fromisoformat(text)
            except ValueError:
                problems.append(FieldProblem(key, f"{text!r} is not a date (YYYY-MM-DD)"))
    every = values.get("review_every", "").strip()
    if every:
        if every.isdigit() and int(every) > 0:
            data["review_every"] = int(every)
        else:
            problems.append(FieldProblem("review_every", "a number of days (1 or more)"))
    return data


def field_of(problem: FieldProblem) -> str:
    """The form field a problem belongs to ("" for the intent as a whole)."""
    parts = problem.field.split(".")
    head = parts[0]
    if head in (*TEXTS, *PHRASES):
        return f"{head}_{parts[1]}" if len(parts) > 1 and parts[1] in LANGS else f"{head}_en"
    if head in ("buttons", "sources", "tags", "id", "file", "review_every", *DATES):
        return head
    return ""


def explained(problem: FieldProblem) -> str:
    """A problem as the admin reads it next to its field: which line, and what is wrong."""
    parts = problem.field.split(".")
    head = parts[0]
    index = next((part for part in parts[1:] if part.isdigit()), None)
    where = f"line {int(index) + 1}: " if index is not None else ""
    message = problem.message
    if head == "buttons" and parts[-1] == "payload":
        message = "the payload must be intent:<id>, lang:en, lang:zh or form:lead"
    elif head == "buttons" and "title" in parts:
        message = "a button needs an English and a Chinese title"
    elif head == "id" and "pattern" in message:
        message = "2 to 40 lower-case letters, digits or _, starting with a letter"
    elif message == "Field required":
        message = "required"
    elif message.startswith("String should have at least 1 character"):
        message = "empty"
    return where + message


def problems_by_field(problems: list[FieldProblem]) -> dict[str, list[str]]:
    """Problems grouped by form field ("" for the intent as a whole), as the page shows them."""
    grouped: dict[str, list[str]] = {}
    for problem in problems:
        grouped.setdefault(field_of(problem), []).append(explained(problem))
    return grouped


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _button_line(button: Any) -> str:
    if not isinstance(button, Mapping):
        return _text(button)
    title = button.get("title") or {}
    if not isinstance(title, Mapping):
        title = {}
    parts = (button.get("payload"), title.get("en"), title.get("zh"))
    return f" {SEPARATOR} ".join(_text(part) for part in parts)


def _button(line: str) -> dict[str, Any] | None:
    parts = [part.strip() for part in line.split(SEPARATOR)]
    if len(parts) != 3 or not parts[0]:
        return None
    payload, en, zh = parts  # the payload's form is the catalog's own check
    title = {lang: text for lang, text in (("en", en), ("zh", zh)) if text}
    return {"title": title, "payload": payload}
