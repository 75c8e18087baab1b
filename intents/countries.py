"""Countries by any name a prospect may type them, in English and in Chinese.

The names come from maintained libraries, so that a renamed country arrives with an upgrade:
Babel's CLDR territory names in English, simplified and traditional Chinese, and pycountry's
ISO 3166-1 names (short, official, common), alpha-2 and alpha-3 codes and their Chinese
translations. The few names neither has ("UK", "PRC", "Holland"), the words around a name
("we are based in", "来自") and the codes that are also English words come from the lead form's
content (`forms/lead.yaml`, `countries:`).
"""

from __future__ import annotations

import functools
import gettext
import re
import unicodedata
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

import babel.localedata
import pycountry
from babel import Locale
from rapidfuzz import process
from rapidfuzz.distance import OSA

from intents.text import Lang, normalize

# The CLDR locales whose names are read, and the pycountry translations (gettext domains).
BABEL_LOCALES = ("en", "zh_Hans", "zh_Hant")
PYCOUNTRY_LOCALES = ("zh_CN", "zh_TW", "zh_HK")
# A typed name of at least this many letters may be a typo of a country's name...
MIN_TYPO_LENGTH = 5
# ... within one edit (a letter missing, extra, wrong, or two letters swapped) up to LONG_NAME
# letters, or two for longer names.
LONG_NAME = 7
_SEPARATORS = re.compile(r"[,;/|，；、／]")
_CODE = re.compile(r"^[A-Za-z]{2,3}$")
_LATIN_KEY = re.compile(r"^[a-z]+$")


@dataclass(frozen=True, slots=True)
class Country:
    """One country or territory (ISO 3166-1) with its display names."""

    code: str  # ISO 3166-1 alpha-2
    en: str
    zh: str  # simplified Chinese

    def name(self, lang: Lang) -> str:
        """The country's name in `lang`."""
        return self.en if lang == "en" else self.zh


def name_key(text: str) -> str:
    """A name as compared: `normalize` (width, traditional characters, case, punctuation),
    accents dropped ("Türkiye", "Curaçao"), spaces dropped ("United  States", "美 国")."""
    folded = unicodedata.normalize("NFKD", normalize(text))
    return "".join(c for c in folded if not unicodedata.combining(c) and not c.isspace())


@dataclass(frozen=True, slots=True)
class CountryNames:
    """What the libraries know, read once per process (see `library_names`)."""

    countries: Mapping[str, Country]  # by alpha-2
    names: Mapping[str, str]  # name key -> alpha-2, names that name one country only
    codes: Mapping[str, str]  # lower-case alpha-2 and alpha-3 -> alpha-2
    spelled: tuple[str, ...]  # Latin name keys long enough for typo matching
    spelled_codes: tuple[str, ...]  # the alpha-2 of each of `spelled`


def _pycountry_names(record: object) -> list[str]:
    return [
        str(value)
        for attribute in ("name", "official_name", "common_name")
        if (value := getattr(record, attribute, None))
    ]


def _translation(locale: str) -> gettext.NullTranslations:
    """pycountry's Chinese names, read without `gettext.translation`, which would keep them
    cached for the life of the process."""
    path = gettext.find("iso3166-1", pycountry.LOCALES_DIR, [locale])
    if path is None:
        return gettext.NullTranslations()
    with open(path, "rb") as catalog:
        return gettext.GNUTranslations(catalog)


@functools.cache
def library_names() -> CountryNames:
    """Every name and code of every ISO 3166-1 country, from Babel and pycountry.

    Built once per process (about 0.3 s, see README "Leads"). Babel keeps each loaded locale's
    whole CLDR data (about 7 MB for these three) for the life of the process, where we need
    only 3 x 250 names: its caches are emptied once the names are copied out.
    """
    territories = [Locale.parse(locale).territories for locale in BABEL_LOCALES]
    translations = [_translation(locale) for locale in PYCOUNTRY_LOCALES]
    countries: dict[str, Country] = {}
    spellings: dict[str, set[str]] = {}
    codes: dict[str, str] = {}
    for record in pycountry.countries:
        code = str(record.alpha_2)
        english = _pycountry_names(record)
        cldr = [names[code] for names in territories if code in names]
        countries[code] = Country(code, cldr[0] if cldr else english[0], cldr[1] if cldr else "")
        chinese = [t.gettext(name) for t in translations for name in english]
        for name in (*cldr, *english, *chinese):
            if key := name_key(name):
                spellings.setdefault(key, set()).add(code)
        codes[code.lower()] = code
        codes[str(record.alpha_3).lower()] = code
    babel.localedata.clear_caches()
    # A name two countries share (a translation's short "刚果") names neither.
    names = {key: next(iter(owners)) for key, owners in spellings.items() if len(owners) == 1}
    spelled = sorted(k for k in names if len(k) >= MIN_TYPO_LENGTH and _LATIN_KEY.match(k))
    return CountryNames(countries, names, codes, tuple(spelled), tuple(names[k] for k in spelled))


