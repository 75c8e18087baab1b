"""Answers that know their age: review states, and the dated caveat in both languages."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from bot.adapters import slack, telegram
from bot.core import answers
from intents.catalog import Catalog, CatalogError, Intent, load_catalog
from intents.knowledge import Knowledge, KnowledgeBase
from intents.review import (
    ReviewState,
    caveat,
    counts,
    format_date,
    review_states,
    state_of,
    today,
)
from intents.text import Lang
from tests.chat import copy_catalog

TODAY = date(2026, 12, 6)
QUESTION = {"en": "what is the official name of Lingang?", "zh": "临港的正式名称是什么？"}
ASKED = "lingang_name"


@pytest.fixture(scope="module")
def knowledge() -> Knowledge:
    return KnowledgeBase(load_catalog().directory).current


def with_intents(catalog: Catalog, *changed: Intent) -> Catalog:
    """`catalog` with some intents replaced (same ids)."""
    intents = dict(catalog.intents)
    for intent in changed:
        intents[intent.id] = intent
    return replace(catalog, intents=intents)


def dated(catalog: Catalog, intent_id: str, **dates: date | int | None) -> Intent:
    return catalog.intent(intent_id).model_copy(update=dates)


def test_the_shipped_catalog_sets_the_review_defaults() -> None:
    settings = load_catalog().settings
    assert settings.review.every_days >= 1
    assert "{date}" in settings.replies.dated_caveat.en
    assert "{date}" in settings.replies.dated_caveat.zh


def test_each_status_with_its_dates(knowledge: Knowledge) -> None:
    catalog = knowledge.catalog
    review = catalog.settings.review.model_copy(update={"every_days": 100, "soon_days": 30})
    ids = sorted(catalog.intents)[:5]
    states = {
        "expired": state_of(dated(catalog, ids[0], valid_until=date(2026, 12, 5)), review, TODAY),
        "last day": state_of(dated(catalog, ids[1], valid_until=TODAY), review, TODAY),
        "overdue": state_of(dated(catalog, ids[2], reviewed=date(2026, 8, 27)), review, TODAY),
        "due": state_of(dated(catalog, ids[3], reviewed=date(2026, 9, 20)), review, TODAY),
        "current": state_of(dated(catalog, ids[4], reviewed=date(2026, 11, 1)), review, TODAY),
    }
    assert states["expired"].status == "expired"
    assert states["expired"].deadline == date(2026, 12, 5)
    # The last day of validity still holds; it is only coming up.
    assert states["last day"].status != "expired"
    assert states["overdue"] == ReviewState(
        ids[2], "overdue", date(2026, 8, 27), date(2026, 12, 5), None, 100
    )
    assert states["due"].status == "due_soon"
    assert states["due"].review_due == date(2026, 12, 29)
    assert states["due"].label == "due soon"
    assert states["current"].status == "current"
    assert states["current"].review_due == date(2027, 2, 9)


def test_a_check_due_today_is_not_yet_overdue(knowledge: Knowledge) -> None:
    catalog = knowledge.catalog
    review = catalog.settings.review.model_copy(update={"every_days": 10, "soon_days": 0})
    intent = dated(catalog, ASKED, reviewed=date(2026, 11, 26))
    assert state_of(intent, review, TODAY).status == "due_soon"
    assert state_of(intent, review, date(2026, 12, 7)).status == "overdue"


def test_never_reviewed_is_overdue_and_the_default_period_applies(knowledge: Knowledge) -> None:
    catalog = knowledge.catalog
    review = catalog.settings.review
    never = state_of(dated(catalog, ASKED, reviewed=None), review, TODAY)
    assert never.status == "overdue"
    assert never.review_due is None
    assert never.every_days == review.every_days
    own = state_of(dated(catalog, ASKED, reviewed=TODAY, review_every=7), review, TODAY)
    assert own.every_days == 7
    assert own.review_due == date(2026, 12, 13)


def test_a_coming_end_of_validity_makes_an_answer_due_soon(knowledge: Knowledge) -> None:
    catalog = knowledge.catalog
    review = catalog.settings.review.model_copy(update={"every_days": 365, "soon_days": 30})
    intent = dated(catalog, ASKED, reviewed=TODAY, valid_until=date(2026, 12, 20))
    state = state_of(intent, review, TODAY)
    assert state.status == "due_soon"
    assert state.deadline == date(2026, 12, 20)


def all_current(catalog: Catalog) -> Catalog:
    """`catalog` with every answer just reviewed, on the default period, without an end."""
    fresh = (
        dated(catalog, i, reviewed=TODAY, valid_until=None, review_every=None)
        for i in catalog.intents
    )
    return with_intents(catalog, *fresh)


def test_states_come_most_urgent_first(knowledge: Knowledge) -> None:
    base = all_current(knowledge.catalog)
    first, second, third, fourth = sorted(base.intents)[:4]
    catalog = with_intents(
        base,
        dated(base, first, reviewed=date(2026, 6, 1), review_every=30),
        dated(base, second, reviewed=TODAY, valid_until=date(2026, 12, 1)),
        dated(base, third, reviewed=None),
        dated(base, fourth, reviewed=TODAY, review_every=10),
    )
    states = review_states(catalog, TODAY)
    assert [(s.intent_id, s.status) for s in states] == [
        (second, "expired"),
        (third, "overdue"),  # never reviewed: before any dated check
        (first, "overdue"),
        (fourth, "due_soon"),
    ]
    assert counts(states) == {"expired": 1, "overdue": 2, "due_soon": 1, "current": 0}
    everything = review_states(catalog, TODAY, everything=True)
    assert len(everything) == len(catalog.intents)
    assert everything[-1].status == "current"


def test_dates_as_people_write_them() -> None:
    assert format_date(date(2026, 12, 6), "en") == "6 Dec 2026"
    assert format_date(date(2026, 12, 6), "zh") == "2026年12月6日"
    assert format_date(date(2027, 1, 31), "en") == "31 Jan 2027"


def test_today_is_the_day_in_shanghai() -> None:
    assert today(datetime(2026, 12, 6, 16, 30, tzinfo=UTC)) == date(2026, 12, 7)
    assert today(datetime(2026, 12, 6, 15, 59, tzinfo=UTC)) == date(2026, 12, 6)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_an_expired_answer_carries_the_dated_caveat(knowledge: Knowledge, lang: Lang) -> None:
    catalog = knowledge.catalog
    expired = dated(catalog, ASKED, reviewed=date(2026, 11, 26), valid_until=date(2026, 12, 1))
    aged = replace(knowledge, catalog=with_intents(catalog, expired))
    got = answers.answer(aged, QUESTION[lang], today=TODAY)
    assert got.match is not None
    assert got.match.intent_id == ASKED
    assert got.language == lang
    plain = expired.answer.get(got.language)
    if lang == "en":
        note = "As of 26 Nov 2026; this may have changed — a consultant can confirm."
    else:
        note = "以上信息截至2026年11月26日，之后可能有变化，可请顾问确认。"
    assert got.reply.text == f"{plain}\n\n{note}"
    assert got.reply.buttons == answers.intent_reply(catalog, ASKED, got.language).buttons


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_an_answer_within_its_validity_has_no_caveat(knowledge: Knowledge, lang: Lang) -> None:
    catalog = knowledge.catalog
    holding = dated(catalog, ASKED, reviewed=date(2026, 11, 26), valid_until=TODAY)
    fresh = replace(knowledge, catalog=with_intents(catalog, holding))
    got = answers.answer(fresh, QUESTION[lang], today=TODAY)
    assert got.match is not None
    assert got.match.intent_id == ASKED
    assert got.reply.text == holding.answer.get(got.language)
    later = answers.answer(fresh, QUESTION[lang], today=date(2026, 12, 7))
    assert later.reply.text != holding.answer.get(got.language)


def test_without_a_review_date_the_caveat_shows_the_end_of_validity(
    knowledge: Knowledge,
) -> None:
    catalog = knowledge.catalog
    intent = dated(catalog, ASKED, reviewed=None, valid_until=date(2026, 3, 31))
    assert caveat(catalog, intent, "en", TODAY) == (
        "As of 31 Mar 2026; this may have changed — a consultant can confirm."
    )
    reply = answers.intent_reply(with_intents(catalog, intent), ASKED, "zh", TODAY)
    assert reply.text.endswith("\n\n以上信息截至2026年3月31日，之后可能有变化，可请顾问确认。")


FAQ = """\
intents:
  - id: aged_answer
    title: {en: Aged, zh: 旧}
    examples:
      en: [one, two, three, four, five, six, seven, eight, nine, ten]
      zh: [一, 二, 三, 四]
    answer: {en: Old., zh: 旧。}
    reviewed: 2026-11-26
    valid_until: %s
    review_every: %s
