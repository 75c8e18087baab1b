"""The lead form's content (`forms/lead.yaml`): fields, prompts, errors, buttons, scoring."""

from __future__ import annotations

import string
from collections.abc import Iterator
from functools import cached_property
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from intents.content import Localized, Model, Phrases, Text
from intents.countries import CountryIndex, library_names

FieldKind = Literal["text", "email", "phone", "choice", "country"]
Identifier = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,39}$")]


class Option(Model):
    """One button of a choice field."""

    value: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_]{0,39}$")]
    title: Localized


class FieldSpec(Model):
    """One question of the form."""

    id: Identifier
    label: Localized
    prompt: Localized
    kind: FieldKind = "text"
    required: bool = True
    min_length: int = Field(1, ge=1)
    max_length: int = Field(200, ge=1, le=4000)
    options: tuple[Option, ...] = ()
    # A free-text answer ending in "?" is taken for a question to the bot, unless the field
    # welcomes questions (a note to the consultant may well be one).
    questions_welcome: bool = False

    @model_validator(mode="after")
    def _choices_have_options(self) -> FieldSpec:
        if (self.kind == "choice") != bool(self.options):
            raise ValueError("a choice field needs options, and only a choice field has them")
        return self

    def option(self, value: str) -> Option | None:
        """The option with this value."""
        return next((o for o in self.options if o.value == value), None)


class FormTexts(Model):
    """What the form says besides its questions."""

    notice: Localized
    declined: Localized
    progress: Localized
    optional: Localized
    retry_offer: Localized
    retry_offer_required: Localized
    resume: Localized
    nothing_before: Localized
    summary: Localized
    edit_which: Localized
    skipped: Localized
    confirmed: Localized
    updated: Localized
    cancelled: Localized
    not_saved: Localized
    stale: Localized
    nothing_to_cancel: Localized
    noted: Localized


class FormButtons(Model):
    """Button titles."""

    agree: Localized
    decline: Localized
    skip: Localized
    back: Localized
    cancel: Localized
    confirm: Localized
    edit: Localized
    leave_message: Localized
    share_phone: Localized


class FormWords(Model):
    """Typed words that act like buttons, and the words that tell a question from an answer."""

    cancel: Phrases
    back: Phrases
    skip: Phrases
    # A message starting with one of these reads as a question when the catalog can answer it.
    question_starts: Phrases
    # A message ending with one of these reads as a question, like one ending in "?".
    question_ends: Phrases
    # A message with one of these anywhere reads as a question when the catalog can answer it.
    question_inside: Phrases
    # Written for "@" by someone who does not know how to type it ("john at gmail").
    email_at: Phrases


