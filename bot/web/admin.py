"""Pages for admins: the intent catalog, unanswered questions, users and the audit log."""

from fastapi import APIRouter

from bot.web.context import Web


def routes(web: Web) -> APIRouter:
    """This part's routes."""
    return APIRouter()
