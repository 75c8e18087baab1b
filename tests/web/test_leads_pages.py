"""The sales pages through HTTP: the leads table, a lead's page, changes and the CSV export."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from itertools import count

import pytest
from fastapi.testclient import TestClient

from bot.app import App
from bot.core.dashboard import LeadQuery
from bot.core.messages import Incoming
from bot.core.records import LeadSubmission
from tests.web.conftest import staff_client

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
_ids = count(1)
FORM = [
    ("I'd like a quote", None),
    ("", "form:agree"),
    ("Ann Lee", None),
    ("Acme GmbH", None),
    ("ann@acme.de", None),
    ("Germany", None),
    ("+49 30 12345678", None),
    ("", "form:choose:company_setup"),
    ("", "form:choose:within_3_months"),
    ("Call me after lunch", None),
    ("", "form:confirm"),
]


def add_lead(
    app: App,
    *,
    at: datetime = T0,
    channel: str = "telegram",
    language: str = "en",
    score: int = 50,
    fields: dict[str, str] | None = None,
    **answers: str,
) -> int:
    """A confirmed lead form stored as the engine stores one; the new lead's id."""
    n = next(_ids)
    defaults = {"name": f"Person {n}", "email": f"p{n}@example.com", "company": f"Co {n}"}
    done = app.storage.leads.submit(
        LeadSubmission(
            submission_id=f"s{n}",
            channel=channel,
            user_id=f"u{n}",
            conversation_id=f"c{n}",
            language=language,
            notice_version="2026-11-26",
            consented_at=at - timedelta(minutes=2),
            submitted_at=at,
            answers={**defaults, **(fields or {}), **answers},
            score=score,
            question="how much is the rent?",
        )
    )
    assert done.created
    return done.lead.id


def lead_through_the_chat(app: App, user: str = "web-ann") -> int:
    """Ann's lead, made by talking to the engine on the web channel."""
    for text, payload in FORM:
        app.engine.handle(Incoming("web", user, user, text=text, payload=payload, private=True))
    [lead] = app.storage.dashboard.leads(LeadQuery(channel="web")).leads
    return lead.id


def ids(response_text: str) -> list[int]:
    """The lead ids in the table, in order."""
    return [int(i) for i in re.findall(r'data-lead="(\d+)"', response_text)]


@pytest.fixture
def sales(site_app: App, site: TestClient) -> str:
    """`site` logged in as sales; the session's CSRF token."""
    return staff_client(site_app, site, "sales")


# -- who may see the pages ------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/leads", "/leads/1", "/leads/export.csv", "/funnel"])
def test_anonymous_visitors_are_sent_to_the_login(site: TestClient, path: str) -> None:
    response = site.get(path)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=")


def test_anonymous_status_change_is_refused_and_changes_nothing(
    site_app: App, site: TestClient
) -> None:
    lead = add_lead(site_app)
    response = site.post(f"/leads/{lead}/status", data={"status": "won", "csrf": "x"})
    assert response.status_code == 401
    assert site_app.storage.leads.get(lead).status == "new"  # type: ignore[union-attr]


def test_admins_see_the_leads_too(site_app: App, site: TestClient) -> None:
    lead = add_lead(site_app)
    staff_client(site_app, site, "admin")
    assert ids(site.get("/leads").text) == [lead]


# -- the table --------------------------------------------------------------------------------


def test_table_lists_leads_newest_first_with_score(
    site_app: App, site: TestClient, sales: str
) -> None:
    old = add_lead(site_app, at=T0, score=35, name="Old Lead")
    new = add_lead(site_app, at=T0 + timedelta(days=1), score=70, name="New Lead")
    page = site.get("/leads")
    assert page.status_code == 200
    assert ids(page.text) == [new, old]
    assert re.search(r"<td>70</td>", page.text)
    assert f'href="/leads/{new}"' in page.text
    assert "2 leads" in page.text


def test_each_filter_changes_the_rows(site_app: App, site: TestClient, sales: str) -> None:
    a = add_lead(
        site_app, channel="telegram", language="en", interest="ic_industry", at=T0, email="z@ex.de"
    )
    b = add_lead(
        site_app, channel="slack", language="zh", interest="company_setup", at=T0 + timedelta(1)
    )
    c = add_lead(site_app, channel="web", language="en", interest="ic_industry", at=T0, name="Zoë")
    site_app.storage.leads.set_status(c, "contacted", "test", None)
    rows = {
        "": [b, c, a],
        "?status=contacted": [c],
        "?channel=slack": [b],
        "?interest=ic_industry": [c, a],
        "?language=zh": [b],
        "?from=2026-03-03": [b],
        "?to=2026-03-02": [c, a],
        "?from=2026-03-02&to=2026-03-02": [c, a],
        "?q=zo%C3%AB": [c],
        "?q=Z@EX.DE": [a],
        "?q=nothing-like-this": [],
        "?channel=web&interest=ic_industry&language=en": [c],
    }
    for query, expected in rows.items():
        response = site.get(f"/leads{query}")
        assert response.status_code == 200, query
        assert ids(response.text) == expected, query


