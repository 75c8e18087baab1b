"""The follow-up rule on a small catalog of its own."""

from __future__ import annotations

from intents.catalog import load_catalog
from intents.followups import is_short, read
from intents.matcher import Example, Matcher

EXAMPLES = {
    "lake_size": ["how big is the lake", "size of the lake", "lake area in square km"],
    "lake_what": ["what is the lake", "tell me about the lake", "the lake in the city centre"],
    "port_what": ["what is the port", "tell me about the port", "the deep water port"],
    "port_size": ["how big is the port", "port capacity", "how busy is the port"],
}


def _matcher() -> Matcher:
    examples = [Example(intent, text) for intent, texts in EXAMPLES.items() for text in texts]
    return Matcher(examples, load_catalog().settings.matching)


def test_short_means_a_few_words_or_a_few_chinese_characters() -> None:
    assert is_short("and since when?")
    assert is_short("那要多久？")
    assert not is_short("could you tell me how long the registration of a company takes")
    assert not is_short("外商独资企业在临港注册一般需要多长时间才能拿到营业执照")


def test_without_a_previous_question_the_message_is_read_alone() -> None:
    reading = read(_matcher(), "how big is it")
    assert not reading.in_context
    assert reading.text == "how big is it"


def test_a_follow_up_takes_the_topic_of_the_previous_question() -> None:
    matcher = _matcher()
    alone = read(matcher, "size?")
    reading = read(matcher, "size?", previous="what is the port")
    assert alone.ranked[0].intent_id == "lake_size"
    assert reading.in_context
    assert reading.ranked[0].intent_id.startswith("port_")
    assert reading.text == "what is the port size?"


def test_words_the_catalog_never_saw_are_not_a_follow_up() -> None:
    reading = read(_matcher(), "pizza recipe?", previous="tell me about the port")
    assert not reading.in_context


def test_a_long_question_is_read_alone() -> None:
    text = "is the lake in the city centre bigger than the deep water port is"
    assert not read(_matcher(), text, previous="tell me about the port").in_context
