"""What a message typed while the form waits for an answer is: a question, or an answer.

A prospect asked for an email who types "john@" or "张三@公司。com" is answering, badly, and must
hear why; one who types "where is Lingang?" is asking. The rule is by the kind of field: a
message is a question only when it clearly is one (it ends with "?" or a question particle, or
starts with a question word and the catalog can answer it) and does not look like an attempt at
the field (an email, a phone number, a country). Malformed answers are explained by reason ids;
the words of the reasons are content (`forms/lead.yaml`, `errors`).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from intents.content import Phrases
from intents.text import normalize

EmailReason = Literal[
    "wide",
    "at_word",
    "spaces",
    "no_at",
    "several_at",
    "nothing_before",
    "no_domain",
    "domain_dot",
    "non_latin",
    "other",
]
PhoneReason = Literal["country_code", "letters", "too_short", "too_long", "invalid"]

QUESTION_MARKS = ("?", "？")
# An "at" between words makes an email attempt of a short message only ("ann at acme dot com",
# not "what is the tax rate at Lingang").
MAX_EMAIL_WORDS = 6
# A phone attempt: a leading +, or this many digits, or mostly digits.
PHONE_DIGITS = 6
FEW_DIGITS = 3
_DOTTED_WORD = re.compile(r"^\S*\w\.\w\S*$")
_LEADING_PLUS = re.compile(r"^\+\s*\d")

_PHONE_ERRORS: dict[int, PhoneReason] = {
    phonenumbers.NumberParseException.INVALID_COUNTRY_CODE: "country_code",
    phonenumbers.NumberParseException.TOO_SHORT_AFTER_IDD: "too_short",
    phonenumbers.NumberParseException.TOO_SHORT_NSN: "too_short",
    phonenumbers.NumberParseException.TOO_LONG: "too_long",
}
_PHONE_LENGTHS: dict[int, PhoneReason] = {
    phonenumbers.ValidationResult.TOO_SHORT: "too_short",
    phonenumbers.ValidationResult.TOO_LONG: "too_long",
    phonenumbers.ValidationResult.INVALID_COUNTRY_CODE: "country_code",
}


def _starts_with(typed: str, phrase: str) -> bool:
    """Whether the normalised `typed` starts with the phrase: as whole words in English,
    as characters in Chinese."""
    wanted = normalize(phrase)
    if not wanted:
        return False
    if wanted.isascii():
        return typed == wanted or typed.startswith(wanted + " ")
    return typed.startswith(wanted)


@dataclass(frozen=True, slots=True)
class QuestionWords:
    """The words that make a question (`forms/lead.yaml`, `words.question_*`)."""

    starts: Phrases
    ends: Phrases
    inside: Phrases


def reads_as_question(text: str, words: QuestionWords, *, answerable: bool) -> bool:
    """Whether `text` is clearly a question.

    It ends with a question mark or a question particle ("吗", "呢"), or it starts with a
    question word ("what", "how", "请问") or has one inside ("临港在哪里") and the catalog has
    an answer: a question word alone does not make a question of "Can Yilmaz" (a name).
    """
    stripped = text.strip()
    if stripped.endswith(QUESTION_MARKS):
        return True
    typed = normalize(stripped)
    if any(typed.endswith(normalize(p)) for _, p in words.ends.items() if normalize(p)):
        return True
    if not answerable:
        return False
    inside = any(normalize(p) in typed for _, p in words.inside.items() if normalize(p))
    return inside or any(_starts_with(typed, p) for _, p in words.starts.items())


def _is_wide(char: str) -> bool:
    """A full-width form of an ASCII character ("＠", "．") or Chinese punctuation ("。", "，"),
    what a Chinese input method types when it is not switched to half-width."""
    code = ord(char)
    if 0xFF01 <= code <= 0xFF5E or 0x3000 <= code <= 0x303F:
        return True
    wide = unicodedata.east_asian_width(char) in ("F", "W")
    return wide and unicodedata.category(char).startswith("P")


def _at_words(text: str, at_words: Phrases) -> bool:
    """Whether "at" (or "艾特") is written for "@": right after a name ("john at gmail",
    "ann lee at acme dot com"), in a short message that is not a question ("what's at
    Lingang?", "where is the office at Lingang" are not addresses)."""
    if text.rstrip().endswith(QUESTION_MARKS):
        return False
    words = text.casefold().split()
    latin = {p.casefold() for _, p in at_words.items() if p.isascii()}
    after_name = [words[i] for i in (1, 2) if i < len(words) - 1]
    if len(words) <= MAX_EMAIL_WORDS and any(word in latin for word in after_name):
        return True
    chinese = [p for _, p in at_words.items() if not p.isascii()]
    return any(p in text for p in chinese)


def looks_like_email(text: str, at_words: Phrases) -> bool:
    """Whether `text` is plausibly someone's attempt at an email address."""
    folded = unicodedata.normalize("NFKC", text).strip()
    if "@" in folded or _at_words(folded, at_words):
        return True
    return _DOTTED_WORD.match(folded) is not None and not folded.endswith(QUESTION_MARKS)


def email_problem(text: str, at_words: Phrases) -> tuple[str, EmailReason | None, str]:
    """The address as stored, or what is wrong with it (and the email library's words)."""
    value = text.strip()
    if any(_is_wide(char) for char in value):
        return "", "wide", ""
    if "@" not in value and _at_words(value, at_words):
        return "", "at_word", ""
    if any(char.isspace() for char in value):
        return "", "spaces", ""
    if value.count("@") != 1:
        return "", "no_at" if "@" not in value else "several_at", ""
    local, domain = value.split("@")
    if not local:
        return "", "nothing_before", ""
    if not domain:
        return "", "no_domain", ""
    if "." not in domain.strip("."):
        return "", "domain_dot", ""
    if not local.isascii():
        # Valid for the standard (SMTPUTF8), refused by many mail systems, and most often a
        # name typed before the address.
        return "", "non_latin", ""
    try:
        email = validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        return "", "other", str(exc).rstrip(".")
    return email, None, ""


def looks_like_phone(text: str) -> bool:
    """Whether `text` is plausibly someone's attempt at a phone number."""
    folded = unicodedata.normalize("NFKC", text).strip()
    digits = sum(char.isdigit() for char in folded)
    if _LEADING_PLUS.match(folded) or digits >= PHONE_DIGITS:
        return True
    signs = sum(not char.isspace() for char in folded)
    return digits >= FEW_DIGITS and 2 * digits >= signs


def phone_problem(text: str) -> tuple[str, PhoneReason | None]:
    """The number in E.164, or what is wrong with it."""
    value = unicodedata.normalize("NFKC", text).strip()
    if any(char.isalpha() for char in value):
        # The phone library would read letters as a keypad's ("1-800-FLOWERS"): a typo such
        # as "O" for "0" would be stored as another number.
        return "", "letters"
    international = "+" + value[2:] if value.startswith("00") else value
    try:
        number = phonenumbers.parse(international, None)
    except phonenumbers.NumberParseException as exc:
        return "", _PHONE_ERRORS.get(exc.error_type, "invalid")
    if phonenumbers.is_valid_number(number):
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), None
    length = phonenumbers.is_possible_number_with_reason(number)
    return "", _PHONE_LENGTHS.get(length, "invalid")
