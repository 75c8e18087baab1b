"""The matcher: confident matches, honest refusals, explained with runner-ups."""

from __future__ import annotations

from pathlib import Path

import pytest

from intents.catalog import load_catalog
from intents.knowledge import KnowledgeBase
from intents.matcher import Example, Matcher
from intents.multilingual import UseMultilingualEncoder
from tests.chat import copy_catalog

PARKING = """\
intents:
  - id: car_parking
    title: {en: Car parking, zh: 停车}
    examples:
      en: [where can I park my car, is there a car park, parking for cars]
      zh: [哪里可以停车]
    negatives:
      en: [where can I park my bike]
    answer: {en: Lot A., zh: A 区。}
  - id: bike_parking
    title: {en: Bike parking, zh: 自行车}
    examples:
      en: [where do bicycles go, is there a bike rack, parking for bicycles]
      zh: [自行车停哪里]
    answer: {en: Rack B., zh: B 区。}
"""


def test_example_matches_its_own_intent(knowledge: KnowledgeBase) -> None:
    match = knowledge.current.matcher.match("how big is Lingang?")
    assert match.intent_id == "lingang_area"
    assert 0.5 <= match.score <= 1


def test_match_lists_runner_ups_best_first(knowledge: KnowledgeBase) -> None:
    match = knowledge.current.matcher.match("what is the 15% corporate income tax in Lingang?")
    assert match.intent_id == "tax_cit_15"
    scores = [c.score for c in match.candidates]
    assert scores == sorted(scores, reverse=True)
    assert len(match.alternatives) == 3
    assert all(c.intent_id != "tax_cit_15" for c in match.alternatives)


@pytest.mark.parametrize(
    ("question", "intent"),
    [
        ("how bigg is lingnag", "lingang_area"),  # typos
        ("xinsheng", "xinsheng_zing"),  # a name, alone
        ("什么是WFOE", "wfoe"),  # mixed script
        ("Lingang 临港面积多大", "lingang_area"),
        ("臨港新片區面積多大", "lingang_area"),  # traditional characters
        ("ＨＯＷ ＢＩＧ ＩＳ ＬＩＮＧＡＮＧ", "lingang_area"),  # full-width
    ],
)
def test_hard_spellings_still_match(knowledge: KnowledgeBase, question: str, intent: str) -> None:
    assert knowledge.current.matcher.match(question).intent_id == intent


@pytest.mark.parametrize(
    "question",
    ["recommend a good pizza place in Naples", "明天上海天气怎么样", "how do I learn guitar"],
)
def test_out_of_scope_question_has_no_intent(knowledge: KnowledgeBase, question: str) -> None:
    match = knowledge.current.matcher.match(question)
    assert match.intent_id is None
    assert match.candidates, "even a refusal shows what came closest"


def test_too_close_to_call_is_ambiguous(tmp_path: Path) -> None:
    twins = PARKING.replace(
        "[where do bicycles go, is there a bike rack, parking for bicycles]",
        "[where can I park my car, is there a car park, parking for cars]",
    )
    knowledge = KnowledgeBase(copy_catalog(tmp_path, {"parking.yaml": twins}))
    match = knowledge.current.matcher.match("where can I park my car")
    assert match.intent_id is None
    assert match.ambiguous
    assert {c.intent_id for c in match.candidates[:2]} == {"car_parking", "bike_parking"}


def test_negative_example_pulls_a_question_away_from_its_intent(tmp_path: Path) -> None:
    knowledge = KnowledgeBase(copy_catalog(tmp_path, {"parking.yaml": PARKING}))
    matcher = knowledge.current.matcher
    assert matcher.match("where can I park my car").intent_id == "car_parking"
    ranked = {c.intent_id: c.score for c in matcher.rank("where can I park my bike")}
    without = KnowledgeBase(
        copy_catalog(tmp_path / "plain", {"parking.yaml": PARKING.replace("my bike]", "x]")})
    ).current.matcher
    plain = {c.intent_id: c.score for c in without.rank("where can I park my bike")}
    assert ranked["car_parking"] < plain["car_parking"]


def test_empty_question_ranks_nothing(knowledge: KnowledgeBase) -> None:
    assert knowledge.current.matcher.rank("?!") == []
    assert knowledge.current.matcher.match("").intent_id is None


def test_paraphrase_without_shared_words_needs_the_semantic_model(
    encoder: UseMultilingualEncoder,
) -> None:
    catalog = load_catalog()
    question = "can my staff live in subsidised flats over there?"
    semantic = Matcher.for_catalog(catalog, encoder).rank(question)
    assert semantic[0].intent_id == "talent_apartments"


def test_matcher_trains_on_plain_examples_too() -> None:
    settings = load_catalog().settings.matching
    matcher = Matcher([Example("greet", "hello there"), Example("bye", "goodbye now")], settings)
    assert matcher.intents == ["bye", "greet"]
    assert matcher.match("hello there").intent_id == "greet"
