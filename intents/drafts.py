"""Changes to the catalog's files: one intent written, created or retired; what changed
between two sets of files, intent by intent; and a readable diff of it.

Pure functions of file texts (`intents.snapshot`), so the console, the API and the command
line make revisions the same way.
"""

from __future__ import annotations

import copy
import difflib
import functools
import hashlib
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from intents.editing import EditError
from intents.intent_yaml import (
    append_intent,
    intents_of,
    new_file,
    remove_intent,
    render_intent,
    replace_intent,
)

Files = Mapping[str, str]
FAQ_FILE = re.compile(r"^faq/[a-z0-9][a-z0-9_-]{0,40}\.yaml$")


@dataclass(frozen=True, slots=True)
class CatalogChange:
    """One thing a catalog revision changed: an intent edited, created or retired, or another
    content file."""

    kind: str  # "edited" | "created" | "retired" | "file"
    subject: str  # the intent's id, or the file's path inside the catalog


@dataclass(frozen=True, slots=True)
class Located:
    """An intent as plain values and the file it is in."""

    path: str
    parsed: dict[str, Any] = field(repr=False)  # shared by every caller: never changed

    @property
    def data(self) -> dict[str, Any]:
        """The intent's values: a copy the caller may change."""
        return copy.deepcopy(self.parsed)


@functools.lru_cache(maxsize=64)
def _parsed(text: str) -> tuple[tuple[str, dict[str, Any]], ...]:
    """A faq file's intents by id, parsed once per distinct text (an edit parses the one file
    it changes; the others are the cached texts of the revision)."""
    try:
        items = intents_of(text)
    except EditError:
        return ()
    return tuple((item["id"], item) for item in items if isinstance(item.get("id"), str))


def faq_intents(files: Files) -> dict[str, Located]:
    """Every intent in the faq files, by id (the first one when an id is repeated)."""
    found: dict[str, Located] = {}
    for path, text in files.items():
        if path.startswith("faq/"):
            for intent_id, item in _parsed(text):
                found.setdefault(intent_id, Located(path, item))
    return found


def etag(files: Files, intent_id: str) -> str:
    """A short fingerprint of one intent as the files hold it ("absent" when they do not): an
    edit made from it is refused once someone else has changed the intent."""
    located = faq_intents(files).get(intent_id)
    return _fingerprint(located.parsed) if located is not None else "absent"


def etags(files: Files) -> dict[str, str]:
    """`etag` of every intent, in one pass."""
    return {
        intent_id: _fingerprint(found.parsed) for intent_id, found in faq_intents(files).items()
    }


def _fingerprint(data: Mapping[str, Any]) -> str:
    return hashlib.sha256(render_intent(data).encode()).hexdigest()[:16]


def write_intent(
    files: Files, intent_id: str, data: Mapping[str, Any], new_path: str | None = None
) -> dict[str, str]:
    """`files` with the intent `intent_id` replaced by `data` (its id may not change), or
    added to `new_path` (an existing or a new `faq/*.yaml`) when there is none yet."""
    if data.get("id") != intent_id:
        raise EditError("an intent's id cannot change; create a new intent and retire this one")
    updated = dict(files)
    located = faq_intents(files).get(intent_id)
    if located is not None:
        updated[located.path] = replace_intent(files[located.path], intent_id, data)
        return updated
    if new_path is None or not FAQ_FILE.match(new_path):
        raise EditError("choose the file for the new intent: faq/<name>.yaml")
    if new_path in files:
        updated[new_path] = append_intent(files[new_path], data)
    else:
        updated[new_path] = new_file(data, "Intents created in the admin console.")
    return dict(sorted(updated.items()))


def retire_intent(files: Files, intent_id: str) -> dict[str, str]:
    """`files` without the intent (a file left with no intent goes too)."""
    located = faq_intents(files).get(intent_id)
    if located is None:
        raise EditError(f"there is no intent {intent_id!r}")
    updated = dict(files)
    remaining = remove_intent(files[located.path], intent_id)
    if remaining is None:
        del updated[located.path]
    else:
        updated[located.path] = remaining
    return updated


def changes_between(old: Files, new: Files) -> tuple[CatalogChange, ...]:
    """What `new` changes in `old`: intents created, edited, retired; other files."""
    same = {path for path in old.keys() & new.keys() if old[path] == new[path]}  # no changes
    before = faq_intents({p: t for p, t in old.items() if p not in same})
    after = faq_intents({p: t for p, t in new.items() if p not in same})
    changes = [CatalogChange("created", i) for i in after if i not in before]
    changes += [
        CatalogChange("edited", i)
        for i in after
        if i in before and after[i].parsed != before[i].parsed
    ]
    changes += [CatalogChange("retired", i) for i in before if i not in after]
    changes += [
        CatalogChange("file", path)
        for path in sorted(set(old) | set(new))
        if not path.startswith("faq/") and old.get(path) != new.get(path)
    ]
    return tuple(sorted(changes, key=lambda c: (c.kind == "file", c.subject)))


@dataclass(frozen=True, slots=True)
class DiffPart:
    """The changed lines of one intent or file, as a unified diff."""

    change: CatalogChange
    lines: tuple[str, ...]

    @property
    def added(self) -> int:
        """Lines added."""
        return sum(1 for line in self.lines if line.startswith("+"))

    @property
    def removed(self) -> int:
        """Lines removed."""
        return sum(1 for line in self.lines if line.startswith("-"))


def diff(old: Files, new: Files, only: str | None = None) -> list[DiffPart]:
    """The diff of every change from `old` to `new` (or of the intent `only`)."""
    before, after = faq_intents(old), faq_intents(new)
    parts = []
    for change in changes_between(old, new):
        if only is not None and change.subject != only:
            continue
        if change.kind == "file":
            a, b = old.get(change.subject, ""), new.get(change.subject, "")
        else:
            a = render_intent(before[change.subject].parsed) if change.subject in before else ""
            b = render_intent(after[change.subject].parsed) if change.subject in after else ""
        parts.append(DiffPart(change, tuple(_unified(a, b))))
    return parts


def _unified(a: str, b: str) -> Iterator[str]:
    lines = difflib.unified_diff(a.splitlines(), b.splitlines(), lineterm="", n=2)
    return (line for line in lines if not line.startswith(("---", "+++")))
