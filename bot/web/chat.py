"""The web chat: the page at / and its JSON endpoints (channel `web`)."""

from fastapi import APIRouter

from bot.web.context import Web


def routes(web: Web) -> APIRouter:
    """This part's routes."""
    return APIRouter()
