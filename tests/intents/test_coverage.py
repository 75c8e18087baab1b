"""Coverage of the sources: every heading and topic reaches an intent, or says why not."""

from __future__ import annotations

from pathlib import Path

import pytest

from intents.catalog import PACKAGED_DIR, load_catalog
from intents.coverage import CoverageReport, measure_coverage, read_headings

FACT_SHEET = """\
# Fact sheet

## 1. The place
- It is big.

### 1.1 Size
- **Area:** 10 km².

```
## not a heading, inside a code block
```

### 1.2 Roads
- One motorway.

### 1.3 Trains
- One metro line.

## 2. Glossary
| a | b |
"""

SEED = "The place was founded in 2019.\nIt has 40 chip firms.\n"

MAPPING = """\
fact_sheet: sources/facts.md
seed_article: sources/seed.txt
headings:
  "1. The place": [place]
  "1.1 Size": [size]
  "1.2 Roads": [ghost]
  "2. Glossary":
    not_for_prospects: a translation aid
  "9. Removed section": [place]
topics:
  - {source: seed_article, quote: "founded   in 2019", intents: [history]}
  - {source: seed_article, quote: "It has 500 chip firms", intents: [chips]}
  - {source: fact_sheet, quote: "area:** 10 KM²", intents: [size, phantom]}
"""

INTENTS = ("place", "size", "history", "chips")


def write_catalog(directory: Path, mapping: str = MAPPING) -> Path:
    """A folder with a made-up fact sheet, seed article and coverage.yaml."""
    (directory / "sources").mkdir(parents=True)
    (directory / "sources" / "facts.md").write_text(FACT_SHEET, encoding="utf-8")
    (directory / "sources" / "seed.txt").write_text(SEED, encoding="utf-8")
    (directory / "coverage.yaml").write_text(mapping, encoding="utf-8")
    return directory


@pytest.fixture
def report(tmp_path: Path) -> CoverageReport:
    measured = measure_coverage(write_catalog(tmp_path), INTENTS)
    assert measured is not None
    return measured


def messages(report: CoverageReport) -> list[str]:
    return [str(problem) for problem in report.problems()]


def test_headings_are_the_level_two_and_three_ones_outside_code_blocks() -> None:
    titles = [(h.level, h.title) for h in read_headings(FACT_SHEET)]
    assert titles == [
        (2, "1. The place"),
        (3, "1.1 Size"),
        (3, "1.2 Roads"),
        (3, "1.3 Trains"),
        (2, "2. Glossary"),
    ]


def test_a_heading_mapped_to_existing_intents_is_covered(report: CoverageReport) -> None:
    size = next(part for part in report.headings if part.label == "1.1 Size")
    assert size.covered
    assert size.intents == ("size",)


def test_a_heading_without_mapping_is_uncovered_at_its_line_of_the_fact_sheet(
    report: CoverageReport, tmp_path: Path
) -> None:
    sheet = tmp_path / "sources" / "facts.md"
    assert f"{sheet}:16: heading '1.3 Trains' is not in coverage.yaml" in "\n".join(
        messages(report)
    )


def test_a_heading_mapped_to_an_intent_that_does_not_exist_is_uncovered(
    report: CoverageReport,
) -> None:
    roads = next(part for part in report.headings if part.label == "1.2 Roads")
    assert not roads.covered
    assert roads.unknown == ("ghost",)
    assert any("'1.2 Roads' is mapped to unknown intent(s) ghost" in m for m in messages(report))


def test_not_for_prospects_needs_no_intent(report: CoverageReport) -> None:
    glossary = next(part for part in report.headings if part.label == "2. Glossary")
    assert glossary.covered
    assert glossary.reason == "a translation aid"


def test_a_mapping_for_a_heading_no_longer_in_the_sheet_is_stale(
    report: CoverageReport, tmp_path: Path
) -> None:
    [stale_heading] = [p for p in report.stale if "Removed section" in p.message]
    assert stale_heading.location == f"{tmp_path / 'coverage.yaml'}:9"
    assert "is not in facts.md any more" in stale_heading.message


def test_a_topic_is_found_whatever_its_case_and_spacing_and_sits_under_its_heading(
    report: CoverageReport,
) -> None:
    seed, sheet = report.topics
    assert seed.in_seed
    assert seed.covered
    assert seed.intents == ("history",)
    assert sheet.under == "1.1 Size"
    assert not sheet.covered
    assert sheet.unknown == ("phantom",)


def test_a_topic_whose_quote_left_the_source_is_stale(report: CoverageReport) -> None:
    assert any("'It has 500 chip firms' is not in seed.txt" in p.message for p in report.stale)


def test_the_report_counts_every_kind_of_problem(report: CoverageReport) -> None:
    uncovered = {part.label for part in report.uncovered()}
    assert uncovered == {"1.2 Roads", "1.3 Trains", "area:** 10 KM²"}
    assert len(report.problems()) == 3 + 2  # uncovered + stale
    assert "3 uncovered, 2 stale" in report.summary()


def test_the_listing_shows_each_heading_with_what_answers_it(report: CoverageReport) -> None:
    listing = list(report.listing())
    assert "  1. The place: place" in listing
    assert "    1.3 Trains: UNCOVERED (no mapping)" in listing
    assert "    1.2 Roads: ghost (UNKNOWN)" in listing
    assert "  2. Glossary: not for prospects (a translation aid)" in listing
    assert "  - 'founded   in 2019': history" in listing


def test_a_catalog_without_coverage_file_is_not_measured(tmp_path: Path) -> None:
    assert measure_coverage(tmp_path, INTENTS) is None


def test_a_malformed_mapping_is_named_with_its_line(tmp_path: Path) -> None:
    broken = MAPPING.replace('  "1.1 Size": [size]\n', '  "1.1 Size": {intents: [size]}\n')
    report = measure_coverage(write_catalog(tmp_path, broken), INTENTS)
    assert report is not None
    assert report.errors
    assert all(p.location == f"{tmp_path / 'coverage.yaml'}:5" for p in report.errors)


def test_a_topic_mapped_to_no_intent_is_uncovered(tmp_path: Path) -> None:
    empty = MAPPING.replace("intents: [history]}", "intents: []}")
    report = measure_coverage(write_catalog(tmp_path, empty), INTENTS)
    assert report is not None
    assert any("'founded   in 2019' is mapped to no intent" in m for m in messages(report))


def test_a_topic_takes_intents_or_a_reason_but_not_both(tmp_path: Path) -> None:
    both = MAPPING.replace("intents: [history]}", "intents: [history], not_for_prospects: old}")
    report = measure_coverage(write_catalog(tmp_path, both), INTENTS)
    assert report is not None
    assert any("either intents or not_for_prospects" in p.message for p in report.errors)


def test_a_missing_source_is_reported(tmp_path: Path) -> None:
    report = measure_coverage(write_catalog(tmp_path, MAPPING.replace("seed.txt", "gone.txt")), ())
    assert report is not None
    assert [p.message for p in report.errors] == [
        f"source {tmp_path / 'sources/gone.txt'} does not exist"
    ]


def test_the_shipped_catalog_leaves_no_heading_or_topic_uncovered() -> None:
    catalog = load_catalog()
    report = measure_coverage(PACKAGED_DIR, catalog.intents)
    assert report is not None, "intents/coverage.yaml is missing"
    assert [str(problem) for problem in report.problems()] == []
    assert len(report.headings) >= 20
    assert report.fact_sheet.is_relative_to(PACKAGED_DIR)
