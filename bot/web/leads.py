"""Pages for sales staff: the leads table, a lead's page, CSV export and the funnel."""

from fastapi import APIRouter

from bot.web.context import Web


def routes(web: Web) -> APIRouter:
    """This part's routes."""
    return APIRouter()
