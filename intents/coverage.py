"""Does every part of the sources reach an intent?

`coverage.yaml` (next to `catalog.yaml`) maps every `##`/`###` heading of the fact sheet, and
finer topics of the fact sheet and the seed article, to the intents that answer them, or marks
them `not_for_prospects`. A heading without a mapping, a mapping to an intent the catalog lacks
and a mapping whose heading or quoted phrase is gone from the source are all problems: the
sources and the catalog are edited by different people, and this is where they meet.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Self

from pydantic import ValidationError, model_validator

from intents.content import Model, Text
from intents.quality import Problem
from intents.sourcefile import SourceError, SourceFile, read_source

COVERAGE_FILE = "coverage.yaml"
SourceName = Literal["fact_sheet", "seed_article"]
_HEADING = re.compile(r"^(#{2,3})[ \t]+(.+?)[ \t#]*$")


class Excluded(Model):
    """A part of the sources that no prospect would ask about, and why."""

    not_for_prospects: Text


class Topic(Model):
    """A finer fact: a phrase from one line of a source, and what answers it."""

    source: SourceName
    quote: Text
    intents: tuple[Text, ...] = ()
    not_for_prospects: Text | None = None

    @model_validator(mode="after")
    def _one_answer(self) -> Self:
        # Neither is allowed: the topic is then reported as uncovered, like a heading with [].
        if self.intents and self.not_for_prospects is not None:
            raise ValueError("give either intents or not_for_prospects, not both")
        return self


class CoverageSpec(Model):
    """The layout of `coverage.yaml`."""

    fact_sheet: Text
    seed_article: Text
    headings: dict[str, tuple[Text, ...] | Excluded]
    topics: tuple[Topic, ...] = ()


@dataclass(frozen=True, slots=True)
class Heading:
    """A `##` (level 2) or `###` (level 3) heading of the fact sheet."""

    level: int
    title: str
    line: int


@dataclass(frozen=True, slots=True)
class Coverage:
    """What answers one part of the sources: a heading, or a topic quoted from a source."""

    label: str  # the heading's title, or the topic's quote
    location: str  # file:line of the heading in the fact sheet, of the topic in coverage.yaml
    intents: tuple[str, ...] = ()
    unknown: tuple[str, ...] = ()  # mapped ids the catalog does not have
    reason: str | None = None  # why it is not for prospects
    mapped: bool = True
    level: int = 0  # 2 or 3 for a heading, 0 for a topic
    under: str | None = None  # the fact-sheet heading a topic sits under
    in_seed: bool = False  # a topic of the seed article (which has no headings)

    @property
    def covered(self) -> bool:
        """Answered by existing intents, or knowingly left out."""
        if self.reason is not None:
            return True
        return self.mapped and bool(self.intents) and not self.unknown

    def problem(self) -> Problem | None:
        """Why this part is uncovered, if it is."""
        what = f"heading {self.label!r}" if self.level else f"topic {self.label!r}"
        if self.covered:
            return None
        if not self.mapped:
            return Problem(
                self.location,
                f"{what} is not in {COVERAGE_FILE}: map it to the "
                "intents that answer it, or mark it not_for_prospects",
            )
        if self.unknown:
            missing = ", ".join(self.unknown)
            return Problem(self.location, f"{what} is mapped to unknown intent(s) {missing}")
        return Problem(self.location, f"{what} is mapped to no intent")


@dataclass(frozen=True, slots=True)
class CoverageReport:
    """Every heading and topic with what answers it, and the mapping entries gone stale."""

    fact_sheet: Path
    seed_article: Path
    headings: tuple[Coverage, ...] = ()
    topics: tuple[Coverage, ...] = ()
    stale: tuple[Problem, ...] = ()
    errors: tuple[Problem, ...] = ()  # the mapping or a source could not be read

    def uncovered(self) -> list[Coverage]:
        """Headings and topics no existing intent answers."""
        return [part for part in (*self.headings, *self.topics) if not part.covered]

    def problems(self) -> list[Problem]:
        """What `intents check` reports: unreadable files, uncovered parts, stale entries."""
        uncovered = [part.problem() for part in self.uncovered()]
        return [*self.errors, *(p for p in uncovered if p), *self.stale]

    def summary(self) -> str:
        """One line for `intents check`."""
        excluded = sum(part.reason is not None for part in (*self.headings, *self.topics))
        return (
            f"coverage: {len(self.headings)} headings of {self.fact_sheet.name} and "
            f"{len(self.topics)} topics ({excluded} not for prospects); "
            f"{len(self.uncovered())} uncovered, {len(self.stale)} stale"
        )

    def listing(self) -> Iterator[str]:
        """Each heading with its intents and topics, then the seed article's topics."""
        yield f"{self.fact_sheet.name}:"
        for topic in self.topics:
            if topic.under is None and not topic.in_seed:
                yield f"  - {topic.label!r}: {_answer(topic)}"
        for heading in self.headings:
            yield f"{'  ' * (heading.level - 1)}{heading.label}: {_answer(heading)}"
            indent = "  " * heading.level
            for topic in self.topics:
                if topic.under == heading.label:
                    yield f"{indent}- {topic.label!r}: {_answer(topic)}"
        yield f"{self.seed_article.name}:"
        for topic in self.topics:
            if topic.in_seed:
                yield f"  - {topic.label!r}: {_answer(topic)}"


