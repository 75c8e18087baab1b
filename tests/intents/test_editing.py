"""Adding an example to an intent's file: one line more, everything else byte for byte,
duplicates refused, and a catalog that would not load put back as it was."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from intents.catalog import PACKAGED_DIR, CatalogError
from intents.editing import DuplicateExample, EditError, add_example, insert_example
from intents.knowledge import KnowledgeBase


@pytest.fixture
def knowledge(tmp_path: Path) -> KnowledgeBase:
    """The packaged catalog, copied: these tests write to its files."""
    copy = tmp_path / "intents"
    shutil.copytree(PACKAGED_DIR, copy, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    return KnowledgeBase(copy)


def intent_file(knowledge: KnowledgeBase, intent_id: str) -> Path:
    return knowledge.current.catalog.origin[intent_id][0]


def test_an_added_example_is_one_new_line_and_the_rest_is_untouched(
    knowledge: KnowledgeBase,
) -> None:
    path = intent_file(knowledge, "about_consultancy")
    before = path.read_bytes()
    assert before.startswith(b"# ")  # the file's comments must survive

    added = add_example(
        knowledge, "about_consultancy", "en", "  where   is Elite Stage registered? "
    )

    after = path.read_bytes().splitlines(keepends=True)
    lines = before.splitlines(keepends=True)
    assert len(after) == len(lines) + 1
    assert after[added.line - 1].strip() == b"- where is Elite Stage registered?"
    assert after[: added.line - 1] + after[added.line :] == lines
    examples = knowledge.current.catalog.intent("about_consultancy").examples.en
    assert examples[-1] == "where is Elite Stage registered?"
    assert knowledge.current is added.knowledge
    assert sorted(p.name for p in path.parent.iterdir() if p.name.startswith(".")) == []


def test_the_next_match_uses_the_new_example(knowledge: KnowledgeBase) -> None:
    question = "is there a good bubble tea shop near the office"
    assert knowledge.current.matcher.match(question).intent_id != "about_consultancy"
    add_example(knowledge, "about_consultancy", "en", question)
    assert knowledge.current.matcher.match(question).intent_id == "about_consultancy"


def test_chinese_examples_go_to_the_chinese_list(knowledge: KnowledgeBase) -> None:
    add_example(knowledge, "about_consultancy", "zh", "你们老板是谁")
    examples = knowledge.current.catalog.intent("about_consultancy").examples
    assert examples.zh[-1] == "你们老板是谁"
    assert "你们老板是谁" not in examples.en


def test_text_that_yaml_would_misread_is_quoted(knowledge: KnowledgeBase) -> None:
    text = "[urgent] price: how much? #1"
    added = add_example(knowledge, "pricing", "en", text)
    assert knowledge.current.catalog.intent("pricing").examples.en[-1] == text
    line = added.path.read_text(encoding="utf-8").splitlines()[added.line - 1]
    assert yaml.safe_load(line.strip()) == [text]


def test_a_duplicate_is_refused_and_changes_nothing(knowledge: KnowledgeBase) -> None:
    path = intent_file(knowledge, "about_consultancy")
    before = path.read_bytes()
    current = knowledge.current
    with pytest.raises(DuplicateExample, match="already an example of about_consultancy"):
        add_example(knowledge, "about_consultancy", "en", "WHO is Elite Stage")
    with pytest.raises(DuplicateExample, match="already an example of about_consultancy"):
        add_example(knowledge, "consultancy_services", "en", "who is elite stage?!")
    assert path.read_bytes() == before
    assert knowledge.current is current


def test_a_test_question_is_not_made_an_example(knowledge: KnowledgeBase) -> None:
    with pytest.raises(DuplicateExample, match="test question"):
        add_example(knowledge, "about_consultancy", "en", "can you describe your company")


def test_an_unknown_intent_or_an_empty_text_is_refused(knowledge: KnowledgeBase) -> None:
    with pytest.raises(EditError, match="no intent"):
        add_example(knowledge, "no_such_intent", "en", "hello there")
    with pytest.raises(EditError, match="empty"):
        add_example(knowledge, "about_consultancy", "en", " \n ")


def test_the_file_is_restored_when_the_catalog_does_not_load(knowledge: KnowledgeBase) -> None:
    current = knowledge.current
    path = intent_file(knowledge, "about_consultancy")
    before = path.read_bytes()
    broken = current.catalog.directory / "faq" / "yangshan.yaml"
    broken.write_text("intents:\n  - id: Not An Id\n", encoding="utf-8")

    with pytest.raises(CatalogError) as caught:
        add_example(knowledge, "about_consultancy", "en", "what colour is the elite stage logo")

    assert any(problem.file == broken for problem in caught.value.problems)
    assert path.read_bytes() == before
    assert knowledge.current is current


LAYOUTS = """\
intents:
  - id: flow_list  # a comment
    examples: {en: [one, two]}
  - id: empty_flow
    examples:
      en: [ ]
      zh: [一]
  - id: only_chinese
    examples:
      zh:
        - 你好
  - id: block_scalar
    examples:
      en:
      - one
      - |
        two
    answer: x"""


@pytest.mark.parametrize(
    ("intent_id", "line", "new_lines"),
    [
        ("flow_list", "    examples: {en: [one, two, 'a, b']}", 0),
        ("empty_flow", "      en: [ 'a, b']", 0),
        ("only_chinese", "        - a, b", 2),
        ("block_scalar", "      - a, b", 1),
    ],
)
def test_every_list_layout_gets_the_example_in_its_own_style(
    intent_id: str, line: str, new_lines: int
) -> None:
    updated, at = insert_example(LAYOUTS, intent_id, "en", "a, b")
    assert updated.splitlines()[at - 1] == line
    assert len(updated.splitlines()) == len(LAYOUTS.splitlines()) + new_lines
    data = yaml.safe_load(updated)
    intent = next(i for i in data["intents"] if i["id"] == intent_id)
    assert intent["examples"]["en"][-1] == "a, b"


def test_a_layout_it_cannot_edit_safely_is_refused() -> None:
    with pytest.raises(EditError, match="by hand"):
        insert_example(LAYOUTS, "flow_list", "zh", "新的")


def test_windows_line_endings_are_kept() -> None:
    source = LAYOUTS.replace("\n", "\r\n") + "\r\n"
    updated, at = insert_example(source, "block_scalar", "en", "three")
    assert updated.split("\r\n")[at - 1] == "      - three"
    assert updated.count("\n") == updated.count("\r\n") == source.count("\r\n") + 1
