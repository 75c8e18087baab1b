"""The production stack, built and run: base images from Debian's packages
(deploy/images/build-base.sh), the bot's image (Dockerfile), and docker-compose.yml brought up
(PostgreSQL, the one-shot migration, two replicas, Caddy with deploy/Caddyfile). A signed Slack
event and a Telegram webhook update sent THROUGH CADDY are each answered exactly once, at the
fake Slack Web API and Bot API of this process; Caddy's headers and body limits are checked
where the internet would meet them.

The stack is docker-compose.yml itself with what a test must change: the images built here,
a subnet of its own (Caddy's address and the replicas' proxy trust moved with it), Caddy's port
on 127.0.0.1 only, the fakes' URLs. The replicas reach the fakes through a relay on the
network's gateway (the host's address on the compose bridge; nothing outside this machine).

Needs a Docker daemon: one running is used, else `dockerd` is started (as root) and stopped at
the end. Skipped where none can run, except under CI=true. Timings are printed (pytest -s).
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlsplit

import httpx
import pytest
import yaml

from tests.fakes.slack_api import BOT_TOKEN, SIGNING_SECRET, FakeSlackApi
from tests.fakes.slack_requests import dm, encode, signed_headers
from tests.fakes.telegram_api import SECRET, TOKEN, FakeBotApi, message

ROOT = Path(__file__).resolve().parents[2]
QUESTION = "how big is Lingang?"
SALES = "C0SALES"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
BOT_IMAGE = "lingang-bot:test"
SECURITY_HEADERS = {
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; frame-ancestors 'none'; "
    "form-action 'self'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
BUILD_TIMEOUT = 900  # seconds: a cold build (debootstrap, apt, the wheels) on 2 CPUs
UP_TIMEOUT = 240  # seconds until Caddy serves a replica's page
ANSWER_TIMEOUT = 60


def unavailable(reason: str) -> NoReturn:
    """No Docker here: a skip on a developer's machine, a failure in CI."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"the container test cannot run: {reason}")
    pytest.skip(reason)


def run(command: list[str], timeout: float, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """Run `command`; its output is the failure message when it fails."""
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=timeout, check=False, **kwargs
    )
    assert done.returncode == 0, f"{' '.join(command)}:\n{done.stdout[-3000:]}{done.stderr[-3000:]}"
    return done


@dataclass
class Timings:
    """Seconds each step took, printed at the end."""

    steps: list[tuple[str, float]] = field(default_factory=list)

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[None]:
        start = time.monotonic()
        yield
        self.steps.append((name, time.monotonic() - start))

    def __str__(self) -> str:
        return ", ".join(f"{name} {seconds:.1f} s" for name, seconds in self.steps)


# -- the Docker daemon -----------------------------------------------------------------------


def daemon_answers() -> bool:
    return (
        subprocess.run(["docker", "info"], capture_output=True, timeout=30, check=False).returncode
        == 0
    )


