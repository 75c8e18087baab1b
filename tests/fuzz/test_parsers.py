"""Fuzzing the catalog's edit parsers (an example added to a file, the intent editor's fields
drafted into the catalog) and the engine itself with any `Incoming`."""

from __future__ import annotations

from tests.fuzz.checks import check_target
from tests.fuzz.site import FuzzSite
from tests.fuzz.targets import Target


def test_catalog_edits_raise_only_their_documented_errors(
    site: FuzzSite, by_name: dict[str, Target]
) -> None:
    check_target(site, by_name["catalog edits"], examples=120)


def test_the_engine_answers_any_incoming_without_error(
    site: FuzzSite, by_name: dict[str, Target]
) -> None:
    check_target(site, by_name["engine"], examples=120)
