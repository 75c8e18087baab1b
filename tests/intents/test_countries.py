"""The country index: every name a prospect may type, in both languages, and nothing else."""

from __future__ import annotations

from pathlib import Path

import pytest

from intents.catalog import PACKAGED_DIR, CatalogError, load_catalog
from intents.countries import CountryIndex, library_names, name_key
from tests.chat import copy_catalog


@pytest.fixture(scope="module")
def index() -> CountryIndex:
    """The index with the packaged form's aliases, fillers and word codes."""
    return load_catalog(PACKAGED_DIR).lead_form.countries.index


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        # English names: CLDR's, ISO's short, official and common ones
        ("Germany", "DE"),
        ("United States", "US"),
        ("United States of America", "US"),
        ("South Korea", "KR"),
        ("Korea, Republic of", "KR"),
        ("Russian Federation", "RU"),
        ("Viet Nam", "VN"),
        ("Hong Kong", "HK"),
        ("Taiwan, Province of China", "TW"),
        # simplified and traditional Chinese, short and official
        ("德国", "DE"),
        ("德國", "DE"),
        ("美国", "US"),
        ("美國", "US"),
        ("新加坡", "SG"),
        ("南韓", "KR"),
        ("大韩民国", "KR"),
        ("中华人民共和国", "CN"),
        ("香港", "HK"),
        ("台灣", "TW"),
        # codes and aliases
        ("US", "US"),
        ("usa", "US"),
        ("U.S.A.", "US"),
        ("UK", "GB"),
        ("PRC", "CN"),
        ("DEU", "DE"),
        ("NO", "NO"),
        ("IN", "IN"),
        ("Holland", "NL"),
        ("England", "GB"),
        ("中国大陆", "CN"),
        # case, width, accents, spacing
        ("GERMANY", "DE"),
        ("ＧＥＲＭＡＮＹ", "DE"),
        ("ＵＳ", "US"),
        ("  united   kingdom ", "GB"),
        ("unitedkingdom", "GB"),
        ("Cote d'Ivoire", "CI"),
        ("turkiye", "TR"),
        ("Turkey", "TR"),
        ("美 国", "US"),
        # typos in names of five letters or more
        ("Germny", "DE"),
        ("Singapur", "SG"),
        ("Swizerland", "CH"),
        ("Chinaa", "CN"),
        ("Englnad", "GB"),
        # words around the name, a city before it
        ("we are based in the Netherlands", "NL"),
        ("I'm from Japan", "JP"),
        ("来自德国", "DE"),
        ("我们公司在新加坡", "SG"),
        ("Berlin, Germany", "DE"),
        ("上海，中国", "CN"),
        ("Japan?", "JP"),
    ],
)
def test_a_country_by_any_name(index: CountryIndex, typed: str, code: str) -> None:
    found = index.find(typed)
    assert found is not None, typed
    assert found.code == code


@pytest.mark.parametrize(
    "typed",
    [
        "Acme Ltd",
        "Shanghai Semiconductor Co.",
        "上海半导体有限公司",
        "示例科技有限公司",
        "Acme Germany GmbH",
        "中国移动",  # a company named after a country
        "Shanghai",
        "Europe",
        "no",  # "no" is not Norway unless typed as the code
        "No",
        "in",
        "can",
        "na",
        "Chin",  # too short for a typo
        "Austrlia",  # as close to Austria as to Australia
        "China / Germany",  # two countries
        "",
        "?",
    ],
)
def test_what_is_not_one_country_is_refused(index: CountryIndex, typed: str) -> None:
    assert index.find(typed) is None


def test_names_come_back_in_both_languages(index: CountryIndex) -> None:
    germany = index.find("德國")
    assert germany is not None
    assert (germany.code, germany.name("en"), germany.name("zh")) == ("DE", "Germany", "德国")
    hong_kong = index.by_code("hk")
    assert hong_kong is not None
    assert hong_kong.name("zh") == "中国香港特别行政区"


def test_every_country_is_found_by_its_own_names_and_codes(index: CountryIndex) -> None:
    names = library_names()
    assert len(names.countries) >= 249
    for code, country in names.countries.items():
        for typed in (country.en, country.zh, code):
            found = index.find(typed)
            assert found is not None, typed
            assert found.code == code, typed


def test_the_library_names_are_read_once(index: CountryIndex) -> None:
    assert library_names() is library_names()
    assert load_catalog(PACKAGED_DIR).lead_form.countries.index.find("DE") is not None


def test_a_name_two_countries_share_names_neither() -> None:
    names = library_names()
    congo = {names.names.get(name_key(n)) for n in ("Congo - Brazzaville", "Congo - Kinshasa")}
    assert congo == {"CG", "CD"}
    assert all(len(k) >= 5 and k.isascii() and k.isalpha() for k in names.spelled)


def test_an_alias_for_an_unknown_code_is_refused_at_load(tmp_path: Path) -> None:
    directory = copy_catalog(tmp_path, keep_faq=True)
    form = directory / "forms" / "lead.yaml"
    text = form.read_text(encoding="utf-8")
    form.write_text(text.replace("    NL: [Holland", "    XX: [Holland"), encoding="utf-8")
    with pytest.raises(CatalogError, match="no country has the code"):
        load_catalog(directory)