def test_search_takes_percent_and_underscore_literally(
    site_app: App, site: TestClient, sales: str
) -> None:
    plain = add_lead(site_app, company="Acme")
    literal = add_lead(site_app, company="100% Acme_AG")
    assert ids(site.get("/leads?q=%25").text) == [literal]
    assert ids(site.get("/leads?q=e_A").text) == [literal]
    assert ids(site.get("/leads?q=acme").text) == [literal, plain]


def test_sort_orders_the_rows(site_app: App, site: TestClient, sales: str) -> None:
    low = add_lead(site_app, score=10, name="bob", company="Zeta", at=T0)
    high = add_lead(site_app, score=90, name="Alice", company="alpha", at=T0 + timedelta(1))
    mid = add_lead(site_app, score=50, name="Carol", company="Mu", at=T0 + timedelta(2))
    site_app.storage.leads.set_status(low, "won", "test", None)
    site_app.storage.leads.set_status(mid, "contacted", "test", None)
    orders = {
        "sort=score": [high, mid, low],
        "sort=score&order=asc": [low, mid, high],
        "sort=name&order=asc": [high, low, mid],
        "sort=company&order=desc": [low, mid, high],
        "sort=status&order=asc": [high, mid, low],
        "sort=created&order=asc": [low, high, mid],
    }
    for query, expected in orders.items():
        assert ids(site.get(f"/leads?{query}").text) == expected, query


def test_sort_links_keep_the_filters(site_app: App, site: TestClient, sales: str) -> None:
    add_lead(site_app)
    page = site.get("/leads?status=new&q=person")
    assert 'href="/leads?status=new&amp;q=person&amp;sort=score&amp;order=desc"' in page.text


def test_pages_of_25_with_total_and_links(site_app: App, site: TestClient, sales: str) -> None:
    made = [add_lead(site_app, at=T0 + timedelta(minutes=i)) for i in range(30)]
    newest_first = made[::-1]
    first = site.get("/leads?channel=telegram")
    assert ids(first.text) == newest_first[:25]
    assert "30 leads, showing 1–25" in first.text
    assert 'href="/leads?channel=telegram&amp;page=2"' in first.text
    assert 'rel="prev"' not in first.text
    second = site.get("/leads?channel=telegram&page=2")
    assert ids(second.text) == newest_first[25:]
    assert "Page 2 of 2" in second.text
    assert 'href="/leads?channel=telegram&amp;page=1"' in second.text
    assert 'rel="next"' not in second.text
    beyond = site.get("/leads?page=7")
    assert (beyond.status_code, ids(beyond.text)) == (200, [])


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("status=asleep", "status: &#39;asleep&#39; is not one of new, contacted"),
        ("channel=%3Cscript%3E", "channel: &#39;&lt;script&gt;&#39; is not a channel name"),
        ("interest=yachts", "interest: &#39;yachts&#39; is not one of company_setup"),
        ("language=fr", "language: &#39;fr&#39; is not one of en, zh"),
        ("from=yesterday", "from: &#39;yesterday&#39; is not a date of the form YYYY-MM-DD"),
        ("to=2026-02-30", "to: &#39;2026-02-30&#39; is not a date"),
        ("from=2026-03-05&to=2026-03-01", "the start date is after the end date"),
        ("sort=password", "sort: &#39;password&#39; is not one of created, score"),
        ("order=sideways", "order: &#39;sideways&#39; is not one of desc, asc"),
        ("page=0", "page: &#39;0&#39; is not a page number"),
        ("page=two", "page: &#39;two&#39; is not a page number"),
        ("q=" + "x" * 201, "q: the search text is longer than 200 characters"),
    ],
)
def test_bad_filters_get_a_clear_message(
    site_app: App, site: TestClient, sales: str, query: str, message: str
) -> None:
    for path in ("/leads", "/leads/export.csv"):
        response = site.get(f"{path}?{query}")
        assert response.status_code == 400, path
        assert message in response.text, path


# -- a lead's page ----------------------------------------------------------------------------


