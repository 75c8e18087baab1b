"""What is fuzzed, by name: each target is a strategy of inputs and the way one is fed to the
site. HTTP targets answer with the response's status; the catalog's parsers and the engine
with 200 (done) or 400 (refused with the error they document for bad input).

The tests in this folder and `bench/fuzz.py` run the same targets.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from bot.catalog_edits import EditConflict, InvalidIntent, validate
from bot.core.messages import Incoming
from bot.web.catalog_history import find_intent
from bot.web.intent_form import FIELDS, intent_data, read_values
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
    """The intent editor's fields, as posted, turned into an intent and drafted."""

    intent_id: str
    form: dict[str, str]
    keep_existing: bool


def _catalog_inputs(site: FuzzSite) -> st.SearchStrategy[ExampleInsert | IntentForm]:
    files = site.app.catalog.files()
    sources = st.one_of(
        st.sampled_from([text for path, text in sorted(files.items()) if path.startswith("faq/")]),
        odd_text,
        st.sampled_from(["intents: []", "- a\n- b", "x: !!python/object:os.system ls", "&a [*a]"]),
    )
    intent_ids = st.sampled_from(site.intent_ids) | short_text
    inserts = st.builds(ExampleInsert, sources, intent_ids, st.sampled_from(["en", "zh"]), odd_text)
    forms = st.builds(
        IntentForm,
        intent_ids,
        st.dictionaries(st.sampled_from(FIELDS), odd_text.map(lambda t: t[:400]), max_size=8),
        st.booleans(),
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
    opened = find_intent(site.app.catalog.files(), edit.intent_id)
    before = opened.data if opened is not None and edit.keep_existing else None
    data, problems = intent_data(edit.intent_id, read_values(edit.form), before)
    problems += validate(data)
    if problems:
        return Outcome(400)
    try:
        site.app.editor.draft(edit.intent_id, data)
    except (InvalidIntent, EditError, EditConflict):
        return Outcome(400)
    return Outcome(200)


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
)


def _handle(site: FuzzSite, incoming: Incoming) -> Outcome:
    site.app.engine.handle(incoming)
    return Outcome(200)


def targets(site: FuzzSite) -> list[Target]:
    """Every target, built over the site (its intent ids, files and CSRF token)."""
    return [
        Target("telegram", inputs.telegram_probes, _http),
        Target("slack", inputs.slack_probes, _http),
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
