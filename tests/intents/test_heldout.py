"""The held-out sets: what they hold, and that a near copy of an example is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from intents.catalog import load_catalog
from intents.heldout import load_heldout
from intents.matcher import Matcher
from intents.quality import check
from intents.sourcefile import SourceError
from tests.chat import copy_catalog

DEV = """\
questions:
  lingang_area:
    en: ["roughly what's the surface of the special area"]
out_of_scope:
  zh: [越南的企业所得税是多少]
lead_requests:
  en: [could someone call me back tomorrow]
follow_ups:
  - {lang: zh, first: 滴水湖在哪, then: 面积多大？, intent: dishui_lake}
"""


def _with(tmp_path: Path, part: str, name: str, text: str) -> Path:
    directory = copy_catalog(tmp_path)
    folder = directory / "heldout" / part
    folder.mkdir(parents=True)
    (folder / name).write_text(text, encoding="utf-8")
    return directory


def test_the_development_set_joins_tests_out_of_scope_and_its_files(tmp_path: Path) -> None:
    catalog = load_catalog(_with(tmp_path, "dev", "mine.yaml", DEV))
    held = load_heldout(catalog, "dev")
    tests = sum(1 for intent in catalog.intents.values() for _ in intent.tests.items())
    assert len(held.questions) == tests + 1
    assert held.questions[-1].intent == "lingang_area"
    assert held.questions[-1].location.endswith("mine.yaml:3")
    assert [q.text for q in held.out_of_scope][-1] == "越南的企业所得税是多少"
    assert [q.text for q in held.lead_requests] == ["could someone call me back tomorrow"]
    [follow_up] = held.follow_ups
    assert (follow_up.first, follow_up.then, follow_up.intent) == (
        "滴水湖在哪",
        "面积多大？",
        "dishui_lake",
    )


def test_the_sealed_set_holds_only_its_own_files(tmp_path: Path) -> None:
    catalog = load_catalog(_with(tmp_path, "sealed", "mine.yaml", DEV))
    held = load_heldout(catalog, "sealed")
    assert [q.text for q in held.questions] == ["roughly what's the surface of the special area"]
    assert held.out_of_scope[0].lang == "zh"


def test_an_unknown_intent_is_named_with_its_file_and_line(tmp_path: Path) -> None:
    bad = "questions:\n  no_such_intent:\n    en: [hello]\n"
    catalog = load_catalog(_with(tmp_path, "dev", "bad.yaml", bad))
    with pytest.raises(SourceError, match=r"bad\.yaml:3: unknown intent 'no_such_intent'"):
        load_heldout(catalog, "dev")


def test_a_held_out_question_close_to_an_example_is_refused_by_check(tmp_path: Path) -> None:
    example = load_catalog().intent("lingang_area").examples.en[0]
    dev = f"questions:\n  lingang_area:\n    en: [{example!r}]\n"
    sealed = f"lead_requests:\n  en: [{example + '!'!r}]\n"
    directory = _with(tmp_path, "dev", "copy.yaml", dev)
    (directory / "heldout" / "sealed").mkdir()
    (directory / "heldout" / "sealed" / "copy.yaml").write_text(sealed, encoding="utf-8")
    catalog = load_catalog(directory)
    problems = [str(p) for p in check(catalog, Matcher.for_catalog(catalog))]
    copies = [p for p in problems if "near copy" in p]
    assert len(copies) == 2, problems
    dev_problem, sealed_problem = sorted(copies, key=lambda p: "sealed" in p)
    assert f"{example!r}" in dev_problem
    assert "dev/copy.yaml:3" in dev_problem
    assert "(sealed)" in sealed_problem
    assert "sealed/copy.yaml:2" in sealed_problem
