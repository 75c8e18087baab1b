"""The matcher: confident matches, honest refusals, explained with runner-ups."""

from __future__ import annotations

from intents.knowledge import KnowledgeBase


def test_exact_example_matches_with_full_score(knowledge: KnowledgeBase) -> None:
    match = knowledge.current.matcher.match("what is Lingang?")
    assert (match.intent_id, match.score) == ("lingang_overview", 1.0)


def test_match_lists_runner_ups_best_first(knowledge: KnowledgeBase) -> None:
    match = knowledge.current.matcher.match("how big is Lingang?")
    assert match.intent_id == "lingang_area"
    scores = [c.score for c in match.candidates]
    assert scores == sorted(scores, reverse=True)
    assert all(c.intent_id != "lingang_area" for c in match.alternatives)


def test_out_of_scope_question_has_no_intent(knowledge: KnowledgeBase) -> None:
    match = knowledge.current.matcher.match("recommend a good pizza place in Naples")
    assert match.intent_id is None
    assert not match.ambiguous


def test_too_close_to_call_is_ambiguous(knowledge: KnowledgeBase) -> None:
    match = knowledge.current.matcher.match("lingang")
    assert match.intent_id is None
    assert match.ambiguous
