"""The catalog API's bodies: pydantic models with descriptions, from which the OpenAPI document
is built.

An intent travels as the files hold it (plain JSON, dates as `YYYY-MM-DD`, empty fields left
out), so what a client reads it can change and write back without spurious differences; its
schema in the document is the catalog's own `Intent` model, added by `components()`.
"""

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema
from pydantic.json_schema import models_json_schema

from bot.catalog_edits import MAX_COMMENT
from bot.core.ports import CatalogRevision
from intents.catalog import Intent
from intents.drafts import FAQ_FILE

REF = "#/components/schemas/{model}"

# What each field of an intent means, for the document (the content models carry none).
INTENT_FIELDS = {
    "id": "Stable id (lower case, digits, `_`); buttons and logs name the intent by it. "
    "It cannot change: create a new intent and retire the old one.",
    "title": "A short name in English and Chinese (buttons, the admin console).",
    "tags": "Free labels for finding intents.",
    "examples": "Questions the intent answers, per language: the matcher learns from them.",
    "negatives": "Questions it must not answer, per language.",
    "tests": "Questions `lingang-bot intents test` expects it to answer, per language.",
    "answer": "The reply in English and Chinese.",
    "buttons": "Follow-up choices shown under the answer.",
    "sources": "Where the answer comes from (URLs or references).",
    "reviewed": "The day someone last checked the answer (YYYY-MM-DD).",
    "valid_until": "Until when the answer is known to hold; after it the bot adds a dated "
    "caveat (YYYY-MM-DD).",
    "review_every": "Days after `reviewed` when the answer must be checked again (default: "
    "`review.every_days` in catalog.yaml).",
}

# The `Intent` in the document, named through `allOf` so that pydantic leaves the reference
# (to a schema that `components()` adds) alone.
_INTENT = {"allOf": [{"$ref": REF.format(model="Intent")}]}
IntentData = Annotated[dict[str, Any], WithJsonSchema(_INTENT, mode="validation")]
IntentOut = Annotated[dict[str, Any], WithJsonSchema(_INTENT, mode="serialization")]


class TitleOut(BaseModel):
    """An intent's short name in both languages."""

    en: str = Field(description="In English.")
    zh: str = Field(description="In Chinese.")


class ExampleCounts(BaseModel):
    """How many example questions an intent has, per language."""

    en: int = Field(description="English examples.")
    zh: int = Field(description="Chinese examples.")


class IntentSummary(BaseModel):
    """One intent in the list: enough to find it and see whether it is due for review."""

    id: str = Field(description="The intent's id (use it with `GET /api/intents/{id}`).")
    title: TitleOut = Field(description="Its short name.")
    tags: list[str] = Field(description="Its labels.")
    file: str = Field(description="The catalog file it is in, e.g. `faq/market_entry.yaml`.")
    etag: str = Field(description="Its fingerprint: send it as `If-Match` to edit it.")
    reviewed: date | None = Field(description="When its answer was last checked.")
    valid_until: date | None = Field(description="Until when its answer is known to hold.")
    review_every: int | None = Field(description="Its own review period in days, if set.")
    examples: ExampleCounts = Field(description="How many example questions it has.")

    @classmethod
    def of(cls, data: dict[str, Any], file: str, etag: str) -> "IntentSummary":
        """The summary of an intent as the files hold it (a loaded catalog's: valid)."""
        intent = Intent.model_validate(data)
        return cls(
            id=intent.id,
            title=TitleOut(en=intent.title.en, zh=intent.title.zh),
            tags=list(intent.tags),
            file=file,
            etag=etag,
            reviewed=intent.reviewed,
            valid_until=intent.valid_until,
            review_every=intent.review_every,
            examples=ExampleCounts(en=len(intent.examples.en), zh=len(intent.examples.zh)),
        )


class IntentList(BaseModel):
    """Every intent of the catalog revision served."""

    revision: int | None = Field(description="The catalog revision they come from.")
    intents: list[IntentSummary] = Field(description="In the order of the catalog's files.")


class IntentDetail(BaseModel):
    """One intent in full, with what an edit of it needs."""

    id: str = Field(description="The intent's id.")
    file: str = Field(description="The catalog file it is in.")
    etag: str = Field(
        description="Its fingerprint (also the `ETag` header): send it as `If-Match` to edit it."
    )
    revision: int | None = Field(description="The catalog revision it comes from.")
    intent: IntentOut = Field(
        description="Every field as the file holds it; change it and send it back with `PUT`."
    )


