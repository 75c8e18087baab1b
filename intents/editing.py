"""Add an example to an intent's file text, the way an admin would by hand.

The file is not re-dumped: one line (or one flow item) is inserted into the intent's
`examples` list for the language, so comments, quoting and layout stay byte for byte. The
result becomes a catalog revision (`bot.catalog_edits`) once the catalog loads with it.
"""

from __future__ import annotations

import yaml

from intents.catalog import Catalog
from intents.sourcefile import LOADER
from intents.text import Lang, normalize

_WIDE = 1_000_000  # never let PyYAML fold a long question over two lines


class EditError(Exception):
    """The example cannot be added; the message says why (nothing was changed)."""


class DuplicateExample(EditError):
    """The catalog already has this example (or it would blur a test or a negative)."""


def clean_example(text: str) -> str:
    """The example as it goes into the file: one line, single spaces, no edge spaces."""
    return " ".join(text.split())


def check_new_example(catalog: Catalog, intent_id: str, text: str) -> None:
    """`DuplicateExample` when the catalog has `text` already, in any wording that normalises
    the same: as an example of any intent, or as a test or negative of `intent_id`."""
    wanted = normalize(text)
    for intent in catalog.intents.values():
        for _, example in intent.examples.items():
            if normalize(example) == wanted:
                raise DuplicateExample(f"{example!r} is already an example of {intent.id}")
    target = catalog.intent(intent_id)
    for _, test in target.tests.items():
        if normalize(test) == wanted:
            raise DuplicateExample(
                f"{test!r} is a test question of {intent_id}; tests must stay out of the examples"
            )
    for _, negative in target.negatives.items():
        if normalize(negative) == wanted:
            raise DuplicateExample(f"{negative!r} is a negative example of {intent_id}")


def insert_example(source: str, intent_id: str, lang: Lang, text: str) -> tuple[str, int]:
    """`source` (a `faq/*.yaml` file) with `text` appended to the intent's examples in `lang`,
    and the line it is on. Raises `EditError` for a layout it cannot edit safely."""
    try:
        root = yaml.compose(source, Loader=LOADER)
    except yaml.YAMLError as exc:
        raise EditError(f"the file does not parse: {exc}") from exc
    intent = _intent_node(root, intent_id)
    examples = _value(intent, "examples")
    if not isinstance(examples, yaml.MappingNode):
        raise EditError(f"{intent_id} has no examples mapping to add to")
    newline = "\r\n" if "\r\n" in source else "\n"
    phrases = _value(examples, lang)
    if isinstance(phrases, yaml.SequenceNode) and phrases.flow_style:
        item = yaml.safe_dump([text], default_flow_style=True, allow_unicode=True, width=_WIDE)
        item = item.strip()[1:-1]
        if phrases.value:
            at, piece = phrases.value[-1].end_mark.index, f", {item}"
        else:
            at, piece = phrases.end_mark.index - 1, item
        if source[phrases.end_mark.index - 1] != "]":
            raise EditError(f"cannot find the end of {intent_id}'s {lang} examples")
        updated = source[:at] + piece + source[at:]
        line = source.count("\n", 0, at) + 1
    elif isinstance(phrases, yaml.SequenceNode) and phrases.value:
        indent = " " * phrases.start_mark.column
        item = _block_item(text)
        at, lead = _after_line(source, _end_of(phrases.value[-1]), newline)
        updated = source[:at] + f"{lead}{indent}- {item}{newline}" + source[at:]
        line = source.count("\n", 0, at) + 1 + (1 if lead else 0)
    elif phrases is None and not examples.flow_style and examples.value:
        indent = " " * examples.value[0][0].start_mark.column
        item = _block_item(text)
        at, lead = _after_line(source, _end_of(examples.value[-1][1]), newline)
        added = f"{lead}{indent}{lang}:{newline}{indent}  - {item}{newline}"
        updated = source[:at] + added + source[at:]
        line = source.count("\n", 0, at) + 2 + (1 if lead else 0)
    else:
        raise EditError(f"cannot add to {intent_id}'s {lang} examples here; edit the file by hand")
    _verify(source, updated, intent_id, lang, text)
    return updated, line


def _intent_node(root: yaml.Node | None, intent_id: str) -> yaml.MappingNode:
    intents = _value(root, "intents") if isinstance(root, yaml.MappingNode) else None
    if isinstance(intents, yaml.SequenceNode):
        for node in intents.value:
            if isinstance(node, yaml.MappingNode):
                found = _value(node, "id")
                if isinstance(found, yaml.ScalarNode) and found.value == intent_id:
                    return node
    raise EditError(f"{intent_id} is no longer in its file; reload the catalog first")


def _value(mapping: yaml.MappingNode, key: str) -> yaml.Node | None:
    for key_node, value_node in mapping.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
            found: yaml.Node = value_node
            return found
    return None


def _end_of(node: yaml.Node) -> int:
    """Where a value's own text ends (a block collection ends with its last value)."""
    if isinstance(node, yaml.SequenceNode) and not node.flow_style and node.value:
        return _end_of(node.value[-1])
    if isinstance(node, yaml.MappingNode) and not node.flow_style and node.value:
        return _end_of(node.value[-1][1])
    return int(node.end_mark.index)


def _after_line(source: str, end: int, newline: str) -> tuple[int, str]:
    """Where the line holding `end` ends, and the line break to add first if the file has
    none there (its last line)."""
    if end > 0 and source[end - 1] == "\n":  # block scalars end after their line break
        return end, ""
    found = source.find("\n", end)
    return (found + 1, "") if found >= 0 else (len(source), newline)


def _block_item(text: str) -> str:
    """`text` as a block list item: plain if YAML reads it back as is, else quoted."""
    dumped = yaml.safe_dump([text], default_flow_style=False, allow_unicode=True, width=_WIDE)
    return dumped.removeprefix("- ").rstrip("\n")


def _verify(before: str, after: str, intent_id: str, lang: Lang, text: str) -> None:
    """The edit changed exactly one thing: the examples gained `text` at the end."""
    old, new = yaml.load(before, Loader=LOADER), yaml.load(after, Loader=LOADER)  # noqa: S506
    try:
        mine = next(i for i in new["intents"] if i.get("id") == intent_id)
        examples = mine["examples"]
        had = next(i for i in old["intents"] if i.get("id") == intent_id)["examples"].get(lang)
        ok = examples[lang] == [*(had or []), text]
        mine["examples"] = (
            {**examples, lang: had}
            if had is not None
            else {k: v for k, v in examples.items() if k != lang}
        )
        ok = ok and new == old
    except (KeyError, TypeError, AttributeError, StopIteration):
        ok = False
    if not ok:
        raise EditError("the example could not be placed safely; edit the file by hand")
