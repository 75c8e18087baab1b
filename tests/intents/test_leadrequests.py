"""Requests for the firm itself (people, calls, prices, quotes, hiring) recognised by their cues."""

from __future__ import annotations

from pathlib import Path

import pytest

from intents.catalog import CatalogError
from intents.knowledge import build_knowledge
from intents.leadrequests import PACKAGED_FILE, LeadRequests, lead_requests_file
from intents.matcher import Candidate
from intents.sourcefile import SourceError
from tests.chat import copy_catalog

LEADS = ("talk_to_consultant", "pricing", "quote", "meeting")


@pytest.fixture(scope="module")
def requests() -> LeadRequests:
    return LeadRequests.load(PACKAGED_FILE, LEADS)


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        # English, with words around the request
        ("can you give me a quote for customs clearance", "quote"),
        ("I want to talk to a consultant about tax", "talk_to_consultant"),
        ("hi, we design chips in Grenoble, could someone phone me about Lingang?", "meeting"),
        ("Good morning. What would Elite Stage charge for a rep office?", "pricing"),
        ("what is the fee for payroll and bookkeeping", "pricing"),
        ("how much does it cost to register a WFOE with you", "pricing"),
        ("we'd like a written proposal before our board decides", "quote"),
        ("can we arrange a zoom next Tuesday?", "meeting"),
        ("I'd like to speak with a real person please", "talk_to_consultant"),
        ("we want to hire you for our market entry", "talk_to_consultant"),
        # Chinese, simplified and traditional, and with English words in it
        ("注册外商独资企业要多少钱", "pricing"),
        ("想找个顾问聊聊税务的事", "talk_to_consultant"),
        ("请帮我们的临港项目报个价", "quote"),
        ("下个月我们在上海，能见个面吗", "meeting"),
        ("能給我們一份報價嗎", "quote"),
        ("請顧問打電話給我", "meeting"),
        ("你們辦理工作簽證的費用是多少", "pricing"),
        ("麻煩安排專人與我聯絡", "talk_to_consultant"),
        ("WFOE注册你们怎么收费", "pricing"),
        ("能给个quote吗", "quote"),
    ],
)
def test_a_request_is_answered_by_its_lead_intent(
    requests: LeadRequests, text: str, intent: str
) -> None:
    found = requests.detect(text)
    assert found is not None, text
    assert found.intent_id == intent


@pytest.mark.parametrize(
    "text",
    [
        "what is the corporate tax rate",
        "how much registered capital do I need",
        "what does office rent cost in Lingang",
        "how much is the subsidy",
        "how much is a flight from Frankfurt to Shanghai",
        "what is the registration fee the government charges",
        "do I need a meeting with the bank to open an account",
        "do we need to quote prices in RMB",
        "do I need to consult the tax bureau before registration",
        "who do I need to talk to at the bank",
        "is a rep office cheaper than a WFOE?",
        "how long does it take to set up a company",
        "what does Lingang offer to chip companies",
        "are you a real person?",
        "who do I contact at the customs office",
        "see you",
        "注册资本要多少",
        "临港的企业所得税税率是多少",
        "从上海飞东京的机票多少钱",
        "办一家外资公司要花多长时间",
        "临港管委会怎么联系",
        "你是人工客服吗",
        "外国专家来临港有什么政策",
        "临港新片区总体方案是什么",
    ],
)
def test_an_ordinary_question_is_no_request(requests: LeadRequests, text: str) -> None:
    assert requests.detect(text) is None


def test_english_cues_are_whole_words(requests: LeadRequests) -> None:
    assert requests.detect("why is the chip port plan called 10+X") is None  # not "call"
    assert requests.detect("is SMIC quoted on the stock exchange?") is None  # not "quote"


def test_a_request_for_an_intent_the_catalog_lacks_goes_to_the_last_in_order() -> None:
    found = LeadRequests.load(PACKAGED_FILE, ["talk_to_consultant"]).detect("send me a quote")
    assert found is not None
    assert found.intent_id == "talk_to_consultant"
    assert LeadRequests.load(PACKAGED_FILE, ["pricing"]).detect("send me a quote") is None


def test_matched_lead_intents_are_dropped_when_the_message_contradicts_them(
    requests: LeadRequests,
) -> None:
    ranked = [Candidate("pricing", 0.7), Candidate("lingang_airport_access", 0.2)]
    kept = requests.drop_contradicted("从伦敦飞上海的机票多少钱", ranked)
    assert [c.intent_id for c in kept] == ["lingang_airport_access"]
    assert requests.contradicts("你是人工客服吗", "talk_to_consultant")
    assert not requests.contradicts("how much do you charge", "pricing")
    assert not requests.contradicts("what is the price of a flight", "lingang_airport_access")


def test_a_broken_pattern_is_named_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "lead_requests.yaml"
    path.write_text(
        "version: 1\norder: [pricing]\nrequests:\n  pricing:\n    alone:\n      en:\n"
        "        - 'how much (do you'\n",
        encoding="utf-8",
    )
    with pytest.raises(SourceError) as caught:
        LeadRequests.load(path, ["pricing"])
    assert caught.value.line == 7
    assert "regular expression" in caught.value.message


def test_a_catalog_folder_may_bring_its_own_cues(tmp_path: Path) -> None:
    directory = copy_catalog(tmp_path)
    assert lead_requests_file(directory) == PACKAGED_FILE
    (directory / "lead_requests.yaml").write_text(
        "version: 1\norder: [meeting]\nrequests:\n  meeting:\n    alone:\n"
        "      en: ['rendezvous']\n",
        encoding="utf-8",
    )
    own = build_knowledge(directory).lead_requests
    found = own.detect("a rendezvous next week?")
    assert found is not None
    assert found.intent_id == "meeting"
    assert own.detect("can you give me a quote") is None


def test_a_broken_cue_file_is_a_catalog_error(tmp_path: Path) -> None:
    directory = copy_catalog(tmp_path)
    (directory / "lead_requests.yaml").write_text("version: 2\n", encoding="utf-8")
    with pytest.raises(CatalogError):
        build_knowledge(directory)


def test_a_cost_word_about_another_organisation_is_no_request() -> None:
    asked: list[str] = []

    def elsewhere(text: str) -> bool:
        asked.append(text)
        return "Deloitte" in text

    requests = LeadRequests.load(PACKAGED_FILE, LEADS, elsewhere)
    assert requests.detect("What are Deloitte's fees for an audit?") is None
    found = requests.detect("What would you charge for an audit? Deloitte is too slow.")
    assert found is not None
    assert found.intent_id == "pricing"
    assert requests.detect("can someone call me") is not None
    assert asked == ["What are Deloitte's fees for an audit?"], "asked only for a weak cue"
