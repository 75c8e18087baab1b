"""Hypothesis strategies for what reaches the app from outside: Telegram updates, Slack events,
actions, commands and view submissions, the web chat's JSON, the login form, the staff pages'
query strings and forms. Each is either structurally what the platform or the page sends
(with odd values: huge, unicode, NUL, wrong types) or junk.

A `Probe` is one request and whether it is bad input, which must get a 4xx.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from hypothesis import strategies as st

from bot.channels.slack import COMMANDS, POST_ACTION
from bot.web.app import SECRET_HEADER
from bot.web.chat import COOKIE as CHAT_COOKIE
from bot.web.intent_form import FIELDS
from tests.fakes.slack_api import SIGNING_SECRET
from tests.fakes.slack_requests import FORM, envelope
from tests.fakes.telegram_api import SECRET
from tests.fuzz.site import Request

JSON = "application/json"


@dataclass(frozen=True, slots=True)
class Probe:
    """A request, and whether it is bad input (to be refused with a 4xx)."""

    request: Request
    bad: bool = False


# -- values ----------------------------------------------------------------------------------

# Text as people type it, and as they don't: any code point (NUL, surrogates excluded by
# UTF-8), right-to-left and combining marks, emoji, Chinese, and now and then a lot of it.
odd_text = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [
            "",
            " ",
            "\x00",
            "a\x00b",
            "how big is Lingang?",
            "临港有多大？",
            "/start",
            "/mydata",
            "/forget",
            "/contact",
            "/help@lingang_test_bot",
            "\u202eevil",
            "e\u0301" * 50,
            "👍" * 300,
            "<b>&amp;</b>",
            "*_~`<!channel>`",
            "{{ 7*7 }}",
            "' OR 1=1 --",
            "%s%n",
        ]
    ),
    st.text(min_size=3000, max_size=5000, alphabet=st.characters(codec="utf-8")),
)
short_text = st.text(max_size=20)
ids = st.one_of(
    st.integers(),
    st.integers(min_value=-(2**70), max_value=2**70),
    short_text,
    st.none(),
)

# Any JSON value, nested a little.
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | short_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(short_text, inner, max_size=4),
    max_leaves=12,
)
json_objects = st.dictionaries(short_text, json_values, max_size=6)
junk_bytes = st.one_of(
    st.binary(max_size=200),
    st.sampled_from([b"", b"{", b"[", b"null", b"[]", b"{}x", b'"x"', b"\xff\xfe", b"1e999999"]),
)


def _maybe_wrong(value: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly `value`; one time in eight a JSON value of any type instead."""
    return st.integers(0, 7).flatmap(lambda n: json_values if n == 0 else value)


def _with_extra_fields(fields: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    return {**fields, **extra}


def _ascii_header() -> st.SearchStrategy[str]:
    return st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=60)


# -- Telegram ----------------------------------------------------------------------------------

TELEGRAM = "/telegram/webhook"
CHAT_TYPES = st.sampled_from(["private", "group", "supergroup", "channel", "secret", ""])
PAYLOADS = st.sampled_from(
    ["intent:welcome", "intent:nope", "lang:en", "lang:zh", "form:lead", "handoff:request",
     "form:agree", "form:confirm", "form:cancel", "form:choose:company_setup", "form:choose:"]
)  # fmt: skip
button_data = st.one_of(PAYLOADS, short_text, st.text(min_size=60, max_size=80))


@st.composite
def _telegram_user(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "id": draw(_maybe_wrong(st.integers(min_value=1, max_value=2**40))),
        "is_bot": draw(_maybe_wrong(st.booleans())),
        "first_name": draw(_maybe_wrong(odd_text)),
        "language_code": draw(_maybe_wrong(st.sampled_from(["en", "zh-hans", "ru", "", "x" * 40]))),
    }


