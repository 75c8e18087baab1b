"""The lead form: one step per message, its state kept in the conversation.

The form asks for consent first (nothing personal is kept before it), then each field of
`intents/forms/lead.yaml` in turn, validating every answer; `back`, `skip`, `cancel` and
`edit` work at any step; a summary with confirm/edit ends it. This module only decides: the
engine stores the state and the confirmed lead.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Literal

from bot.core import field_answers
from bot.core.messages import Button, Language, Reply
from intents.content import Localized
from intents.forms import FieldSpec, LeadFormSpec
from intents.text import normalize

MAX_FAILURES = 3
PAYLOAD_PREFIX = "form:"
CONTACT_PREFIX = "contact:"  # a phone number shared with a platform's contact button
SHARE_PHONE = "contact:request"  # the button that asks the platform to share the number

Step = str  # "consent", a field id, "summary" or "edit"


@dataclass(frozen=True, slots=True)
class FormState:
    """Where a prospect is in the form and what they answered so far ("" = skipped)."""

    step: Step
    submission: str
    answers: dict[str, str] = field(default_factory=dict)
    visited: tuple[str, ...] = ()
    failures: int = 0
    editing: bool = False
    question: str | None = None
    consented_at: str | None = None

    def to_dict(self) -> dict[str, object]:
        """JSON-ready, for the conversation state."""
        data = asdict(self)
        data["visited"] = list(self.visited)
        return {"kind": "lead", **data}

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> FormState | None:
        """The state stored by `to_dict`, or None when `data` is not a lead form."""
        if data.get("kind") != "lead":
            return None
        answers = data.get("answers")
        visited = data.get("visited")
        return cls(
            step=str(data["step"]),
            submission=str(data["submission"]),
            answers={str(k): str(v) for k, v in answers.items()}
            if isinstance(answers, dict)
            else {},
            visited=tuple(str(v) for v in visited) if isinstance(visited, list) else (),
            failures=int(str(data.get("failures", 0))),
            editing=bool(data.get("editing", False)),
            question=str(data["question"]) if data.get("question") else None,
            consented_at=str(data["consented_at"]) if data.get("consented_at") else None,
        )


Outcome = Literal["continue", "declined", "cancelled", "submit", "question"]


@dataclass(frozen=True, slots=True)
class FormStep:
    """What one message did to the form.

    `outcome` says what the engine must do: keep the new `state` ("continue"), drop the form
    ("declined", "cancelled"), store the lead ("submit"), or answer the message as a question
    from the catalog and then show `replies` (the pending question) again ("question").
    """

    outcome: Outcome
    state: FormState | None
    replies: list[Reply]


class LeadForm:
    """The form's rules, over the content of `forms/lead.yaml`."""

    def __init__(self, spec: LeadFormSpec, retention_days: int) -> None:
        self.spec = spec
        self._days = retention_days

    # -- starting -----------------------------------------------------------------------

    def start(self, lang: Language, question: str | None) -> tuple[FormState, list[Reply]]:
        """A new form: the privacy notice and the consent choice, nothing pre-selected."""
        state = FormState("consent", uuid.uuid4().hex, question=question)
        return state, self.prompt(state, lang)

    def prompt(self, state: FormState, lang: Language) -> list[Reply]:
        """What to show for the form's current step."""
        spec, buttons = self.spec, self.spec.buttons
        if state.step == "consent":
            text = spec.texts.notice.get(lang).format(days=self._days)
            choices = (
                Button(buttons.agree.get(lang), "form:agree"),
                Button(buttons.decline.get(lang), "form:decline"),
            )
            return [Reply(text, choices, kind="form")]
        if state.step == "summary":
            return [self._summary(state, lang)]
        if state.step == "edit":
            options = tuple(Button(f.label.get(lang), f"form:edit:{f.id}") for f in spec.fields)
            cancel = Button(buttons.cancel.get(lang), "form:cancel")
            return [Reply(spec.texts.edit_which.get(lang), (*options, cancel), kind="form")]
        return [self._question(state, self._field(state.step), lang)]

    def _question(self, state: FormState, spec: FieldSpec, lang: Language) -> Reply:
        texts, buttons = self.spec.texts, self.spec.buttons
        number = [f.id for f in self.spec.fields].index(spec.id) + 1
        progress = texts.progress.get(lang).format(number=number, total=len(self.spec.fields))
        prompt = spec.prompt.get(lang)
        choices = [Button(o.title.get(lang), f"form:choose:{o.value}") for o in spec.options]
        if spec.kind == "phone":  # a channel that can share the number in one tap offers it
            choices.append(Button(buttons.share_phone.get(lang), SHARE_PHONE))
        if not spec.required:
            choices.append(Button(buttons.skip.get(lang), "form:skip"))
        if state.visited and not state.editing:
            choices.append(Button(buttons.back.get(lang), "form:back"))
        choices.append(Button(buttons.cancel.get(lang), "form:cancel"))
        return Reply(f"{prompt}\n{progress}", tuple(choices), kind="form", field=spec.id)

    def _summary(self, state: FormState, lang: Language) -> Reply:
        texts, buttons = self.spec.texts, self.spec.buttons
        lines = [texts.summary.get(lang)]
        for spec in self.spec.fields:
            lines.append(f"{spec.label.get(lang)}: {self.shown(spec, state.answers, lang)}")
        choices = (
            Button(buttons.confirm.get(lang), "form:confirm"),
            Button(buttons.edit.get(lang), "form:edit"),
            Button(buttons.cancel.get(lang), "form:cancel"),
        )
        return Reply("\n".join(lines), choices, kind="form")

    def shown(self, spec: FieldSpec, answers: Mapping[str, str], lang: Language) -> str:
        """An answer as the prospect sees it (a choice by its title)."""
        value = answers.get(spec.id, "")
        if not value:
            return self.spec.texts.skipped.get(lang)
        option = spec.option(value)
        if option:
            return option.title.get(lang)
        if spec.kind == "country":  # stored in English, said back in the form's language
            country = self.spec.countries.index.find(value)
            return country.name(lang) if country else value
        return value

    def _field(self, field_id: str) -> FieldSpec:
        spec = self.spec.field(field_id)
        if spec is None:
            raise KeyError(f"the lead form has no field {field_id!r}")
        return spec

    # -- one message ----------------------------------------------------------------------

    def step(
        self,
        state: FormState,
        lang: Language,
        *,
        text: str = "",
        payload: str | None = None,
        now: str = "",
        answerable: bool = False,
    ) -> FormStep:
        """Apply one message (typed `text` or a pressed `payload`) to the form.

        `answerable` says the catalog has an answer to `text`. Where the form waits for a
        button (consent, summary), such a text or a clear question is answered as a question;
        where it waits for an answer, only a clear question that is no attempt at the answer
        is (see `bot.core.field_answers`).
        """
        word = self._word(text) if payload is None else None
        if payload == "form:cancel" or word == "cancel":
            cancelled = replace(self._say(self.spec.texts.cancelled, lang), releases=state.step)
            return FormStep("cancelled", None, [cancelled])
        clear = payload is None and self._clear_question(text, answerable=answerable)
        is_question = payload is None and (answerable or clear)
        if state.step == "consent":
            return self._consent(state, lang, payload, now, is_question)
        if state.step == "summary":
            return self._at_summary(state, lang, payload, is_question)
        if state.step == "edit":
            return self._at_edit(state, lang, payload, is_question)
        return self._answer(state, lang, text=text, payload=payload, word=word, asked=clear)

    def _clear_question(self, text: str, *, answerable: bool) -> bool:
        words = self.spec.words
        asking = field_answers.QuestionWords(
            words.question_starts, words.question_ends, words.question_inside
        )
        return field_answers.reads_as_question(text, asking, answerable=answerable)

    def _consent(
        self, state: FormState, lang: Language, payload: str | None, now: str, is_question: bool
    ) -> FormStep:
        if payload == "form:agree":
            first = replace(state, step=self.spec.fields[0].id, consented_at=now)
            return FormStep("continue", first, self.prompt(first, lang))
        if payload == "form:decline":
            return FormStep("declined", None, [self._say(self.spec.texts.declined, lang)])
        # Consent is only ever a button press: anything typed is a question or noise.
        return FormStep("question" if is_question else "continue", state, self.prompt(state, lang))

    def _at_summary(
        self, state: FormState, lang: Language, payload: str | None, is_question: bool
    ) -> FormStep:
        if payload == "form:confirm":
            return FormStep("submit", state, [])
        if payload == "form:edit":
            editing = replace(state, step="edit")
            return FormStep("continue", editing, self.prompt(editing, lang))
        return FormStep("question" if is_question else "continue", state, self.prompt(state, lang))

    def _at_edit(
        self, state: FormState, lang: Language, payload: str | None, is_question: bool
    ) -> FormStep:
        target = (payload or "").removeprefix("form:edit:")
        if payload and payload.startswith("form:edit:") and self.spec.field(target):
            editing = replace(state, step=target, editing=True, failures=0)
            return FormStep("continue", editing, self.prompt(editing, lang))
        return FormStep("question" if is_question else "continue", state, self.prompt(state, lang))

    def _answer(
        self,
        state: FormState,
        lang: Language,
        *,
        text: str,
        payload: str | None,
        word: str | None,
        asked: bool,
    ) -> FormStep:
        spec = self._field(state.step)
        if payload == "form:back" or word == "back":
            return self._back(state, lang)
        if payload == "form:skip" or word == "skip":
            if spec.required:
                return self._reject(state, spec, lang, self._say(self.spec.errors.required, lang))
            return self._accept(state, spec, "", lang)
        if payload == "form:leave_message":
            note = next((f for f in self.spec.fields if f.id == "note"), self.spec.fields[-1])
            leaving = replace(state, step=note.id, failures=0, editing=True)
            return FormStep("continue", leaving, self.prompt(leaving, lang))
        if payload is not None and payload.startswith("form:choose:"):
            text = payload.removeprefix("form:choose:")
        elif payload == SHARE_PHONE:  # a channel without the feature: type the number instead
            return FormStep("continue", state, self.prompt(state, lang))
        elif payload is not None and payload.startswith(CONTACT_PREFIX):
            text = payload.removeprefix(CONTACT_PREFIX)
        elif payload is not None:
            return FormStep("continue", state, self.prompt(state, lang))
        if asked and not spec.questions_welcome and not self._attempt(spec, text, lang):
            # Never the other way round: a malformed answer routed to the catalog would lose
            # the step, and put what may be personal data in the unanswered questions.
            return FormStep("question", state, self.prompt(state, lang))
        value, error = self.validate(spec, text, lang)
        if error is None:
            return self._accept(state, spec, value, lang)
        return self._reject(state, spec, lang, error)

    def _attempt(self, spec: FieldSpec, text: str, lang: Language) -> bool:
        """Whether a message that reads as a question may still be an answer to `spec`."""
        if spec.kind == "email":
            return field_answers.looks_like_email(text, self.spec.words.email_at)
        if spec.kind == "phone":
            return field_answers.looks_like_phone(text)
        if spec.kind in ("country", "choice"):  # "Germany?", "IC industry?"
            return self.validate(spec, text.strip().rstrip("?？"), lang)[1] is None
        return False  # "what is the 15% tax?" is not a name or a company

    def _accept(self, state: FormState, spec: FieldSpec, value: str, lang: Language) -> FormStep:
        answers = {**state.answers, spec.id: value}
        visited = (*[v for v in state.visited if v != spec.id], spec.id)
        ids = [f.id for f in self.spec.fields]
        later = [i for i in ids[ids.index(spec.id) + 1 :] if i not in answers]
        step = "summary" if state.editing or not later else later[0]
        moved = replace(
            state, step=step, answers=answers, visited=visited, failures=0, editing=False
        )
        replies = self.prompt(moved, lang)
        if spec.kind == "phone":  # lets a channel take away its share-your-number keyboard
            noted = Reply(self.spec.texts.noted.get(lang), kind="form", releases=spec.id)
            replies = [noted, *replies]
        return FormStep("continue", moved, replies)

    def _back(self, state: FormState, lang: Language) -> FormStep:
        if not state.visited:
            note = self._say(self.spec.texts.nothing_before, lang)
            return FormStep("continue", state, [note, *self.prompt(state, lang)])
        previous = state.visited[-1]
        answers = {k: v for k, v in state.answers.items() if k != previous}
        moved = replace(
            state, step=previous, answers=answers, visited=state.visited[:-1], failures=0
        )
        return FormStep("continue", moved, self.prompt(moved, lang))

    def _reject(self, state: FormState, spec: FieldSpec, lang: Language, error: Reply) -> FormStep:
        failed = replace(state, failures=state.failures + 1)
        replies = [error, *self.prompt(failed, lang)]
        if failed.failures >= MAX_FAILURES:
            texts, buttons = self.spec.texts, self.spec.buttons
            offer = texts.retry_offer if not spec.required else texts.retry_offer_required
            choices = [Button(buttons.leave_message.get(lang), "form:leave_message")]
            if not spec.required:
                choices.insert(0, Button(buttons.skip.get(lang), "form:skip"))
            replies.append(Reply(offer.get(lang), tuple(choices), kind="form"))
        return FormStep("continue", failed, replies)

    # -- answers --------------------------------------------------------------------------

    def validate(self, spec: FieldSpec, text: str, lang: Language) -> tuple[str, Reply | None]:
        """The answer as it will be stored, or the reason it cannot be."""
        errors = self.spec.errors
        value = " ".join(text.split())
        if not value:
            return "", self._say(errors.required, lang)
        if spec.kind == "choice":
            wanted = normalize(value)
            for option in spec.options:
                names = {option.value, normalize(option.title.en), normalize(option.title.zh)}
                if wanted in names or value == option.value:
                    return option.value, None
            return "", self._say(errors.choice, lang)
        if spec.kind == "email":
            return self._email(text, lang)
        if spec.kind == "phone":
            return self._phone(value, lang)
        if spec.kind == "country":
            country = self.spec.countries.index.find(value)
            if country is None:
                return "", self._say(errors.country, lang)
            return country.en, None
        if len(value) < spec.min_length:
            return "", Reply(errors.too_short.get(lang).format(min=spec.min_length), kind="form")
        if len(value) > spec.max_length:
            return "", Reply(errors.too_long.get(lang).format(max=spec.max_length), kind="form")
        return value, None

    def _email(self, text: str, lang: Language) -> tuple[str, Reply | None]:
        errors = self.spec.errors
        email, problem, detail = field_answers.email_problem(text, self.spec.words.email_at)
        if problem is None:
            return email, None
        reason = getattr(errors.email_reasons, problem).get(lang).format(detail=detail)
        return "", Reply(errors.email.get(lang).format(reason=reason), kind="form")

    def _phone(self, value: str, lang: Language) -> tuple[str, Reply | None]:
        errors = self.spec.errors
        number, problem = field_answers.phone_problem(value)
        if problem is None:
            return number, None
        reason = getattr(errors.phone_reasons, problem).get(lang)
        return "", Reply(errors.phone.get(lang).format(reason=reason), kind="form")

    def _word(self, text: str) -> str | None:
        """ "cancel", "back" or "skip" when the text is one of those words in either language."""
        typed = normalize(text)
        if not typed:
            return None
        words = self.spec.words
        for name, phrases in (("cancel", words.cancel), ("back", words.back), ("skip", words.skip)):
            if any(typed == normalize(p) or text.strip() == p for _, p in phrases.items()):
                return name
        return None

    @staticmethod
    def _say(text: Localized, lang: Language) -> Reply:
        return Reply(text.get(lang), kind="form")
