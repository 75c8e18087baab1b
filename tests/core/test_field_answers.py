"""The rule that tells a question to the bot from an answer to the form's pending question."""

from __future__ import annotations

import pytest

from bot.core import field_answers
from bot.core.forms import FormState, LeadForm
from bot.core.messages import Language
from intents.catalog import PACKAGED_DIR, load_catalog
from intents.forms import LeadFormSpec


@pytest.fixture(scope="module")
def spec() -> LeadFormSpec:
    return load_catalog(PACKAGED_DIR).lead_form


@pytest.fixture(scope="module")
def form(spec: LeadFormSpec) -> LeadForm:
    return LeadForm(spec, retention_days=365)


def at(step: str) -> FormState:
    """A form waiting for the answer to `step`."""
    return FormState(step, "submission", visited=("name",))


@pytest.mark.parametrize(
    ("text", "answerable", "expected"),
    [
        ("where is Lingang?", False, True),
        ("临港在哪里？", False, True),
        ("可以注册外资公司吗", False, True),
        ("where is lingang", True, True),
        ("where is lingang", False, False),  # nothing to answer it with: an answer, badly typed
        ("请问 临港有多大", True, True),
        ("临港在哪里", True, True),
        ("公司注册要多久", True, True),
        ("哪里科技有限公司", False, False),
        ("Can Yilmaz", False, False),  # a name that starts like a question
        ("Howard Lee", True, False),  # "how" only as a whole word
        ("tell me about the tax incentives", True, True),
        ("john@", True, False),
        ("Acme Ltd", True, False),
    ],
)
def test_a_clear_question(spec: LeadFormSpec, text: str, answerable: bool, expected: bool) -> None:
    words = spec.words
    asking = field_answers.QuestionWords(
        words.question_starts, words.question_ends, words.question_inside
    )
    read = field_answers.reads_as_question(text, asking, answerable=answerable)
    assert read is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("john@", True),
        ("张三@公司。com", True),
        ("ｗａｎｇ＠ｅｘａｍｐｌｅ．ｃｎ", True),
        ("john at gmail", True),
        ("ann lee at acme dot com", True),
        ("ann.acme.de", True),
        ("王小明艾特qq点com", True),
        ("what's at Lingang?", False),
        ("where is the office at Lingang", False),
        ("what is your email?", False),
        ("where is Lingang?", False),
        ("lingang.gov.cn?", False),
    ],
)
def test_an_attempt_at_an_email(spec: LeadFormSpec, text: str, expected: bool) -> None:
    assert field_answers.looks_like_email(text, spec.words.email_at) is expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("张三@公司。com", "wide"),
        ("ａｎｎ＠ａｃｍｅ．ｄｅ", "wide"),
        ("ann@acme，de", "wide"),
        ("john at gmail", "at_word"),
        ("john艾特gmail.com", "at_word"),
        ("ann @acme.de", "spaces"),
        ("ann.acme.de", "no_at"),
        ("ann@@acme.de", "several_at"),
        ("@acme.de", "nothing_before"),
        ("john@", "no_domain"),
        ("john@gmail", "domain_dot"),
        ("张三@acme.com", "non_latin"),
        ("ann@acme..de", "other"),
    ],
)
def test_each_malformed_email_has_its_reason(spec: LeadFormSpec, text: str, reason: str) -> None:
    assert field_answers.email_problem(text, spec.words.email_at)[:2] == ("", reason)


def test_a_good_email_is_normalised(spec: LeadFormSpec) -> None:
    assert field_answers.email_problem(" Ann.Lee@Acme.DE ", spec.words.email_at) == (
        "Ann.Lee@acme.de",
        None,
        "",
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("+86 138 0013 8000", True),
        ("+86 138 OOl3 8000", True),  # letters for digits: still a phone attempt
        ("12345", True),
        ("138-ABCD-5678", True),
        ("０２１ ５０１２ ３４５６", True),  # full-width digits
        ("what is the 2025 policy?", False),
        ("is there a 15% tax?", False),
        ("怎么联系你们？", False),
    ],
)
def test_an_attempt_at_a_phone_number(text: str, expected: bool) -> None:
    assert field_answers.looks_like_phone(text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("+49 30 12345678", ("+493012345678", None)),
        ("0049 30 12345678", ("+493012345678", None)),
        ("＋８６ １３８ ００１３ ８０００", ("+8613800138000", None)),
        ("+86 138 OOl3 8000", ("", "letters")),
        ("电话 +86 138 0013 8000", ("", "letters")),
        ("12345", ("", "country_code")),
        ("+86 138", ("", "too_short")),
        ("+86 138 0013 8000 1234 5678", ("", "too_long")),
        ("+1 555 0100", ("", "invalid")),  # a local number only
    ],
)
def test_each_malformed_phone_has_its_reason(text: str, expected: tuple[str, str | None]) -> None:
    assert field_answers.phone_problem(text) == expected


