"""A YAML file read together with the line of every value, so errors can name file:line."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

# libyaml's parser when PyYAML was built with it (the wheels are): the same documents and
# marks, several times faster than the pure-Python one.
LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

Path_ = tuple[str | int, ...]


class SourceError(Exception):
    """A problem in a content file, located at `file:line`."""

    def __init__(self, file: Path, line: int, message: str) -> None:
        super().__init__(f"{file}:{line}: {message}")
        self.file = file
        self.line = line
        self.message = message


@dataclass(frozen=True, slots=True)
class SourceFile:
    """Parsed YAML data and where each value of it starts in the file."""

    path: Path
    data: object
    lines: dict[Path_, int]

    def line_of(self, location: Sequence[str | int]) -> int:
        """The line of the deepest value on `location` that the file has (1 when none)."""
        loc = tuple(location)
        while loc and loc not in self.lines:
            loc = loc[:-1]
        return self.lines.get(loc, 1)

    def error(self, location: Sequence[str | int], message: str) -> SourceError:
        """A `SourceError` at the line of `location`."""
        return SourceError(self.path, self.line_of(location), message)


def read_source(path: Path) -> SourceFile:
    """Parse `path`; syntax errors and duplicate keys raise `SourceError` with the line."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise SourceError(path, 1, f"not UTF-8 text ({exc.reason})") from exc
    try:
        loader = LOADER(text)
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow, e.g. U+000C
        raise SourceError(path, _line_at(text, exc.position), f"YAML: {exc.reason}") from exc
    try:
        node = loader.get_single_node()
        if node is None:
            return SourceFile(path, None, {})
        lines: dict[Path_, int] = {}
        _record_lines(path, node, (), lines)
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else 1
        raise SourceError(path, line, f"YAML syntax: {exc.problem}") from exc
    except yaml.reader.ReaderError as exc:
        raise SourceError(path, _line_at(text, exc.position), f"YAML: {exc.reason}") from exc
    except ValueError as exc:  # well formed but impossible, e.g. the date 2027-02-30
        raise SourceError(path, 1, f"impossible value: {exc}") from exc
    finally:
        loader.dispose()
    return SourceFile(path, data, lines)


def _line_at(text: str, position: int) -> int:
    """The 1-based line of a character position in `text`."""
    return text.count("\n", 0, position) + 1


def _record_lines(file: Path, node: yaml.Node, at: Path_, lines: dict[Path_, int]) -> None:
    lines[at] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            line = key_node.start_mark.line + 1
            if key in seen:
                raise SourceError(file, line, f"duplicate key {key!r} (first on line {seen[key]})")
            seen[key] = line
            _record_lines(file, value_node, (*at, key), lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _record_lines(file, item, (*at, index), lines)
