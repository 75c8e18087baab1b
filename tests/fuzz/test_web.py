"""Fuzzing what browsers and scripts send: the web chat's JSON, the login form, the staff
pages' query strings and the staff forms (as the logged-in admin, CSRF token mostly right)."""

from __future__ import annotations

from tests.fuzz.checks import check_target
from tests.fuzz.site import FuzzSite
from tests.fuzz.targets import Target


def test_web_chat_json_gets_no_500_and_bad_messages_a_4xx(
    site: FuzzSite, by_name: dict[str, Target]
) -> None:
    check_target(site, by_name["web chat"], examples=120)


def test_login_form_refuses_any_fields_and_junk_with_a_4xx(
    site: FuzzSite, by_name: dict[str, Target]
) -> None:
    check_target(site, by_name["login"], examples=20)


def test_staff_pages_take_any_query_string(site: FuzzSite, by_name: dict[str, Target]) -> None:
    check_target(site, by_name["staff pages"], examples=80)


def test_staff_forms_take_any_fields(site: FuzzSite, by_name: dict[str, Target]) -> None:
    check_target(site, by_name["staff forms"], examples=60)