@st.composite
def _telegram_message(draw: st.DrawFn) -> dict[str, Any]:
    chat_id = draw(st.integers(min_value=-(10**13), max_value=10**13))
    message: dict[str, Any] = {
        "message_id": draw(_maybe_wrong(st.integers(min_value=1, max_value=2**31))),
        "date": draw(_maybe_wrong(st.just(int(time.time())))),
        "chat": {"id": draw(_maybe_wrong(st.just(chat_id))), "type": draw(CHAT_TYPES)},
        "from": draw(_maybe_wrong(_telegram_user())),
    }
    body = draw(st.sampled_from(["text", "contact", "sticker", "caption", "nothing"]))
    if body == "text":
        text = draw(_maybe_wrong(odd_text))
        message["text"] = text
        if isinstance(text, str) and draw(st.booleans()):
            length = draw(st.integers(min_value=-5, max_value=len(text) + 5))
            offset = draw(st.integers(min_value=-5, max_value=len(text) + 5))
            entity = {"type": "bot_command", "offset": offset, "length": length}
            message["entities"] = [draw(_maybe_wrong(st.just(entity)))]
    elif body == "contact":
        contact = {
            "phone_number": draw(_maybe_wrong(odd_text)),
            "first_name": draw(odd_text),
            "user_id": draw(_maybe_wrong(st.integers(min_value=1, max_value=2**40))),
        }
        message["contact"] = contact
    elif body == "sticker":
        message["sticker"] = draw(json_objects)
    elif body == "caption":
        message["caption"] = draw(odd_text)
        message["photo"] = draw(st.lists(json_objects, max_size=2))
    if draw(st.booleans()):
        message["reply_to_message"] = draw(st.just({**message}) | json_objects)
    return _with_extra_fields(message, draw(st.dictionaries(short_text, json_values, max_size=2)))


@st.composite
def _callback_query(draw: st.DrawFn) -> dict[str, Any]:
    query: dict[str, Any] = {
        "id": draw(_maybe_wrong(short_text)),
        "from": draw(_maybe_wrong(_telegram_user())),
        "chat_instance": draw(_maybe_wrong(short_text)),
        "data": draw(_maybe_wrong(button_data)),
    }
    if draw(st.booleans()):
        query["message"] = draw(_telegram_message())
    return query


@st.composite
def telegram_updates(draw: st.DrawFn) -> dict[str, Any]:
    """An update as Telegram sends it: a message, an edit, a button, an odd kind."""
    kind = draw(
        st.sampled_from(
            ["message", "edited_message", "channel_post", "callback_query", "my_chat_member", "x"]
        )
    )
    content: Any
    if kind == "callback_query":
        content = draw(_callback_query())
    elif kind in ("my_chat_member", "x"):
        content = draw(json_values)
    else:
        content = draw(_telegram_message())
    update_id = draw(_maybe_wrong(st.integers(min_value=0, max_value=2**40)))
    return {"update_id": update_id, kind: content}


def telegram_request(body: bytes, secret: str = SECRET) -> Request:
    headers = ((SECRET_HEADER, secret), ("Content-Type", JSON))
    return Request("POST", TELEGRAM, body, headers)


def _telegram_probe(update: dict[str, Any]) -> Probe:
    return Probe(telegram_request(json.dumps(update).encode()))


telegram_probes = st.one_of(
    telegram_updates().map(_telegram_probe),
    telegram_updates().map(_telegram_probe),
    telegram_updates().map(_telegram_probe),
    junk_bytes.map(lambda body: Probe(telegram_request(body), bad=True)),
    json_values.filter(lambda v: not isinstance(v, dict)).map(
        lambda v: Probe(telegram_request(json.dumps(v).encode()), bad=True)
    ),
    telegram_updates().map(
        lambda u: Probe(telegram_request(json.dumps(u).encode(), "wrong-secret-0123"), bad=True)
    ),
)


# -- Slack -----------------------------------------------------------------------------------

SLACK = "/slack/events"
slack_ids = st.one_of(
    st.sampled_from(["U0001", "U0SELL", "UBOT", "D0001", "C0001", "C0SALES", "G0001", ""]),
    short_text,
)
slack_channels = st.one_of(
    st.sampled_from(["D0001", "C0001", "C0SALES", "G0001", "D", ""]), short_text
)
timestamps = st.one_of(
    st.just(f"{int(time.time())}.000100"), st.sampled_from(["", "0", "abc", "1e99"]), short_text
)
ACTION_IDS = st.one_of(
    st.sampled_from(
        [
            "lingang:0",
            "lingang:1",
            POST_ACTION,
            "sales:claim",
            "sales:contacted",
            "sales:won",
            "sales:",
            "other",
        ]
    ),
    short_text.map(lambda s: "lingang:" + s),
    short_text.map(lambda s: "sales:" + s),
)


