"""The engine tells its `TurnObserver` (the metrics) about every message it handles: the
channel, how the turn went, and how long it took."""

from __future__ import annotations

from bot.core.messages import Incoming
from intents.knowledge import KnowledgeBase
from tests.chat import memory_stores


class Recorder:
    """A `TurnObserver` that keeps what it is told."""

    def __init__(self) -> None:
        self.turns: list[tuple[str, str, float]] = []

    def handled(self, channel: str, outcome: str, seconds: float) -> None:
        self.turns.append((channel, outcome, seconds))


def test_every_kind_of_turn_is_observed_with_its_outcome(knowledge: KnowledgeBase) -> None:
    stores, recorder = memory_stores(), Recorder()
    engine = stores.engine(knowledge, observer=recorder)
    said = [
        Incoming("test", "c1", "u1", text="where is Lingang?", event_id="e1"),
        Incoming("test", "c1", "u1", text="where is Lingang?", event_id="e1"),
        Incoming("test", "c1", "u1", text="zxqv plorb wubbity"),
        Incoming("test", "c1", "u1", text="/help"),
        Incoming("test", "c1", "u1", text="x" * 50_000),
        Incoming("test", "c1", "u1", payload="lang:zh"),
        Incoming("test", "c1", "u1", payload="form:lead", private=True),
    ]
    for incoming in said:
        engine.handle(incoming)
    outcomes = [outcome for _, outcome, _ in recorder.turns]
    assert outcomes == [
        "match", "duplicate", "fallback", "command", "refused", "notice", "form",
    ]  # fmt: skip
    assert {channel for channel, _, _ in recorder.turns} == {"test"}
    assert all(seconds >= 0 for _, _, seconds in recorder.turns)
