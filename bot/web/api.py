"""The leads API for a CRM: bearer tokens, OpenAPI."""

from fastapi import APIRouter

from bot.web.context import Web


def routes(web: Web) -> APIRouter:
    """This part's routes."""
    return APIRouter()
