"""The kernel side of Cellmark capture, loaded into the kernel by the JupyterLab extension:

    import cellmark.kernel as __cellmark; __cellmark.activate(server_url=…, token=…, run_id=…, notebook_path=…)

Standard library only (IPython is imported when activate() looks for the shell); never
imports jupyter_server or tornado. See docs/ingest-api.md, "Activating the kernel side".
"""

from __future__ import annotations

from typing import Any, Optional

from .api import config, flush, log, run, status, summary, system
from .session import SESSION, JsonText


def activate(
    server_url: str,
    token: str,
    run_id: Optional[str],
    notebook_path: str = "",
    capture_config: bool = True,
    shell: Any = None,
    project: Optional[str] = None,
    client_key: Optional[str] = None,
    replaces: Optional[str] = None,
    kernel_name: Optional[str] = None,
) -> JsonText:
    """Starts (or switches) recording this kernel's executions; idempotent.

    With `project` and `client_key` (a key the frontend proposes for a new run) the kernel
    owns the run: it keeps the run it holds for this server and project and answers with it,
    or takes the proposal when it holds none, or when `replaces` names the run it holds (a new
    run asked for). `run_id` with the held run's key: the frontend created that run.

    Without a client key, `run_id` is the run to record into; None starts recording before the
    run exists: executions are held in memory and bound by the next activate() with a run id.

    Returns `{"ok": true, "version": …, "implementation": …, "run": {"clientKey", "runId",
    "previousRunId", "startedAt"} | null}` as JSON text; raises on bad arguments or outside
    IPython (the frontend shows the error reply).
    """
    return SESSION.activate(
        server_url,
        token,
        run_id,
        notebook_path,
        capture_config,
        shell,
        project=project,
        client_key=client_key,
        replaces=replaces,
        kernel_name=kernel_name,
    )


def deactivate() -> None:
    """Stops recording and ends the run the kernel held; what is already spooled is still sent."""
    SESSION.deactivate()


__all__ = ["activate", "config", "deactivate", "flush", "log", "run", "status", "summary", "system"]
