"""`intents check` and `intents test` on the shipped catalog and on broken copies."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from bot.core import answers
from intents.catalog import load_catalog
from intents.heldout import load_heldout
from intents.knowledge import Knowledge, KnowledgeBase
from intents.matcher import Matcher
from intents.quality import TestReport as Report
from intents.quality import check, run_tests
from tests.chat import copy_catalog

THIN = """\
intents:
  - id: parking
    title: {en: Parking, zh: 停车}
    examples:
      en:
        - where can I park
        - how big is Lingang?
      zh: [哪里停车]
    tests:
      en: [where can I park]
    answer: {en: "%s", zh: 停车场。}
"""


def test_shipped_catalog_has_no_problems(knowledge: KnowledgeBase) -> None:
    assert [str(p) for p in check(knowledge.current.catalog, knowledge.current.matcher)] == []


def _run(knowledge: Knowledge, threshold: float | None = None) -> Report:
    catalog = knowledge.catalog
    if threshold is not None:
        matching = catalog.settings.matching.model_copy(update={"threshold": threshold})
        settings = catalog.settings.model_copy(update={"matching": matching})
        knowledge = replace(knowledge, catalog=replace(catalog, settings=settings))
    return run_tests(
        knowledge.catalog,
        load_heldout(catalog, "dev"),
        lambda text, previous: answers.handling(knowledge, text, previous),
        semantic=knowledge.matcher.semantic,
        lead_intents=frozenset(i.id for i in catalog.intents.values() if "lead" in i.tags),
    )


def test_shipped_catalog_passes_its_own_bar(knowledge: KnowledgeBase) -> None:
    report = _run(knowledge.current)
    assert report.passed, (report.accuracy(), report.oos_rejection, report.confusions())


def test_check_names_every_kind_of_problem_with_file_and_line(tmp_path: Path) -> None:
    directory = copy_catalog(tmp_path, {"thin.yaml": THIN % ("x" * 800)})
    catalog = load_catalog(directory)
    problems = [str(p) for p in check(catalog, Matcher.for_catalog(catalog))]
    thin = str(directory / "faq" / "thin.yaml")
    expected = [
        f"{thin}:5: parking: 2 en examples, at least 10 needed",
        f"{thin}:5: parking: 1 zh examples, at least 4 needed",
        f"{thin}:10: parking: 0 zh tests, at least 2 needed",
        f"{thin}:11: parking: en answer has 800 characters, at most 700",
        f"{thin}:7: parking: example 'how big is Lingang?' is also an example of lingang_area",
        f"{thin}:7: parking: example 'how big is Lingang?' matches lingang_area better",
        f"{thin}:10: parking: test 'where can I park' is also an example of parking",
    ]
    for line in expected:
        assert any(p.startswith(line) for p in problems), (line, problems)


def test_test_report_counts_outcomes(knowledge: KnowledgeBase) -> None:
    report = _run(knowledge.current)
    inside, outside = report.outcomes(True), report.outcomes(False)
    catalog = knowledge.current.catalog
    held = load_heldout(catalog, "dev")
    tests = sum(1 for i in catalog.intents.values() for _ in i.tests.items())
    assert sum(inside.values()) == len(held.questions) >= tests
    assert (
        sum(outside.values())
        == len(held.out_of_scope)
        >= len(list(catalog.settings.out_of_scope.items()))
    )
    assert report.count("follow_up") == len(held.follow_ups) > 0
    assert report.count("lead") == len(held.lead_requests) > 0
    assert 0 <= report.accuracy("zh") <= 1


def test_a_threshold_of_one_refuses_everything(knowledge: KnowledgeBase) -> None:
    report = _run(knowledge.current, threshold=1.0)
    assert report.accuracy() < 0.05  # only a question scoring exactly 1.0 passes
    assert report.oos_rejection == 1
    assert not report.passed
