"""Searching leads (the Slack `/leads` command's search) finds the text typed, literally: `%`, `_`
and `\\` are not LIKE wildcards, in memory and on both backends."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.core.records import LeadFilter, LeadSubmission
from tests.chat import Stores

AT = datetime(2026, 12, 6, 9, 30, tzinfo=UTC)


def lead(stores: Stores, key: str, company: str) -> int:
    """A confirmed lead form from company `company`; the lead's id."""
    done = stores.leads.submit(
        LeadSubmission(
            submission_id=key,
            channel="slack",
            user_id=key,
            conversation_id=key,
            language="en",
            notice_version="2026-11-26",
            consented_at=AT,
            submitted_at=AT,
            answers={"name": f"Person {key}", "company": company},
            score=40,
        )
    )
    return done.lead.id


def test_wildcards_in_a_search_are_literal(stores: Stores) -> None:
    plain = lead(stores, "p", "Acme Semiconductors")
    odd = lead(stores, "o", "50%_OFF\\Trading")

    def found(text: str) -> list[int]:
        return sorted(each.id for each in stores.leads.find(LeadFilter(search=text)))

    assert found("acme") == [plain]
    assert found("%") == [odd]
    assert found("_") == [odd]
    assert found("\\") == [odd]
    assert found("0%_o") == [odd]
    assert found("a%e") == []
    assert found("_cme") == []
