"""The run a kernel holds. The kernel owns its run: every frontend that attaches asks the
kernel side (activate with a proposed client key) and records into the run it answers with,
so a second tab, a second browser or a reload all join one run; the first binding wins.

The binding is kept on disk while the kernel holds it (`<spool root>/kernels/<kernel id>.json`,
0600: it holds the API token, which a restarted kernel needs to open its next run with no page
open); `cellmark/autostart.py` reads it in the restarted process. Removed when the kernel shuts
down for good or capture is switched off; files of kernels gone for two days are pruned.
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Optional

from .. import autostart
from . import client
from .fsutil import write_atomic
from .wire import now_iso

STALE_S = 2 * 24 * 3600
OPEN_RETRY_FIRST_S = 1.0
OPEN_RETRY_MAX_S = 60.0
MAX_KEY_CHARS = 200


@dataclass
class RunBinding:
    server_url: str
    project: str
    client_key: str
    run_id: Optional[str] = None
    #: the run this one continues (the kernel restarted, or a new run was asked for)
    previous_run_id: Optional[str] = None
    started_at: str = field(default_factory=now_iso)
    notebook_path: str = ""
    kernel_name: Optional[str] = None

    def answer(self) -> dict[str, Any]:
        """What activate() tells a frontend: the run to record into."""
        return {
            "clientKey": self.client_key,
            "runId": self.run_id,
            "previousRunId": self.previous_run_id,
            "startedAt": self.started_at,
        }

    def start_input(self) -> dict[str, Any]:
        """ingest.startRun's input (idempotent on the client key, so any frontend may send it too)."""
        start: dict[str, Any] = {
            "project": self.project,
            "clientKey": self.client_key,
            "notebookPath": self.notebook_path or "untitled.ipynb",
            "kernelName": self.kernel_name,
            "startedAt": self.started_at,
        }
        if self.previous_run_id:
            start["previousRunId"] = self.previous_run_id
        return start


def new_key() -> str:
    return str(uuid.uuid4())


def check_key(value: Any, name: str, min_chars: int = 1) -> str:
    """The limits ingest.startRun has (client keys 8–200 characters), said by the kernel."""
    if not isinstance(value, str) or len(value.strip()) < min_chars or len(value) > MAX_KEY_CHARS:
        raise ValueError(f"cellmark: {name} must be a string of {min_chars}–{MAX_KEY_CHARS} characters")
    return value


def decide(
    current: Optional[RunBinding], server_url: str, project: str, proposal: str, replaces: Optional[str]
) -> Optional[RunBinding]:
    """The binding a frontend's proposal leads to; None: keep the current one. A frontend takes
    over the kernel's run only to replace it (a new run asked for, naming the run it replaces)
    or when the kernel holds none for this server and project."""
    if current is None or current.server_url != server_url or current.project != project:
        return RunBinding(server_url, project, proposal)
    if replaces is not None and replaces == current.client_key and proposal != current.client_key:
        return RunBinding(server_url, project, proposal, previous_run_id=current.run_id)
    return None


# -- on disk ---------------------------------------------------------------------------------


def save(key: Optional[str], binding: RunBinding, token: str, capture_config: bool) -> None:
    if key is None:
        return
    directory = autostart.state_dir()
    os.makedirs(directory, mode=0o700, exist_ok=True)
    state = {
        "v": 1,
        **asdict(binding),
        "token": token,
        "captureConfig": capture_config,
        "pid": os.getpid(),
        "savedAt": now_iso(),
    }
    write_atomic(autostart.state_path(key), json.dumps(state).encode("utf-8"))


def delete(key: Optional[str]) -> None:
    if key is None:
        return
    try:
        os.unlink(autostart.state_path(key))
    except OSError:
        pass


def touch(key: Optional[str]) -> None:
    """A living kernel's file is never pruned (called with each heartbeat)."""
    if key is None:
        return
    try:
        os.utime(autostart.state_path(key))
    except OSError:
        pass


def prune(keep: Optional[str]) -> None:
    """Removes the files of kernels not seen for STALE_S (killed and never restarted)."""
    directory = autostart.state_dir()
    try:
        names = os.listdir(directory)
    except OSError:
        return
    cutoff = time.time() - STALE_S
    for name in names:
        path = os.path.join(directory, name)
        if not name.endswith(".json") or name == f"{keep}.json":
            continue
        try:
            if os.stat(path).st_mtime < cutoff:
                os.unlink(path)
        except OSError:
            pass


def from_state(state: dict) -> RunBinding:
    """The binding a restarted kernel continues: a new run after the one the state names."""
    return RunBinding(
        server_url=str(state["server_url"]),
        project=str(state["project"]),
        client_key=new_key(),
        previous_run_id=state.get("run_id") if isinstance(state.get("run_id"), str) else None,
        notebook_path=str(state.get("notebook_path") or ""),
        kernel_name=state.get("kernel_name") if isinstance(state.get("kernel_name"), str) else None,
    )


# -- the kernel opens its run itself ------------------------------------------------------------


def open_run(
    binding: RunBinding,
    token: Callable[[], Optional[str]],
    still_wanted: Callable[[], bool],
    opened: Callable[[str], None],
    failed: Callable[[client.CallError], None],
) -> threading.Thread:
    """ingest.startRun from a thread of its own, retried with backoff (1 s → 60 s, cut short
    when an unreachable server is back) while the server is unreachable or busy, until the run
    exists or is no longer wanted (the binding changed); a 4xx other than 408/429 gives up and
    says why (`failed`)."""

    def run() -> None:
        delay = OPEN_RETRY_FIRST_S
        probe_ended = False  # a wait ended because /healthz said 200 (see wait_for_server)
        while still_wanted():
            secret = token()
            if secret is None:
                return
            try:
                result = client.call(binding.server_url, secret, "ingest.startRun", binding.start_input())
            except client.CallError as e:
                if e.kind != "transient":
                    failed(e)
                    return
                wait = max(delay, e.retry_after or 0) * random.uniform(0.8, 1.2)
                delay = min(OPEN_RETRY_MAX_S, delay * 2)
                if e.unreachable:
                    # sent as soon as the server is back (client.wait_for_server)
                    back = client.wait_for_server(binding.server_url, wait, must_see_down=probe_ended)
                    probe_ended = probe_ended or back == "back"
                else:
                    time.sleep(wait)
                continue
            if isinstance(result, dict) and isinstance(result.get("runId"), str):
                opened(result["runId"])
            return

    thread = threading.Thread(target=run, name="cellmark-open-run", daemon=True)
    thread.start()
    return thread