@pytest.fixture(scope="module")
def docker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """A Docker daemon: the one running, else a `dockerd` started here and stopped after."""
    if shutil.which("docker") is None:
        unavailable("no docker client (apt-get install docker.io)")
    if daemon_answers():
        yield
        return
    if shutil.which("dockerd") is None or os.geteuid() != 0:
        unavailable("no Docker daemon running, and none can be started (dockerd, as root)")
    log = tmp_path_factory.mktemp("dockerd") / "dockerd.log"
    with log.open("wb") as out:
        daemon = subprocess.Popen(["dockerd"], stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while not daemon_answers():
            if daemon.poll() is not None or time.monotonic() > deadline:
                unavailable(f"dockerd did not start: {log.read_text(errors='replace')[-2000:]}")
            time.sleep(0.5)
        yield
    finally:
        daemon.terminate()
        try:
            daemon.wait(timeout=60)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait()


def compose_command() -> list[str]:
    """The compose v2 plugin when the client has it, else Debian's docker-compose (1.29)."""
    plugin = subprocess.run(
        ["docker", "compose", "version"], capture_output=True, timeout=30, check=False
    )
    if plugin.returncode == 0:
        return ["docker", "compose"]
    if shutil.which("docker-compose") is None:
        unavailable("neither `docker compose` nor docker-compose (apt-get install docker-compose)")
    return ["docker-compose"]


# -- the replicas' way to the fakes ----------------------------------------------------------


class Relay:
    """Forwards TCP connections from an address on the compose bridge to a fake on 127.0.0.1."""

    def __init__(self, host: str, target: int) -> None:
        self._target = target
        self._listener = socket.create_server((host, 0))
        self._listener.settimeout(0.2)
        self._stop = threading.Event()
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self.port: int = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            threading.Thread(target=self._connect, args=(client,), daemon=True).start()

    def _connect(self, client: socket.socket) -> None:
        with client, socket.create_connection(("127.0.0.1", self._target)) as upstream:
            with self._lock:
                self._open |= {client, upstream}
            back = threading.Thread(target=self._pipe, args=(upstream, client), daemon=True)
            back.start()
            self._pipe(client, upstream)
            back.join()
            with self._lock:
                self._open -= {client, upstream}

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        """Stop listening and end the connections still open."""
        self._stop.set()
        self._thread.join()
        self._listener.close()
        with self._lock:
            for connection in self._open:
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)


# -- the stack -------------------------------------------------------------------------------


def free_subnet() -> ipaddress.IPv4Network:
    """A /24 in 10.213.0.0/16 that no Docker network and no route of this machine uses."""
    networks = run(["docker", "network", "ls", "-q"], 30).stdout.split()
    inspected = json.loads(run(["docker", "network", "inspect", *networks], 30).stdout)
    taken = [
        ipaddress.ip_network(config["Subnet"])
        for network in inspected
        for config in (network.get("IPAM", {}).get("Config") or [])
        if "Subnet" in config
    ]
    routes = subprocess.run(
        ["ip", "-4", "route"], capture_output=True, text=True, timeout=10, check=False
    )
    for line in routes.stdout.splitlines():
        with contextlib.suppress(ValueError):
            taken.append(ipaddress.ip_network(line.split()[0]))
    start = int.from_bytes(secrets.token_bytes(1), "big")
    for number in range(256):
        candidate = ipaddress.IPv4Network(f"10.213.{(start + number) % 256}.0/24")
        if not any(candidate.overlaps(other) for other in taken if other.prefixlen > 0):
            return candidate
    raise AssertionError("no free /24 in 10.213.0.0/16 for the compose network")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Stack:
    """docker-compose.yml, as the test runs it, in a folder of its own."""

    folder: Path
    compose: list[str]
    subnet: ipaddress.IPv4Network
    port: int  # Caddy's, on 127.0.0.1
    env: dict[str, str]

    @property
    def gateway(self) -> str:
        """The host's address on the compose bridge."""
        return str(self.subnet.network_address + 1)

    @property
    def proxy_address(self) -> str:
        return str(self.subnet.network_address + 2)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __call__(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return run([*self.compose, *args], timeout, cwd=self.folder, env=self.env)

    def logs(self) -> str:
        done = subprocess.run(
            [*self.compose, "logs", "--no-color", "--tail", "40"],
            cwd=self.folder, env=self.env, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        return done.stdout[-8000:]

    def write(self, telegram_api: str, slack_api: str) -> None:
        """docker-compose.yml with the test's changes, and the test's .env, in the folder."""
        compose: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text("utf-8"))
        services = compose["services"]
        for name in ("migrate", "bot1", "bot2"):
            service = services[name]
            service["build"] = {**service["build"], "context": str(ROOT)}
            service["image"] = BOT_IMAGE
            service["environment"] = {
                **service["environment"],
                "LINGANG_FORWARDED_ALLOW_IPS": self.proxy_address,
                "TELEGRAM_API_BASE_URL": telegram_api,
                "SLACK_API_URL": slack_api,
            }
        proxy = services["proxy"]
        proxy["ports"] = [f"127.0.0.1:{self.port}:80"]
        proxy["volumes"] = [
            volume.replace("./deploy/", f"{ROOT}/deploy/") for volume in proxy["volumes"]
        ]
        proxy["networks"]["default"]["ipv4_address"] = self.proxy_address
        (ipam,) = compose["networks"]["default"]["ipam"]["config"]
        ipam["subnet"] = str(self.subnet)
        ipam["gateway"] = self.gateway
        ipam["ip_range"] = str(list(self.subnet.subnets(new_prefix=25))[1])
        text = yaml.safe_dump(compose, sort_keys=False)
        (self.folder / "docker-compose.yml").write_text(text, encoding="utf-8")
        settings = {
            # Plain http on Caddy's port; the webhook URL the replicas announce is not called.
            "SITE_ADDRESS": ":80",
            "POSTGRES_PASSWORD": secrets.token_hex(16),
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_WEBHOOK_SECRET": SECRET,
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_SALES_CHANNEL": SALES,
            "LINGANG_LOG_FORMAT": "json",
            # The image's default (auto: semantic) first computes the catalog's example
            # embeddings, half a minute of CPU per replica, minutes on a busy machine; the
            # plumbing under test is the same with the lexical matcher.
            "LINGANG_MATCHER": "lexical",
        }
        lines = "".join(f"{key}={value}\n" for key, value in settings.items())
        (self.folder / ".env").write_text(lines, encoding="utf-8")


@dataclass
class Running:
    """The stack up, the fakes it talks to, and the timings so far."""

    stack: Stack
    telegram_api: FakeBotApi
    slack_api: FakeSlackApi
    timings: Timings


def request(
    url: str, data: bytes | None = None, headers: dict[str, str] | None = None
) -> httpx.Response:
    """One HTTP request, a POST when it has a body."""
    with httpx.Client(timeout=30) as client:
        if data is None:
            return client.get(url, headers=headers)
        return client.post(url, content=data, headers=headers)


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.5)


