"""Load and validate the content: intents (`faq/*.yaml`), settings and replies (`catalog.yaml`).

Every problem is reported with the file and line it comes from; a catalog with any problem is
not loaded at all, so a bad edit can never replace a good catalog.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Annotated, Literal, TypeVar

from pydantic import BaseModel, Field, StringConstraints, ValidationError, field_validator

from intents.content import Localized, Model, Phrases, Text
from intents.forms import LeadFormSpec
from intents.handoff import FeedbackSettings, HandoffSettings
from intents.sales import SalesDeskSpec
from intents.sourcefile import SourceError, SourceFile, read_source

PACKAGED_DIR = Path(__file__).resolve().parent
# Ids stay short so that every button payload fits a Telegram callback (64 bytes).
INTENT_ID = r"^[a-z][a-z0-9_]{1,39}$"
PAYLOAD = re.compile(r"^(intent:[a-z][a-z0-9_]{1,39}|lang:(en|zh)|form:lead|handoff:request)$")

M = TypeVar("M", bound=BaseModel)


class ButtonSpec(Model):
    """A follow-up choice: another intent (`intent:ID`), a language (`lang:en|zh`), the
    lead form (`form:lead`) or a person from the team now (`handoff:request`)."""

    title: Localized
    payload: Annotated[str, StringConstraints(pattern=PAYLOAD.pattern)]


class Intent(Model):
    """One thing a prospect may ask, with the ways they ask it and the answer."""

    id: Annotated[str, StringConstraints(pattern=INTENT_ID)]
    title: Localized
    tags: tuple[Text, ...] = ()
    examples: Phrases
    negatives: Phrases = Phrases()
    tests: Phrases = Phrases()
    answer: Localized
    buttons: tuple[ButtonSpec, ...] = ()
    sources: tuple[Text, ...] = ()
    reviewed: date | None = None
    # Until when the answer is known to hold: after it the bot adds a dated caveat.
    valid_until: date | None = None
    # How many days after `reviewed` someone must check the answer again (default:
    # `review.every_days` in catalog.yaml).
    review_every: int | None = Field(default=None, ge=1)


class FaqFile(Model):
    """The layout of one `faq/*.yaml` file."""

    intents: tuple[Intent, ...]


class MatchingSettings(Model):
    """How sure the matcher must be before it answers (scores are 0..1)."""

    threshold: float = Field(ge=0, le=1)
    margin: float = Field(ge=0, le=1)
    alternatives: int = Field(ge=1, le=10)


class Limits(Model):
    """Sizes the engine enforces on messages and content."""

    max_message_chars: int = Field(ge=16)
    max_answer_chars: int = Field(ge=16)


class AccuracyBar(Model):
    """The share of held-out questions to answer right, per kind of matcher."""

    lexical: float = Field(ge=0, le=1)
    semantic: float = Field(ge=0, le=1)


class ReviewSettings(Model):
    """How often answers must be checked, and how early the console warns before."""

    every_days: int = Field(ge=1)  # for intents without their own `review_every`
    soon_days: int = Field(ge=0)  # "due soon": the check falls due within this many days


class Quality(Model):
    """What `intents check` and `intents test` hold the catalog to."""

    min_examples_en: int = Field(ge=1)
    min_examples_zh: int = Field(ge=1)
    min_tests_en: int = Field(ge=0)
    min_tests_zh: int = Field(ge=0)
    min_accuracy: AccuracyBar
    min_oos_rejection: float = Field(ge=0, le=1)


class Replies(Model):
    """The texts the engine itself says, in both languages."""

    fallback: Localized
    outside_scope: Localized  # `{place}`: a question about another place or organisation
    empty_message: Localized
    too_long: Localized
    not_text: Localized
    unknown_command: Localized
    did_you_mean: Localized
    choose_language: Localized
    language_chosen: Localized
    mydata_intro: Localized
    mydata_nothing: Localized
    forget_confirm: Localized
    forget_done: Localized
    forget_kept: Localized
    not_saved: Localized
    dated_caveat: Localized  # `{date}`: added to answers past their `valid_until`
    # Asked in a group for what only a private chat may do (the data export, erasure, the
    # contact form, a person): "message me directly", with `{link}` where the platform has one.
    private_only: Localized
    private_only_link: Localized

    @field_validator("dated_caveat")
    @classmethod
    def _names_the_date(cls, text: Localized) -> Localized:
        """The caveat is useless without its date, and any other placeholder would break."""
        return _placeholders(text, {"date"})

    @field_validator("private_only")
    @classmethod
    def _says_it_plainly(cls, text: Localized) -> Localized:
        """Shown as it is: a placeholder would reach the person unfilled."""
        return _placeholders(text, set())

    @field_validator("private_only_link")
    @classmethod
    def _gives_the_link(cls, text: Localized) -> Localized:
        """The text exists for its link; any other placeholder would break."""
        return _placeholders(text, {"link"})


def _placeholders(text: Localized, expected: set[str]) -> Localized:
    """`text` with exactly the `{placeholders}` expected, in both languages."""
    for lang in ("en", "zh"):
        used = set(re.findall(r"\{(\w*)\}", text.get(lang)))
        if used != expected:
            names = ", ".join(f"{{{name}}}" for name in sorted(expected))
            raise ValueError(
                f"{lang}: needs the placeholder {names} and no other"
                if expected
                else f"{lang}: takes no placeholder"
            )
    return text


class CommandSpec(Model):
    """A command as platforms list it in their menus (Telegram's setMyCommands)."""

    command: Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]{1,32}$")]
    description: Localized


class PrivacyButtons(Model):
    """The buttons of `/forget`."""

    erase: Localized
    keep: Localized


