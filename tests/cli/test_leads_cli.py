"""Sales staff working leads from the command line, on leads made through the chat."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import pytest

from tests.cli.commands import out_lines, run

FORM = [
    "I'd like a quote",
    '{"payload": "form:agree"}',
    "Ann Lee",
    '=HYPERLINK("http://evil.example","click")',
    "ann@acme.de",
    "Germany",
    "+49 30 12345678",
    '{"payload": "form:choose:company_setup"}',
    '{"payload": "form:choose:within_3_months"}',
    "@-1+2 ok",
    '{"payload": "form:confirm"}',
]


@pytest.fixture(scope="module")
def made_through_the_chat(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder whose database holds one lead, made through `chat --jsonl` (once)."""
    folder = tmp_path_factory.mktemp("chat")
    result = run("chat", "--jsonl", "--user", "ann", stdin="\n".join(FORM) + "\n", cwd=folder)
    assert result.returncode == 0, result.stderr
    last = json.loads(out_lines(result)[-1])
    assert "Thank you, Ann Lee" in last["replies"][0]["text"]
    assert "no sales channel configured: new lead #1" in result.stderr.decode()
    assert "ann@acme.de" not in result.stderr.decode(), "no personal data in logs"
    return folder


@pytest.fixture
def with_lead(made_through_the_chat: Path, tmp_path: Path) -> Path:
    """A working folder of this test's own, with that lead in its database."""
    shutil.copytree(made_through_the_chat / "var", tmp_path / "var")
    return tmp_path


def test_list_shows_the_lead(with_lead: Path) -> None:
    output = run("leads", "list", cwd=with_lead).stdout.decode()
    assert "Ann Lee" in output
    assert "1 lead(s)" in output


def test_list_filters_and_json(with_lead: Path) -> None:
    [lead] = json.loads(run("leads", "list", "--json", "--search", "ACME.DE", cwd=with_lead).stdout)
    assert (lead["name"], lead["interest"], lead["score"]) == ("Ann Lee", "company_setup", 100)
    assert json.loads(run("leads", "list", "--json", "--status", "won", cwd=with_lead).stdout) == []
    later = run("leads", "list", "--json", "--since", "2099-01-01", cwd=with_lead)
    assert json.loads(later.stdout) == []


def test_status_change_is_kept_in_the_history(with_lead: Path) -> None:
    changed = run("leads", "status", "1", "contacted", "--note", "called back", cwd=with_lead)
    assert changed.stdout.decode().strip() == "lead #1 is now contacted"
    shown = run("leads", "show", "1", cwd=with_lead).stdout.decode()
    assert "status: contacted" in shown
    assert "status -> contacted by cli:" in shown
    assert "(called back)" in shown
    assert "Consent #1: given" in shown
    assert "> I'd like a quote" in shown


def test_unknown_lead_and_status_are_clear_errors(with_lead: Path) -> None:
    missing = run("leads", "show", "99", cwd=with_lead)
    assert (missing.returncode, missing.stderr.decode().strip()) == (2, "no lead 99")
    wrong = run("leads", "status", "1", "asleep", cwd=with_lead)
    assert wrong.returncode == 2
    assert "asleep" in wrong.stderr.decode()


def test_csv_export_neutralises_formulas(with_lead: Path) -> None:
    exported = run("leads", "export", "--format", "csv", cwd=with_lead).stdout.decode()
    header, row = list(csv.reader(io.StringIO(exported)))
    cells = dict(zip(header, row, strict=True))
    assert cells["company"] == '\'=HYPERLINK("http://evil.example","click")'
    assert cells["country"] == "Germany"  # a country is checked against the country list
    assert cells["note"] == "'@-1+2 ok"
    assert cells["phone"] == "'+493012345678"
    assert cells["name"] == "Ann Lee"
    dangerous = [c for c in row if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
    assert dangerous == []


def test_jsonl_export_to_a_file(with_lead: Path) -> None:
    target = with_lead / "leads.jsonl"
    result = run("leads", "export", "--format", "jsonl", "--output", str(target), cwd=with_lead)
    assert "1 lead(s) written" in result.stderr.decode()
    [line] = target.read_text(encoding="utf-8").splitlines()
    assert json.loads(line)["company"] == '=HYPERLINK("http://evil.example","click")'


def test_purge_keeps_leads_younger_than_the_retention(with_lead: Path) -> None:
    kept = run("leads", "purge", cwd=with_lead)
    assert "0 leads" in kept.stdout.decode()
    assert json.loads(run("leads", "list", "--json", cwd=with_lead).stdout) != []


def test_forget_in_the_chat_then_nothing_is_listed(with_lead: Path) -> None:
    steps = '/forget\n{"payload": "privacy:erase"}\n/mydata\n'
    result = run("chat", "--jsonl", "--user", "ann", stdin=steps, cwd=with_lead)
    confirm, erased, mydata = (json.loads(line) for line in out_lines(result))
    assert "cannot be undone" in confirm["replies"][0]["text"]
    assert "leads 1" in erased["replies"][0]["text"]
    assert "Nothing is stored about you" in mydata["replies"][0]["text"]
    assert json.loads(run("leads", "list", "--json", cwd=with_lead).stdout) == []


def test_a_chinese_lead_made_in_the_chat(tmp_path: Path) -> None:
    form = [
        "我想联系顾问",
        '{"payload": "form:agree"}',
        "王小明",
        "示例科技有限公司",
        "wang@example.cn",
        "中国",
        "跳过",
        '{"payload": "form:choose:ic_industry"}',
        '{"payload": "form:choose:exploring"}',
        "跳过",
        '{"payload": "form:confirm"}',
    ]
    result = run("chat", "--jsonl", "--user", "wang", stdin="\n".join(form) + "\n", cwd=tmp_path)
    assert "谢谢您，王小明" in json.loads(out_lines(result)[-1])["replies"][0]["text"]
    [lead] = json.loads(run("leads", "list", "--json", cwd=tmp_path).stdout)
    assert (lead["language"], lead["name"], lead["phone"]) == ("zh", "王小明", None)
    assert "示例科技有限公司" in run("leads", "show", str(lead["id"]), cwd=tmp_path).stdout.decode()
