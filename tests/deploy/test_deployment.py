"""The production files agree with the code: docker-compose.yml, .env.example, the Dockerfile and
the Caddyfile (no Docker engine needed; `docker-compose config` checks the compose file)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from fnmatch import fnmatch
from ipaddress import ip_address, ip_network
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.config import Settings, env_names, load_settings

ROOT = Path(__file__).resolve().parents[2]
REPLICAS = ("bot1", "bot2")
# Read by docker-compose.yml only (PostgreSQL's password, Caddy's host name), not by the bot.
DEPLOYMENT_ONLY = {"SITE_ADDRESS", "POSTGRES_PASSWORD"}
# Chosen when compose runs, with a default (the official images): not in .env.example.
IMAGE_CHOICES = {"PYTHON_IMAGE", "POSTGRES_IMAGE", "CADDY_IMAGE"}
# What an operator fills in: values of the right form.
FILLED = {
    "SITE_ADDRESS": "bot.example.com",
    "POSTGRES_PASSWORD": "0123456789abcdef",
    "TELEGRAM_BOT_TOKEN": "123456:" + "A" * 35,
    "TELEGRAM_WEBHOOK_SECRET": "s" * 32,
    "SLACK_BOT_TOKEN": "xoxb-1-2",
    "SLACK_SIGNING_SECRET": "ab" * 16,
    "SLACK_SALES_CHANNEL": "C0123ABCD",
}


def compose_file() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text("utf-8"))
    return loaded


def env_example() -> dict[str, str | None]:
    """Each variable of .env.example: its value, or None when the line is commented out."""
    found: dict[str, str | None] = {}
    for line in (ROOT / ".env.example").read_text("utf-8").splitlines():
        if match := re.fullmatch(r"(# )?([A-Z][A-Z0-9_]*)=(.*)", line):
            found[match[2]] = None if match[1] else match[3]
    return found


def problems_with(compose: dict[str, Any], example: dict[str, str | None]) -> list[str]:
    """Every way the compose file and .env.example disagree with the settings."""
    settings = set(env_names())
    problems = [
        f"docker-compose.yml: {service} gets {key}, which is not a setting"
        for service in ("migrate", *REPLICAS)
        for key in compose["services"][service].get("environment", {})
        if key not in settings
    ]
    problems += [f".env.example: setting {key} is missing" for key in settings - example.keys()]
    problems += [
        f".env.example: {key} is neither a setting nor deployment-only"
        for key in example.keys() - settings - DEPLOYMENT_ONLY
    ]
    active = {key for key, value in example.items() if value is not None}
    text = yaml.safe_dump(compose)
    used = set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)", text))
    optional = set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*):-", text))
    problems += [
        f"docker-compose.yml: ${{{key}}} is not in .env.example"
        for key in used - active - (optional & IMAGE_CHOICES)
    ]
    return sorted(problems)


def test_compose_file_and_env_example_match_the_settings() -> None:
    assert problems_with(compose_file(), env_example()) == []


def test_a_mistake_is_named() -> None:
    compose, example = compose_file(), env_example()
    bot2 = compose["services"]["bot2"]  # the replicas share their environment by an anchor
    bot2 = compose["services"]["bot2"] = {**bot2, "environment": {**bot2["environment"]}}
    bot2["environment"]["LINGANG_DATA_FOLDER"] = "/srv"
    compose["services"]["proxy"]["environment"]["ACME_EMAIL"] = "${ACME_EMAIL}"
    del example["LINGANG_RETENTION_DAYS"]
    example["LINGANG_MATCHERS"] = "auto"
    assert problems_with(compose, example) == [
        ".env.example: LINGANG_MATCHERS is neither a setting nor deployment-only",
        ".env.example: setting LINGANG_RETENTION_DAYS is missing",
        "docker-compose.yml: ${ACME_EMAIL} is not in .env.example",
        "docker-compose.yml: bot2 gets LINGANG_DATA_FOLDER, which is not a setting",
    ]


def test_services_postgres_migration_two_webhook_replicas_and_a_proxy() -> None:
    services = compose_file()["services"]
    postgres, migrate, proxy = services["postgres"], services["migrate"], services["proxy"]
    assert postgres["image"] == "${POSTGRES_IMAGE:-postgres:16-bookworm}"
    assert proxy["image"] == "${CADDY_IMAGE:-caddy:2}"
    assert migrate["build"]["args"] == {
        "PYTHON_IMAGE": "${PYTHON_IMAGE:-python:3.11-slim-bookworm}"
    }
    assert "postgres:/var/lib/postgresql/data" in postgres["volumes"]
    assert "pg_isready" in postgres["healthcheck"]["test"]
    assert migrate["command"] == ["lingang-bot", "db", "upgrade"]
    assert migrate["restart"] == "no"
    assert migrate["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    for name in REPLICAS:
        replica = services[name]
        env = replica["environment"]
        assert replica["command"][:2] == ["lingang-bot", "serve"], name
        assert re.fullmatch(r"https://.+/telegram/webhook", env["TELEGRAM_WEBHOOK_URL"]), name
        assert "SLACK_SIGNING_SECRET" in env, name
        assert env["LINGANG_DATABASE_URL"].startswith("postgresql+psycopg://"), name
        assert replica["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
        # The catalog is in PostgreSQL: no replica shares a folder of intents with another.
        assert not any(env["LINGANG_INTENTS_DIR"] in v for v in replica["volumes"]), name
        assert "ports" not in replica, f"{name} must be reached through the proxy only"
        grace = int(replica["stop_grace_period"].removesuffix("s"))
        assert grace > int(env["LINGANG_GRACE_SECONDS"]), name
    assert {"80:80", "443:443"} <= set(proxy["ports"])
    assert set(proxy["depends_on"]) == set(REPLICAS)
    assert "./deploy/Caddyfile:/etc/caddy/Caddyfile:ro" in proxy["volumes"]


def docker_compose_config(folder: Path, env: str) -> subprocess.CompletedProcess[str]:
    (folder / ".env").write_text(env, encoding="utf-8")
    clean = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
    return subprocess.run(
        ["docker-compose", "--project-directory", str(folder), "config"],
        cwd=folder, env=clean, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def test_docker_compose_accepts_the_file_once_env_is_filled_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A verbatim copy of .env.example is refused, naming what to set; filled in, compose
    accepts the file and the replicas' environment is valid webhook/HTTP settings."""
    if shutil.which("docker-compose") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("docker-compose is not installed (apt-get install docker-compose)")
        pytest.skip("docker-compose is not installed")
    for name in ("docker-compose.yml", "Dockerfile", "deploy/Caddyfile"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        shutil.copy(ROOT / name, tmp_path / name)
    example = (ROOT / ".env.example").read_text("utf-8")
    refused = docker_compose_config(tmp_path, example)
    assert refused.returncode != 0
    assert re.search(r"set [A-Z_]+ in \.env", refused.stderr), refused.stderr
    for key, value in FILLED.items():
        example = re.sub(rf"^{key}=$", f"{key}={value}", example, flags=re.M)
    accepted = docker_compose_config(tmp_path, example)
    assert accepted.returncode == 0, accepted.stderr
    replica = yaml.safe_load(accepted.stdout)["services"]["bot1"]
    for name in env_names():
        monkeypatch.delenv(name, raising=False)
    for key, value in replica["environment"].items():
        monkeypatch.setenv(key, str(value))
    settings = load_settings(env_file=None)
    assert settings.telegram_webhook_url == "https://bot.example.com/telegram/webhook"
    assert settings.slack_signing_secret is not None
    assert settings.resolved_database_url.startswith("postgresql+psycopg://lingang:0123")


def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of each instruction, continuation lines joined."""
    text = (ROOT / "Dockerfile").read_text("utf-8").replace("\\\n", " ")
    lines = [line.split(maxsplit=1) for line in text.splitlines()]
    return [(line[0].upper(), line[1]) for line in lines if line and not line[0].startswith("#")]


def test_dockerfile_slim_non_root_dependencies_first_healthcheck_no_secrets() -> None:
    steps = dockerfile()
    kinds = [kind for kind, _ in steps]
    # The base image is a build argument whose default is the official slim image.
    assert re.fullmatch(r"PYTHON_IMAGE=python:3\.11-slim(-\w+)?", steps[0][1]), steps[0]
    assert {args for kind, args in steps if kind == "FROM"} == {
        "${PYTHON_IMAGE} AS build",
        "${PYTHON_IMAGE}",
    }
    users = [args for kind, args in steps if kind == "USER"]
    assert users, "no USER"
    assert users[-1] not in ("root", "0")
    assert max(i for i, k in enumerate(kinds) if k == "USER") < kinds.index("CMD")
    healthcheck = next(args for kind, args in steps if kind == "HEALTHCHECK")
    assert "/healthz" in healthcheck
    copies = [(i, args) for i, (kind, args) in enumerate(steps) if kind == "COPY"]
    deps = next(i for i, (k, a) in enumerate(steps) if k == "RUN" and "-c constraints.txt" in a)
    before = {source for i, args in copies if i < deps for source in args.split()[:-1]}
    # (and the wheels deploy/wheelhouse.sh may have fetched, for a build without an index)
    assert before == {"pyproject.toml", "constraints.txt", "deploy/wheels/"}, "copied before deps"
    assert ("COPY", "--from=build /opt/venv /opt/venv") in steps
    assert any(args.startswith("bot ") for i, args in copies if i > deps)
    secrets = {f.alias for f in Settings.model_fields.values() if "SecretStr" in str(f.annotation)}
    baked = {
        m for kind, args in steps if kind in ("ENV", "ARG") for m in re.findall(r"(\w+)=", args)
    }
    assert not baked & secrets, f"secret settings baked into the image: {baked & secrets}"
    ignored = (ROOT / ".dockerignore").read_text("utf-8").splitlines()
    assert ".env" in ignored


def test_image_ships_every_catalog_file_to_seed_the_database() -> None:
    """Every YAML file or folder of intents/ is copied into the image's intents folder, whose
    files seed an empty database (and `intents import` reads)."""
    folder = compose_file()["services"]["bot1"]["environment"]["LINGANG_INTENTS_DIR"]
    seeded = {
        source
        for kind, args in dockerfile()
        if kind == "COPY" and args.split()[-1].startswith(folder)
        for source in args.split()[:-1]
        if not source.startswith("--")
    }
    catalog = ROOT / "intents"
    data = {f"intents/{p.relative_to(catalog).parts[0]}" for p in catalog.rglob("*.yaml")}
    missing = {path for path in data if not any(fnmatch(path, copied) for copied in seeded)}
    assert missing == set(), "catalog files the image does not ship"


def test_caddy_proxies_to_both_replicas_checks_readiness_and_hides_metrics() -> None:
    caddyfile = (ROOT / "deploy" / "Caddyfile").read_text("utf-8")
    upstreams = re.search(r"^\s*reverse_proxy (.+?) \{", caddyfile, re.M)
    assert upstreams
    assert upstreams[1].split() == [f"{name}:8000" for name in REPLICAS]
    assert re.search(r"^\s*health_uri /readyz$", caddyfile, re.M)
    blocked = re.search(r"^\s*@(\w+) path /metrics\b", caddyfile, re.M)
    assert blocked, "no matcher for /metrics"
    assert re.search(rf"^\s*respond @{blocked[1]} 40[34]$", caddyfile, re.M)


def test_replicas_trust_forwarded_headers_from_caddys_fixed_address_only() -> None:
    compose = compose_file()
    (network,) = compose["networks"]["default"]["ipam"]["config"]
    subnet, handed_out = ip_network(network["subnet"]), ip_network(network["ip_range"])
    proxy = ip_address(compose["services"]["proxy"]["networks"]["default"]["ipv4_address"])
    assert proxy in subnet
    assert proxy not in handed_out, "another container could be given Caddy's address"
    for name in ("migrate", *REPLICAS):
        env = compose["services"][name]["environment"]
        assert env["LINGANG_FORWARDED_ALLOW_IPS"] == str(proxy), name
        assert "FORWARDED_ALLOW_IPS" not in env, name


def test_caddy_limits_bodies_and_sets_the_security_headers() -> None:
    caddyfile = (ROOT / "deploy" / "Caddyfile").read_text("utf-8")
    limits = dict(re.findall(r"request_body @(\w+) \{\s*max_size (\w+)\s*\}", caddyfile))
    matchers = dict(re.findall(r"^\s*@(\w+) (.+)$", caddyfile, re.M))
    by_route = {matchers[name]: size for name, size in limits.items()}
    assert by_route == {
        "path /login": "64KB",
        "path /slack/events": "256KB",
        "not path /login /slack/events": "1MB",
    }
    # The same limits refuse a declared Content-Length up front.
    declared = {
        name: int(number)
        for name, number in re.findall(
            r"@(\w+)_too_large \{.*?Content-Length\}\) > (\d+)`", caddyfile, re.S
        )
    }
    kb = {"64KB": 64 * 1024, "256KB": 256 * 1024, "1MB": 1024 * 1024}
    assert declared == {name: kb[size] for name, size in limits.items()}
    for name in declared:
        assert re.search(rf"^\s*respond @{name}_too_large 413$", caddyfile, re.M), name
    for line in (
        'Strict-Transport-Security "max-age=31536000; includeSubDomains"',
        "Content-Security-Policy \"default-src 'self'; script-src 'self'; frame-ancestors 'none'; "
        "form-action 'self'; base-uri 'none'\"",
        "X-Content-Type-Options nosniff",
        "Referrer-Policy same-origin",
        "-Server",
    ):
        assert re.search(rf"^\t\t{re.escape(line)}$", caddyfile, re.M), line
    internal = re.search(r"^\s*@(\w+) path (.*/metrics.*)$", caddyfile, re.M)
    assert internal, "no matcher for the internal routes"
    assert {"/readyz", "/metrics"} <= set(internal[2].split())
    assert re.search(rf"^\s*respond @{internal[1]} 404$", caddyfile, re.M)
