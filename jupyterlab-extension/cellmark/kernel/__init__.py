"""The kernel side of Cellmark capture, loaded into the kernel by the JupyterLab extension:

    import cellmark.kernel as __cellmark; __cellmark.activate(server_url=…, token=…, run_id=…, notebook_path=…)

Standard library only (IPython is imported when activate() looks for the shell); never
imports jupyter_server or tornado. See docs/ingest-api.md, "Activating the kernel side".
"""

from __future__ import annotations

from typing import Any

from .api import config, flush, log, run, status, summary, system
from typing import Optional

from .session import SESSION, JsonText


def activate(server_url: str, token: str, run_id: Optional[str], notebook_path: str = "",
             capture_config: bool = True, shell: Any = None) -> JsonText:
    """Starts (or switches) recording this kernel's executions into run_id; idempotent.

    run_id=None starts recording before the run exists (the frontend opens it at the first
    execution): executions are held in memory and bound to the run by the next activate()
    with a run id. A kernel side already bound to a run keeps that binding.

    Returns `{"ok": true, "version": …, "implementation": …}` as JSON text; raises on bad
    arguments or outside IPython (the frontend shows the error reply).
    """
    return SESSION.activate(server_url, token, run_id, notebook_path, capture_config, shell)


def deactivate() -> None:
    """Stops recording; what is already spooled is still sent."""
    SESSION.deactivate()


__all__ = ["activate", "config", "deactivate", "flush", "log", "run", "status", "summary", "system"]