class CountryWords(Model):
    """What the lead form adds to the libraries' country names (see `intents.countries`)."""

    # ISO 3166-1 alpha-2 code -> names neither CLDR nor ISO has ("UK", "PRC", "Holland").
    aliases: dict[Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")], tuple[Text, ...]]
    # Words around a country's name, dropped from the start of an answer ("we are based in").
    fillers: Phrases
    # Codes that are also words ("no", "in", "can"): codes only when typed in capitals.
    word_codes: tuple[Text, ...] = ()

    @model_validator(mode="after")
    def _known_codes(self) -> CountryWords:
        unknown = set(self.aliases) - set(library_names().countries)
        if unknown:
            raise ValueError(f"aliases: no country has the code(s) {sorted(unknown)}")
        return self

    @cached_property
    def index(self) -> CountryIndex:
        """The country index: the libraries' names (read once per process) and these words."""
        return CountryIndex(
            library_names(),
            aliases=self.aliases,
            fillers=[phrase for _, phrase in self.fillers.items()],
            word_codes=self.word_codes,
        )


class EmailReasons(Model):
    """What is wrong with a typed email address, filled into `errors.email` as {reason}."""

    wide: Localized  # full-width characters or Chinese punctuation ("＠", "。")
    at_word: Localized  # "at" or "艾特" written for "@"
    spaces: Localized
    no_at: Localized
    several_at: Localized
    nothing_before: Localized
    no_domain: Localized  # "john@"
    domain_dot: Localized  # "john@gmail"
    non_latin: Localized  # "张三@acme.com"
    other: Localized  # anything else; {detail} is the email library's English explanation


class PhoneReasons(Model):
    """What is wrong with a typed phone number, filled into `errors.phone` as {reason}."""

    country_code: Localized
    letters: Localized
    too_short: Localized
    too_long: Localized
    invalid: Localized


class FormErrors(Model):
    """Why an answer was not accepted."""

    required: Localized
    too_short: Localized
    too_long: Localized
    email: Localized
    email_reasons: EmailReasons
    phone: Localized
    phone_reasons: PhoneReasons
    country: Localized
    choice: Localized


class Scoring(Model):
    """Points for chosen options, and for optional details given."""

    answers: dict[Identifier, dict[str, int]] = Field(default_factory=dict)
    given: dict[Identifier, int] = Field(default_factory=dict)


# The placeholders each text may use (all of them filled by the form).
PLACEHOLDERS: dict[str, set[str]] = {
    "texts.notice": {"days"},
    "texts.progress": {"number", "total"},
    "texts.confirmed": {"name"},
    "texts.updated": {"name"},
    "errors.too_short": {"min"},
    "errors.too_long": {"max"},
    "errors.email": {"reason"},
    "errors.email_reasons.other": {"detail"},
    "errors.phone": {"reason"},
}


class LeadFormSpec(Model):
    """The layout of `forms/lead.yaml`."""

    version: Literal[1]
    notice_version: Annotated[str, StringConstraints(min_length=1, max_length=32)]
    texts: FormTexts
    buttons: FormButtons
    words: FormWords
    errors: FormErrors
    countries: CountryWords
    fields: tuple[FieldSpec, ...] = Field(min_length=1)
    scoring: Scoring

    @model_validator(mode="after")
    def _consistent(self) -> LeadFormSpec:
        ids = [f.id for f in self.fields]
        if len(set(ids)) != len(ids):
            raise ValueError(f"field ids repeat: {ids}")
        for field_id, points in self.scoring.answers.items():
            spec = self.field(field_id)
            unknown = set(points) - {o.value for o in spec.options} if spec else set(points)
            if spec is None or unknown:
                raise ValueError(f"scoring.answers.{field_id}: no such field or options {unknown}")
        for field_id in self.scoring.given:
            if self.field(field_id) is None:
                raise ValueError(f"scoring.given.{field_id}: no such field")
        for where, text in self._texts():
            allowed = PLACEHOLDERS.get(where, set())
            used = {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
            if used - allowed:
                raise ValueError(f"{where}: unknown placeholder(s) {sorted(used - allowed)}")
        return self

    def _texts(self) -> Iterator[tuple[str, str]]:
        sections: list[tuple[str, Model]] = [("texts", self.texts), ("errors", self.errors)]
        while sections:
            where, section = sections.pop()
            for name in type(section).model_fields:
                value = getattr(section, name)
                if isinstance(value, Localized):
                    yield f"{where}.{name}", value.en
                    yield f"{where}.{name}", value.zh
                else:  # a group of texts, such as errors.email_reasons
                    sections.append((f"{where}.{name}", value))

    def field(self, field_id: str) -> FieldSpec | None:
        """The field named `field_id`."""
        return next((f for f in self.fields if f.id == field_id), None)

    def score(self, answers: dict[str, str]) -> int:
        """The qualification score of a set of answers (0-100 with the shipped rules)."""
        points = sum(
            table.get(answers.get(field_id, ""), 0)
            for field_id, table in self.scoring.answers.items()
        )
        points += sum(
            value for field_id, value in self.scoring.given.items() if answers.get(field_id)
        )
        return points
