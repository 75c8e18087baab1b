"""What every adapter must do, run on each: the terminal, Telegram, Slack and the web chat.

A driver plays a person on one platform: what they type or press becomes the adapter's
`Incoming`; the replies the engine returns are rendered by the adapter, and the driver reads
back what that person would see (text, and buttons they can press).
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from itertools import count
from typing import Any, Protocol

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from telegram import Update

from bot.adapters import console, slack, telegram, web
from bot.core.messages import Button, Incoming, Reply
from bot.core.records import LeadFilter
from intents.catalog import PACKAGED_DIR
from intents.knowledge import KnowledgeBase
from tests.chat import memory_stores
from tests.fakes.slack_requests import block_action_payload, dm
from tests.fakes.telegram_api import BOT, message, press


@dataclass(frozen=True)
class Shown:
    """What a person sees after a turn: the text, and the buttons they can press."""

    text: str
    buttons: tuple[tuple[str, Any], ...]  # (title, what pressing it needs)

    def button(self, words: str) -> Any:
        """The button whose title contains `words`."""
        for title, handle in self.buttons:
            if words.casefold() in title.casefold():
                return handle
        raise AssertionError(f"no button {words!r} in {[t for t, _ in self.buttons]}")


class Driver(Protocol):
    channel: str

    def user_id(self, person: str) -> str: ...
    def says(self, user: str, text: str) -> Incoming: ...
    def presses(self, user: str, handle: Any) -> Incoming: ...
    def sees(self, replies: list[Reply]) -> Shown: ...


class ConsoleDriver:
    channel = console.CHANNEL

    def user_id(self, person: str) -> str:
        return person

    def __init__(self) -> None:
        self._shown: tuple[Button, ...] = ()

    def says(self, user: str, text: str) -> Incoming:
        return console.to_incoming(console.Session(user), text)

    def presses(self, user: str, handle: Any) -> Incoming:
        return console.to_incoming(console.Session(user), str(handle), self._shown)

    def sees(self, replies: list[Reply]) -> Shown:
        text, self._shown = console.render_text(replies)
        return Shown(text, tuple((b.title, n) for n, b in enumerate(self._shown, 1)))


class TelegramDriver:
    channel = telegram.CHANNEL

    def user_id(self, person: str) -> str:
        return person

    me = telegram.Identity(BOT["id"], BOT["username"])
    _updates = count(1)

    def _incoming(self, data: dict[str, Any]) -> Incoming:
        update = Update.de_json({"update_id": next(self._updates), **data}, None)
        incoming = telegram.to_incoming(update, self.me)
        assert incoming is not None
        return incoming

    def says(self, user: str, text: str) -> Incoming:
        return self._incoming(message(text, chat=int(user)))

    def presses(self, user: str, handle: Any) -> Incoming:
        kind, value = handle
        if kind == "callback":
            return self._incoming(press(value, chat=int(user)))
        return self._incoming(message(value, chat=int(user)))  # a reply-keyboard button

    def sees(self, replies: list[Reply]) -> Shown:
        texts, buttons = [], []
        for reply in replies:
            for sent in telegram.render(reply):
                body = sent.body()
                assert body["parse_mode"] == "HTML"
                assert len(body["text"]) <= telegram.MAX_TEXT
                texts.append(html.unescape(body["text"]))
                markup = body.get("reply_markup") or {}
                for row in markup.get("inline_keyboard", []):
                    buttons += [(b["text"], ("callback", b["callback_data"])) for b in row]
                for row in markup.get("keyboard", []):
                    buttons += [(b["text"], ("typed", b["text"])) for b in row]
        return Shown("\n".join(texts), tuple(buttons))


class SlackDriver:
    channel = slack.CHANNEL
    me = slack.Identity("UBOT", "BBOT")

    def user_id(self, person: str) -> str:
        return f"U{person}"

    def says(self, user: str, text: str) -> Incoming:
        event = dm(text, user=self.user_id(user), channel=f"D{user}")["event"]
        translated = slack.event_to_incoming(event, self.me)
        assert translated is not None
        return translated[0]

    def presses(self, user: str, handle: Any) -> Incoming:
        action_id, value = handle
        payload = block_action_payload(action_id, value, self.user_id(user), f"D{user}")
        translated = slack.action_to_incoming(payload)
        assert translated is not None
        return translated[0]

    def sees(self, replies: list[Reply]) -> Shown:
        texts, buttons = [], []
        for reply in replies:
            for posted in slack.render(reply):
                assert len(posted.blocks) <= 50
                for block in posted.blocks:
                    if block["type"] == "section":
                        assert len(block["text"]["text"]) <= slack.MAX_SECTION
                        texts.append(html.unescape(block["text"]["text"]))
                    if block["type"] == "actions":
                        assert len(block["elements"]) <= slack.MAX_ACTIONS
                        buttons += [
                            (e["text"]["text"], (e["action_id"], e["value"]))
                            for e in block["elements"]
                        ]
        return Shown("\n".join(texts), tuple(buttons))


class WebDriver:
    """A browser: JSON bodies as the chat page posts them, the cookie's id as the person."""

    channel = web.CHANNEL

    def user_id(self, person: str) -> str:
        return f"browser-{person}".ljust(32, "0")

    def _incoming(self, user: str, body: str) -> Incoming:
        return web.to_incoming(web.parse(json.loads(body)), self.user_id(user), "en-GB,en")

    def says(self, user: str, text: str) -> Incoming:
        return self._incoming(user, json.dumps({"text": text}))

    def presses(self, user: str, handle: Any) -> Incoming:
        return self._incoming(user, json.dumps({"payload": handle}))

    def sees(self, replies: list[Reply]) -> Shown:
        document = json.loads(json.dumps(web.render_all(replies)))
        texts = [reply["text"] for reply in document["replies"]]
        buttons = [(b["title"], b["payload"]) for r in document["replies"] for b in r["buttons"]]
        return Shown("\n".join(texts), tuple(buttons))


