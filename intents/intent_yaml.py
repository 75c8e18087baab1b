"""One intent as YAML, and its place in a `faq/*.yaml` file: replace, append or remove it.

An edit touches only the intent's own lines: the rest of the file (comments, other intents,
quoting) stays byte for byte, so the file's diff in git shows exactly the admin's change.
Every edit is verified by parsing the file again: the other intents must be unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml

from intents.editing import EditError, _after_line, _end_of, _value
from intents.sourcefile import LOADER

_WIDE = 1_000_000  # never fold a long answer over several lines
# The order fields are written in; fields not listed follow in the order given.
FIELD_ORDER = (
    "id",
    "title",
    "tags",
    "examples",
    "negatives",
    "tests",
    "answer",
    "buttons",
    "sources",
    "reviewed",
    "review_every",
    "valid_until",
)


class _Flow(dict[str, Any]):
    """A mapping written on one line."""


class _FlowList(list[Any]):
    """A list written on one line."""


class _Quoted(str):
    """A text always written in double quotes (titles, answers, payloads)."""

    __slots__ = ()


class _Dumper(yaml.SafeDumper):
    """Lists indented under their key and double quotes where quotes are needed, as the
    catalog's files are written."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)

    def choose_scalar_style(self) -> str:
        style: str = super().choose_scalar_style()
        return '"' if style == "'" else style


_Dumper.add_representer(
    _Flow, lambda d, v: d.represent_mapping("tag:yaml.org,2002:map", v, flow_style=True)
)
_Dumper.add_representer(
    _FlowList, lambda d, v: d.represent_sequence("tag:yaml.org,2002:seq", v, flow_style=True)
)
_Dumper.add_representer(
    _Quoted, lambda d, v: d.represent_scalar("tag:yaml.org,2002:str", str(v), style='"')
)


def _texts(value: Any) -> Any:
    """A {language: text} mapping with its texts in double quotes."""
    if isinstance(value, Mapping):
        return {k: _Quoted(v) if isinstance(v, str) else v for k, v in value.items()}
    return value


def _shaped(key: str, value: Any) -> Any:
    if key == "title" and isinstance(value, Mapping):
        return _Flow(_texts(value))
    if key == "answer":
        return _texts(value)
    if key == "tags" and isinstance(value, list | tuple):
        return _FlowList(value)
    if key == "buttons" and isinstance(value, list | tuple):
        return [_button(button) for button in value]
    return value


def _button(button: Any) -> Any:
    if not isinstance(button, Mapping):
        return button
    shaped = dict(button)
    if isinstance(shaped.get("title"), Mapping):
        shaped["title"] = _Flow(_texts(shaped["title"]))
    if isinstance(shaped.get("payload"), str):
        shaped["payload"] = _Quoted(shaped["payload"])
    return shaped


def render_intent(data: Mapping[str, Any]) -> str:
    """`data` (an intent as plain values) as the item of an `intents:` list, indented for it,
    ending with a line break. Empty lists and mappings are left out."""
    ordered = {key: data[key] for key in FIELD_ORDER if key in data}
    ordered.update({key: value for key, value in data.items() if key not in ordered})
    kept = {
        key: _shaped(key, value)
        for key, value in ordered.items()
        if value not in (None, "", [], (), {})
        and not (isinstance(value, Mapping) and not any(value.values()))
    }
    text = yaml.dump(
        [kept], Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=_WIDE, indent=2
    )
    return "".join(f"  {line}" if line.strip() else line for line in text.splitlines(True))


def intents_of(source: str) -> list[dict[str, Any]]:
    """The intents of a faq file as plain values (`EditError` when it does not parse)."""
    try:
        data = yaml.load(source, Loader=LOADER)  # noqa: S506 (a safe loader)
    except yaml.YAMLError as exc:
        raise EditError(f"the file does not parse: {exc}") from exc
    intents = data.get("intents") if isinstance(data, dict) else None
    if not isinstance(intents, list):
        raise EditError("the file has no intents list")
    return [item for item in intents if isinstance(item, dict)]


def _span(source: str, intent_id: str) -> tuple[int, int]:
    """Where an intent's lines start (its `- ` line) and end (after its last line)."""
    try:
        root = yaml.compose(source, Loader=LOADER)
    except yaml.YAMLError as exc:
        raise EditError(f"the file does not parse: {exc}") from exc
    intents = _value(root, "intents") if isinstance(root, yaml.MappingNode) else None
    if not isinstance(intents, yaml.SequenceNode) or intents.flow_style:
        raise EditError("the file's intents are not a block list; edit it by hand")
    for node in intents.value:
        found = _value(node, "id") if isinstance(node, yaml.MappingNode) else None
        if isinstance(found, yaml.ScalarNode) and found.value == intent_id:
            start = source.rfind("\n", 0, node.start_mark.index) + 1
            end, lead = _after_line(source, _end_of(node), "\n")
            if lead:  # the file ends without a line break
                end = len(source)
            return start, end
    raise EditError(f"{intent_id} is not in the file")


def replace_intent(source: str, intent_id: str, data: Mapping[str, Any]) -> str:
    """`source` with the intent `intent_id` written anew from `data`."""
    start, end = _span(source, intent_id)
    updated = source[:start] + render_intent(data) + source[end:]
    _verify(source, updated, intent_id, data)
    return updated


def append_intent(source: str, data: Mapping[str, Any]) -> str:
    """`source` with a new intent at the end of its list."""
    body = source if source.endswith("\n") or not source else source + "\n"
    updated = body + render_intent(data)
    old = intents_of(source)
    if intents_of(updated) != [*old, _plain(data)]:
        raise EditError("the intent could not be placed safely; edit the file by hand")
    return updated


def remove_intent(source: str, intent_id: str) -> str | None:
    """`source` without the intent (None: it was the file's only intent)."""
    start, end = _span(source, intent_id)
    old = intents_of(source)
    if len(old) == 1:
        return None
    updated = source[:start] + source[end:]
    if intents_of(updated) != [item for item in old if item.get("id") != intent_id]:
        raise EditError("the intent could not be removed safely; edit the file by hand")
    return updated


def new_file(data: Mapping[str, Any], heading: str) -> str:
    """A faq file holding one intent, under a comment line."""
    return f"# {heading}\nintents:\n" + render_intent(data)


def _plain(data: Mapping[str, Any]) -> dict[str, Any]:
    """`data` as it reads back from YAML (tuples as lists, empty values dropped)."""
    text = "intents:\n" + render_intent(data)
    return intents_of(text)[0]


def _verify(before: str, after: str, intent_id: str, data: Mapping[str, Any]) -> None:
    expected = [
        _plain(data) if item.get("id") == intent_id else item for item in intents_of(before)
    ]
    if intents_of(after) != expected:
        raise EditError("the intent could not be written safely; edit the file by hand")