@st.composite
def slack_events(draw: st.DrawFn) -> dict[str, Any]:
    """An Events API envelope: a message, a mention, an edit, an odd event."""
    kind = draw(st.sampled_from(["message", "app_mention", "reaction_added", "member_joined"]))
    stamp = draw(timestamps)
    event: dict[str, Any] = {
        "type": kind,
        "user": draw(_maybe_wrong(slack_ids)),
        "text": draw(_maybe_wrong(odd_text)),
        "channel": draw(_maybe_wrong(slack_channels)),
        "ts": stamp,
        "event_ts": stamp,
        "channel_type": draw(st.sampled_from(["im", "channel", "group", "mpim", "x"])),
    }
    if draw(st.booleans()):
        event["subtype"] = draw(
            st.sampled_from(
                ["message_changed", "message_deleted", "bot_message", "file_share", "thread_x"]
            )
            | short_text
        )
        event["message"] = draw(json_objects)
    if draw(st.booleans()):
        event["thread_ts"] = draw(_maybe_wrong(timestamps))
    if draw(st.booleans()):
        event["bot_id"] = draw(_maybe_wrong(st.sampled_from(["BBOT", "BOTHER"])))
    event = _with_extra_fields(event, draw(st.dictionaries(short_text, json_values, max_size=2)))
    wrapped = envelope(event, draw(st.text(min_size=1, max_size=140)))
    if draw(st.integers(0, 9)) == 0:
        wrapped[draw(st.sampled_from(list(wrapped)))] = draw(json_values)
    return wrapped


@st.composite
def _interaction(draw: st.DrawFn, response_url: str) -> dict[str, Any]:
    """A `block_actions` or `view_submission` payload."""
    user = {"id": draw(_maybe_wrong(slack_ids)), "team_id": "T0001"}
    if draw(st.booleans()):
        value = draw(_maybe_wrong(st.one_of(short_text, st.integers().map(str), odd_text)))
        action = {"action_id": draw(ACTION_IDS), "block_id": "b1", "value": value}
        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": draw(_maybe_wrong(st.just(user))),
            "api_app_id": "A0001",
            "team": {"id": "T0001", "domain": "test"},
            "container": {
                "type": "message",
                "message_ts": draw(timestamps),
                "channel_id": draw(slack_channels),
                "is_ephemeral": draw(st.booleans()),
            },
            "trigger_id": draw(st.text(min_size=1, max_size=140)),
            "channel": {"id": draw(slack_channels)},
            "response_url": response_url,
            "actions": draw(_maybe_wrong(st.just([action]))),
        }
        if draw(st.booleans()):
            payload["message"] = draw(json_objects)
    else:
        payload = {
            "type": "view_submission",
            "user": user,
            "api_app_id": "A0001",
            "team": {"id": "T0001", "domain": "test"},
            "trigger_id": draw(short_text),
            "view": {
                "id": "V0001",
                "callback_id": draw(short_text),
                "state": {"values": draw(json_objects)},
            },
        }
    return _with_extra_fields(payload, draw(st.dictionaries(short_text, json_values, max_size=2)))


@st.composite
def _slash_command(draw: st.DrawFn, response_url: str) -> dict[str, str]:
    return {
        "token": "x",
        "team_id": "T0001",
        "channel_id": draw(slack_channels),
        "user_id": draw(slack_ids),
        "command": draw(st.sampled_from(COMMANDS) | short_text),
        "text": draw(odd_text),
        "api_app_id": "A0001",
        "response_url": response_url,
        "trigger_id": draw(st.text(min_size=1, max_size=140)),
    }


def slack_request(body: bytes, content_type: str, *, signed: bool = True) -> Request:
    """Signed as Slack signs (over the raw bytes, which need not be UTF-8 here)."""
    secret = SIGNING_SECRET if signed else "not-the-signing-secret-0123456789"
    stamp = str(int(time.time()))
    mac = hmac.new(secret.encode(), b"v0:" + stamp.encode() + b":" + body, hashlib.sha256)
    headers = (
        ("X-Slack-Request-Timestamp", stamp),
        ("X-Slack-Signature", "v0=" + mac.hexdigest()),
        ("Content-Type", content_type),
    )
    return Request("POST", SLACK, body, headers)


def _slack_json(value: Any, *, signed: bool = True) -> Probe:
    body = json.dumps(value).encode()
    return Probe(slack_request(body, JSON, signed=signed), bad=not signed)


def _slack_form(fields: dict[str, str], *, signed: bool = True) -> Probe:
    body = urlencode(fields).encode()
    return Probe(slack_request(body, FORM, signed=signed), bad=not signed)


def slack_probes(response_url: str) -> st.SearchStrategy[Probe]:
    """Signed events, presses, commands, views, any JSON or form; some of them unsigned.
    Answers to a `response_url` go to `response_url` (the fake API's)."""
    interactions = _interaction(response_url).map(lambda p: _slack_form({"payload": json.dumps(p)}))
    return st.one_of(
        slack_events().map(_slack_json),
        slack_events().map(_slack_json),
        interactions,
        interactions,
        _slash_command(response_url).map(_slack_form),
        st.fixed_dictionaries({"type": st.just("url_verification"), "challenge": odd_text}).map(
            _slack_json
        ),
        json_objects.map(_slack_json),
        st.dictionaries(short_text, odd_text, max_size=4).map(_slack_form),
        st.text(max_size=60).map(lambda p: _slack_form({"payload": p})),
        slack_events().map(lambda e: _slack_json(e, signed=False)),
        _slash_command(response_url).map(lambda c: _slack_form(c, signed=False)),
    )