"""


def test_the_files_take_valid_until_and_review_every(tmp_path: Path) -> None:
    directory = copy_catalog(tmp_path, {"aged.yaml": FAQ % ("2027-06-30", "90")})
    intent = load_catalog(directory).intent("aged_answer")
    assert intent.valid_until == date(2027, 6, 30)
    assert intent.review_every == 90


@pytest.mark.parametrize(
    ("valid_until", "review_every", "complaint"),
    [
        ('"2027-02-30"', "90", "valid_until"),
        ("soon", "90", "valid_until"),
        ("2027-06-30", "0", "review_every"),
        ("2027-06-30", "often", "review_every"),
    ],
)
def test_bad_dates_and_periods_are_errors_with_their_line(
    tmp_path: Path, valid_until: str, review_every: str, complaint: str
) -> None:
    directory = copy_catalog(tmp_path, {"aged.yaml": FAQ % (valid_until, review_every)})
    with pytest.raises(CatalogError) as caught:
        load_catalog(directory)
    (problem,) = caught.value.problems
    assert problem.file.name == "aged.yaml"
    assert complaint in str(problem)
    assert problem.line == (9 if complaint == "valid_until" else 10)


def test_the_caveat_must_name_the_date(tmp_path: Path) -> None:
    directory = copy_catalog(tmp_path)
    settings = directory / "catalog.yaml"
    text = settings.read_text(encoding="utf-8")
    settings.write_text(text.replace("截至{date}", "截至{when}"), encoding="utf-8")
    with pytest.raises(CatalogError) as caught:
        load_catalog(directory)
    assert "dated_caveat" in str(caught.value)
    assert "{date}" in str(caught.value)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_answer_with_its_caveat_is_still_one_message(
    knowledge: Knowledge, lang: Lang
) -> None:
    """The longest answer the length rule allows, plus the caveat, fits one Telegram message
    and one Slack section: nothing is split off on any channel."""
    catalog = knowledge.catalog
    limit = catalog.settings.limits.max_answer_chars
    longest = max(
        [*(intent.answer.get(lang) for intent in catalog.intents.values()), "x" * limit], key=len
    )
    intent = catalog.intent(ASKED).model_copy(
        update={
            "answer": catalog.intent(ASKED).answer.model_copy(update={lang: longest}),
            "reviewed": date(2026, 11, 26),
            "valid_until": date(2026, 12, 1),
        }
    )
    reply = answers.intent_reply(with_intents(catalog, intent), ASKED, lang, TODAY)
    assert reply.text.startswith(longest)
    assert len(reply.text) > len(longest)
    assert len(telegram.render(reply)) == 1
    assert len(slack.render(reply)) == 1