class IntentWrite(BaseModel):
    """The body of `PUT /api/intents/{id}`: the intent and a note for the history."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "example": {
                "intent": {
                    "id": "company_registration",
                    "title": {"en": "Registering a company", "zh": "注册公司"},
                    "examples": {
                        "en": ["How do I register a company in Lingang?"],
                        "zh": ["在临港怎么注册公司？"],
                    },
                    "answer": {"en": "Registering a company ...", "zh": "注册公司……"},
                    "reviewed": "2026-12-01",
                },
                "comment": "new fee schedule",
            }
        },
    )

    intent: IntentData = Field(
        description="The whole intent (as `GET` returns it); its `id` is the one in the path "
        "(it may be left out)."
    )
    file: str | None = Field(
        default=None,
        pattern=FAQ_FILE.pattern,
        description="For a new intent: the file to put it in, `faq/<name>.yaml` (an existing "
        "one, or a new file). An existing intent stays in its file.",
    )
    comment: str = Field(
        default="",
        max_length=MAX_COMMENT,
        description="Why: shown in the catalog's history.",
    )


class IntentSaved(BaseModel):
    """What a write did: the new revision and the intent's new fingerprint."""

    id: str = Field(description="The intent's id.")
    kind: str = Field(description="`edit`, `create` or `retire`.")
    changed: bool = Field(
        description="False when the intent was already exactly this (no revision was made)."
    )
    revision: int = Field(description="The catalog revision that holds the change.")
    etag: str | None = Field(description="The intent's new fingerprint (null once retired).")
    file: str | None = Field(description="The file it is in (null once retired).")
    warnings: list[str] = Field(
        description="What `lingang-bot intents check` says about it and its neighbours: "
        "saved anyway, but worth a look (e.g. an example that matches another intent better)."
    )


class FieldProblemOut(BaseModel):
    """A problem with one field of the intent."""

    field: str = Field(description="The field, e.g. `answer.zh` or `examples.en.3`.")
    message: str = Field(description="What is wrong with it.")


class IntentRefused(BaseModel):
    """Why a write was refused; nothing was saved."""

    detail: str = Field(description="What is wrong.")
    fields: list[FieldProblemOut] = Field(description="Problems of the intent's fields.")
    catalog: list[str] = Field(
        description="Why the catalog would not load with the change (file:line: problem)."
    )


class EditConflictOut(BaseModel):
    """The intent changed after the client read it; nothing was saved."""

    detail: str = Field(description="What happened and what to do.")
    intent: str = Field(description="The intent's id.")
    etag: str = Field(description="Its fingerprint now (`absent`: there is no such intent).")
    revision: int | None = Field(description="The revision that changed it, if known.")
    actor: str | None = Field(description="Who made that revision.")
    at: datetime | None = Field(description="When (UTC).")


class ChangeOut(BaseModel):
    """One thing a revision changed."""

    kind: str = Field(description="`created`, `edited`, `retired` (an intent) or `file`.")
    subject: str = Field(description="The intent's id, or the file's path in the catalog.")


class RevisionOut(BaseModel):
    """One state of the whole catalog, as someone saved it."""

    number: int = Field(description="Its number (only ever grows).")
    parent: int = Field(description="The revision it was made from (0 for the first).")
    actor: str = Field(
        description="Who: an admin's e-mail address, `token:<name>`, `cli:<user>`, `system`."
    )
    at: datetime = Field(description="When (UTC).")
    kind: str = Field(description="`seed`, `import`, `edit`, `create`, `retire` or `rollback`.")
    comment: str = Field(description="The note that came with it.")
    changes: list[ChangeOut] = Field(description="What it changed.")

    @classmethod
    def of(cls, revision: CatalogRevision) -> "RevisionOut":
        """The API's view of a revision."""
        return cls(
            number=revision.number,
            parent=revision.parent,
            actor=revision.actor,
            at=revision.at,
            kind=revision.kind,
            comment=revision.comment,
            changes=[ChangeOut(kind=c.kind, subject=c.subject) for c in revision.changes],
        )


class RevisionPage(BaseModel):
    """A page of the catalog's history, newest first."""

    served: int | None = Field(description="The revision this server answers with.")
    revisions: list[RevisionOut] = Field(description="Newest first.")


def components() -> dict[str, Any]:
    """Schemas the catalog routes name by reference: the catalog's `Intent` (with its
    fields' meanings) and `IntentWrite`, the body that FastAPI does not parse itself (its
    size is bounded first)."""
    _, top = models_json_schema(
        [(Intent, "validation"), (IntentWrite, "validation")], ref_template=REF
    )
    schemas: dict[str, Any] = top["$defs"]
    for name, field in schemas["Intent"]["properties"].items():
        if name in INTENT_FIELDS:
            field["description"] = INTENT_FIELDS[name]
    return schemas
