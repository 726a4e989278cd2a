"""The real Cellmark server for integration tests: `node --import tsx server/src/main.ts`
on a free loopback port with its own data dir, plus a signed-up user with a workspace
and an API token, driven through the public HTTP API as the extension and the web do."""

from __future__ import annotations

import http.cookies
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path
from typing import Any, Optional

REPO = Path(__file__).resolve().parents[2]
SERVER_DIR = REPO / "server"
SECRET = "0123456789abcdef0123456789abcdef0123"
START_TIMEOUT_S = 120.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class CellmarkServer:
    def __init__(self, data_dir: Path, port: Optional[int] = None, extra_env: Optional[dict] = None):
        self.data_dir = Path(data_dir)
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.origin = f"http://localhost:{self.port}"  # the server's public URL (trusted origin)
        self.extra_env = extra_env or {}
        self.proc: Optional[subprocess.Popen] = None
        self.log_path = self.data_dir.parent / f"server-{self.port}.log"

    def start(self) -> CellmarkServer:
        node = shutil.which("node")
        if node is None:
            raise RuntimeError("node is not on PATH: the integration tests need it to run the Cellmark server")
        if not (REPO / "node_modules" / "tsx").exists():
            raise RuntimeError(f"{REPO}/node_modules/tsx is missing: run `npm ci` at the repository root first")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        # a restart appends to the same log: only what this start writes says it is up
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        env = dict(
            os.environ,
            CELLMARK_NO_WEB="1",
            CELLMARK_DATA_DIR=str(self.data_dir),
            PORT=str(self.port),
            HOST="127.0.0.1",
            CELLMARK_SECRET=SECRET,
            NODE_ENV="test",
            LOG_LEVEL="info",
            **self.extra_env,
        )
        env.pop("DATABASE_URL", None)  # embedded PGlite in the data dir, never a shared database
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [node, "--import", "tsx", "src/main.ts"],
            cwd=SERVER_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the Cellmark server exited with {self.proc.returncode}:\n{self.log_tail()}")
            if "Cellmark is listening" in self.log_path.read_bytes()[offset:].decode(errors="replace"):
                return self
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"the Cellmark server did not start within {START_TIMEOUT_S:.0f} s:\n{self.log_tail()}")

    def log_tail(self, n: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return "(no log)"

    def kill(self) -> None:
        """SIGKILL, as a crash or the OOM killer would: no shutdown at all. start() brings it
        back on the same port and data."""
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)


class HttpError(Exception):
    def __init__(self, status: int, body: str):
        super().__init__(f"HTTP {status}: {body[:500]}")
        self.status = status
        self.body = body


def _request(url: str, body: Any = None, headers: Optional[dict] = None, method: Optional[str] = None):
    data = None if body is None else json.dumps(body).encode("utf-8")
    req = urllib.request.Request(
        url,
        data=data,
        method=method or ("POST" if data is not None else "GET"),
        headers={"content-type": "application/json", **(headers or {})},
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as res:
            return res.status, res.headers, res.read().decode("utf-8")
    except urllib.error.HTTPError as e:
        raise HttpError(e.code, e.read().decode("utf-8", "replace")) from None


class Account:
    """A user with a workspace and an API token on a running server."""

    def __init__(self, server: CellmarkServer):
        self.server = server
        email = f"k{uuid.uuid4().hex[:10]}@example.com"
        _request(
            f"{server.url}/api/auth/sign-up/email",
            {"name": "Kernel Tester", "email": email, "password": "correct horse battery"},
            {"origin": server.origin},
        )
        # sign-up never signs in (server/src/auth.ts): the session comes from signing in
        _, headers, _ = _request(
            f"{server.url}/api/auth/sign-in/email",
            {"email": email, "password": "correct horse battery"},
            {"origin": server.origin},
        )
        jar = http.cookies.SimpleCookie()
        for value in headers.get_all("set-cookie") or []:
            jar.load(value)
        self.cookie = "; ".join(f"{k}={m.value}" for k, m in jar.items())
        ws = self.session_post("setup.createWorkspace", {"teamName": f"Team {email[:6]}", "projectName": "Kernel"})
        self.project = f"{ws['team']['slug']}/{ws['project']['slug']}"
        self.project_id = ws["project"]["id"]
        self.token = self.session_post("tokens.create", {"name": "kernel tests"})["token"]

    def session_post(self, procedure: str, body: Any) -> Any:
        _, _, text = _request(
            f"{self.server.url}/api/trpc/{procedure}", body, {"cookie": self.cookie, "origin": self.server.origin}
        )
        return json.loads(text)["result"]["data"]

    def session_get(self, procedure: str, body: Any) -> Any:
        q = urllib.parse.quote(json.dumps(body))
        _, _, text = _request(
            f"{self.server.url}/api/trpc/{procedure}?input={q}",
            None,
            {"cookie": self.cookie, "origin": self.server.origin},
        )
        return json.loads(text)["result"]["data"]

    def ingest(self, procedure: str, body: Any, token: Optional[str] = None) -> Any:
        _, _, text = _request(
            f"{self.server.url}/api/trpc/{procedure}", body, {"authorization": f"Bearer {token or self.token}"}
        )
        return json.loads(text)["result"]["data"]

    def start_run(self, notebook_path: str = "dir/train.ipynb") -> str:
        return self.ingest(
            "ingest.startRun",
            {
                "project": self.project,
                "clientKey": str(uuid.uuid4()),
                "notebookPath": notebook_path,
                "kernelName": "python3",
                "startedAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            },
        )["runId"]

    def get_run(self, run_id: str) -> dict:
        return self.session_get("runs.get", {"runId": run_id})

    def list_runs(self) -> list[dict]:
        return self.session_get("runs.list", {"projectId": self.project_id})["runs"]
