"""Pages for admins: the intent catalog, unanswered questions, users and the audit log."""

from __future__ import annotations

from fastapi import APIRouter

from bot.web.context import Web


def routes(web: Web) -> APIRouter:
    """This part's routes."""
    return APIRouter()
