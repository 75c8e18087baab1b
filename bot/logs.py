"""Log lines: plain text for a terminal or JSON for production, each with the id of the web
request it belongs to, and never an email address or a phone number at INFO or above.

Names, companies and message texts cannot be recognised by a pattern: the code does not log
them at INFO or above. Emails and phone numbers could still slip in through an exception or a
library, so the handler masks them in every record it writes (DEBUG is left alone: it is for
a developer's own machine).

Which numbers are phones: a number with a leading `+` (`+86 138 0013 8000`), digits in the
groups people write phones in (`138 0013 8000`, `(415) 555-0100`, `021-6888-1234`), and a bare
Chinese mobile number (`13800138000`), 7 to 15 digits in all. Bare numbers otherwise stay:
Telegram chat ids (9-10 digits), update and lead ids, Slack timestamps (`1712345678.123456`),
dates and times, IPv4 addresses.
"""

from __future__ import annotations

import logging
import re
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Literal

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

LogFormat = Literal["text", "json"]
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
ACCESS_LOGGER = "uvicorn.access"

_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
_SANE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")

EMAIL = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}")
_NUMBERS = re.compile(
    # What looks like a phone but is not one, consumed first so that no phone starts inside it.
    r"(?P<keep>\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?)?"
    r"(?:Z|[+-]\d{2}:?\d{2})?"
    r"|\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?)"
    r"|(?<![\w.+-])(?P<number>\+?\(?\d[\d ().-]{5,22}\d)(?![\w])"
)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_GROUPS = re.compile(r"[ ().-]+")
_CHINESE_MOBILE = re.compile(r"(?:0?86)?1[3-9]\d{9}")
MIN_DIGITS, MAX_DIGITS = 7, 15


# -- request ids --------------------------------------------------------------------------------


def current_request_id() -> str | None:
    """The id of the web request being handled, if any."""
    return _request_id.get()


def accepted_request_id(given: str | None) -> str:
    """The caller's `X-Request-ID` when it is a sane token, else a new id."""
    if given is not None and _SANE_ID.fullmatch(given):
        return given
    return uuid.uuid4().hex


def bind_request_id(value: str | None) -> object:
    """Make `value` the current request id; returns what `unbind_request_id` needs."""
    return _request_id.set(value)


def unbind_request_id(token: object) -> None:
    """Restore the request id that was current before `bind_request_id`."""
    _request_id.reset(token)  # type: ignore[arg-type]


# -- redaction ----------------------------------------------------------------------------------


def _is_phone(number: str) -> bool:
    digits = sum(c.isdigit() for c in number)
    if not MIN_DIGITS <= digits <= MAX_DIGITS:
        return False
    if number.startswith("+"):
        return True
    if _DATE.search(number):
        return False
    groups = [g for g in _GROUPS.split(number) if g]
    if len(groups) == 1:
        return bool(_CHINESE_MOBILE.fullmatch(groups[0]))
    if set(number) <= set("0123456789.") and number.count(".") == 1:
        return False  # a decimal number (or a Slack message timestamp)
    return all(len(g) <= 8 for g in groups) and max(len(g) for g in groups) >= 3


def _mask_number(found: re.Match[str]) -> str:
    number = found.group("number")
    if number is None or not _is_phone(number):
        return found.group(0)
    return "[phone]"


def redact(text: str) -> str:
    """`text` with email addresses and phone numbers masked."""
    return _NUMBERS.sub(_mask_number, EMAIL.sub("[email]", text))


class Redaction(logging.Filter):
    """Masks emails and phone numbers in the message and traceback of records at INFO+."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record in place; never drops it."""
        if record.levelno < logging.INFO:
            return True
        message = record.getMessage()
        record.msg, record.args = redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            # Formatters write `exc_text` when there is no `exc_info` left to format.
            record.exc_text, record.exc_info = redact(record.exc_text), None
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


class RequestId(logging.Filter):
    """Puts the current web request's id on the record as `request_id` (when there is one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Annotate; never drops the record."""
        value = current_request_id()
        if value is not None:
            record.request_id = value
        return True


class AccessLine(logging.Filter):
    """Uvicorn's access lines without the query string (searches hold names and emails) and
    without the client's address (the request id ties a line to the proxy's log)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite uvicorn's `(client, method, path, version, status)` arguments."""
        args = record.args
        if record.name == ACCESS_LOGGER and isinstance(args, tuple) and len(args) == 5:
            _, method, path, version, status = args
            record.args = ("-", method, str(path).split("?", 1)[0], version, status)
        return True


class LibraryFloor(logging.Filter):
    """Drops records below WARNING from loggers that put raw request bodies in them: slack-bolt
    logs the whole body of a request whose signature fails at INFO, and a body is whatever
    anyone posted (bot.web.slack_events refuses such requests before bolt sees them; this is
    the second line)."""

    QUIET = ("slack_bolt",)

    def filter(self, record: logging.LogRecord) -> bool:
        """Keep the record unless it is a quiet library's, below WARNING."""
        if record.levelno >= logging.WARNING:
            return True
        return not any(record.name == n or record.name.startswith(n + ".") for n in self.QUIET)


# -- formats ------------------------------------------------------------------------------------


class JsonLines(JsonFormatter):
    """One JSON object a line: time (UTC, ISO 8601), level, logger, message, request_id,
    exc_info."""

    def __init__(self) -> None:
        super().__init__(
            "%(asctime)s %(levelname)s %(name)s %(message)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            # uvicorn adds a coloured copy of some messages for terminals.
            reserved_attrs=[*RESERVED_ATTRS, "color_message"],
        )

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        """ISO 8601 in UTC with milliseconds."""
        return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")


def log_handler(style: LogFormat) -> logging.Handler:
    """A standard-error handler in `style`, with the request id, redaction and access lines,
    and without slack-bolt's lines below WARNING."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonLines() if style == "json" else logging.Formatter(TEXT_FORMAT))
    for check in (LibraryFloor(), RequestId(), AccessLine(), Redaction()):
        handler.addFilter(check)
    return handler
