"""One site for all the fuzzing tests: built once, shared (hypothesis runs many
inputs through it; each input stands on its own)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fuzz.site import FuzzSite, fuzz_site
from tests.fuzz.targets import Target, targets


@pytest.fixture(scope="package")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzSite]:
    with fuzz_site(tmp_path_factory.mktemp("fuzz")) as built:
        yield built


@pytest.fixture(scope="package")
def by_name(site: FuzzSite) -> dict[str, Target]:
    return {target.name: target for target in targets(site)}
