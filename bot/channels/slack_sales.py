"""New leads, from any channel, posted to the sales team's Slack channel (the `Notifier` the
outbox relay calls; a failure raises, so the relay tries again later and nothing is lost).
Where each card went is kept with the lead, so that erasing the lead can delete it."""

from __future__ import annotations

import logging
from typing import Protocol

from slack_sdk import WebClient
from slack_sdk.http_retry import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler

from bot.adapters.slack import CHANNEL
from bot.adapters.slack_desk import notification
from bot.channels.slack import failure_reason
from bot.core.ports import PlatformErrors
from bot.core.records import Lead
from intents.knowledge import KnowledgeBase

log = logging.getLogger(__name__)


class Cards(Protocol):
    """Where leads' Slack cards are (`SqlLeadRepository.set_card`)."""

    def set_card(self, lead_id: int, channel: str, ts: str) -> None:
        """Record where the lead's card was posted."""
        ...


class SlackSalesNotifier:
    """Posts a lead card with Claim, Contacted, Qualified and Lost to the sales channel."""

    def __init__(
        self,
        knowledge: KnowledgeBase,
        *,
        token: str,
        base_url: str,
        channel: str,
        errors: PlatformErrors | None = None,
        cards: Cards | None = None,
    ) -> None:
        self._knowledge = knowledge
        self._cards = cards
        self._errors = errors
        self._channel = channel
        self._client = WebClient(token=token, base_url=base_url)
        self._client.retry_handlers = [
            ConnectionErrorRetryHandler(max_retry_count=2),
            RateLimitErrorRetryHandler(max_retry_count=3),
        ]

    def notify(self, lead: Lead, kind: str) -> None:
        """Post the lead and keep where the card went; raises when Slack does not take it (the
        outbox keeps it)."""
        catalog = self._knowledge.current.catalog
        message = notification(lead, catalog.sales, catalog.lead_form, kind)
        try:
            posted = self._client.chat_postMessage(channel=self._channel, **message.body())
        except Exception as exc:
            if self._errors is not None:
                self._errors.count(CHANNEL, failure_reason(exc))
            raise
        channel, ts = posted.get("channel"), posted.get("ts")
        if self._cards is None or not channel or not ts:
            return
        try:
            self._cards.set_card(lead.id, str(channel), str(ts))
        except Exception:  # posted: raising would post it again; the card just stays
            log.warning("where lead #%d's card went was not recorded", lead.id)