def test_lead_page_shows_fields_consent_history_and_transcript(
    site_app: App, site: TestClient, sales: str
) -> None:
    lead = lead_through_the_chat(site_app)
    page = site.get(f"/leads/{lead}")
    assert page.status_code == 200
    text = page.text
    for shown in ("Ann Lee", "Acme GmbH", "ann@acme.de", "Germany", "Call me after lunch"):
        assert shown in text
    assert "<dt>Interest</dt>" in text
    assert "Company set-up" in text  # the choice's title from lead.yaml, and its value
    assert "(company_setup)" in text
    assert "<dd>100</dd>" in text  # the score
    assert "I&#39;d like a quote" in text  # the question that led to it, and the transcript
    consent = site_app.storage.leads.consent(site_app.storage.leads.get(lead).consent_id)  # type: ignore[union-attr]
    assert consent is not None
    section = text[text.index('id="consent"') : text.index('id="status-form"')]
    assert "2026-11-26" in section
    assert consent.at.strftime("%Y-%m-%d %H:%M:%S UTC") in section
    assert "<dt>Channel</dt><dd>web</dd>" in section
    history = text[text.index('id="history"') : text.index('id="transcript"')]
    assert "created" in history
    assert "web:prospect" in history
    transcript = text[text.index('id="transcript"') :]
    assert "Prospect" in transcript
    assert "[form answer]" in transcript  # form answers stay in the lead, not the transcript


@pytest.mark.parametrize("path", ["/leads/999", "/leads/0", "/leads/abc", "/leads/99999999999"])
def test_unknown_lead_is_a_404_page(site: TestClient, sales: str, path: str) -> None:
    response = site.get(path)
    assert response.status_code == 404
    assert "There is no lead" in response.text


# -- changes ----------------------------------------------------------------------------------