def _typo_limit(key: str) -> int:
    return 1 if len(key) <= LONG_NAME else 2


def _nearest(key: str, spelled: tuple[str, ...], owners: tuple[str, ...]) -> set[str]:
    """The countries whose names are closest to `key` within the typo limit."""
    limit = _typo_limit(key)
    found = process.extract(key, spelled, scorer=OSA.distance, score_cutoff=limit, limit=None)
    if not found:
        return set()
    best = min(distance for _, distance, _ in found)
    return {owners[index] for _, distance, index in found if distance == best}


class CountryIndex:
    """Finds the one country a typed answer names, or None."""

    def __init__(
        self,
        names: CountryNames,
        *,
        aliases: Mapping[str, Iterable[str]],
        fillers: Iterable[str],
        word_codes: Collection[str],
    ) -> None:
        self._names = names
        self._aliases = {name_key(a): code for code, spelled in aliases.items() for a in spelled}
        alias_keys = sorted(k for k in self._aliases if len(k) >= MIN_TYPO_LENGTH)
        self._alias_spelled = tuple(k for k in alias_keys if _LATIN_KEY.match(k))
        self._alias_owners = tuple(self._aliases[k] for k in self._alias_spelled)
        # Longest first, so that "we are based in" goes before "in".
        self._fillers = sorted({normalize(f) for f in fillers if normalize(f)}, key=len)[::-1]
        self._word_codes = {w.casefold() for w in word_codes}

    def by_code(self, code: str) -> Country | None:
        """The country with this alpha-2 code."""
        return self._names.countries.get(code.upper())

    def find(self, text: str) -> Country | None:
        """The country `text` names: a name in either language, a code, an alias, with words
        around it or a city before it ("Berlin, Germany"), or with a small typo."""
        parts = [p for p in _SEPARATORS.split(text) if p.strip()]
        for match in (self._exact, self._misspelt):
            whole = match(text)
            if whole:
                return self.by_code(whole)
            found = {code for part in parts if (code := match(part))} if len(parts) > 1 else set()
            if len(found) == 1:
                return self.by_code(found.pop())
            if found:
                return None  # two countries in one answer: ask again
        return None

    def _exact(self, piece: str) -> str | None:
        code = self._code(piece)
        if code:
            return code
        for bare in self._without_fillers(piece):
            key = name_key(bare)
            code = self._aliases.get(key) or self._names.names.get(key)
            if code:
                return code
        return None

    def _code(self, piece: str) -> str | None:
        """ "DE", "usa", "U.S.A.", "ＵＳ"; a code that is also an English word ("no", "in") only
        in capitals."""
        typed = re.sub(r"[\s.]", "", unicodedata.normalize("NFKC", piece))
        if not _CODE.match(typed):
            return None
        if typed.casefold() in self._word_codes and not typed.isupper():
            return None
        return self._aliases.get(typed.casefold()) or self._names.codes.get(typed.casefold())

    def _without_fillers(self, piece: str) -> list[str]:
        """`piece`, then `piece` without the words around a country ("I'm from", "我们在")."""
        text = normalize(piece)
        found = [text]
        changed = True
        while changed:
            changed = False
            for filler in self._fillers:
                latin = filler.isascii()
                if text.startswith(filler + " " if latin else filler) and text != filler:
                    text = text[len(filler) :].strip()
                    found.append(text)
                    changed = True
                    break
        return found

    def _misspelt(self, piece: str) -> str | None:
        for bare in self._without_fillers(piece):
            key = name_key(bare)
            if len(key) < MIN_TYPO_LENGTH or not _LATIN_KEY.match(key):
                continue
            owners = _nearest(key, self._names.spelled, self._names.spelled_codes)
            owners |= _nearest(key, self._alias_spelled, self._alias_owners)
            if len(owners) == 1:
                return owners.pop()
        return None
