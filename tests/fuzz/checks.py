"""The properties every input must keep, and running a target's inputs against them."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, Phase, given, settings

from tests.fuzz.site import FuzzSite, describe
from tests.fuzz.targets import Target


def check_one(site: FuzzSite, target: Target, value: Any) -> None:
    """No 500, no exception, nothing logged at ERROR, a 4xx for bad input."""
    before = len(site.errors.records)
    outcome = target.feed(site, value)
    logged = [describe(record) for record in site.errors.records[before:]]
    assert not logged, "\n".join(logged)
    assert outcome.status < 500, f"{outcome.status} for {value!r}"
    if outcome.bad:
        assert 400 <= outcome.status < 500, f"{outcome.status} for bad input {value!r}"


def check_target(site: FuzzSite, target: Target, examples: int) -> None:
    """`examples` inputs of `target`, the same ones each run (derandomized)."""

    @settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],  # no shrinking: the slice stays short
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(target.inputs)
    def keeps_the_properties(value: Any) -> None:
        check_one(site, target, value)

    keeps_the_properties()
