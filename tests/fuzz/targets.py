"""What is fuzzed, by name: each target is a strategy of inputs and the way one is fed to the
site. HTTP targets answer with the response's status; the catalog's parsers and the engine
with 200 (done) or 400 (refused with the error they document for bad input).

The tests in this folder and `bench/fuzz.py` run the same targets.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from bot.catalog_edits import validate
from bot.core.messages import Incoming
from bot.web.intent_form import FIELDS, form_values, intent_data, read_values
from intents.drafts import faq_intents
from intents.editing import EditError, clean_example, insert_example
from intents.text import Lang
from tests.fuzz import inputs
from tests.fuzz.inputs import Probe, odd_text, short_text
from tests.fuzz.site import FuzzSite


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one input got: a status, and whether it was bad input (a 4xx expected)."""

    status: int
    bad: bool = False


@dataclass(frozen=True, slots=True)
class Target:
    """A strategy of inputs, and how one is fed to the site."""

    name: str
    inputs: st.SearchStrategy[Any]
    feed: Callable[[FuzzSite, Any], Outcome]


def _http(site: FuzzSite, probe: Probe) -> Outcome:
    return Outcome(site.send(probe.request), probe.bad)


# -- the catalog's parsers -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ExampleInsert:
    """`insert_example` on a catalog file (or any text) and an intent id."""

    source: str
    intent_id: str
    lang: str
    text: str


@dataclass(frozen=True, slots=True)
class IntentForm:
    """The intent editor's fields as the page fills them for an intent (`opened`, None for
    a new one), some changed to `changes`, turned into an intent and validated."""

    intent_id: str
    opened: Mapping[str, Any] | None
    changes: dict[str, str]


def _catalog_inputs(site: FuzzSite) -> st.SearchStrategy[ExampleInsert | IntentForm]:
    files = site.app.catalog.files()
    located = sorted(faq_intents(files).items())
    # An intent and the file it is in (the admin pages' case), or any text and any id.
    in_its_file = st.sampled_from(located).map(lambda item: (files[item[1].path], item[0]))
    odd_yaml = ["intents: []", "- a\n- b", "x: !!python/name:os.system", "&a [*a]"]
    anything = st.tuples(
        odd_text | st.sampled_from(odd_yaml), st.sampled_from(site.intent_ids) | short_text
    )
    inserts = st.builds(
        lambda where, lang, text: ExampleInsert(where[0], where[1], lang, text),
        in_its_file | in_its_file | anything,
        st.sampled_from(["en", "zh"]),
        odd_text,
    )
    # The editor's fields as the page fills them for an intent, a few of them changed.
    opened = st.sampled_from(located).map(lambda item: (item[0], item[1].data))
    forms = st.builds(
        lambda intent, changes: IntentForm(intent[0], intent[1], changes),
        opened | short_text.map(lambda new: (new, None)),
        st.dictionaries(st.sampled_from(FIELDS), odd_text.map(lambda t: t[:400]), max_size=3),
    )
    return st.one_of(inserts, forms)


def _parse_catalog(site: FuzzSite, edit: ExampleInsert | IntentForm) -> Outcome:
    if isinstance(edit, ExampleInsert):
        clean_example(edit.text)
        try:
            lang: Lang = "en" if edit.lang == "en" else "zh"
            insert_example(edit.source, edit.intent_id, lang, edit.text)
        except EditError:
            return Outcome(400)
        return Outcome(200)
    shown = form_values(edit.opened) if edit.opened is not None else {}
    values = read_values({**shown, **edit.changes})
    data, problems = intent_data(edit.intent_id, values, edit.opened)
    problems += validate(data)
    # (drafting the catalog with it takes seconds: the staff forms target posts the editor)
    return Outcome(400 if problems else 200)


# -- the engine --------------------------------------------------------------------------------

incomings = st.builds(
    Incoming,
    channel=st.sampled_from(["web", "telegram", "slack", "console"]) | short_text,
    conversation_id=st.sampled_from(["c1", "c2", "-100123"]) | st.text(max_size=200),
    user_id=st.sampled_from(["u1", "u2"]) | st.text(max_size=200),
    text=odd_text,
    payload=st.none() | inputs.button_data,
    language_hint=st.none() | st.sampled_from(["en", "zh", "zh-hans", "ru"]) | short_text,
    user_display_name=st.none() | odd_text,
    event_id=st.none() | st.text(min_size=1, max_size=128),
    private=st.booleans(),
)


def _handle(site: FuzzSite, incoming: Incoming) -> Outcome:
    site.app.engine.handle(incoming)
    return Outcome(200)


def targets(site: FuzzSite) -> list[Target]:
    """Every target, built over the site (its intent ids, files and CSRF token)."""
    return [
        Target("telegram", inputs.telegram_probes, _http),
        Target("slack", inputs.slack_probes(site.response_url), _http),
        Target("slack junk", inputs.slack_junk_probes, _http),
        Target("web chat", inputs.chat_probes(), _http),
        Target("login", inputs.login_probes(), _http),
        Target("staff pages", inputs.staff_page_probes(site.intent_ids, site.files), _http),
        Target(
            "staff forms",
            inputs.staff_form_probes(site.intent_ids, site.files, site.csrf),
            _http,
        ),
        Target("catalog edits", _catalog_inputs(site), _parse_catalog),
        Target("engine", incomings, _handle),
    ]
