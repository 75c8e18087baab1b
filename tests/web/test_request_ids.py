"""Request ids through the ASGI app: the caller's sane `X-Request-ID` is kept and returned, any
other is replaced, and log lines of work the request starts (the engine runs in a thread)
carry it."""

from __future__ import annotations

import io
import json
import logging
import re

from fastapi.testclient import TestClient

from bot.logs import log_handler


def test_a_sane_request_id_is_returned(site: TestClient) -> None:
    response = site.get("/healthz", headers={"X-Request-ID": "proxy-42.a_b"})
    assert response.headers["X-Request-ID"] == "proxy-42.a_b"


def test_a_missing_or_odd_request_id_is_replaced(site: TestClient) -> None:
    for headers in ({}, {"X-Request-ID": "no spaces; or <tags>"}):
        given = site.get("/healthz", headers=headers).headers["X-Request-ID"]
        assert re.fullmatch(r"[0-9a-f]{32}", given)
    first, second = (site.get("/healthz").headers["X-Request-ID"] for _ in range(2))
    assert first != second


def test_the_engines_log_lines_carry_the_request_id(site: TestClient) -> None:
    stream = io.StringIO()
    handler = log_handler("json")
    handler.setStream(stream)
    engine_log = logging.getLogger("bot.core.engine")
    engine_log.addHandler(handler)
    engine_log.setLevel(logging.INFO)
    try:
        response = site.post(
            "/chat/messages",
            json={"payload": "intent:no-such-intent"},
            headers={"X-Request-ID": "chat-7"},
        )
    finally:
        engine_log.removeHandler(handler)
        engine_log.setLevel(logging.NOTSET)
    assert response.status_code == 200
    logged = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert logged, "the engine logged nothing"
    assert {line["request_id"] for line in logged} == {"chat-7"}
    assert "no-such-intent" not in stream.getvalue()  # the payload is the client's text
