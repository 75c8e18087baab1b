"""Loading the catalog: the shipped one is valid; every broken edit is named by file and line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from intents.catalog import PACKAGED_DIR, CatalogError, load_catalog
from intents.knowledge import KnowledgeBase

GOOD_INTENT = """\
intents:
  - id: parking
    title: {en: Parking, zh: 停车}
    examples:
      en:
        - where can I park?
      zh:
        - 哪里可以停车
    answer:
      en: Ask the park operator.
      zh: 请咨询园区运营方。
"""


@pytest.fixture
def catalog_dir(tmp_path: Path) -> Path:
    """A writable copy of the packaged catalog."""
    target = tmp_path / "intents"
    shutil.copytree(PACKAGED_DIR / "faq", target / "faq")
    shutil.copy(PACKAGED_DIR / "catalog.yaml", target / "catalog.yaml")
    shutil.copytree(PACKAGED_DIR / "forms", target / "forms")
    shutil.copy(PACKAGED_DIR / "sales.yaml", target / "sales.yaml")
    return target


def write_faq(directory: Path, name: str, text: str) -> None:
    """Add or replace `faq/<name>` in the catalog under `directory`."""
    (directory / "faq" / name).write_text(text, encoding="utf-8")


def problems(directory: Path) -> list[str]:
    with pytest.raises(CatalogError) as caught:
        load_catalog(directory)
    return [str(problem) for problem in caught.value.problems]


def test_shipped_catalog_loads_with_both_languages_everywhere() -> None:
    catalog = load_catalog()
    assert {"welcome", "help", "talk_to_consultant"} <= set(catalog.intents)
    for intent in catalog.intents.values():
        assert intent.answer.en
        assert intent.answer.zh
        assert intent.examples.en
        assert intent.examples.zh


def test_a_new_file_adds_its_intents(catalog_dir: Path) -> None:
    write_faq(catalog_dir, "parking.yaml", GOOD_INTENT)
    assert "parking" in load_catalog(catalog_dir).intents


def test_missing_answer_language_is_named_with_file_and_line(catalog_dir: Path) -> None:
    broken = GOOD_INTENT.replace("      zh: 请咨询园区运营方。\n", "")
    write_faq(catalog_dir, "parking.yaml", broken)
    [problem] = problems(catalog_dir)
    assert problem.startswith(f"{catalog_dir / 'faq' / 'parking.yaml'}:10:")
    assert "intents.0.answer.zh" in problem


def test_unknown_key_is_refused(catalog_dir: Path) -> None:
    broken = GOOD_INTENT.replace("    title:", "    titel: oops\n    title:")
    write_faq(catalog_dir, "parking.yaml", broken)
    [problem] = problems(catalog_dir)
    assert ":3:" in problem
    assert "titel" in problem


def test_yaml_syntax_error_names_the_line(catalog_dir: Path) -> None:
    write_faq(
        catalog_dir,
        "parking.yaml",
        GOOD_INTENT.replace("- where can I park?", "- [where can I park?"),
    )
    [problem] = problems(catalog_dir)
    assert "parking.yaml:" in problem
    assert "YAML syntax" in problem


def test_an_impossible_date_is_a_problem_of_its_file_not_a_crash(catalog_dir: Path) -> None:
    write_faq(
        catalog_dir,
        "parking.yaml",
        GOOD_INTENT.replace("    answer:", "    reviewed: 2027-02-30\n    answer:"),
    )
    [problem] = problems(catalog_dir)
    assert "parking.yaml:" in problem
    assert "impossible value" in problem


def test_duplicate_yaml_key_is_an_error_not_a_silent_overwrite(catalog_dir: Path) -> None:
    broken = GOOD_INTENT.replace("    answer:", "    answer: {en: a, zh: b}\n    answer:")
    write_faq(catalog_dir, "parking.yaml", broken)
    [problem] = problems(catalog_dir)
    assert "parking.yaml:10: duplicate key 'answer' (first on line 9)" in problem


def test_duplicate_intent_id_across_files_is_refused(catalog_dir: Path) -> None:
    write_faq(catalog_dir, "parking.yaml", GOOD_INTENT.replace("id: parking", "id: welcome"))
    [problem] = problems(catalog_dir)
    assert "smalltalk.yaml:3: duplicate intent id 'welcome'" in problem
    assert "parking.yaml" in problem


def test_button_to_an_unknown_intent_is_refused(catalog_dir: Path) -> None:
    with_button = GOOD_INTENT + (
        "    buttons:\n      - title: {en: Go, zh: 去}\n        payload: intent:nowhere\n"
    )
    write_faq(catalog_dir, "parking.yaml", with_button)
    [problem] = problems(catalog_dir)
    assert "parking.yaml:14: button points to unknown intent 'nowhere'" in problem


def test_malformed_payload_is_refused(catalog_dir: Path) -> None:
    with_button = GOOD_INTENT + (
        "    buttons:\n      - title: {en: Go, zh: 去}\n        payload: javascript:alert(1)\n"
    )
    write_faq(catalog_dir, "parking.yaml", with_button)
    [problem] = problems(catalog_dir)
    assert "payload" in problem


def test_every_problem_is_reported_at_once(catalog_dir: Path) -> None:
    write_faq(catalog_dir, "a.yaml", "intents: [{id: X}]\n")
    write_faq(catalog_dir, "b.yaml", "intents: {\n")
    found = problems(catalog_dir)
    assert any("a.yaml" in p for p in found)
    assert any("b.yaml" in p for p in found)


def test_missing_reply_in_catalog_settings_is_named(catalog_dir: Path) -> None:
    settings = catalog_dir / "catalog.yaml"
    text = settings.read_text(encoding="utf-8")
    settings.write_text(text.replace("  not_text:", "  not_texts:"), encoding="utf-8")
    found = problems(catalog_dir)
    assert any("replies.not_text: Field required" in p for p in found)


def test_an_unknown_placeholder_in_the_sales_desk_is_named_with_its_file(catalog_dir: Path) -> None:
    desk = catalog_dir / "sales.yaml"
    text = desk.read_text(encoding="utf-8")
    desk.write_text(text.replace("{user} claimed", "{person} claimed"), encoding="utf-8")
    found = problems(catalog_dir)
    assert any("sales.yaml" in p and "texts.claimed" in p and "person" in p for p in found), found


def test_a_missing_sales_desk_file_is_named(catalog_dir: Path) -> None:
    (catalog_dir / "sales.yaml").unlink()
    assert any("the sales desk texts is missing" in p for p in problems(catalog_dir))


def test_non_utf8_file_is_refused(catalog_dir: Path) -> None:
    (catalog_dir / "faq" / "latin1.yaml").write_bytes("intents: [caf\xe9]".encode("latin-1"))
    [problem] = problems(catalog_dir)
    assert "not UTF-8" in problem


def test_fingerprint_changes_with_the_content(catalog_dir: Path) -> None:
    before = load_catalog(catalog_dir).fingerprint
    write_faq(catalog_dir, "parking.yaml", GOOD_INTENT)
    assert load_catalog(catalog_dir).fingerprint != before


def test_reload_swaps_in_a_good_catalog(catalog_dir: Path) -> None:
    knowledge = KnowledgeBase(catalog_dir)
    write_faq(catalog_dir, "parking.yaml", GOOD_INTENT)
    knowledge.reload()
    assert knowledge.current.matcher.match("where can I park?").intent_id == "parking"


def test_reload_of_a_broken_catalog_keeps_the_old_one(catalog_dir: Path) -> None:
    knowledge = KnowledgeBase(catalog_dir)
    before = knowledge.current
    write_faq(catalog_dir, "broken.yaml", "intents: [{id: 1}]\n")
    with pytest.raises(CatalogError):
        knowledge.reload()
    assert knowledge.current is before
