"""What only a private chat may do, as the engine sees it: a person's data (/mydata, /forget),
the contact form (typed, pressed, or left from before) and a person from the team are refused in
a group with "message me directly" and the bot's link; FAQ answers in a group stay as they were.
(The adapters' side, Telegram chat types and Slack channels, is in tests/channels.)"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.core.forms import FormState
from bot.core.handoff import REQUEST, HandoffDesk
from bot.core.messages import Incoming, Language, Reply
from bot.core.records import LeadFilter
from bot.core.state import ConversationState
from intents.catalog import PACKAGED_DIR, CatalogError, load_catalog
from intents.knowledge import KnowledgeBase
from tests.chat import Chat, Stores, fill_the_lead_form, memory_stores

GROUP = "-100200"
LINK = "https://t.me/lingang_test_bot"
ANN, BOB = "101", "202"
OPEN = datetime(2026, 12, 8, 2, 0, tzinfo=UTC)  # a Tuesday, 10:00 in Shanghai: office hours


class Group:
    """A group chat on Telegram with the bot in it: several people, one conversation."""

    def __init__(self, knowledge: KnowledgeBase, stores: Stores, *, desk: bool = False) -> None:
        self.stores = stores
        self.desk = HandoffDesk(stores.handoffs, stores.events, lambda: OPEN) if desk else None
        self.engine = stores.engine(knowledge, lambda: OPEN, rated=True, desk=self.desk)
        self.catalog = knowledge.current.catalog

    def send(
        self,
        user: str,
        text: str = "",
        payload: str | None = None,
        *,
        link: str | None = LINK,
        hint: str | None = "en",
    ) -> list[Reply]:
        return self.engine.handle(
            Incoming(
                "telegram",
                GROUP,
                user,
                text=text,
                payload=payload,
                language_hint=hint,
                private=False,
                direct_link=link,
            )
        )

    def private_chat(self, user: str) -> Chat:
        """The same person in their private chat with the bot (its id is theirs on Telegram)."""
        return Chat(self.engine, self.stores, channel="telegram", user=user)

    def state(self) -> ConversationState | None:
        return self.stores.conversations.load("telegram", GROUP)


@pytest.fixture
def group(knowledge: KnowledgeBase) -> Group:
    return Group(knowledge, memory_stores())


def refusal(group: Group, lang: Language = "en", link: str | None = LINK) -> str:
    replies = group.catalog.replies
    if link is None:
        return replies.private_only.get(lang)
    return replies.private_only_link.get(lang).format(link=link)


def with_a_lead(group: Group) -> None:
    """Ann has told the bot her details in her private chat."""
    chat = group.private_chat(ANN)
    chat.say("I'd like a quote")
    fill_the_lead_form(chat, "Ann")
    assert len(group.stores.leads.find(LeadFilter())) == 1


@pytest.mark.parametrize(
    ("text", "payload"),
    [
        ("/mydata", None),
        ("/mydata@lingang_test_bot", None),
        ("/forget", None),
        ("/contact", None),
        ("/contact@lingang_test_bot", None),
        ("I'd like a quote", None),  # a lead intent: it would start the form
        ("I want to talk to a person", None),
        ("", "form:lead"),
        ("", "form:agree"),
        ("", "intent:talk_to_consultant"),  # "Talk to a consultant" under a fallback
        ("", "privacy:erase"),
        ("", REQUEST),  # "Talk to a person now"
        ("", "contact:+8613800138000"),
    ],
)
def test_in_a_group_it_says_message_me_directly_and_keeps_nothing(
    group: Group, text: str, payload: str | None
) -> None:
    with_a_lead(group)
    [reply] = group.send(ANN, text, payload)
    assert reply.text == refusal(group)
    assert reply.buttons == ()
    state = group.state()
    assert state is None or state.form is None
    [lead] = group.stores.leads.find(LeadFilter())  # neither erased nor a second one
    assert lead.answers["email"] == "ann@acme.de"


def test_the_data_export_is_never_posted_to_the_group(group: Group) -> None:
    with_a_lead(group)
    said = "\n".join(reply.text for reply in group.send(ANN, "/mydata"))
    assert "ann@acme.de" not in said
    assert "Acme" not in said
    export = group.private_chat(ANN).say("/mydata")
    assert "ann@acme.de" in export, "in her private chat she gets it"


def test_erasure_is_not_confirmed_for_one_member_by_another(group: Group) -> None:
    with_a_lead(group)
    group.send(ANN, "/forget")
    [reply] = group.send(BOB, payload="privacy:erase")
    assert reply.text == refusal(group)
    assert len(group.stores.leads.find(LeadFilter())) == 1


def test_one_member_cannot_fill_in_the_form_another_agreed_to(group: Group) -> None:
    group.send(ANN, "/contact")
    group.send(ANN, payload="form:agree")
    for answer in ("Bob", "Bob Corp", "bob@bob.example", "Germany"):
        group.send(BOB, answer)
    group.send(BOB, payload="form:confirm")
    assert group.stores.leads.find(LeadFilter()) == []
    state = group.state()
    assert state is None or state.form is None


def test_a_form_left_in_a_group_from_before_is_dropped(group: Group) -> None:
    form = FormState("email", "s1", answers={"name": "Ann", "company": "Acme"})
    state = ConversationState("telegram", GROUP, ANN, language="en", form=form.to_dict())
    group.stores.conversations.save(state)
    [answer] = group.send(BOB, "how big is Lingang?")
    assert "119.5" in answer.text, "answered as a question, not as the form's next field"
    kept = group.state()
    assert kept is not None
    assert kept.form is None


def test_faq_answers_in_a_group_work_as_before(group: Group) -> None:
    [answer] = group.send(ANN, "how big is Lingang?")
    assert "119.5" in answer.text
    assert [b.title for b in answer.buttons][-2:] == ["👍", "👎"]
    [help_text] = group.send(BOB, "/help")
    assert "/lang" in help_text.text


def test_without_a_link_it_still_says_so(group: Group) -> None:
    [reply] = group.send(ANN, "/mydata", link=None)
    assert reply.text == refusal(group, link=None)
    assert "{" not in reply.text


@pytest.mark.parametrize(
    ("text", "hint"),
    [("/mydata", "zh-hans"), ("我想要一份报价", "en")],
    ids=["the person's client language", "the language they wrote in"],
)
def test_in_the_persons_language(group: Group, text: str, hint: str) -> None:
    group.send(BOB, "how big is Lingang?")  # the group's conversation speaks English
    [reply] = group.send(ANN, text, hint=hint)
    assert reply.text == refusal(group, "zh")


def test_no_person_from_the_team_is_brought_into_a_group(knowledge: KnowledgeBase) -> None:
    group = Group(knowledge, memory_stores(), desk=True)
    assert group.desk is not None
    group.send(ANN, "how big is Lingang?")
    [words] = group.send(ANN, "I want to talk to a real person")
    [button] = group.send(ANN, payload=REQUEST)
    assert words.text == button.text == refusal(group)
    assert group.desk.holding("telegram", GROUP) is None
    # In her private chat the same words bring a person.
    chat = group.private_chat(ANN)
    chat.say("I want to talk to a real person")
    assert group.desk.holding("telegram", ANN) is not None


def test_a_thumb_down_in_a_group_offers_no_person_there(knowledge: KnowledgeBase) -> None:
    group = Group(knowledge, memory_stores(), desk=True)
    [answer] = group.send(ANN, "how big is Lingang?")
    down = next(b.payload for b in answer.buttons if b.title == "👎")
    [sorry] = group.send(ANN, payload=down)
    [offer] = [b.payload for b in sorry.buttons]
    [reply] = group.send(ANN, payload=offer)
    assert reply.text == refusal(group)
    assert group.desk is not None
    assert group.desk.holding("telegram", GROUP) is None


# -- the texts ------------------------------------------------------------------------------


@pytest.fixture
def catalog_dir(tmp_path: Path) -> Path:
    target = tmp_path / "intents"
    shutil.copytree(PACKAGED_DIR, target, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    return target


def test_both_texts_exist_in_both_languages() -> None:
    replies = load_catalog().replies
    for lang in ("en", "zh"):
        assert "{link}" in replies.private_only_link.get(lang)
        assert replies.private_only.get(lang)


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ("Please message me directly: {link}", "Please message me directly.", "private_only_link"),
        ("请点此私信我：{link}", "请点此私信我：{url}", "private_only_link"),
        ("Please send me a direct message.", "Message {bot}.", "private_only"),
    ],
)
def test_a_text_with_the_wrong_placeholders_is_refused(
    catalog_dir: Path, old: str, new: str, key: str
) -> None:
    path = catalog_dir / "catalog.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")
    with pytest.raises(CatalogError) as caught:
        load_catalog(catalog_dir)
    assert f"replies.{key}" in str(caught.value)
