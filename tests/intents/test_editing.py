"""Adding an example to an intent: one line more in its file, everything else byte for byte,
duplicates refused, and a catalog that would not load leaves everything as it was."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from bot.catalog_edits import CatalogEditor
from bot.catalog_sync import CatalogRefused, CatalogSync
from bot.core.ports import RevisionMeta
from intents.catalog import PACKAGED_DIR
from intents.drafts import faq_intents
from intents.editing import DuplicateExample, EditError, insert_example
from intents.knowledge import Knowledge, KnowledgeBase
from storage.memory import MemoryCatalogRevisions


@dataclass(frozen=True)
class Added:
    path: str
    line: int
    text: str


@pytest.fixture
def editor(tmp_path: Path) -> CatalogEditor:
    """The packaged catalog, copied, served from revisions in memory."""
    copy = tmp_path / "intents"
    shutil.copytree(PACKAGED_DIR, copy, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    sync = CatalogSync(KnowledgeBase(copy), MemoryCatalogRevisions(), tmp_path / "work")
    sync.start(copy)
    return CatalogEditor(sync)


def add_example(editor: CatalogEditor, intent_id: str, lang: str, text: str) -> Added:
    assert lang in ("en", "zh")
    _, where = editor.add_example(intent_id, "en" if lang == "en" else "zh", text, "a@x.org")
    path, line = where.rsplit(":", 1)
    return Added(path, int(line), text)


def current(editor: CatalogEditor) -> Knowledge:
    return editor.sync.knowledge_in_use()


def intent_file(editor: CatalogEditor, intent_id: str) -> str:
    files = editor.sync.files()
    return files[faq_intents(files)[intent_id].path]


def test_an_added_example_is_one_new_line_and_the_rest_is_untouched(
    editor: CatalogEditor,
) -> None:
    before = intent_file(editor, "about_consultancy")
    assert before.startswith("# ")  # the file's comments must survive

    added = add_example(editor, "about_consultancy", "en", "  where   is Elite Stage registered? ")

    after = intent_file(editor, "about_consultancy").splitlines(keepends=True)
    lines = before.splitlines(keepends=True)
    assert len(after) == len(lines) + 1
    assert after[added.line - 1].strip() == "- where is Elite Stage registered?"
    assert after[: added.line - 1] + after[added.line :] == lines
    examples = current(editor).catalog.intent("about_consultancy").examples.en
    assert examples[-1] == "where is Elite Stage registered?"
    revision = editor.sync.revision
    assert revision is not None
    assert (revision.number, revision.actor, revision.kind) == (2, "a@x.org", "edit")
    assert [(c.kind, c.subject) for c in revision.changes] == [("edited", "about_consultancy")]


def test_the_next_match_uses_the_new_example(editor: CatalogEditor) -> None:
    question = "is there a good bubble tea shop near the office"
    assert current(editor).matcher.match(question).intent_id != "about_consultancy"
    add_example(editor, "about_consultancy", "en", question)
    assert current(editor).matcher.match(question).intent_id == "about_consultancy"


def test_chinese_examples_go_to_the_chinese_list(editor: CatalogEditor) -> None:
    add_example(editor, "about_consultancy", "zh", "你们老板是谁")
    examples = current(editor).catalog.intent("about_consultancy").examples
    assert examples.zh[-1] == "你们老板是谁"
    assert "你们老板是谁" not in examples.en


def test_text_that_yaml_would_misread_is_quoted(editor: CatalogEditor) -> None:
    text = "[urgent] price: how much? #1"
    added = add_example(editor, "pricing", "en", text)
    assert current(editor).catalog.intent("pricing").examples.en[-1] == text
    line = editor.sync.files()[added.path].splitlines()[added.line - 1]
    assert yaml.safe_load(line.strip()) == [text]


def test_a_duplicate_is_refused_and_changes_nothing(editor: CatalogEditor) -> None:
    before = editor.sync.files()
    serving = current(editor)
    with pytest.raises(DuplicateExample, match="already an example of about_consultancy"):
        add_example(editor, "about_consultancy", "en", "WHO is Elite Stage")
    with pytest.raises(DuplicateExample, match="already an example of about_consultancy"):
        add_example(editor, "consultancy_services", "en", "who is elite stage?!")
    assert editor.sync.files() == before
    assert current(editor) is serving
    assert editor.sync.version == 1


def test_a_test_question_is_not_made_an_example(editor: CatalogEditor) -> None:
    with pytest.raises(DuplicateExample, match="test question"):
        add_example(editor, "about_consultancy", "en", "can you describe your company")


def test_an_unknown_intent_or_an_empty_text_is_refused(editor: CatalogEditor) -> None:
    with pytest.raises(EditError, match="no intent"):
        add_example(editor, "no_such_intent", "en", "hello there")
    with pytest.raises(EditError, match="empty"):
        add_example(editor, "about_consultancy", "en", " \n ")


def test_nothing_changes_when_the_catalog_does_not_load(editor: CatalogEditor) -> None:
    files = editor.sync.files()
    broken = {**files, "faq/yangshan.yaml": "intents:\n  - id: Not An Id\n"}
    meta = RevisionMeta("someone", datetime.now(UTC), "import")
    editor.sync.revisions.add(1, broken, meta)  # saved by a replica that did not check it
    serving = current(editor)

    with pytest.raises(CatalogRefused) as caught:
        add_example(editor, "about_consultancy", "en", "what colour is the elite stage logo")

    assert any(p.startswith("faq/yangshan.yaml:") for p in caught.value.problems)
    latest = editor.sync.revisions.latest()
    assert latest is not None
    assert latest.number == 2
    assert current(editor) is serving


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
