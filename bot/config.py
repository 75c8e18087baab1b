"""Settings, read once at start-up: from the environment, then `.env`, then defaults.

A malformed value stops the start with a message naming the variable; secret values are
`SecretStr`, so they never appear in logs, errors or reprs.
"""

from __future__ import annotations

import ipaddress
import os
import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    SecretStr,
    ValidationError,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from intents.catalog import PACKAGED_DIR

SUPPORTED_DATABASES = ("sqlite", "postgresql")


class ConfigError(Exception):
    """The settings are unusable; each line of the message names one variable."""


def _database_url(value: SecretStr | None) -> SecretStr | None:
    if value is None:
        return None
    # SQLAlchemy only when a URL is given: `ask` and `chat` on SQLite start without it here.
    from sqlalchemy.engine import make_url  # noqa: PLC0415
    from sqlalchemy.exc import ArgumentError  # noqa: PLC0415

    try:
        url = make_url(value.get_secret_value())
    except ArgumentError:
        raise ValueError(
            "not a database URL; expected e.g. sqlite:///var/lingang.db or "
            "postgresql+psycopg://user@host:5432/dbname"
        ) from None
    if url.get_backend_name() not in SUPPORTED_DATABASES:
        raise ValueError(
            f"unsupported database {url.get_backend_name()!r}; use sqlite or postgresql"
        )
    return value


def _http_url(value: str) -> str:
    if not re.match(r"^https?://[^\s/]+", value):
        raise ValueError("must be an http:// or https:// URL")
    return value


def _https_url(value: str | None) -> str | None:
    if value is not None and not re.match(r"^https://[^\s/]+", value):
        raise ValueError("must be an https:// URL (Telegram only calls https webhooks)")
    return value


def _secret(pattern: str, example: str) -> AfterValidator:
    def check(value: SecretStr | None) -> SecretStr | None:
        if value is not None and not re.fullmatch(pattern, value.get_secret_value()):
            raise ValueError(f"does not look right (expected the form {example})")
        return value

    return AfterValidator(check)


def _pattern(pattern: str, example: str) -> AfterValidator:
    def check(value: str | None) -> str | None:
        if value is not None and not re.fullmatch(pattern, value):
            raise ValueError(f"does not look right (expected the form {example})")
        return value

    return AfterValidator(check)


def _proxy_addresses(value: str) -> str:
    for item in value.split(","):
        if item.strip() == "*":
            continue
        try:
            ipaddress.ip_network(item.strip(), strict=False)
        except ValueError:
            raise ValueError(
                f"{item.strip()!r} is not an address or network; expected e.g. 172.30.0.2 or "
                "172.30.0.0/24, comma-separated, or *"
            ) from None
    return value


HttpUrl = Annotated[str, AfterValidator(_http_url)]


