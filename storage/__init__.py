"""Persistence: SQLAlchemy models and the repositories that implement `bot.core.ports`."""
