"""Telegram's flood limits, measured on the limiter python-telegram-bot calls for every request."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from telegram.error import RetryAfter

from bot.channels.ratelimit import ChatRateLimiter


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