def test_status_change_is_recorded_with_actor_note_and_audit(
    site_app: App, site: TestClient, sales: str
) -> None:
    lead = add_lead(site_app)
    response = site.post(
        f"/leads/{lead}/status",
        data={"status": "contacted", "note": "left a voicemail", "csrf": sales},
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/leads/{lead}"
    assert site_app.storage.leads.get(lead).status == "contacted"  # type: ignore[union-attr]
    event = site_app.storage.leads.history(lead)[-1]
    assert (event.kind, event.status, event.actor, event.note) == (
        "status",
        "contacted",
        "web:sales@example.com",
        "left a voicemail",
    )
    audit = site_app.storage.staff.audit_log(limit=1)[0]
    assert (audit.actor, audit.action, audit.target) == (
        "web:sales@example.com",
        "lead.status",
        f"lead {lead}",
    )
    assert audit.details == {"from": "new", "to": "contacted", "note": True}
    page = site.get(f"/leads/{lead}").text
    assert "status new → contacted" in page
    assert "left a voicemail" in page


def test_note_is_recorded_without_changing_the_status(
    site_app: App, site: TestClient, sales: str
) -> None:
    lead = add_lead(site_app)
    site_app.storage.leads.set_status(lead, "qualified", "test", None)
    response = site.post(
        f"/leads/{lead}/note", data={"note": "  wants a call in May  ", "csrf": sales}
    )
    assert response.status_code == 303
    assert site_app.storage.leads.get(lead).status == "qualified"  # type: ignore[union-attr]
    event = site_app.storage.leads.history(lead)[-1]
    assert (event.status, event.actor, event.note) == (
        "qualified",
        "web:sales@example.com",
        "wants a call in May",
    )
    audit = site_app.storage.staff.audit_log(limit=1)[0]
    assert (audit.action, audit.target) == ("lead.note", f"lead {lead}")
    assert re.search(
        r"<td>note</td>\s*<td>web:sales@example.com</td>", site.get(f"/leads/{lead}").text
    )


@pytest.mark.parametrize(
    ("path", "data", "message"),
    [
        ("status", {"status": "asleep"}, "&#39;asleep&#39; is not a status"),
        ("status", {}, "&#39;&#39; is not a status"),
        ("note", {"note": "   "}, "The note is empty"),
        ("note", {}, "The note is empty"),
        ("note", {"note": "x" * 2001}, "longer than 2000 characters"),
        ("status", {"status": "won", "note": "x" * 2001}, "longer than 2000 characters"),
    ],
)
def test_bad_changes_get_a_clear_message_and_change_nothing(
    site_app: App, site: TestClient, sales: str, *, path: str, data: dict[str, str], message: str
) -> None:
    lead = add_lead(site_app)
    before = site_app.storage.leads.history(lead)
    response = site.post(f"/leads/{lead}/{path}", data={**data, "csrf": sales})
    assert response.status_code == 400
    assert message in response.text
    assert site_app.storage.leads.history(lead) == before
    assert site_app.storage.leads.get(lead).status == "new"  # type: ignore[union-attr]


def test_change_to_an_unknown_lead_is_a_404(site: TestClient, sales: str) -> None:
    response = site.post("/leads/424242/status", data={"status": "won", "csrf": sales})
    assert response.status_code == 404


@pytest.mark.parametrize("path", ["status", "note"])
@pytest.mark.parametrize(
    ("token", "headers"),
    [
        (None, {}),
        ("wrong", {}),
        ("valid", {"Origin": "https://evil.example"}),
        ("valid", {"Sec-Fetch-Site": "cross-site"}),
    ],
)
def test_forged_changes_are_refused_and_change_nothing(
    site_app: App,
    site: TestClient,
    sales: str,
    *,
    path: str,
    token: str | None,
    headers: dict[str, str],
) -> None:
    lead = add_lead(site_app)
    data = {"status": "won", "note": "forged"}
    if token is not None:
        data["csrf"] = sales if token == "valid" else token
    audit_before = site_app.storage.staff.audit_log()
    response = site.post(f"/leads/{lead}/{path}", data=data, headers=headers)
    assert response.status_code == 403
    assert site_app.storage.leads.get(lead).status == "new"  # type: ignore[union-attr]
    assert [e.kind for e in site_app.storage.leads.history(lead)] == ["created"]
    assert site_app.storage.staff.audit_log() == audit_before


def test_no_get_changes_anything(site_app: App, site: TestClient, sales: str) -> None:
    lead = add_lead(site_app)
    before = (site_app.storage.leads.get(lead), site_app.storage.leads.history(lead))
    for path in (
        f"/leads/{lead}",
        f"/leads/{lead}/status?status=won&note=x&csrf={sales}",
        f"/leads/{lead}/note?note=x&csrf={sales}",
        "/leads?status=won",
        "/leads/export.csv",
        "/funnel",
    ):
        assert site.get(path).status_code in (200, 405), path
    assert (site_app.storage.leads.get(lead), site_app.storage.leads.history(lead)) == before


# -- CSV export -------------------------------------------------------------------------------

DANGEROUS = ("=", "+", "-", "@", "\t", "\r", "\0")


def test_export_honours_the_filter_and_is_all_rows_not_one_page(
    site_app: App, site: TestClient, sales: str
) -> None:
    slack = [add_lead(site_app, channel="slack") for _ in range(27)]
    add_lead(site_app, channel="telegram")
    response = site.get("/leads/export.csv?channel=slack&sort=created&order=asc&page=2")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"].startswith('attachment; filename="leads-')
    header, *rows = list(csv.reader(io.StringIO(response.text, newline="")))
    assert header[:4] == ["id", "created_at", "updated_at", "status"]
    assert [int(row[0]) for row in rows] == slack
    audit = site_app.storage.staff.audit_log(limit=1)[0]
    assert (audit.actor, audit.action) == ("web:sales@example.com", "leads.export")
    assert audit.details == {
        "filters": {"channel": "slack", "order": "asc"},
        "rows": 27,
    }


def test_export_neutralises_formulas_and_quotes_by_rfc_4180(
    site_app: App, site: TestClient, sales: str
) -> None:
    starts = {
        "name": '=HYPERLINK("http://evil.example","x")',
        "company": "+Acme",
        "country": "-Germany",
        "email": "@evil",
        "note": "\tcmd",
        "timeline": "\rlater",
        "phone": "\0zero",
    }
    lead = add_lead(site_app, fields=starts)
    tricky = add_lead(site_app, name='He said "hi", then\r\nleft', company="a,b")
    response = site.get("/leads/export.csv?sort=created&order=asc")
    raw = response.content.decode("utf-8")
    header, *rows = list(csv.reader(io.StringIO(raw, newline="")))
    cells = {int(row[0]): dict(zip(header, row, strict=True)) for row in rows}
    dangerous = [c for row in rows for c in row if c.startswith(DANGEROUS)]
    assert dangerous == []
    for field, value in starts.items():
        assert cells[lead][field] == "'" + value
    assert cells[tricky]["name"] == 'He said "hi", then\r\nleft'
    assert cells[tricky]["company"] == "a,b"
    # RFC 4180: every field quoted, quotes doubled, CRLF between records.
    assert '"He said ""hi"", then\r\nleft"' in raw
    assert raw.startswith('"id","created_at"')
    assert raw.endswith("\r\n")
    assert raw.count("\r\n") == 3 + 1  # header, two rows, and the line break inside a name


# -- what prospects typed is shown as text ----------------------------------------------------


def test_markup_in_lead_fields_is_escaped_in_the_list_and_the_page(
    site_app: App, site: TestClient, sales: str
) -> None:
    lead = add_lead(
        site_app,
        name="<img src=x onerror=alert(1)>",
        company='"><svg onload=alert(1)>',
        interest="javascript:alert(1)",
        note="</textarea><script>alert(1)</script>",
    )
    for path in ("/leads", f"/leads/{lead}"):
        text = site.get(path).text
        assert "<img src=x" not in text
        assert "<svg onload" not in text
        assert "<script>alert" not in text
        assert 'href="javascript:' not in text
        assert "&lt;img src=x onerror=alert(1)&gt;" in text
        assert "&#34;&gt;&lt;svg onload=alert(1)&gt;" in text
        assert "javascript:alert(1)" in text
