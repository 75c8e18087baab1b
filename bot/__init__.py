"""The Lingang FAQ and lead bot: conversation core, channel adapters and composition root."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("lingang-bot")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"