class SlackTexts(Model):
    """Slack's own texts: the slash command's private answer, posting it, a pressed button."""

    ask_usage: Localized
    post_button: Localized
    posted: Localized
    chosen: Localized


class CatalogSettings(Model):
    """The layout of `catalog.yaml`."""

    version: Literal[1]
    matching: MatchingSettings
    limits: Limits
    quality: Quality
    review: ReviewSettings
    out_of_scope: Phrases = Phrases()
    replies: Replies
    fallback_buttons: tuple[ButtonSpec, ...] = ()
    language_buttons: tuple[ButtonSpec, ...]
    privacy_buttons: PrivacyButtons
    commands: tuple[CommandSpec, ...] = ()
    slack: SlackTexts
    handoff: HandoffSettings
    feedback: FeedbackSettings


class CatalogError(Exception):
    """The catalog could not be loaded; `problems` lists each one with file and line."""

    def __init__(self, problems: list[SourceError]) -> None:
        self.problems = problems
        summary = "\n".join(str(problem) for problem in problems)
        super().__init__(f"{len(problems)} problem(s) in the intent catalog:\n{summary}")


@dataclass(frozen=True, slots=True)
class Catalog:
    """A validated, immutable catalog: the intents and what the engine says around them."""

    directory: Path
    settings: CatalogSettings
    intents: Mapping[str, Intent]
    lead_form: LeadFormSpec
    sales: SalesDeskSpec
    fingerprint: str
    origin: Mapping[str, tuple[Path, int]] = field(repr=False)

    @property
    def replies(self) -> Replies:
        """The engine's own texts."""
        return self.settings.replies

    def intent(self, intent_id: str) -> Intent:
        """The intent named `intent_id` (KeyError when there is none)."""
        return self.intents[intent_id]

    def locate(self, intent_id: str, *within: str | int) -> str:
        """`file:line` of an intent, or of a value inside it (e.g. "examples", "en", 3)."""
        path, index = self.origin[intent_id]
        line = read_source(path).line_of(("intents", index, *within))
        return f"{path}:{line}"


def load_catalog(directory: Path = PACKAGED_DIR) -> Catalog:
    """Read and validate `catalog.yaml`, `forms/lead.yaml`, `sales.yaml` and every
    `faq/*.yaml`."""
    problems: list[SourceError] = []
    settings_path = directory / "catalog.yaml"
    form_path = directory / "forms" / "lead.yaml"
    faq_paths = sorted((directory / "faq").glob("*.yaml"))
    if not settings_path.is_file():
        raise CatalogError([SourceError(settings_path, 1, "catalog.yaml is missing")])
    if not faq_paths:
        problems.append(SourceError(directory / "faq", 1, "no faq/*.yaml files"))
    form = _load_part(form_path, LeadFormSpec, "the lead form", problems)
    sales_path = directory / "sales.yaml"
    sales = _load_part(sales_path, SalesDeskSpec, "the sales desk texts", problems)

    settings_source = _read(settings_path, problems)
    settings = _validate(settings_source, CatalogSettings, problems) if settings_source else None
    intents: dict[str, Intent] = {}
    origin: dict[str, tuple[Path, int]] = {}
    references: list[tuple[SourceFile, tuple[str | int, ...], str]] = []
    for path in faq_paths:
        source = _read(path, problems)
        faq = _validate(source, FaqFile, problems) if source else None
        if source is None or faq is None:
            continue
        for index, intent in enumerate(faq.intents):
            at: tuple[str | int, ...] = ("intents", index)
            if intent.id in intents:
                first = origin[intent.id][0]
                problems.append(
                    source.error(
                        (*at, "id"), f"duplicate intent id {intent.id!r} (also in {first})"
                    )
                )
                continue
            intents[intent.id] = intent
            origin[intent.id] = (path, index)
            if not any(True for _ in intent.examples.items()):
                problems.append(source.error((*at, "examples"), "an intent needs examples"))
            for number, button in enumerate(intent.buttons):
                references.append((source, (*at, "buttons", number, "payload"), button.payload))

    if settings is not None and settings_source is not None:
        for group in ("fallback_buttons", "language_buttons"):
            for number, button in enumerate(getattr(settings, group)):
                references.append((settings_source, (group, number, "payload"), button.payload))
    problems.extend(_dangling(references, intents))
    if problems or settings is None or form is None or sales is None:
        raise CatalogError(problems)
    fingerprint = _fingerprint([settings_path, form_path, sales_path, *faq_paths])
    return Catalog(directory, settings, intents, form, sales, fingerprint, origin)


def _load_part(path: Path, model: type[M], what: str, problems: list[SourceError]) -> M | None:
    if not path.is_file():
        problems.append(SourceError(path, 1, f"{what} is missing"))
        return None
    source = _read(path, problems)
    return _validate(source, model, problems) if source else None


def _dangling(
    references: list[tuple[SourceFile, tuple[str | int, ...], str]], intents: Mapping[str, Intent]
) -> Iterator[SourceError]:
    """Buttons that point to an intent the catalog does not have."""
    for source, at, payload in references:
        target = payload.removeprefix("intent:")
        if payload.startswith("intent:") and target not in intents:
            yield source.error(at, f"button points to unknown intent {target!r}")


def _fingerprint(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _read(path: Path, problems: list[SourceError]) -> SourceFile | None:
    try:
        return read_source(path)
    except SourceError as exc:
        problems.append(exc)
        return None


def _validate(source: SourceFile, model: type[M], problems: list[SourceError]) -> M | None:
    try:
        return model.model_validate(source.data)
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            where = ".".join(str(part) for part in error["loc"]) or "(top level)"
            problems.append(source.error(error["loc"], f"{where}: {error['msg']}"))
        return None
