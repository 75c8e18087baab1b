"""Slack's request URL in HTTP mode: the signature is checked on the raw body (capped by
`bot.web.limits`) before slack-bolt parses any of it, and only a signed body bolt can read is
handed to it.

slack-bolt reads and parses the whole body first and checks the signature afterwards, logging
the raw body at INFO when the check fails; an unsigned JSON array or a non-UTF-8 body made it
raise (a 500 and a traceback). Here an unsigned body gets a 401, a signed body that is neither
JSON nor a form a 400, each with one WARNING line and never the body.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Any

from slack_bolt.adapter.starlette.async_handler import to_starlette_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.request.internals import parse_body
from slack_bolt.request.payload_utils import (
    to_action,
    to_command,
    to_event,
    to_message,
    to_options,
    to_shortcut,
    to_step,
    to_view,
)
from slack_sdk.signature import Clock, SignatureVerifier
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from bot.web.fast_paths import header, read_body

log = logging.getLogger(__name__)

PATH = "/slack/events"
TIMESTAMP = "X-Slack-Request-Timestamp"
SIGNATURE = "X-Slack-Signature"
_TIMESTAMP = re.compile(r"\d{1,12}")
# What bolt reads out of every request before a listener runs (the arguments of a middleware):
# each assumes Slack's shapes and raises on others, which bolt answers with a 500 and an ERROR
# traceback.
_BOLT_READERS = (to_options, to_shortcut, to_action, to_view, to_command, to_event, to_message)
_SHAPE_ERRORS = (TypeError, AttributeError, KeyError, IndexError, ValueError)


_TIMESTAMP_HEADER = TIMESTAMP.lower().encode("latin-1")
_SIGNATURE_HEADER = SIGNATURE.lower().encode("latin-1")


def signed_by_slack(verifier: SignatureVerifier, body: bytes, scope: Scope) -> bool:
    """The body carries Slack's signature, made within 5 minutes of now (slack_sdk's check,
    after the checks that make slack_sdk raise instead of answering False)."""
    timestamp = header(scope, _TIMESTAMP_HEADER)
    signature = header(scope, _SIGNATURE_HEADER)
    if timestamp is None or signature is None:
        return False
    if not _TIMESTAMP.fullmatch(timestamp) or not signature.isascii():
        return False
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return verifier.is_valid(text, timestamp, signature)


def _readable(text: str, content_type: str | None) -> bool:
    """Bolt's own parser makes an object of `text` (JSON, or a form, or a form's payload)."""
    try:
        parsed: Any = parse_body(text, content_type)
    except (ValueError, RecursionError):
        return False
    return isinstance(parsed, dict)


def _bolt_reads(request: AsyncBoltRequest) -> bool:
    """Bolt's readers take the request's payload apart (they raise `_SHAPE_ERRORS` where
    they cannot)."""
    body = request.body
    if body.get("type") == "event_callback" and not isinstance(body.get("event"), dict):
        return False  # its authorization step reads the event's type
    if "actions" in body and not _actions_read(body):
        return False  # its action matchers index each action
    if body.get("type") in _INTERACTIONS and not all(
        isinstance(body[key], dict) for key in _PARTS if body.get(key) is not None
    ):
        return False  # the listeners read `user`, `team`, `channel` ... as objects
    for read in (*_BOLT_READERS, to_step):
        read(body)
    return True


# Interaction payloads, and their parts that Slack sends as objects.
_INTERACTIONS = frozenset(
    {"block_actions", "block_suggestion", "view_submission", "view_closed", "shortcut",
     "message_action", "interactive_message"}
)  # fmt: skip
_PARTS = ("user", "team", "channel", "container", "message", "view")


def _actions_read(body: dict[str, Any]) -> bool:
    """The presses in an interaction are objects, each with a text `action_id` in Block Kit
    (bolt's matchers read `action["action_id"]`)."""
    actions = body["actions"]
    if not isinstance(actions, list) or not all(isinstance(a, dict) for a in actions):
        return False
    if body.get("type") == "block_actions":
        return all(isinstance(a.get("action_id"), str) for a in actions)
    return True


def _refused(status: int, detail: str) -> Response:
    return JSONResponse({"detail": detail}, status_code=status)


def _bolt_request(scope: Scope, text: str) -> AsyncBoltRequest:
    """The request as slack-bolt's Starlette adapter builds it (every value of a header)."""
    values: dict[str, list[str]] = {}
    for key, value in scope["headers"]:
        values.setdefault(key.decode("latin-1"), []).append(value.decode("latin-1"))
    headers: dict[str, str | Sequence[str]] = dict(values)
    query = scope["query_string"].decode("latin-1")
    return AsyncBoltRequest(body=text, query=query, headers=headers)


class SlackEvents:
    """ASGI endpoint `POST /slack/events` for the bolt app `bolt` in HTTP mode (served by
    bot.web.fast_paths): events, button presses and slash commands, signed (401 otherwise)."""

    def __init__(self, bolt: AsyncApp, signing_secret: str, clock: Clock | None = None) -> None:
        self._bolt = bolt
        self._verifier = SignatureVerifier(signing_secret, clock or Clock())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer one request."""
        response = await self._answer(scope, await read_body(receive))
        await response(scope, receive, send)

    async def _answer(self, scope: Scope, body: bytes) -> Response:
        if not signed_by_slack(self._verifier, body, scope):
            log.warning("slack request refused: missing, stale or wrong signature")
            return _refused(401, "invalid request")
        text = body.decode("utf-8")
        content_type = header(scope, b"content-type")
        media = content_type.split(";")[0] if content_type else None  # as bolt reads it
        if not _readable(text, media):
            log.warning("signed slack request refused: neither a JSON object nor a form")
            return _refused(400, "the body is neither a JSON object nor a form")
        try:
            # Bolt reads ids out of the object (team, user, channel ...) assuming Slack's
            # shapes; an object of other shapes, even signed, is a bad request.
            bolt_request = _bolt_request(scope, text)
            readable = _bolt_reads(bolt_request)
        except _SHAPE_ERRORS:
            readable = False
        if not readable:
            log.warning("signed slack request refused: fields of unexpected shapes")
            return _refused(400, "unexpected field shapes")
        return to_starlette_response(await self._bolt.async_dispatch(bolt_request))
