"""The place index is built in a child process when it has a cache folder to go to, so the
server's heap never holds the libraries' data (bench/replica_memory.py measures the effect)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import pytest

from intents import places
from intents.places import Gazetteer, GazetteerSettings

SETTINGS = GazetteerSettings(5_000_000, 2500, ("CN",), ("CN",), (" Sheng",), ("省", "市"))


def _no_build_here(settings: GazetteerSettings) -> dict[str, object]:
    raise AssertionError("built in the server's process")


def _index(gazetteer: Gazetteer) -> tuple[object, ...]:
    return gazetteer._places, gazetteer._latin, gazetteer._han


def test_every_process_builds_the_same_index(tmp_path: Path) -> None:
    """(pycountry gives its subdivisions as a set, whose order changes with the process.)"""
    Gazetteer.load(SETTINGS, tmp_path / "one")
    Gazetteer.load(SETTINGS, tmp_path / "two")
    [one], [two] = (list((tmp_path / x).glob("gazetteer-*.json")) for x in ("one", "two"))
    assert one.read_bytes() == two.read_bytes()


def test_with_a_cache_folder_the_index_is_built_by_a_child_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    here = Gazetteer.load(SETTINGS)  # no folder: built in this process
    monkeypatch.setattr(places, "_build_rows", _no_build_here)
    apart = Gazetteer.load(SETTINGS, tmp_path)
    assert _index(apart) == _index(here)
    [file] = tmp_path.glob("gazetteer-*.json")
    assert not list(tmp_path.glob(".gazetteer-*")), "a temporary file was left behind"
    assert _index(Gazetteer.load(SETTINGS, tmp_path)) == _index(here)  # read from the file
    assert file.is_file()


def test_a_child_that_fails_leaves_the_build_to_this_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(sys, "executable", str(tmp_path / "no-such-python"))
    with caplog.at_level(logging.WARNING, logger="intents.places"):
        gazetteer = Gazetteer.load(SETTINGS, tmp_path)
    assert "gazetteer not built in a child process" in caplog.text
    assert _index(gazetteer) == _index(Gazetteer.load(SETTINGS))
    assert list(tmp_path.glob("gazetteer-*.json"))


def test_a_cache_file_for_other_settings_is_rebuilt(tmp_path: Path) -> None:
    Gazetteer.load(SETTINGS, tmp_path)
    other = GazetteerSettings(10_000_000, 2500, ("CN",), ("CN",), (" Sheng",), ("省", "市"))
    smaller = Gazetteer.load(other, tmp_path)
    assert len(smaller) < len(Gazetteer.load(SETTINGS))
    assert _index(Gazetteer.load(other, tmp_path)) == _index(smaller)
