"""An intent as the editor's form fields and back: every intent of the catalog comes back as
it was, what does not parse is named with its field, and keys the form does not show are kept."""

from __future__ import annotations

from datetime import date

from bot.catalog_edits import FieldProblem
from bot.web.intent_form import (
    FIELDS,
    form_values,
    intent_data,
    problems_by_field,
    read_values,
)
from intents.catalog import PACKAGED_DIR
from intents.drafts import faq_intents
from intents.intent_yaml import render_intent
from intents.snapshot import read_files


def test_every_intent_of_the_catalog_comes_back_from_its_form_unchanged() -> None:
    located = faq_intents(read_files(PACKAGED_DIR))
    assert len(located) > 50
    for intent_id, found in located.items():
        data, problems = intent_data(intent_id, form_values(found.data), found.data)
        assert problems == [], intent_id
        assert render_intent(data) == render_intent(found.data), intent_id


def test_lists_buttons_tags_and_dates_are_read_from_their_fields() -> None:
    values = read_values(
        {
            "title_en": " Size ",
            "title_zh": "面积",
            "answer_en": "Big.\r\nVery big.",
            "answer_zh": "很大。",
            "examples_en": "how big is it\r\n\r\n  how large  \n",
            "buttons": "intent:lingang_area | Size | 面积\nlang:zh | 中文 | 中文",
            "sources": "https://example.org/a\nOfficial plan",
            "tags": "lingang, size，area",
            "reviewed": "2026-03-01",
            "valid_until": "2027-01-31",
            "review_every": "90",
        }
    )
    data, problems = intent_data("lingang_area", values)
    assert problems == []
    assert data == {
        "id": "lingang_area",
        "title": {"en": "Size", "zh": "面积"},
        "answer": {"en": "Big.\nVery big.", "zh": "很大。"},
        "examples": {"en": ["how big is it", "how large"]},
        "sources": ["https://example.org/a", "Official plan"],
        "tags": ["lingang", "size", "area"],
        "buttons": [
            {"title": {"en": "Size", "zh": "面积"}, "payload": "intent:lingang_area"},
            {"title": {"en": "中文", "zh": "中文"}, "payload": "lang:zh"},
        ],
        "reviewed": date(2026, 3, 1),
        "valid_until": date(2027, 1, 31),
        "review_every": 90,
    }


def test_what_does_not_parse_is_named_with_its_field_and_line() -> None:
    values = dict.fromkeys(FIELDS, "") | {
        "buttons": "intent:lingang_area | Size | 面积\nintent:lingang_history | History",
        "reviewed": "1 March",
        "review_every": "-3",
    }
    _, problems = intent_data("lingang_area", values)
    assert problems_by_field(problems) == {
        "buttons": ["line 2: write payload | English title | Chinese title"],
        "reviewed": ["'1 March' is not a date (YYYY-MM-DD)"],
        "review_every": ["a number of days (1 or more)"],
    }


def test_the_catalog_s_own_problems_go_next_to_their_fields() -> None:
    problems = [
        FieldProblem("answer.zh", "Field required"),
        FieldProblem("examples.en.2", "String should have at least 1 character"),
        FieldProblem("buttons.1.payload", "String should match pattern '^(intent:...)$'"),
        FieldProblem("id", "String should match pattern '^[a-z][a-z0-9_]{1,39}$'"),
    ]
    assert problems_by_field(problems) == {
        "answer_zh": ["required"],
        "examples_en": ["line 3: empty"],
        "buttons": ["line 2: the payload must be intent:<id>, lang:en, lang:zh or form:lead"],
        "id": ["2 to 40 lower-case letters, digits or _, starting with a letter"],
    }


def test_keys_the_form_does_not_show_are_kept_from_the_intent_as_opened() -> None:
    opened = {"id": "lingang_area", "owner": "policy team"}
    values = dict.fromkeys(FIELDS, "") | {"answer_en": "Big.", "answer_zh": "很大。"}
    data, _ = intent_data("lingang_area", values, opened)
    assert data["owner"] == "policy team"