def serves(url: str) -> bool:
    with contextlib.suppress(httpx.HTTPError):
        return request(url).status_code == 200
    return False


def base_images(timings: Timings) -> dict[str, str]:
    """PYTHON_IMAGE, POSTGRES_IMAGE, CADDY_IMAGE: built from Debian's packages (or cached)."""
    if os.geteuid() != 0 or shutil.which("debootstrap") is None:
        unavailable("building the base images needs root and debootstrap")
    with timings.step("base images"):
        built = run([str(ROOT / "deploy/images/build-base.sh")], BUILD_TIMEOUT)
    return dict(line.split("=", 1) for line in built.stdout.split())


def wheels(timings: Timings) -> None:
    """deploy/wheels filled by this machine's pip (no index is reachable from a build)."""
    with timings.step("wheels"):
        env = {**os.environ, "PYTHON": sys.executable}
        run([str(ROOT / "deploy/wheelhouse.sh")], BUILD_TIMEOUT, env=env)


@pytest.fixture(scope="module")
def running(docker: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """The stack built and up; down (volumes too) after the module's tests."""
    timings = Timings()
    images = base_images(timings)
    wheels(timings)
    folder = tmp_path_factory.mktemp("stack")
    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/root"),
        "COMPOSE_PROJECT_NAME": f"lingangtest{os.getpid()}{secrets.token_hex(3)}",
        "DOCKER_BUILDKIT": "0",  # the classic builder: no buildx plugin needed
        **images,
    }
    stack = Stack(folder, compose_command(), free_subnet(), free_port(), env)
    relays: list[Relay] = []
    with FakeBotApi() as telegram_api, FakeSlackApi() as slack_api:
        try:
            # The relays listen on the bridge's gateway, so the network comes first (with
            # PostgreSQL); the file gets the relays' ports before the bot's containers exist.
            stack.write("http://unused/bot", "http://unused/api/")
            with timings.step("bot image"):
                stack("build", "migrate", timeout=BUILD_TIMEOUT)
            with timings.step("stack up"):
                stack("up", "-d", "--no-build", "postgres")
                telegram_port = urlsplit(telegram_api.base_url).port
                assert telegram_port is not None
                gateway = stack.gateway
                relays = [Relay(gateway, port) for port in (telegram_port, slack_api.port)]
                stack.write(
                    f"http://{gateway}:{relays[0].port}/bot",
                    f"http://{gateway}:{relays[1].port}/api/",
                )
                try:
                    stack("up", "-d", "--no-build")
                    wait_until(lambda: serves(stack.url + "/"), UP_TIMEOUT, "Caddy serving a page")
                except AssertionError as exc:
                    raise AssertionError(f"{exc}\n{stack.logs()}") from None
            yield Running(stack, telegram_api, slack_api, timings)
        finally:
            with timings.step("down"):
                stack("down", "-v", "--remove-orphans", timeout=180)
            for relay in relays:
                relay.close()
            print(f"\ncontainer stack timings: {timings}", flush=True)


