"""The smallest inputs behind each crash the fuzzing found, kept as they were sent, each
guarding its fix: unsigned junk to Slack and a signed form whose payload is not JSON (the
signature precheck, review findings 1 and 8); signed Slack bodies of the wrong shape (6cad68c);
Telegram deliveries of the wrong shape or type, a question id past 64 bits, a control
character in a catalog file (6d5258c)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import pytest

from tests.fakes.slack_requests import FORM
from tests.fuzz.checks import check_one
from tests.fuzz.inputs import JSON, Probe, slack_request, telegram_request
from tests.fuzz.site import FuzzSite, Request
from tests.fuzz.targets import Target


def _update(number: int, **content: Any) -> Probe:
    return Probe(telegram_request(json.dumps({"update_id": number, **content}).encode()))


def _interaction(payload: dict[str, Any]) -> Probe:
    return Probe(slack_request(urlencode({"payload": json.dumps(payload)}).encode(), FORM))


def _message(**fields: Any) -> dict[str, Any]:
    sender = {"id": 777, "is_bot": False, "first_name": "Ann", "language_code": "en"}
    chat = {"id": 777, "type": "private"}
    return {"message_id": 1, "date": 1796590000, "chat": chat, "from": sender, **fields}


def _press(data: Any) -> dict[str, Any]:
    sender = {"id": 777, "is_bot": False, "first_name": "Ann", "language_code": "en"}
    return {"id": "q1", "from": sender, "chat_instance": "x", "data": data}


@pytest.mark.parametrize(
    "probe",
    [_update(901, my_chat_member=[]), _update(902, message=False)],
    ids=["member-list", "message-false"],
)
def test_telegram_update_whose_content_is_not_an_object_is_a_400(
    site: FuzzSite, by_name: dict[str, Target], probe: Probe
) -> None:
    check_one(site, by_name["telegram"], probe)


@pytest.mark.parametrize(
    "probe",
    [
        _update(911, callback_query=_press(["intent:welcome"])),
        _update(912, message=_message(text="hi", date=-1e33)),
        _update(
            913,
            message=_message(
                text="hi",
                **{
                    "from": {
                        "id": 777,
                        "is_bot": False,
                        "first_name": "Ann",
                        "language_code": ["en"],
                    }
                },
            ),
        ),
    ],
    ids=["button-data-a-list", "date-out-of-range", "language-code-a-list"],
)
def test_telegram_update_with_values_of_the_wrong_type_is_a_400(
    site: FuzzSite, by_name: dict[str, Target], probe: Probe
) -> None:
    check_one(site, by_name["telegram"], probe)


def _staff_form(path: str, site: FuzzSite, **fields: str) -> Probe:
    body = urlencode({**fields, "csrf": site.csrf}).encode()
    headers = (("Content-Type", FORM), ("Origin", "https://127.0.0.1:8000"))
    return Probe(Request("POST", path, body, headers, staff=True))


def test_dismissing_a_question_id_past_64_bits_is_a_4xx(
    site: FuzzSite, by_name: dict[str, Target]
) -> None:
    huge = "99999999999999999999"
    probe = _staff_form("/admin/questions/dismiss", site, ids=huge, group=huge, upto=huge)
    check_one(site, by_name["staff forms"], probe)


def test_checking_a_catalog_file_with_a_control_character_is_a_4xx(
    site: FuzzSite, by_name: dict[str, Target]
) -> None:
    path = f"/admin/catalog/files/{site.files[0]}"
    probe = _staff_form(path, site, text="\x0c", action="check", etag="")
    check_one(site, by_name["staff forms"], probe)


def test_signed_slack_form_whose_payload_is_not_json_is_a_400(
    site: FuzzSite, by_name: dict[str, Target]
) -> None:
    check_one(site, by_name["slack"], Probe(slack_request(b"payload=x", FORM), bad=True))


@pytest.mark.parametrize(
    "probe",
    [
        _interaction({"type": "block_actions", "actions": []}),
        _interaction(
            {
                "type": "view_submission",
                "user": {"id": "U0001", "team_id": "T0001"},
                "team": {"id": "T0001", "domain": "test"},
                "view": {"id": "V0001", "callback_id": "", "state": {"values": {}}},
            }
        ),
        Probe(slack_request(json.dumps({"type": "event_callback", "event": "x"}).encode(), JSON)),
    ],
    ids=["no-actions", "view-without-type", "event-not-an-object"],
)
def test_signed_slack_body_of_the_wrong_shape_is_a_4xx_without_a_traceback(
    site: FuzzSite, by_name: dict[str, Target], probe: Probe
) -> None:
    check_one(site, by_name["slack"], probe)


@pytest.mark.parametrize("body", [b"null", b"[]", b"\xff"], ids=["null", "list", "not-utf8"])
def test_unsigned_slack_junk_is_a_401(
    site: FuzzSite, by_name: dict[str, Target], body: bytes
) -> None:
    check_one(site, by_name["slack junk"], Probe(slack_request(body, JSON, signed=False), True))
