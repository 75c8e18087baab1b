"""Settings: environment first, then `.env`, then defaults; bad values named, secrets hidden."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings
from intents.catalog import PACKAGED_DIR

TOKEN = "123456789:AAH-secret-token-value-0123456789abcdef"


def test_defaults_need_no_environment() -> None:
    settings = load_settings()
    assert settings.resolved_database_url == f"sqlite:///{Path('var/lingang.db').resolve()}"
    assert settings.intents_dir == PACKAGED_DIR
    assert settings.telegram_bot_token is None
    assert settings.telegram_api_base_url == "https://api.telegram.org/bot"


def test_data_dir_moves_the_default_database(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LINGANG_DATA_DIR", "/srv/lingang")
    assert load_settings().resolved_database_url == "sqlite:////srv/lingang/lingang.db"


def test_dotenv_file_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("LINGANG_DATA_DIR=/from/dotenv\n", encoding="utf-8")
    assert load_settings().data_dir == Path("/from/dotenv")


def test_environment_wins_over_dotenv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text("LINGANG_DATA_DIR=/from/dotenv\n", encoding="utf-8")
    monkeypatch.setenv("LINGANG_DATA_DIR", "/from/env")
    assert load_settings().data_dir == Path("/from/env")


@pytest.mark.parametrize(
    ("name", "value", "reason"),
    [
        ("LINGANG_DATABASE_URL", "not a url", "not a database URL"),
        ("LINGANG_DATABASE_URL", "mysql://root@localhost/x", "unsupported database 'mysql'"),
        ("TELEGRAM_BOT_TOKEN", "12345", "does not look right"),
        ("SLACK_BOT_TOKEN", "xoxp-user-token", "does not look right"),
        ("SLACK_APP_TOKEN", "", "does not look right"),
        ("TELEGRAM_API_BASE_URL", "ftp://example.org", "http:// or https://"),
        ("LINGANG_LOG_LEVEL", "LOUD", "LINGANG_LOG_LEVEL"),
    ],
)
def test_malformed_value_fails_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, reason: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    message = str(caught.value)
    assert message.startswith(f"{name}: ")
    assert reason in message


def test_log_level_is_case_insensitive(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LINGANG_LOG_LEVEL", "info")
    assert load_settings().log_level == "INFO"


def test_secrets_never_show_in_repr_or_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("LINGANG_DATABASE_URL", "postgresql+psycopg://bot:hunter2@db/lingang")
    settings = load_settings()
    assert TOKEN not in repr(settings)
    assert "hunter2" not in repr(settings)
    assert settings.telegram_bot_token is not None
    assert settings.telegram_bot_token.get_secret_value() == TOKEN
    monkeypatch.setenv("SLACK_BOT_TOKEN", "not-a-slack-token-but-secret")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert "not-a-slack-token-but-secret" not in str(caught.value)
    assert TOKEN not in str(caught.value)


@pytest.mark.parametrize(
    ("env", "reason"),
    [
        ({"SLACK_BOT_TOKEN": "xoxb-1-abc"}, "also set SLACK_SIGNING_SECRET (HTTP mode) or"),
        ({"SLACK_APP_TOKEN": "xapp-1-abc"}, "SLACK_BOT_TOKEN: required with"),
        ({"SLACK_SALES_CHANNEL": "C0123ABCD"}, "SLACK_BOT_TOKEN: required with SLACK_SALES"),
        ({"SLACK_BOT_TOKEN": "xoxb-1-abc", "SLACK_APP_TOKEN": "xapp-1",
          "SLACK_SALES_CHANNEL": "#sales"}, "SLACK_SALES_CHANNEL: does not look right"),
    ],
)  # fmt: skip
def test_slack_settings_must_make_a_whole(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], reason: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=re.escape(reason)):
        load_settings()


def test_slack_in_socket_mode_with_a_sales_channel(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1-abc")
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-1-abc")
    monkeypatch.setenv("SLACK_SALES_CHANNEL", "C0123ABCD")
    settings = load_settings()
    assert (settings.slack_sales_channel, settings.slack_signing_secret) == ("C0123ABCD", None)