def in_slack(running: Running, channel: str) -> list[dict[str, Any]]:
    """The messages the bot posted to `channel`."""
    return [p for p in running.slack_api.sent() if p.get("channel") == channel]


def in_telegram(running: Running, chat: int) -> list[dict[str, Any]]:
    """The messages the bot sent to `chat`."""
    return [p for p in running.telegram_api.sent() if str(p.get("chat_id")) == str(chat)]


# -- the tests -------------------------------------------------------------------------------


def test_a_signed_slack_event_through_caddy_is_answered_once(running: Running) -> None:
    body = encode(dm(QUESTION, user="U0BOX", channel="D0BOX"))
    with running.timings.step("slack round trip"):
        sent = request(running.stack.url + "/slack/events", body, signed_headers(body))
        assert sent.status_code == 200
        wait_until(lambda: bool(in_slack(running, "D0BOX")), ANSWER_TIMEOUT, "a Slack answer")
    time.sleep(3)  # a second answer (the other replica, a retry) would be there by now
    assert len(in_slack(running, "D0BOX")) == 1, running.stack.logs()


def test_a_telegram_update_through_caddy_is_answered_once(running: Running) -> None:
    update = {"update_id": 88_001, **message(QUESTION, chat=4343)}
    body = json.dumps(update).encode()
    headers = {SECRET_HEADER: SECRET, "Content-Type": "application/json"}
    with running.timings.step("telegram round trip"):
        sent = request(running.stack.url + "/telegram/webhook", body, headers)
        assert sent.status_code == 200
        wait_until(lambda: bool(in_telegram(running, 4343)), ANSWER_TIMEOUT, "a Telegram answer")
    time.sleep(3)  # a second answer would be there by now
    assert len(in_telegram(running, 4343)) == 1, running.stack.logs()


def test_a_webhook_update_without_the_secret_is_refused(running: Running) -> None:
    update = {"update_id": 88_002, **message(QUESTION, chat=4344)}
    refused = request(
        running.stack.url + "/telegram/webhook",
        json.dumps(update).encode(),
        {SECRET_HEADER: "not-the-secret", "Content-Type": "application/json"},
    )
    assert refused.status_code in (401, 403)


def test_caddy_sets_the_security_headers_and_no_server_header(running: Running) -> None:
    page = request(running.stack.url + "/")
    assert page.status_code == 200
    assert {name: page.headers.get(name) for name in SECURITY_HEADERS} == SECURITY_HEADERS
    assert "Server" not in page.headers, page.headers.get("Server")


def test_internal_routes_are_not_served_through_caddy(running: Running) -> None:
    for path in ("/readyz", "/metrics"):
        assert request(running.stack.url + path).status_code == 404, path


def refused_status(url: str, size: int) -> int:
    """The status of a login form of `size` bytes posted to `url` (read before the body: the
    refusal closes the connection while the form is still being sent)."""
    form = b"email=a%40example.com&password=" + b"x" * size
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    with (
        httpx.Client(timeout=30) as client,
        client.stream("POST", url, content=form, headers=headers) as answer,
    ):
        return answer.status_code


def test_caddy_refuses_bodies_past_its_limits(running: Running) -> None:
    assert refused_status(running.stack.url + "/login", 2 * 1024 * 1024) == 413
    assert refused_status(running.stack.url + "/login", 70 * 1024) == 413
    assert refused_status(running.stack.url + "/login", 1024) != 413
