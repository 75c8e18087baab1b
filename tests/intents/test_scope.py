"""The scope rule and its place index: what is about another place or organisation."""

from __future__ import annotations

from pathlib import Path

import pytest

from intents.catalog import PACKAGED_DIR, load_catalog
from intents.knowledge import catalog_words
from intents.places import Gazetteer, GazetteerSettings
from intents.scope import PACKAGED_FILE, Scope


@pytest.fixture(scope="module")
def scope() -> Scope:
    return Scope.load(PACKAGED_FILE, *catalog_words(load_catalog(PACKAGED_DIR)))


@pytest.fixture(scope="module")
def gazetteer(scope: Scope) -> Scope:
    """The rule's place index (libraries, the catalog's own words and the covered places)."""
    return scope


def names(index: Gazetteer | Scope, text: str) -> list[str]:
    found = index.find(text) if isinstance(index, Gazetteer) else index.places(text)
    return [mention.place.name for mention in found]


@pytest.mark.parametrize(
    ("text", "place"),
    [
        ("corporate tax in Singapore", "Singapore"),
        ("what's the population of shenzhen", "Shenzhen"),
        ("an office in New York", "New York"),
        ("深圳的人口", "Shenzhen"),
        ("慕尼黑有多大", "Munich"),
        ("在德國註冊公司", "Germany"),
        ("海南自贸港", "Hainan"),
        ("Ho Chi Minh City rent", "Ho Chi Minh City"),
    ],
)
def test_places_are_found_in_both_languages_and_scripts(
    gazetteer: Scope, text: str, place: str
) -> None:
    assert place in names(gazetteer, text)


@pytest.mark.parametrize(
    "text",
    [
        "nice, thanks",
        "a mobile phone plan",
        "we split the shares",
        "Most companies register here",
        "Nice. What is a WFOE?",
        "WHAT IS ENTERPRISE INCOME TAX",
        "what is the enterprise income tax rate",
    ],
)
def test_a_name_that_is_a_common_word_needs_a_capital_inside_a_sentence(
    gazetteer: Scope, text: str
) -> None:
    assert names(gazetteer, text) == []


def test_a_common_word_with_a_capital_inside_a_sentence_is_the_place(
    gazetteer: Scope,
) -> None:
    assert names(gazetteer, "is the weather in Nice good in May") == ["Nice"]


@pytest.mark.parametrize("text", ["东方芯港有哪些企业", "自由贸易账户", "人工智能创新港"])
def test_a_chinese_city_name_the_catalog_uses_as_a_word_is_not_a_place(
    gazetteer: Scope, text: str
) -> None:
    assert names(gazetteer, text) == []


def test_a_longer_covered_name_wins_over_a_city_inside_it(gazetteer: Scope) -> None:
    assert [m.place.kind for m in gazetteer.places("上海临港")] == ["covered", "covered"]


def test_the_index_is_cached_in_the_folder_given(tmp_path: Path) -> None:
    folder = tmp_path
    settings = GazetteerSettings(5_000_000, 2500, ("CN",), ("CN",), (" Sheng",), ("省", "市"))
    built = Gazetteer.load(settings, folder)
    assert list(folder.glob("gazetteer-*.json"))
    cached = Gazetteer.load(settings, folder)
    assert len(cached) == len(built)
    assert names(cached, "population of Shenzhen") == ["Shenzhen"]


@pytest.mark.parametrize(
    ("question", "subject"),
    [
        ("what is the corporate tax rate in Singapore", "Singapore"),
        ("what's the population of Shenzhen", "Shenzhen"),
        ("how do I register a company in Poland", "Poland"),
        ("在德国注册公司", "德国"),
        ("海南自贸港税收优惠", "海南"),
        ("新加坡的企业所得税是多少", "新加坡"),
        ("how many people live in Hangzhou", "Hangzhou"),
        ("what are Deloitte's fees for an audit", "Deloitte"),
    ],
)
def test_a_question_about_another_place_or_organisation_is_outside(
    scope: Scope, question: str, subject: str
) -> None:
    outside = scope.outside(question)
    assert outside is not None
    assert outside.subject == subject


@pytest.mark.parametrize(
    "question",
    [
        "can a German company open a WFOE in Lingang",
        "I'm from Poland, how do I set up a company?",
        "we are a Singapore firm, how do we register?",
        "a Singapore-based IC firm, what is the tax rate",
        "our parent company is in Japan, can we open a WFOE?",
        "我们是德国公司，怎么注册公司？",
        "来自新加坡的企业怎么开户",
        "what's the fee for a WFOE?",
        "what are Elite Stage's fees",
        "how much is a flight from London to Shanghai",
        "南京路附近有办公室吗",
    ],
)
def test_a_foreign_origin_a_covered_place_or_our_own_name_stays_in_scope(
    scope: Scope, question: str
) -> None:
    assert scope.outside(question) is None


def test_every_catalog_test_question_stays_in_scope(scope: Scope) -> None:
    catalog = load_catalog(PACKAGED_DIR)
    refused = [
        text
        for intent in catalog.intents.values()
        for _, text in intent.tests.items()
        if scope.outside(text)
    ]
    assert refused == []
