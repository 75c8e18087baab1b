"""Telegram's flood limits, measured on the limiter python-telegram-bot calls for every request:
in one process, and shared by two replicas through the database."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event
from telegram.error import RetryAfter

from bot.channels.ratelimit import ChatRateLimiter
from storage.db import Database
from storage.ratebudget import SqlRateBudget


class Recorder:
    """A stand-in for the HTTP request: records when it ran; can answer 429 first."""

    def __init__(self, retry_after: list[int] | None = None) -> None:
        self.times: list[float] = []
        self._retry_after = retry_after or []

    async def __call__(self, *_: Any, **__: Any) -> bool:
        self.times.append(time.monotonic())
        if self._retry_after:
            raise RetryAfter(self._retry_after.pop(0))
        return True


async def send(
    limiter: ChatRateLimiter, recorder: Recorder, chat: int, endpoint: str = "sendMessage"
) -> object:
    return await limiter.process_request(recorder, (), {}, endpoint, {"chat_id": chat}, None)


async def test_one_message_a_second_per_private_chat() -> None:
    limiter, recorder = ChatRateLimiter(), Recorder()
    await asyncio.gather(*(send(limiter, recorder, 777) for _ in range(3)))
    assert recorder.times[-1] - recorder.times[0] >= 1.9


async def test_private_chats_do_not_wait_for_each_other() -> None:
    limiter, recorder = ChatRateLimiter(), Recorder()
    await asyncio.gather(*(send(limiter, recorder, chat) for chat in range(1, 21)))
    assert recorder.times[-1] - recorder.times[0] < 0.5


async def test_typing_indicators_are_not_counted_as_messages() -> None:
    limiter, recorder = ChatRateLimiter(), Recorder()
    await send(limiter, recorder, 777, "sendChatAction")
    await send(limiter, recorder, 777)
    await send(limiter, recorder, 777, "sendChatAction")
    assert recorder.times[-1] - recorder.times[0] < 0.5


async def test_twenty_messages_a_minute_per_group() -> None:
    limiter, recorder = ChatRateLimiter(), Recorder()
    await asyncio.gather(*(send(limiter, recorder, -100) for _ in range(21)))
    burst = recorder.times[19] - recorder.times[0]
    assert burst < 0.5, "the first twenty go at once"
    assert recorder.times[20] - recorder.times[0] >= 2.5, (
        "the 21st waits for the budget (60 s / 20)"
    )


async def test_thirty_messages_a_second_overall() -> None:
    limiter, recorder = ChatRateLimiter(), Recorder()
    await asyncio.gather(*(send(limiter, recorder, chat) for chat in range(1, 46)))
    assert recorder.times[-1] - recorder.times[0] >= 0.45  # 15 over the budget at 30/s


async def test_a_429_pauses_for_retry_after_then_retries() -> None:
    limiter, recorder = ChatRateLimiter(), Recorder(retry_after=[1])
    assert await send(limiter, recorder, 777) is True
    assert len(recorder.times) == 2
    assert recorder.times[1] - recorder.times[0] >= 1.0


async def test_repeated_429s_give_up_after_max_retries() -> None:
    limiter, recorder = ChatRateLimiter(max_retries=1), Recorder(retry_after=[0, 0, 0])
    with pytest.raises(RetryAfter):
        await send(limiter, recorder, 777)
    assert len(recorder.times) == 2


# -- two replicas sharing one budget in the database ----------------------------------------


@pytest.fixture
def replicas(database: Database) -> Iterator[tuple[SqlRateBudget, SqlRateBudget]]:
    """The shared budget as two processes see it: each with its own connections."""
    first, second = Database(database.url), Database(database.url)
    try:
        yield SqlRateBudget(first, "telegram"), SqlRateBudget(second, "telegram")
    finally:
        first.dispose()
        second.dispose()


def most_in_any_second(times: list[float]) -> int:
    ordered = sorted(times)
    return max(sum(1 for t in ordered if start <= t < start + 1) for start in ordered)


async def test_two_replicas_send_one_message_a_second_per_private_chat_between_them(
    replicas: tuple[SqlRateBudget, SqlRateBudget],
) -> None:
    a, b = (ChatRateLimiter(budget=budget) for budget in replicas)
    recorder = Recorder()
    await asyncio.gather(send(a, recorder, 777), send(b, recorder, 777), send(a, recorder, 777))
    times = sorted(recorder.times)
    assert len(times) == 3
    # Slots are a second apart; a message may leave up to one (busy) transaction after its
    # slot, so two can be a little closer than that, never half a second.
    assert min(later - earlier for earlier, later in itertools.pairwise(times)) >= 0.7
    assert times[-1] - times[0] >= 1.9


async def test_two_replicas_keep_the_overall_budget_between_them(
    replicas: tuple[SqlRateBudget, SqlRateBudget],
) -> None:
    rate = 10  # a second, a burst of as many; the default 30 takes longer to measure
    a, b = (ChatRateLimiter(per_second=rate, budget=budget) for budget in replicas)
    recorder = Recorder()
    await asyncio.gather(
        *(send(a, recorder, chat) for chat in range(1, 16)),
        *(send(b, recorder, chat) for chat in range(101, 116)),
    )
    assert len(recorder.times) == 30
    # Alone, each would send its 15 within 0.5 s; together 20 go over the budget at 10/s.
    assert max(recorder.times) - min(recorder.times) >= 1.8
    assert most_in_any_second(recorder.times) <= 2 * rate + 1  # the burst, then the rate


async def test_a_429_on_one_replica_pauses_the_other(
    replicas: tuple[SqlRateBudget, SqlRateBudget],
) -> None:
    a, b = (ChatRateLimiter(budget=budget) for budget in replicas)
    refused, other = Recorder(retry_after=[1]), Recorder()
    first = asyncio.create_task(send(a, refused, 1))
    deadline = time.monotonic() + 5
    while replicas[1].paused_until() <= time.time():
        assert time.monotonic() < deadline, "the 429 never paused the shared budget"
        await asyncio.sleep(0.02)
    assert await send(b, other, 2) is True
    assert await first is True
    assert other.times[0] - refused.times[0] >= 0.9, "the other replica waited out the 429"


async def test_an_unreachable_database_falls_back_to_this_process_budgets() -> None:
    down = Database("postgresql+psycopg://postgres@127.0.0.1:1/nothing")
    try:
        limiter, recorder = ChatRateLimiter(budget=SqlRateBudget(down, "telegram")), Recorder()
        await asyncio.gather(*(send(limiter, recorder, 777) for _ in range(3)))
    finally:
        down.dispose()
    assert len(recorder.times) == 3, "sending did not stop"
    assert recorder.times[-1] - recorder.times[0] >= 1.9, "the local per-chat budget held"


async def test_slots_taken_with_the_turn_keep_the_budget_and_cost_no_transaction_to_send(
    replicas: tuple[SqlRateBudget, SqlRateBudget], database: Database
) -> None:
    a, b = (ChatRateLimiter(budget=budget) for budget in replicas)
    recorder = Recorder()
    # Each replica decided an answer to chat 777 and took its slots with the turn.
    await asyncio.to_thread(a.prepay, 777)
    await asyncio.to_thread(b.prepay, 777)
    begun = [0]

    def tick(*_: Any) -> None:
        begun[0] += 1

    engines = [budget._db.engine for budget in replicas]
    for engine in engines:
        event.listen(engine, "begin", tick)
    try:
        await asyncio.gather(send(a, recorder, 777), send(b, recorder, 777))
    finally:
        for engine in engines:
            event.remove(engine, "begin", tick)
    assert begun[0] == 1, "the first message goes on its prepaid slots, the second takes one"
    first, second = sorted(recorder.times)
    assert second - first >= 0.7, "one a second to the chat, between the replicas"


async def test_a_slot_taken_ahead_is_only_taken_while_it_is_free_now(
    replicas: tuple[SqlRateBudget, SqlRateBudget],
) -> None:
    a, _ = replicas
    limiter = ChatRateLimiter(per_second=2, budget=a)  # a burst of 2, a slot every 0.5 s
    await asyncio.to_thread(limiter.prepay, 5)
    await asyncio.to_thread(limiter.prepay, 5)  # the chat's next slot is a second away
    waits = await asyncio.to_thread(a.reserve_chain, limiter._budgets(6), time.time())
    # Had chat 5's second prepay taken an overall slot after its own (a second away), chat 6
    # would wait half a second here.
    assert waits == [0.0, 0.0], "the overall budget was not held up by chat 5's second slot"