# Junk that Slack never sends, unsigned: refused before it is parsed (issue 16, finding 1/8).
slack_junk_probes = st.one_of(
    junk_bytes.map(lambda b: Probe(slack_request(b, JSON, signed=False), bad=True)),
    junk_bytes.map(lambda b: Probe(slack_request(b, FORM, signed=False), bad=True)),
    json_values.map(lambda v: _slack_json(v, signed=False)),
)


# -- the web chat ----------------------------------------------------------------------------

cookies = st.one_of(
    st.none(),
    st.text(st.characters(codec="ascii", categories=["L", "N"]), min_size=32, max_size=64),
    st.text(
        st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters=';,\\"'),
        max_size=80,
    ),
)
chat_messages = st.one_of(
    st.fixed_dictionaries({"text": _maybe_wrong(odd_text)}),
    st.fixed_dictionaries({"payload": _maybe_wrong(button_data)}),
    st.fixed_dictionaries({"text": odd_text, "payload": button_data}),
    json_objects,
)


def _browser_headers(
    cookie: str | None, language: str, content_type: str
) -> tuple[tuple[str, str], ...]:
    headers = [("Content-Type", content_type), ("Accept-Language", language)]
    if cookie is not None:
        headers.append(("Cookie", f"{CHAT_COOKIE}={cookie}"))
    return tuple(headers)


@st.composite
def chat_probes(draw: st.DrawFn) -> Probe:
    """A POST of the chat page, a look at the history or the relayed messages."""
    cookie = draw(cookies)
    language = draw(st.sampled_from(["en", "zh-CN,zh;q=0.9", "", "*;q=x"]) | _ascii_header())
    kind = draw(st.sampled_from(["message", "message", "message", "junk", "history", "relayed"]))
    if kind == "history":
        return Probe(
            Request("GET", "/chat/history", headers=_browser_headers(cookie, language, JSON))
        )
    if kind == "relayed":
        after = draw(st.integers().map(str) | short_text)
        headers = _browser_headers(cookie, language, JSON)
        return Probe(Request("GET", "/chat/relayed", headers=headers, params=(("after", after),)))
    if kind == "junk":
        content_type = draw(st.sampled_from([JSON, "text/plain", FORM, ""]))
        body = draw(junk_bytes)
        headers = _browser_headers(cookie, language, content_type)
        return Probe(Request("POST", "/chat/messages", body, headers), bad=True)
    message = draw(chat_messages)
    body = json.dumps(message).encode()
    headers = _browser_headers(cookie, language, JSON)
    valid = set(message) in ({"text"}, {"payload"}) and all(
        isinstance(v, str) for v in message.values()
    )
    return Probe(Request("POST", "/chat/messages", body, headers), bad=not valid)


# -- the login form --------------------------------------------------------------------------


@st.composite
def login_probes(draw: st.DrawFn) -> Probe:
    """The login form with any fields (never the right password), or junk."""
    if draw(st.integers(0, 4)) == 0:
        content_type = draw(st.sampled_from([FORM, JSON, "multipart/form-data", "text/plain"]))
        body = draw(junk_bytes)
        return Probe(Request("POST", "/login", body, (("Content-Type", content_type),)), bad=True)
    fields = {
        "email": draw(st.sampled_from(["fuzz-admin@example.com", "admin@localhost"]) | odd_text),
        "password": draw(odd_text),
        "next": draw(st.sampled_from(["/leads", "//evil.example", "/\\evil", ""]) | odd_text),
    }
    fields.update(draw(st.dictionaries(short_text, short_text, max_size=2)))
    body = urlencode(fields).encode()
    return Probe(Request("POST", "/login", body, (("Content-Type", FORM),)), bad=True)


# -- the staff pages -------------------------------------------------------------------------