class Settings(BaseSettings):
    """Every setting of the bot. Field aliases are the environment variable names."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
        frozen=True,
    )

    data_dir: Path = Field(
        Path("var"),
        alias="LINGANG_DATA_DIR",
        description="Folder for the embedded SQLite database and the chat history.",
    )
    database_url: Annotated[SecretStr | None, AfterValidator(_database_url)] = Field(
        None,
        alias="LINGANG_DATABASE_URL",
        description="SQLAlchemy URL of the database (secret: it may hold a password); default: "
        "SQLite file `lingang.db` in LINGANG_DATA_DIR. PostgreSQL: "
        "`postgresql+psycopg://user:password@host:5432/db`.",
    )
    intents_dir: Path = Field(
        PACKAGED_DIR,
        alias="LINGANG_INTENTS_DIR",
        description="Folder with `catalog.yaml` and `faq/*.yaml`; default: the packaged catalog.",
    )
    cache_dir: Path | None = Field(
        None,
        alias="LINGANG_CACHE_DIR",
        description="Folder for derived files that can be rebuilt and hold no personal data "
        "(the model's tables, example embeddings, the place index, built catalogs), shared by "
        "every folder the bot runs from; default: `lingang-bot` in XDG_CACHE_HOME "
        "(`~/.cache/lingang-bot`).",
    )
    matcher: Literal["auto", "lexical", "semantic"] = Field(
        "auto",
        alias="LINGANG_MATCHER",
        description="`lexical` (n-grams and fuzzy matching), `semantic` (adds the multilingual "
        "sentence-embedding model; fails to start without it) or `auto` (semantic, unless its "
        "model cannot be loaded).",
    )
    retention_days: int = Field(
        365,
        ge=1,
        alias="LINGANG_RETENTION_DAYS",
        description="Days personal data is kept (leads, conversations, transcripts, misses, "
        "events, handoffs, audit log); `serve` purges daily, `lingang-bot leads purge` on "
        "demand; the privacy notice quotes it.",
    )
    log_level: Annotated[
        Literal["DEBUG", "INFO", "WARNING", "ERROR"], BeforeValidator(lambda v: str(v).upper())
    ] = Field("WARNING", alias="LINGANG_LOG_LEVEL", description="Least severe log level written.")
    log_format: Literal["text", "json"] = Field(
        "text",
        alias="LINGANG_LOG_FORMAT",
        description="`text` (a line for a terminal) or `json` (one JSON object a line, with "
        "the request id: for production).",
    )
    host: str = Field(
        "127.0.0.1", alias="LINGANG_HOST", description="Address `lingang-bot serve` listens on."
    )
    port: int = Field(
        8000,
        ge=1,
        le=65535,
        alias="LINGANG_PORT",
        description="Port `lingang-bot serve` listens on.",
    )
    forwarded_allow_ips: Annotated[str, AfterValidator(_proxy_addresses)] = Field(
        "127.0.0.1",
        alias="LINGANG_FORWARDED_ALLOW_IPS",
        description="Addresses or networks (comma-separated) of the proxies whose "
        "X-Forwarded-For and X-Forwarded-Proto `lingang-bot serve` trusts: the client's "
        "address (login and chat limits) and https come from them.",
    )
    grace_seconds: int = Field(
        20,
        ge=0,
        le=3600,
        alias="LINGANG_GRACE_SECONDS",
        description="Seconds `lingang-bot serve` gives requests in flight to finish after "
        "SIGTERM or Ctrl-C before it exits.",
    )
    session_idle_minutes: int = Field(
        30,
        ge=1,
        le=24 * 60,
        alias="LINGANG_SESSION_IDLE_MINUTES",
        description="Minutes without a request after which a web login ends.",
    )
    session_max_hours: int = Field(
        12,
        ge=1,
        le=24 * 30,
        alias="LINGANG_SESSION_MAX_HOURS",
        description="Hours after which a web login ends however active it is.",
    )
    web_chat_per_minute: int = Field(
        20,
        ge=1,
        alias="LINGANG_WEB_CHAT_PER_MINUTE",
        description="Messages one client (address) may send to the web chat per minute.",
    )
    cookie_secret: Annotated[SecretStr | None, _secret(r".{32,}", "32+ characters")] = Field(
        None,
        alias="LINGANG_COOKIE_SECRET",
        description="Key that signs the web chat's cookies (secret); default: a random key "
        "made once and kept in LINGANG_DATA_DIR (`web-chat.key`). Replicas that share no "
        "data folder need the same value.",
    )
    secure_cookies: bool | None = Field(
        None,
        alias="LINGANG_SECURE_COOKIES",
        description="Whether cookies are `Secure` and `__Host-` named; default: when the "
        "request came over https (behind a proxy: its X-Forwarded-Proto).",
    )
    catalog_poll_seconds: int = Field(
        5,
        ge=1,
        alias="LINGANG_CATALOG_POLL_SECONDS",
        description="Seconds between checks for a newer catalog revision in the database "
        "(saved on another replica); this one then serves it too.",
    )
    telegram_bot_token: Annotated[
        SecretStr | None, _secret(r"\d+:[A-Za-z0-9_-]{30,}", "123456:ABC...")
    ] = Field(None, alias="TELEGRAM_BOT_TOKEN", description="Bot token from @BotFather (secret).")
    telegram_api_base_url: HttpUrl = Field(
        "https://api.telegram.org/bot",
        alias="TELEGRAM_API_BASE_URL",
        description="Bot API base URL (python-telegram-bot's `base_url`), for a self-hosted "
        "Bot API server or a test fake.",
    )
    telegram_webhook_url: Annotated[str | None, AfterValidator(_https_url)] = Field(
        None,
        alias="TELEGRAM_WEBHOOK_URL",
        description="Public https URL of `POST /telegram/webhook`; set: webhook mode, unset: "
        "polling.",
    )
    telegram_webhook_secret: Annotated[
        SecretStr | None, _secret(r"[A-Za-z0-9_-]{16,256}", "16-256 of A-Z a-z 0-9 _ -")
    ] = Field(
        None,
        alias="TELEGRAM_WEBHOOK_SECRET",
        description="Secret Telegram sends in X-Telegram-Bot-Api-Secret-Token (secret; "
        "required with TELEGRAM_WEBHOOK_URL).",
    )
    telegram_messages_per_second: float = Field(
        30,
        gt=0,
        le=1000,
        alias="TELEGRAM_MESSAGES_PER_SECOND",
        description="Messages a second the bot sends across all chats and replicas: Telegram's "
        "limit is about 30; bots with paid broadcasts may send up to 1000.",
    )
    slack_bot_token: Annotated[SecretStr | None, _secret(r"xoxb-[\w-]+", "xoxb-...")] = Field(
        None, alias="SLACK_BOT_TOKEN", description="Slack bot token (secret)."
    )
    slack_signing_secret: Annotated[SecretStr | None, _secret(r"[0-9a-fA-F]{16,}", "hex")] = Field(
        None,
        alias="SLACK_SIGNING_SECRET",
        description="Slack signing secret; enables HTTP mode (secret).",
    )
    slack_app_token: Annotated[SecretStr | None, _secret(r"xapp-[\w-]+", "xapp-...")] = Field(
        None,
        alias="SLACK_APP_TOKEN",
        description="Slack app-level token; enables Socket Mode (secret).",
    )
    slack_api_url: HttpUrl = Field(
        "https://slack.com/api/",
        alias="SLACK_API_URL",
        description="Slack Web API base URL (slack_sdk's `base_url`), for a test fake.",
    )

    slack_sales_channel: Annotated[str | None, _pattern(r"[CG][A-Z0-9]{2,}", "C0123ABCD")] = Field(
        None,
        alias="SLACK_SALES_CHANNEL",
        description="Channel id where new leads are posted; its members may use /leads and /lead.",
    )
    slack_admin_channel: Annotated[str | None, _pattern(r"[CG][A-Z0-9]{2,}", "C0123ABCD")] = Field(
        None,
        alias="SLACK_ADMIN_CHANNEL",
        description="Channel id for admins' notices (the weekly list of answers due for review); "
        "default: the sales channel.",
    )
    slack_sales_usergroup: Annotated[str | None, _pattern(r"S[A-Z0-9]{2,}", "S0123ABCD")] = Field(
        None,
        alias="SLACK_SALES_USERGROUP",
        description="User group id whose members may also use /leads and /lead.",
    )

    @model_validator(mode="after")
    def _webhook_needs_secret(self) -> Settings:
        if self.telegram_webhook_url and self.telegram_webhook_secret is None:
            raise ValueError("TELEGRAM_WEBHOOK_SECRET: required when TELEGRAM_WEBHOOK_URL is set")
        return self

    @model_validator(mode="after")
    def _slack_needs_a_mode(self) -> Settings:
        modes = self.slack_signing_secret is not None or self.slack_app_token is not None
        if self.slack_bot_token is not None and not modes:
            raise ValueError(
                "SLACK_BOT_TOKEN: also set SLACK_SIGNING_SECRET (HTTP mode) or SLACK_APP_TOKEN "
                "(Socket Mode)"
            )
        if modes and self.slack_bot_token is None:
            raise ValueError(
                "SLACK_BOT_TOKEN: required with SLACK_SIGNING_SECRET or SLACK_APP_TOKEN"
            )
        if self.slack_sales_channel is not None and self.slack_bot_token is None:
            raise ValueError("SLACK_BOT_TOKEN: required with SLACK_SALES_CHANNEL")
        if self.slack_admin_channel is not None and self.slack_bot_token is None:
            raise ValueError("SLACK_BOT_TOKEN: required with SLACK_ADMIN_CHANNEL")
        return self

    @property
    def resolved_cache_dir(self) -> Path:
        """Where rebuildable files go: the setting, else the user's cache folder (not the
        working directory, so a run from another folder finds what an earlier one built)."""
        return self.cache_dir if self.cache_dir is not None else user_cache_dir()

    @property
    def resolved_database_url(self) -> str:
        """The database URL to use: the setting, or the SQLite file in the data folder."""
        if self.database_url is not None:
            return self.database_url.get_secret_value()
        return f"sqlite:///{(self.data_dir / 'lingang.db').resolve()}"


def user_cache_dir() -> Path:
    """`lingang-bot` in the XDG cache folder: $XDG_CACHE_HOME, else ~/.cache (the spec says
    a relative XDG_CACHE_HOME is ignored)."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    root = Path(base) if base and os.path.isabs(base) else Path.home() / ".cache"
    return root / "lingang-bot"


def env_names() -> list[str]:
    """The environment variable of every setting, in declaration order."""
    return [field.alias or name for name, field in Settings.model_fields.items()]


def load_settings(env_file: Path | None = Path(".env")) -> Settings:
    """Read the settings once; `ConfigError` names each variable that is wrong."""
    try:
        return Settings(_env_file=env_file)
    except ValidationError as exc:
        lines = []
        for error in exc.errors(include_url=False, include_input=False):
            message = str(error["msg"]).removeprefix("Value error, ")
            if error["loc"]:
                message = f"{error['loc'][0]}: {message}"
            lines.append(message)
        raise ConfigError("\n".join(lines)) from None
