"""Long replies in pieces a platform accepts, cut where a reader would expect a break."""

from __future__ import annotations


def chunks(text: str, limit: int) -> list[str]:
    """`text` in pieces of at most `limit` characters, cut at paragraphs, then lines, then
    words, and only as a last resort inside a word."""
    pieces: list[str] = []
    rest = text
    while len(rest) > limit:
        window = rest[:limit]
        cut = max(window.rfind("\n\n"), 0) or max(window.rfind("\n"), 0) or window.rfind(" ")
        if cut <= 0:
            cut = limit
            entity = window.rfind("&")
            if entity > max(window.rfind(";"), 0):  # never cut an escape like &amp; in two
                cut = entity
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip("\n ")
    if rest.strip() or not pieces:
        pieces.append(rest)
    return pieces
