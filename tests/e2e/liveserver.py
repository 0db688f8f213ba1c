"""A real skillcert server in a subprocess, on a data directory of its own.

Used by the browser tests (tests/e2e) and by the crash test
(tests/web/test_crash_recovery.py): both need the actual ``skillcert`` command, a real
socket and a process that can be killed and started again on the same database.
"""

from __future__ import annotations

import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

REPO_ROOT = Path(__file__).resolve().parents[2]
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
START_TIMEOUT = 30.0


def skillcert_command() -> list[str]:
    """The installed console script beside this interpreter, else the module."""
    script = Path(sys.executable).with_name("skillcert")
    return [str(script)] if script.exists() else [sys.executable, "-m", "web.cli"]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def csrf_from(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "page carries no CSRF token"
    return match.group(1)


class ServerDied(RuntimeError):
    pass


class LiveServer:
    """``skillcert db upgrade`` / ``demo seed`` / ``serve`` against one database."""

    def __init__(self, data_dir: Path, database_url: str | None = None, port: int | None = None) -> None:
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.database_url = database_url or f"sqlite:///{self.data_dir / 'skillcert.sqlite3'}"
        self.port = port or free_port()
        self.secret_key = secrets.token_urlsafe(48)
        self.process: subprocess.Popen | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.data_dir / f"server-{self.starts}.log"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SKILLCERT_")}
        env.update({
            "SKILLCERT_DATA_DIR": str(self.data_dir),
            # Always explicit: a developer's .env must not point the test at their database.
            "SKILLCERT_DATABASE_URL": self.database_url,
            "SKILLCERT_SECRET_KEY": self.secret_key,
            "SKILLCERT_DEMO": "false",
            "SKILLCERT_DEFAULT_LOCALE": "zh_CN",
            "SKILLCERT_HOST": "127.0.0.1",
            "SKILLCERT_PORT": str(self.port),
            "PYTHONUNBUFFERED": "1",
        })
        return env

    def cli(self, *args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
        done = subprocess.run([*skillcert_command(), *args], cwd=REPO_ROOT, env=self.env(),
                              capture_output=True, text=True, timeout=timeout)
        if check and done.returncode != 0:
            raise AssertionError(f"skillcert {' '.join(args)} exited {done.returncode}:\n"
                                 f"{done.stdout}\n{done.stderr}")
        return done

    def prepare(self) -> str:
        """Migrate and seed the demo; returns the seed's report."""
        self.cli("db", "upgrade")
        return self.cli("demo", "seed").stdout

    def start(self) -> None:
        assert self.process is None, "server already running"
        self.starts += 1
        log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [*skillcert_command(), "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            cwd=REPO_ROOT, env=self.env(), stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)  # its own process group: SIGKILL reaches only what we started
        log.close()
        self._wait_healthy()

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        last_error: object = None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServerDied(f"skillcert serve exited with {self.process.returncode}:\n{self.log()}")
            try:
                response = httpx.get(f"{self.url}/healthz", timeout=2)
                if response.status_code == 200 and response.text == "ok":
                    return
                last_error = f"HTTP {response.status_code}: {response.text[:200]}"
            except httpx.TransportError as exc:
                last_error = exc
            time.sleep(0.1)  # polling interval while the port opens, not a correctness wait
        self.stop()
        raise ServerDied(f"/healthz not ready after {START_TIMEOUT}s ({last_error}):\n{self.log()}")

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return "(no log)"

    def kill(self) -> int:
        """SIGKILL, as a power cut or the OOM killer would: no shutdown hooks run."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        code = self.process.wait(timeout=10)
        self.process = None
        return code

    def stop(self) -> None:
        """Graceful stop (SIGTERM), then SIGKILL if it lingers."""
        if self.process is None:
            return
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self.process = None


def login(client: httpx.Client, username: str, password: str | None = None) -> str:
    """Sign in through the form; returns the CSRF token of the signed-in session."""
    token = csrf_from(client.get("/login").text)
    response = client.post("/login", data={"username": username, "password": password or f"{username}-demo",
                                           "csrf_token": token})
    assert response.status_code == 303, f"login as {username}: {response.status_code} {response.text[:300]}"
    home = client.get(response.headers["location"])
    assert home.status_code == 200, f"{username}'s home: {home.status_code}"
    return csrf_from(home.text)
