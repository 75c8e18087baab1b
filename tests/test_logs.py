"""Log lines: emails and phone numbers masked at INFO and above (timestamps and ids left alone),
JSON lines with the request id, and uvicorn's access lines without queries or addresses."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from bot.logs import (
    accepted_request_id,
    bind_request_id,
    current_request_id,
    log_handler,
    redact,
    unbind_request_id,
)


@pytest.mark.parametrize(
    "text",
    [
        "ann@acme.de",
        "j***@example.com",
        "first.last+tag@mail.example.co.uk",
        "+86 138 0013 8000",
        "+8613800138000",
        "+1 (415) 555-0100",
        "+49-30-1234567",
        "13800138000",
        "138 0013 8000",
        "(415) 555-0100",
        "415-555-0100",
        "021-6888-1234",
        "0049 30 1234567",
        "138.0013.8000",
    ],
)
def test_emails_and_phone_numbers_are_masked(text: str) -> None:
    masked = redact(f"contact: {text}, thanks")
    assert masked in ("contact: [email], thanks", "contact: [phone], thanks")


@pytest.mark.parametrize(
    "text",
    [
        "2026-05-01T10:20:30.123+00:00",
        "2026-05-01 10:20:30,123",
        "lead 12 created",
        "update 1000123 dropped",
        "message to chat 123456789 kept",
        "chat -1001234567890",
        "slack ts 1712345678.123456",
        "postgresql://127.0.0.1:5432/test",
        "took 1234567.89 s",
        "notification 3 failed; retrying in 0:00:30",
        "channel C0123ABCD, user U0SELL",
        "lead #12 2026-05-01",
        "admin@localhost",
    ],
)
def test_timestamps_ids_and_addresses_are_left_alone(text: str) -> None:
    assert redact(text) == text


@pytest.fixture
def json_lines() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger writing through the production handler (JSON) into a buffer."""
    stream = io.StringIO()
    handler = log_handler("json")
    handler.setStream(stream)
    logger = logging.getLogger("tests.logs")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    try:
        yield logger, stream
    finally:
        logger.removeHandler(handler)
        logger.propagate = True


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_json_line_has_time_level_logger_and_the_masked_message(
    json_lines: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, stream = json_lines
    logger.warning("lead from %s (%s) kept", "ann@acme.de", "+86 138 0013 8000")
    [line] = lines(stream)
    assert line["level"] == "WARNING"
    assert line["logger"] == "tests.logs"
    assert line["message"] == "lead from [email] ([phone]) kept"
    assert line["time"].endswith("+00:00")
    assert "request_id" not in line  # not inside a request


def find_user(email: str) -> None:
    raise ValueError(f"no such user {email}")


def test_a_traceback_is_masked_too(json_lines: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = json_lines
    try:
        find_user("ann@acme.de")
    except ValueError:
        logger.exception("lookup failed")
    [line] = lines(stream)
    assert "ValueError: no such user [email]" in line["exc_info"]
    assert "ann@acme.de" not in stream.getvalue()


def test_debug_lines_are_left_as_they_are(json_lines: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = json_lines
    logger.debug("form answer %s", "ann@acme.de")
    assert lines(stream)[0]["message"] == "form answer ann@acme.de"


def test_lines_inside_a_request_carry_its_id(
    json_lines: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, stream = json_lines
    token = bind_request_id("req-1")
    try:
        assert current_request_id() == "req-1"
        logger.info("inside")
    finally:
        unbind_request_id(token)
    logger.info("outside")
    inside, outside = lines(stream)
    assert inside["request_id"] == "req-1"
    assert "request_id" not in outside


def test_access_lines_lose_the_query_and_the_client_address(
    json_lines: tuple[logging.Logger, io.StringIO],
) -> None:
    _, stream = json_lines
    access = logging.getLogger("uvicorn.access")
    handler = log_handler("json")
    handler.setStream(stream)
    access.addHandler(handler)
    try:
        access.propagate = False
        access.setLevel(logging.INFO)
        args = ("203.0.113.7:50312", "GET", "/leads?search=Ann+Lee", "1.1", 200)
        access.info('%s - "%s %s HTTP/%s" %d', *args)
    finally:
        access.removeHandler(handler)
        access.propagate = True
    [line] = lines(stream)
    assert line["message"] == '- - "GET /leads HTTP/1.1" 200'


@pytest.mark.parametrize(
    ("given", "kept"),
    [("abc-123_X.y", True), ("a" * 64, True), ("a" * 65, False), ("bad id", False), ("", False)],
)
def test_a_callers_request_id_is_kept_only_when_sane(given: str, kept: bool) -> None:
    chosen = accepted_request_id(given)
    assert (chosen == given) is kept
    if not kept:
        assert len(chosen) == 32
