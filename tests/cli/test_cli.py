"""The `lingang-bot` command, run as a user runs it: the installed console script."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import typer

from bot.cli import cli
from bot.config import env_names
from storage.db import Database
from storage.repositories import SqlTranscriptLog
from tests.chat import copy_catalog
from tests.cli.commands import SCRIPT, SHARED_CACHE, out_lines, run


def test_version(tmp_path: Path) -> None:
    result = run("--version", cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout.decode().startswith("lingang-bot ")


def _commands(group: object, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command and group under `group` (a click group, as Typer builds it)."""
    found: list[tuple[str, ...]] = [prefix]
    for name, command in getattr(group, "commands", {}).items():
        if hasattr(command, "commands"):
            found += _commands(command, (*prefix, name))
        else:
            found.append((*prefix, name))
    return found


def all_commands() -> list[tuple[str, ...]]:
    """The command paths of `lingang-bot`, the bare command included."""
    return _commands(typer.main.get_group(cli))


@pytest.mark.parametrize("path", all_commands(), ids=" ".join)
def test_every_command_has_help(tmp_path: Path, path: tuple[str, ...]) -> None:
    result = run(*path, "--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Usage" in result.stdout.decode()


def test_ask_json_explains_the_match(tmp_path: Path) -> None:
    result = run("ask", "how big is Lingang?", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    [line] = out_lines(result)
    answer = json.loads(line)
    assert set(answer) == {"question", "intent", "confidence", "answer", "alternatives"}
    assert answer["intent"] == "lingang_area"
    assert 0 < answer["confidence"] <= 1
    assert "119.5" in answer["answer"]
    assert all(set(a) == {"intent", "score"} for a in answer["alternatives"])


def test_ask_reads_one_question_per_line_and_reports_out_of_scope(tmp_path: Path) -> None:
    questions = "临港在哪里\nwhat is the best pizza topping\n\n"
    result = run("ask", "--json", stdin=questions, cwd=tmp_path)
    first, second, third = (json.loads(line) for line in out_lines(result))
    assert first["intent"] == "lingang_location"
    assert "浦东" in first["answer"]
    assert second["intent"] is None
    assert second["alternatives"]
    assert third["intent"] is None
    assert not (tmp_path / "var" / "lingang.db").exists(), "ask needs no database"


def test_ask_plain_prints_the_answer(tmp_path: Path) -> None:
    result = run("ask", "where is Lingang?", cwd=tmp_path)
    assert "Pudong" in result.stdout.decode()


def test_chat_jsonl_answers_each_line_at_once(tmp_path: Path) -> None:
    env = {**{k: v for k, v in os.environ.items() if k not in env_names()}, **SHARED_CACHE}
    with subprocess.Popen(
        [SCRIPT, "chat", "--jsonl", "--user", "alice"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
        env=env,
    ) as process:
        assert process.stdin is not None
        assert process.stdout is not None
        replies = []
        for line in ["hello", '{"payload": "intent:lingang_area"}', '{"text": "临港在哪里"}']:
            process.stdin.write(line.encode() + b"\n")
            process.stdin.flush()
            replies.append(json.loads(process.stdout.readline()))  # blocks unless flushed
        process.stdin.close()
        assert process.wait(timeout=30) == 0
    hello, area, where = (r["replies"] for r in replies)
    assert {"title": "Talk to a consultant", "payload": "intent:talk_to_consultant"} in hello[0][
        "buttons"
    ]
    assert "119.5" in area[0]["text"]
    assert "浦东" in where[0]["text"]
    database = Database(f"sqlite:///{tmp_path / 'var' / 'lingang.db'}")
    try:
        said = [e.text for e in SqlTranscriptLog(database).conversation("console", "alice")]
    finally:
        database.dispose()
    assert said[0] == "hello"
    assert "[intent:lingang_area]" in said


def test_chat_jsonl_gives_one_line_per_input_even_for_bad_input(tmp_path: Path) -> None:
    stdin = b'{"nope": 1}\n\n\x00\x01\xff\xfe\n' + b"x" * 100_000 + b"\n"
    result = run("chat", "--jsonl", stdin=stdin, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    bad, empty, binary, huge = (json.loads(line) for line in out_lines(result))
    assert bad["replies"] == []
    assert "payload" in bad["error"]
    assert "Please type a question" in empty["replies"][0]["text"]
    assert "only read text" in binary["replies"][0]["text"]
    assert "too long" in huge["replies"][0]["text"]


def test_chat_lang_answers_in_chinese(tmp_path: Path) -> None:
    result = run("chat", "--jsonl", "--lang", "zh", stdin="how big is Lingang?\n", cwd=tmp_path)
    [line] = out_lines(result)
    assert "平方公里" in json.loads(line)["replies"][0]["text"]


def test_chat_in_a_terminal_presses_buttons_by_number(tmp_path: Path) -> None:
    result = run("chat", stdin="where is Lingang?\n3\n", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    output = result.stdout.decode()
    assert "[3] How big is it?" in output
    assert "119.5 km²" in output


def test_chat_state_survives_between_runs(tmp_path: Path) -> None:
    run("chat", "--jsonl", stdin='{"payload": "lang:zh"}\n', cwd=tmp_path)
    result = run("chat", "--jsonl", stdin="how big is Lingang?\n", cwd=tmp_path)
    assert "平方公里" in json.loads(out_lines(result)[0])["replies"][0]["text"]


def test_unreachable_database_is_one_clear_line(tmp_path: Path) -> None:
    env = {"LINGANG_DATABASE_URL": "postgresql+psycopg://bot:s3cret@127.0.0.1:1/lingang"}
    result = run("chat", "--jsonl", stdin="hi\n", env=env, cwd=tmp_path)
    assert result.returncode == 1
    [line] = result.stderr.decode().splitlines()
    assert line.startswith("LINGANG_DATABASE_URL: cannot reach the database")
    assert "s3cret" not in line
    assert result.stdout == b""


def test_unparsable_database_url_names_the_setting(tmp_path: Path) -> None:
    result = run("chat", env={"LINGANG_DATABASE_URL": "::nonsense::"}, cwd=tmp_path)
    assert result.returncode == 2
    assert "LINGANG_DATABASE_URL: not a database URL" in result.stderr.decode()
    assert "Traceback" not in result.stderr.decode()


def test_broken_catalog_is_named_with_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "catalog").mkdir()
    (tmp_path / "catalog" / "catalog.yaml").write_text("version: 2\n", encoding="utf-8")
    result = run("ask", "hi", env={"LINGANG_INTENTS_DIR": str(tmp_path / "catalog")}, cwd=tmp_path)
    assert result.returncode == 2
    assert "catalog.yaml:1" in result.stderr.decode()


def test_db_upgrade_on_postgresql_then_chat(tmp_path: Path, postgres_url: str) -> None:
    env = {"LINGANG_DATABASE_URL": postgres_url}
    upgrade = run("db", "upgrade", env=env, cwd=tmp_path)
    assert upgrade.returncode == 0, upgrade.stderr
    assert "schema revision" in upgrade.stdout.decode()
    result = run(
        "chat", "--jsonl", "--user", "pg-user", stdin="where is Lingang?\n", env=env, cwd=tmp_path
    )
    assert "Pudong" in json.loads(out_lines(result)[0])["replies"][0]["text"]


def test_db_check_passes_on_the_shipped_migrations(tmp_path: Path) -> None:
    result = run("db", "check", cwd=tmp_path)
    assert result.returncode == 0, result.stderr


def broken_copy(tmp_path: Path) -> Path:
    """A catalog copy with an answer missing its Chinese text."""
    directory = copy_catalog(tmp_path)
    faq = directory / "faq" / "smalltalk.yaml"
    text = faq.read_text(encoding="utf-8")
    faq.write_text(text.replace('      zh: "不客气', '      zz: "不客气', 1), encoding="utf-8")
    return directory


def test_intents_check_passes_on_the_shipped_catalog(tmp_path: Path) -> None:
    result = run("intents", "check", cwd=tmp_path)
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()
    assert result.stdout.decode().startswith("ok: ")


def test_intents_check_names_a_broken_file_and_line(tmp_path: Path) -> None:
    directory = broken_copy(tmp_path)
    result = run("intents", "check", str(directory), cwd=tmp_path)
    assert result.returncode == 1
    output = result.stdout.decode()
    assert f"{directory / 'faq' / 'smalltalk.yaml'}:" in output
    assert "answer.zz" in output
    assert "does not load" in result.stderr.decode()


def test_intents_test_passes_and_reports_both_languages(tmp_path: Path) -> None:
    result = run("intents", "test", cwd=tmp_path)
    output = result.stdout.decode()
    assert result.returncode == 0, output
    assert "answered with their own intent" in output
    assert "zh " in output
    assert output.rstrip().endswith("PASS")


def test_intents_test_json_and_a_failing_threshold(tmp_path: Path) -> None:
    result = run("intents", "test", "--json", "--threshold", "0.99", cwd=tmp_path)
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["passed"] is False
    assert report["threshold"] == 0.99
    assert set(report["in_scope"]) <= {"correct", "clarify", "wrong", "refused"}


def test_intents_eval_on_a_dataset_file(tmp_path: Path) -> None:
    data = {
        "train": [["how big is the zone", "size"], ["size of the zone", "size"],
                  ["where is the zone", "place"], ["location of the zone", "place"]],
        "val": [["how large is the zone", "size"]],
        "test": [["zone size please", "size"], ["where's the zone", "place"]],
        "oos_val": [["bake a cake", "oos"]],
        "oos_test": [["sing a song", "oos"]],
    }  # fmt: skip
    (tmp_path / "tiny.json").write_text(json.dumps(data), encoding="utf-8")
    result = run("intents", "eval", "--dataset", "tiny.json", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr.decode()
    report = json.loads(result.stdout)
    assert report["intents"] == 2
    assert {"accuracy", "in_scope", "oos_recall", "threshold", "sweep"} <= set(report)
    assert report["latency_p99_ms"] > 0
    text = run("intents", "eval", "--dataset", "tiny.json", "--shots", "1", cwd=tmp_path)
    assert "1 examples per intent" in text.stdout.decode()


def test_intents_eval_refuses_an_unknown_dataset(tmp_path: Path) -> None:
    result = run("intents", "eval", "--dataset", "imagenet", cwd=tmp_path)
    assert result.returncode == 2
    assert "imagenet" in result.stderr.decode()


def test_lexical_matcher_can_be_chosen(tmp_path: Path) -> None:
    result = run(
        "ask", "how big is Lingang?", "--json", env={"LINGANG_MATCHER": "lexical"}, cwd=tmp_path
    )
    assert json.loads(result.stdout)["intent"] == "lingang_area"