def _answer(part: Coverage) -> str:
    if part.reason is not None:
        return f"not for prospects ({part.reason})"
    if not part.mapped:
        return "UNCOVERED (no mapping)"
    names = [f"{name} (UNKNOWN)" if name in part.unknown else name for name in part.intents]
    return ", ".join(names) if names else "UNCOVERED (no intent)"


def read_headings(text: str) -> list[Heading]:
    """The `##` and `###` headings of a Markdown text, outside code blocks."""
    headings: list[Heading] = []
    in_code = False
    for number, line in enumerate(text.splitlines(), start=1):
        if line.lstrip().startswith("```"):
            in_code = not in_code
            continue
        match = None if in_code else _HEADING.match(line)
        if match:
            headings.append(Heading(len(match.group(1)), match.group(2), number))
    return headings


def _folded(text: str) -> str:
    """Case and runs of spaces do not matter when a quote is looked up in a source."""
    return " ".join(text.split()).casefold()


def measure_coverage(directory: Path, intent_ids: Collection[str]) -> CoverageReport | None:
    """The coverage of the sources named by `directory/coverage.yaml` by `intent_ids`; None
    when the catalog has no coverage file (a catalog may be checked without its sources)."""
    path = directory / COVERAGE_FILE
    if not path.is_file():
        return None
    try:
        mapping = read_source(path)
        spec = CoverageSpec.model_validate(mapping.data)
    except SourceError as exc:
        return CoverageReport(path, path, errors=(Problem(f"{exc.file}:{exc.line}", exc.message),))
    except ValidationError as exc:
        return CoverageReport(path, path, errors=tuple(_schema_problems(mapping, exc)))
    sheet, article = directory / spec.fact_sheet, directory / spec.seed_article
    missing = [p for p in (sheet, article) if not p.is_file()]
    if missing:
        errors = tuple(Problem(f"{path}:1", f"source {p} does not exist") for p in missing)
        return CoverageReport(sheet, article, errors=errors)
    headings = read_headings(sheet.read_text(encoding="utf-8"))
    known = frozenset(intent_ids)
    parts = tuple(_heading(heading, spec, sheet, known) for heading in headings)
    titles = {heading.title for heading in headings}
    stale = [
        Problem(
            f"{path}:{mapping.line_of(('headings', title))}",
            f"heading {title!r} is mapped but is not in {sheet.name} any more",
        )
        for title in spec.headings
        if title not in titles
    ]
    texts = {
        "fact_sheet": (sheet, sheet.read_text(encoding="utf-8").splitlines()),
        "seed_article": (article, article.read_text(encoding="utf-8").splitlines()),
    }
    topics: list[Coverage] = []
    for index, topic in enumerate(spec.topics):
        where = f"{path}:{mapping.line_of(('topics', index, 'quote'))}"
        source, lines = texts[topic.source]
        found = next(
            (n for n, line in enumerate(lines, 1) if _folded(topic.quote) in _folded(line)), None
        )
        if found is None:
            stale.append(Problem(where, f"topic {topic.quote!r} is not in {source.name} any more"))
            continue
        above = [h.title for h in headings if h.line <= found and topic.source == "fact_sheet"]
        unknown = tuple(name for name in topic.intents if name not in known)
        topics.append(
            Coverage(
                topic.quote,
                where,
                topic.intents,
                unknown,
                topic.not_for_prospects,
                under=above[-1] if above else None,
                in_seed=topic.source == "seed_article",
            )
        )
    return CoverageReport(sheet, article, parts, tuple(topics), tuple(stale))


def _heading(heading: Heading, spec: CoverageSpec, sheet: Path, known: frozenset[str]) -> Coverage:
    entry = spec.headings.get(heading.title)
    where = f"{sheet}:{heading.line}"
    if entry is None:
        return Coverage(heading.title, where, mapped=False, level=heading.level)
    if isinstance(entry, Excluded):
        return Coverage(heading.title, where, reason=entry.not_for_prospects, level=heading.level)
    unknown = tuple(name for name in entry if name not in known)
    return Coverage(heading.title, where, entry, unknown, level=heading.level)


def _schema_problems(source: SourceFile, exc: ValidationError) -> Iterator[Problem]:
    for error in exc.errors(include_url=False):
        where = ".".join(str(part) for part in error["loc"]) or "(top level)"
        yield Problem(f"{source.path}:{source.line_of(error['loc'])}", f"{where}: {error['msg']}")