DRIVERS = {
    "console": ConsoleDriver,
    "telegram": TelegramDriver,
    "slack": SlackDriver,
    "web": WebDriver,
}


@pytest.fixture(params=list(DRIVERS))
def driver(request: pytest.FixtureRequest) -> Driver:
    made: Driver = DRIVERS[request.param]()
    return made


@pytest.fixture(scope="module")
def knowledge() -> KnowledgeBase:
    """The packaged catalog with the default matcher: matching is tested elsewhere."""
    return KnowledgeBase(PACKAGED_DIR)


class People:
    """People talking to one engine through one driver: `people.say("2024", "hi")`."""

    def __init__(self, driver: Driver, knowledge: KnowledgeBase) -> None:
        self.driver = driver
        self.stores = memory_stores()
        self.engine = self.stores.engine(knowledge)

    def say(self, user: str, text: str) -> Shown:
        return self.driver.sees(self.engine.handle(self.driver.says(user, text)))

    def press(self, user: str, words: str, shown: Shown) -> Shown:
        return self.driver.sees(self.engine.handle(self.driver.presses(user, shown.button(words))))


def test_a_typed_message_becomes_text_from_that_person(driver: Driver) -> None:
    incoming = driver.says("1001", "  where is Lingang?  ")
    assert incoming.channel == driver.channel
    assert (incoming.user_id, incoming.payload) == (driver.user_id("1001"), None)
    assert incoming.text.strip() == "where is Lingang?"
    other = driver.says("1002", "hi")
    assert other.conversation_id != incoming.conversation_id
    assert driver.says("1001", "again").conversation_id == incoming.conversation_id


texts = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=9000)
titles = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=30
)


@settings(max_examples=40, deadline=None)
@given(text=texts, title=titles)
def test_every_reply_is_shown_whole_and_its_buttons_press_back(text: str, title: str) -> None:
    for make in DRIVERS.values():
        driver: Driver = make()
        payload = "intent:lingang_location"
        title = title.strip() or "x"
        shown = driver.sees([Reply(text, (Button(title, payload),))])
        assert "".join(text.split()) in "".join(shown.text.split())
        [(seen_title, handle)] = shown.buttons
        assert seen_title == title
        assert driver.presses("1001", handle).payload == payload