# -- the rule at each kind of field ------------------------------------------------------------


@pytest.mark.parametrize(
    ("step", "text", "lang", "reason"),
    [
        ("email", "john@", "en", "the part after the @-sign is missing"),
        ("email", "john@", "zh", "@ 后面缺少域名"),
        ("email", "张三@公司。com", "zh", "全角字符或中文标点"),
        ("email", "john@gmail?", "en", "needs a dot"),
        ("email", "john at gmail", "en", "instead of “at”"),
        ("email", "is ann@acme ok?", "en", "has spaces in it"),
        ("phone", "+86 138 OOl3 8000?", "en", "letters"),
        ("phone", "12345？", "zh", "缺少国家/地区代码"),
    ],
)
def test_a_malformed_answer_is_refused_with_its_reason_even_as_a_question(
    form: LeadForm, step: str, text: str, lang: Language, reason: str
) -> None:
    result = form.step(at(step), lang, text=text, answerable=True)
    assert result.outcome == "continue"
    assert result.state is not None
    assert (result.state.step, result.state.failures) == (step, 1)
    assert reason in result.replies[0].text
    assert result.replies[-1].field == step


@pytest.mark.parametrize(
    ("step", "text", "answerable"),
    [
        ("email", "where is Lingang?", False),
        ("email", "临港在哪里", True),
        ("phone", "what is the 2025 policy?", False),
        ("country", "what about the tax in Germany?", False),
        ("country", "外资企业可以在临港注册吗", False),
        ("name", "what does Elite Stage charge?", False),
        ("company", "how big is Lingang", True),
        ("interest", "which one is for a WFOE?", False),
    ],
)
def test_a_clear_question_that_is_no_attempt_is_a_question(
    form: LeadForm, step: str, text: str, answerable: bool
) -> None:
    result = form.step(at(step), "en", text=text, answerable=answerable)
    assert result.outcome == "question"
    assert result.state is not None
    assert result.state.step == step


@pytest.mark.parametrize(
    ("step", "text", "stored"),
    [
        ("country", "Germany?", "Germany"),
        ("country", "德国？", "Germany"),
        ("interest", "IC industry?", "ic_industry"),
        ("note", "Can you call me on Monday?", "Can you call me on Monday?"),
    ],
)
def test_an_answer_with_a_question_mark_is_still_an_answer(
    form: LeadForm, step: str, text: str, stored: str
) -> None:
    result = form.step(at(step), "en", text=text, answerable=True)
    assert result.outcome == "continue"
    assert result.state is not None
    assert result.state.answers[step] == stored


def test_an_answer_the_catalog_could_answer_is_no_question_without_the_look_of_one(
    form: LeadForm,
) -> None:
    # "tax" may match an intent, but typed at the interest step it is an attempt at a choice.
    result = form.step(at("interest"), "en", text="tax", answerable=True)
    assert result.outcome == "continue"
    assert "pick one of the buttons" in result.replies[0].text


@pytest.mark.parametrize(
    ("text", "lang", "shown"),
    [("Germany", "en", "Germany"), ("德國", "zh", "德国"), ("UK", "zh", "英国")],
)
def test_the_country_is_stored_in_english_and_said_back_in_the_forms_language(
    form: LeadForm, text: str, lang: Language, shown: str
) -> None:
    result = form.step(at("country"), lang, text=text)
    assert result.state is not None
    spec = form.spec.field("country")
    assert spec is not None
    assert result.state.answers["country"] in ("Germany", "United Kingdom")
    assert form.shown(spec, result.state.answers, lang) == shown


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_company_name_is_not_a_country(form: LeadForm, lang: Language) -> None:
    result = form.step(at("country"), lang, text="Shanghai Semiconductor Co.")
    assert result.state is not None
    assert result.state.step == "country"
    assert result.replies[0].text == form.spec.errors.country.get(lang)


def test_consent_and_summary_still_answer_what_the_catalog_knows(form: LeadForm) -> None:
    consent = FormState("consent", "submission")
    assert form.step(consent, "en", text="how big is Lingang", answerable=True).outcome == (
        "question"
    )
    assert form.step(consent, "en", text="Ann Lee").outcome == "continue"