QUERY_NAMES = st.sampled_from(
    ["status", "channel", "interest", "lang", "q", "sort", "order", "page", "from", "to",
     "period", "search", "intent", "group", "number", "a", "b", "after", "kind", "actor"]
)  # fmt: skip
query_values = st.one_of(
    st.sampled_from(["new", "won", "telegram", "2026-01-01", "2026-13-40", "-1", "0", "1",
                     "99999999999999999999", "desc", "asc", "name", "week", "en", "zh"]),
    odd_text.map(lambda t: t[:300]),
)  # fmt: skip
# A path segment a browser can send (printable, no slash; the rest is percent-encoded).
path_text = st.text(
    st.characters(
        min_codepoint=0x21, exclude_characters="/?#%\x7f", exclude_categories=["Cc", "Cs"]
    ),
    min_size=1,
    max_size=30,
).filter(lambda s: s not in (".", ".."))
queries = st.lists(st.tuples(QUERY_NAMES | short_text, query_values), max_size=5)
STAFF_PAGES = [
    "/leads",
    "/leads/export.csv",
    "/funnel",
    "/admin/intents",
    "/admin/intents/test",
    "/admin/questions",
    "/admin/users",
    "/admin/audit",
    "/admin/review",
    "/admin/catalog/history",
    "/admin/catalog/diff",
    "/admin/catalog/new",
    "/admin/catalog/retired",
    "/admin/catalog/files",
]


def staff_page_probes(
    intent_ids: tuple[str, ...], files: tuple[str, ...]
) -> st.SearchStrategy[Probe]:
    """GET of a staff page, with any query string, as the logged-in admin."""
    path_part = st.sampled_from(intent_ids) | st.integers().map(str) | path_text
    paths = st.one_of(
        st.sampled_from(STAFF_PAGES),
        path_part.map(lambda p: f"/leads/{p}"),
        path_part.map(lambda p: f"/admin/intents/{p}"),
        path_part.map(lambda p: f"/admin/intents/{p}/edit"),
        path_part.map(lambda p: f"/admin/intents/{p}/history"),
        path_part.map(lambda p: f"/admin/catalog/revisions/{p}"),
        st.sampled_from(files) | path_text.map(lambda p: f"faq/{p}"),
    )
    return st.builds(
        lambda path, query: Probe(
            Request("GET", path if path.startswith("/") else f"/admin/catalog/files/{path}",
                    params=tuple(query), staff=True)
        ),
        paths,
        queries,
    )  # fmt: skip


def staff_form_probes(
    intent_ids: tuple[str, ...], files: tuple[str, ...], csrf: str
) -> st.SearchStrategy[Probe]:
    """POST of a staff form with any fields, as the logged-in admin (its CSRF token mostly)."""
    intents = st.sampled_from(intent_ids) | path_text
    lead = st.sampled_from(["1", "2", "0", "-1", "x", "99999999999999999999"])
    token = st.one_of(st.just(csrf), st.just(csrf), st.just(csrf), short_text)
    intent_fields = st.dictionaries(
        st.sampled_from([*FIELDS, "id", "etag", "comment", "file", "new_file", "question",
                         "test_lang"]),
        odd_text.map(lambda t: t[:500]) | st.sampled_from(["Intent:welcome | Hi", "2026-01-01"]),
        max_size=8,
    ).map(lambda d: {"action": "check", **d})  # fmt: skip
    forms = st.one_of(
        st.tuples(lead.map(lambda n: f"/leads/{n}/status"),
                  st.fixed_dictionaries({"status": st.sampled_from(["new", "won", "x", ""]),
                                         "note": odd_text})),
        st.tuples(lead.map(lambda n: f"/leads/{n}/note"),
                  st.fixed_dictionaries({"note": odd_text})),
        st.tuples(st.just("/admin/questions/add-example"),
                  st.fixed_dictionaries({"text": odd_text,
                                         "lang": st.sampled_from(["en", "zh", "x"]),
                                         "intent": intents, "ids": query_values,
                                         "group": query_values, "upto": query_values})),
        st.tuples(st.just("/admin/questions/dismiss"),
                  st.fixed_dictionaries({"ids": query_values, "group": query_values,
                                         "upto": query_values})),
        st.tuples(st.just("/admin/catalog/new"), intent_fields),
        st.tuples(intents.map(lambda i: f"/admin/intents/{i}/edit"), intent_fields),
        st.tuples((st.sampled_from(files) | path_text).map(lambda f: f"/admin/catalog/files/{f}"),
                  st.fixed_dictionaries({"text": odd_text | json_values.map(json.dumps),
                                         "action": st.just("check"), "etag": short_text})),
        st.tuples(st.just("/admin/intents/test"), st.fixed_dictionaries({"q": odd_text})),
    )  # fmt: skip

    def probe(form: tuple[str, dict[str, str]], csrf_token: str) -> Probe:
        path, fields = form
        body = urlencode({**fields, "csrf": csrf_token}).encode()
        headers = (("Content-Type", FORM), ("Origin", "https://127.0.0.1:8000"))
        return Probe(Request("POST", path, body, headers, staff=True))

    return st.builds(probe, forms, token)