def test_a_conversation_reaches_a_lead_on_every_channel(
    driver: Driver, knowledge: KnowledgeBase
) -> None:
    people, user = People(driver, knowledge), "2024"
    stores = people.stores

    def say(text: str) -> Shown:
        return people.say(user, text)

    def press_(words: str, shown: Shown) -> Shown:
        return people.press(user, words, shown)

    assert "Pudong" in say("where is Lingang?").text
    consent = say("I want to talk to a consultant")
    name = press_("agree", consent)
    assert "name" in name.text.lower()
    for answer in ("Ann Lee", "Acme GmbH", "ann@acme.de", "Germany"):
        shown = say(answer)
    shown = press_("skip", shown)  # the phone is optional
    shown = press_("IC", shown)
    shown = press_("3 months", shown)
    summary = say("skip")
    assert "ann@acme.de" in summary.text
    thanks = press_("confirm", summary)
    assert "Ann Lee" in thanks.text
    [lead] = stores.leads.find(LeadFilter())
    expected = (driver.channel, driver.user_id(user), "ann@acme.de")
    assert (lead.channel, lead.user_id, lead.answers["email"]) == expected


def test_a_follow_up_is_read_with_the_previous_question_on_every_channel(
    driver: Driver, knowledge: KnowledgeBase
) -> None:
    say = People(driver, knowledge).say
    say("3001", "what is dishui lake")
    assert "5.56 million m²" in say("3001", "how big is it?").text
    say("3002", "滴水湖在哪")
    assert "556 万平方米" in say("3002", "面积多大？").text
    assert "5.56 million m²" not in say("3003", "how big is it?").text  # no context: Lingang


def test_a_malformed_answer_keeps_the_form_step_on_every_channel(
    driver: Driver, knowledge: KnowledgeBase
) -> None:
    people, user = People(driver, knowledge), "2025"
    stores = people.stores

    def say(text: str) -> Shown:
        return people.say(user, text)

    def press_(words: str, shown: Shown) -> Shown:
        return people.press(user, words, shown)

    name = press_("同意", say("我想联系顾问"))
    assert "请问您怎么称呼" in name.text
    say("王小明")
    email = say("上海示例半导体有限公司")
    assert "顾问应通过哪个邮箱与您联系" in email.text
    for malformed, reason in (
        ("wang@", "@ 后面缺少域名"),
        ("张三@公司。com", "全角字符或中文标点"),
    ):
        again = say(malformed)
        assert reason in again.text
        assert "顾问应通过哪个邮箱与您联系" in again.text, "the same question, asked again"
    assert "位于哪个国家/地区" in say("wang@example.cn").text
    refused = say("Shanghai Semiconductor Co.")
    assert "这看起来不像是国家或地区的名称" in refused.text
    shown = say("德国")
    assert "电话" in shown.text
    shown = press_("跳过", shown)  # the phone
    shown = press_("集成电路", shown)
    shown = press_("3 个月内", shown)
    summary = press_("跳过", shown)  # the note
    assert "国家/地区: 德国" in summary.text
    press_("确认提交", summary)
    [lead] = stores.leads.find(LeadFilter())
    assert (lead.channel, lead.answers["country"]) == (driver.channel, "Germany")
    assert stores.questions.recent() == [], "no form answer became an unanswered question"


def test_a_lead_request_with_words_around_it_starts_the_form_on_every_channel(
    driver: Driver, knowledge: KnowledgeBase
) -> None:
    people = People(driver, knowledge)
    say = people.say
    quote = say("4001", "Hello! Can you give me a quote for customs clearance? We import chips.")
    assert "quote or proposal" in quote.text
    assert "/forget" in quote.text, "the privacy notice"
    name = people.press("4001", "agree", quote)
    assert "name" in name.text.lower()
    fee = say("4002", "注册外商独資企业要多少錢？")
    assert "无法提供价格信息" in fee.text
    fee.button("同意")
    tax = say("4003", "what is the corporate tax rate in lingang")
    assert "15%" in tax.text
    assert "/forget" not in tax.text, "an FAQ question about a rate starts no form"


def test_a_question_about_another_place_is_refused_with_a_consultant_on_every_channel(
    driver: Driver, knowledge: KnowledgeBase
) -> None:
    people = People(driver, knowledge)
    say = people.say
    refused = say("5001", "what is the corporate tax rate in Singapore?")
    assert "Singapore is outside what I cover" in refused.text
    assert "25%" not in refused.text
    consultant = people.press("5001", "consultant", refused)
    assert "elitestage.com" in consultant.text
    assert "深圳不在我的服务范围内" in say("5002", "深圳有多少人口？").text
    origin = say("5003", "we are a Singapore firm, what is a WFOE?")
    assert "wholly foreign-owned" in origin.text
