"""A throwaway PostgreSQL server for tests that stop the database: `initdb` into a temporary
folder, `pg_ctl` on a free 127.0.0.1 port, run as the `postgres` user (PostgreSQL refuses to
run as root), removed afterwards. Stopping it disturbs nobody else."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

from sqlalchemy import create_engine, text

SERVER_USER = "postgres"
TIMEOUT = 60  # seconds for initdb, start and stop


class PostgresUnavailable(Exception):
    """The PostgreSQL server programs (initdb, pg_ctl) or the `postgres` user are missing."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def server_bindir() -> Path:
    """Where `initdb` and `pg_ctl` are: `pg_config --bindir`, else the Debian layout."""
    candidates: list[Path] = []
    if shutil.which("pg_config"):
        found = subprocess.run(
            ["pg_config", "--bindir"], capture_output=True, text=True, check=False
        )
        if found.returncode == 0:
            candidates.append(Path(found.stdout.strip()))
    candidates += [Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)]
    for folder in candidates:
        if (folder / "initdb").exists() and (folder / "pg_ctl").exists():
            return folder
    raise PostgresUnavailable(
        "initdb and pg_ctl not found (pg_config --bindir, /usr/lib/postgresql)"
    )


class ThrowawayPostgres:
    """One PostgreSQL cluster of its own; `stop` and `start` keep the port and the data."""

    def __init__(self) -> None:
        self._bindir = server_bindir()
        try:
            self._owner = pwd.getpwnam(SERVER_USER)
        except KeyError:
            raise PostgresUnavailable(f"no user {SERVER_USER!r} to run PostgreSQL as") from None
        self.port = free_port()
        # Not pytest's tmp_path: the server user must be able to reach the folder.
        self.folder = Path(tempfile.mkdtemp(prefix="lingang-pg-"))
        self.data = self.folder / "data"
        self.running = False

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        command = [str(self._bindir / args[0]), *args[1:]]
        if os.geteuid() != self._owner.pw_uid:
            command = ["runuser", "-u", SERVER_USER, "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT, check=False)
        if done.returncode != 0:
            log = self.folder / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"{' '.join(args)} failed: {done.stderr}{done.stdout}\n{tail}")
        return done

    def create(self) -> ThrowawayPostgres:
        """Initialise the cluster and start it."""
        os.chown(self.folder, self._owner.pw_uid, self._owner.pw_gid)
        os.chmod(self.folder, 0o700)
        self._run("initdb", "-D", str(self.data), "-U", SERVER_USER, "--auth=trust",
                  "--encoding=UTF8", "--no-sync")  # fmt: skip
        self.start()
        return self

    def start(self) -> None:
        """Start the server (again) on its port; returns once it accepts connections."""
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.folder} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.folder / "server.log"),
                  "-o", options, "-w", "-t", str(TIMEOUT), "start")  # fmt: skip
        self.running = True

    def stop(self) -> None:
        """Stop the server at once (open connections are cut)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", str(TIMEOUT), "stop")
        self.running = False

    def url(self, database: str = "postgres") -> str:
        """The SQLAlchemy URL of `database` on this server."""
        return f"postgresql+psycopg://{SERVER_USER}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """A new, empty database; its URL."""
        admin = create_engine(self.url(), isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
        finally:
            admin.dispose()
        return self.url(name)

    def remove(self) -> None:
        """Stop the server if it runs, and delete its folder."""
        try:
            if self.running:
                self.stop()
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)
