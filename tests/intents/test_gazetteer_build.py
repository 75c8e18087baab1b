"""The place index's cache file: the same in every process, written atomically, rebuilt for
other settings."""

from __future__ import annotations

from pathlib import Path

from intents.places import Gazetteer, GazetteerSettings

SETTINGS = GazetteerSettings(5_000_000, 2500, ("CN",), ("CN",), (" Sheng",), ("省", "市"))


def _index(gazetteer: Gazetteer) -> tuple[object, ...]:
    return gazetteer._places, gazetteer._latin, gazetteer._han


def test_every_process_builds_the_same_index(tmp_path: Path) -> None:
    """(pycountry gives its subdivisions as a set, whose order changes with the process.)"""
    import subprocess  # noqa: PLC0415
    import sys  # noqa: PLC0415

    build = (
        "import sys; from pathlib import Path; from intents.places import Gazetteer, "
        "GazetteerSettings as S; "
        "Gazetteer.load(S(5_000_000, 2500, ('CN',), ('CN',), (' Sheng',), ('省', '市')), "
        "Path(sys.argv[1]))"
    )
    for folder, seed in (("one", "1"), ("two", "2")):
        subprocess.run(
            [sys.executable, "-c", build, str(tmp_path / folder)],
            check=True,
            env={"PYTHONHASHSEED": seed, "PATH": ""},
            cwd=Path(__file__).resolve().parent.parent.parent,
            timeout=300,
        )
    [one], [two] = (list((tmp_path / x).glob("gazetteer-*.json")) for x in ("one", "two"))
    assert one.read_bytes() == two.read_bytes()


def test_the_file_is_written_whole_and_read_back(tmp_path: Path) -> None:
    built = Gazetteer.load(SETTINGS, tmp_path)
    assert len(list(tmp_path.glob("gazetteer-*.json"))) == 1
    assert not list(tmp_path.glob(".gazetteer-*")), "a temporary file was left behind"
    assert _index(Gazetteer.load(SETTINGS, tmp_path)) == _index(built)


def test_a_cache_file_for_other_settings_is_rebuilt(tmp_path: Path) -> None:
    Gazetteer.load(SETTINGS, tmp_path)
    other = GazetteerSettings(10_000_000, 2500, ("CN",), ("CN",), (" Sheng",), ("省", "市"))
    smaller = Gazetteer.load(other, tmp_path)
    assert len(smaller) < len(Gazetteer.load(SETTINGS))
    assert _index(Gazetteer.load(other, tmp_path)) == _index(smaller)
