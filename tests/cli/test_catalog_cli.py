"""`lingang-bot intents import | export | history | rollback`: the catalog in the database kept
as files in git. In-process through Typer's runner, on a data folder of their own."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

import intents
from bot.cli import cli
from intents.snapshot import read_files

OLD = "119.5 km², covering"
NEW = "119.5 km² (checked again), covering"


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "data"
    monkeypatch.setenv("LINGANG_DATA_DIR", str(folder))
    monkeypatch.setenv("LINGANG_MATCHER", "lexical")
    return folder


def lingang(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def edited_copy(folder: Path) -> Path:
    """The packaged catalog with one answer changed, a CRLF file and an odd comment."""
    shutil.copytree(
        Path(intents.__file__).parent, folder, ignore=shutil.ignore_patterns("__pycache__")
    )
    basics = folder / "faq" / "lingang_basics.yaml"
    basics.write_text(basics.read_text(encoding="utf-8").replace(OLD, NEW), encoding="utf-8")
    sales = folder / "sales.yaml"
    sales.write_bytes(sales.read_bytes().replace(b"\n", b"\r\n") + b"# kept as written  \r\n")
    return folder


def test_import_then_export_twice_gives_the_same_bytes(tmp_path: Path) -> None:
    source = edited_copy(tmp_path / "git")

    imported = lingang("intents", "import", str(source), "-m", "from git")
    assert imported.exit_code == 0, imported.output
    assert "revision 2" in imported.output
    assert "edited lingang_area" in imported.output
    assert "file sales.yaml" in imported.output

    first, second = tmp_path / "out1", tmp_path / "out2"
    assert lingang("intents", "export", str(first)).exit_code == 0
    again = lingang("intents", "import", str(first))
    assert again.exit_code == 0
    assert "unchanged" in again.output
    assert lingang("intents", "export", str(second)).exit_code == 0

    for path, text in read_files(source).items():
        assert (first / path).read_bytes() == text.encode("utf-8"), path
        assert (second / path).read_bytes() == (first / path).read_bytes(), path
    assert not (first / "heldout").exists(), "only the content the bot serves"
    history = lingang("intents", "history").output.splitlines()
    assert [line.split("\t")[3] for line in history] == ["import", "seed"]
    assert "from git" in history[0]


def test_a_folder_that_does_not_load_is_not_imported(tmp_path: Path) -> None:
    source = edited_copy(tmp_path / "git")
    basics = source / "faq" / "lingang_basics.yaml"
    basics.write_text(basics.read_text().replace("reviewed:", "reviewd:", 1))

    refused = lingang("intents", "import", str(source))

    assert refused.exit_code == 1
    assert "faq/lingang_basics.yaml:" in refused.output
    assert "not imported" in refused.output
    assert len(lingang("intents", "history").output.splitlines()) == 1, "only the seed"


def test_rollback_serves_an_old_revision_as_a_new_one(tmp_path: Path) -> None:
    assert lingang("intents", "import", str(edited_copy(tmp_path / "git"))).exit_code == 0

    rolled = lingang("intents", "rollback", "1", "-m", "the edit was wrong")

    assert rolled.exit_code == 0, rolled.output
    assert "revision 3" in rolled.output
    assert lingang("intents", "export", str(tmp_path / "out")).exit_code == 0
    assert OLD in (tmp_path / "out" / "faq" / "lingang_basics.yaml").read_text()
    assert lingang("intents", "export", "-r", "2", str(tmp_path / "two")).exit_code == 0
    assert NEW in (tmp_path / "two" / "faq" / "lingang_basics.yaml").read_text()
    missing = lingang("intents", "rollback", "99")
    assert missing.exit_code == 1
    assert "no revision 99" in missing.output
