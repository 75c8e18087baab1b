"""`lingang-bot serve` with `LINGANG_LOG_FORMAT=json`, run as in production: a whole lead form
through the web chat leaves JSON lines only, with request ids, and no trace of the prospect."""

from __future__ import annotations

import json
import signal
from pathlib import Path
from typing import Any

import httpx

from bot.core.records import LeadFilter
from storage.db import Database
from storage.leads import SqlLeadRepository
from tests.cli.commands import start
from tests.cli.test_serve import free_port, wait_until_up
from tests.web.test_chat import button, text_of

NAME, COMPANY, EMAIL = "Zebulon Quixotic", "Xylophane Dynamics", "zeb.quixotic@xylophane.example"
PHONE = "+86 139 1234 5678"
# The personal data in every spelling it could leak in.
SECRETS = (
    NAME, "Zebulon", "Quixotic", COMPANY, "Xylophane", EMAIL, "zeb.quixotic",
    PHONE, "13912345678", "139 1234 5678", "1234 5678", "8613912345678",
)  # fmt: skip
LEAD_FORM = (
    ("say", "I want to talk to a consultant"),
    ("press", "agree"),
    ("say", NAME),
    ("say", COMPANY),
    ("say", EMAIL),
    ("say", "Germany"),
    ("say", PHONE),
    ("press", "IC industry"),
    ("press", "3 months"),
    ("say", f"Call {NAME} at {PHONE} or {EMAIL}."),
    ("press", "confirm"),
)


def test_json_logs_of_a_whole_lead_hold_request_ids_and_no_personal_data(tmp_path: Path) -> None:
    port = free_port()
    env = {
        "LINGANG_LOG_FORMAT": "json",
        "LINGANG_LOG_LEVEL": "INFO",
        "LINGANG_MATCHER": "lexical",
        "LINGANG_HOST": "127.0.0.1",
        "LINGANG_PORT": str(port),
        "LINGANG_DATA_DIR": str(tmp_path / "data"),
    }
    process = start("serve", env=env, cwd=tmp_path)
    try:
        wait_until_up(process, port)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as browser:
            replies: list[dict[str, Any]] = []
            for kind, value in LEAD_FORM:
                body = {"text": value} if kind == "say" else {"payload": button(replies, value)}
                answer = browser.post("/chat/messages", json=body)
                assert answer.status_code == 200, answer.text
                replies = answer.json()["replies"]
            assert NAME in text_of(replies)  # the lead was confirmed
            traced = browser.get("/healthz", headers={"X-Request-ID": "trace-me-42"})
            assert traced.headers["X-Request-ID"] == "trace-me-42"
            # Staff search leads by name: the query must not reach the access log.
            browser.get("/leads", params={"search": f"{NAME} {EMAIL}"})
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=60)
    output = err.decode()
    database = Database(f"sqlite:///{tmp_path / 'data' / 'lingang.db'}")
    try:
        [lead] = SqlLeadRepository(database).find(LeadFilter())
    finally:
        database.dispose()
    assert (lead.name, lead.email) == (NAME, EMAIL)
    assert lead.answers["phone"].replace(" ", "") == PHONE.replace(" ", "")
    records = [json.loads(line) for line in output.splitlines()]  # every line is JSON
    assert records
    for record in records:
        assert {"time", "level", "logger", "message"} <= set(record), record
    access = [r for r in records if r["logger"] == "uvicorn.access"]
    assert len(access) >= len(LEAD_FORM) + 2
    assert all(r.get("request_id") for r in access)
    assert any(r["request_id"] == "trace-me-42" for r in access)
    assert any('"GET /leads HTTP/1.1"' in r["message"] for r in access)
    # The engine's own lines (written in a worker thread) carry the request's id too.
    [created] = [r for r in records if r["message"] == "lead 1 created"]
    assert created["logger"] == "bot.core.engine"
    assert created.get("request_id")
    leaked = [secret for secret in SECRETS if secret.casefold() in output.casefold()]
    assert leaked == [], output
