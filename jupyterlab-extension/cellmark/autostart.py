"""The IPython extension that carries a kernel's run across a restart.

Installing jupyterlab-cellmark enables it in every IPython kernel of the environment
(`etc/ipython/ipython_kernel_config.json`). In a kernel that was never capturing it costs one
`stat` of a file that is not there: the kernel side writes `<spool root>/kernels/<kernel id>.json`
while it holds a run, and Jupyter keeps a kernel's id (its connection file's name) across
restarts. When the file is there, this is a restart of a kernel that was capturing: the kernel
side starts again at once and opens the next run itself, linked to the one before, whether or
not a page is open. Standard library only until then (`cellmark.kernel` takes ~60 ms to import).
"""

from __future__ import annotations

import json
import os
from typing import Any, Optional

STATE_DIR = "kernels"


def spool_root() -> str:
    return os.environ.get("CELLMARK_SPOOL_DIR") or os.path.join(os.path.expanduser("~"), ".cellmark", "spool")


def state_dir() -> str:
    return os.path.join(spool_root(), STATE_DIR)


def kernel_key(shell: Any) -> Optional[str]:
    """The kernel's id as Jupyter names its connection file (`kernel-<id>.json`), or None
    outside a kernel started from a connection file."""
    if getattr(shell, "kernel", None) is None:
        return None
    try:
        from ipykernel.kernelapp import IPKernelApp

        if not IPKernelApp.initialized():
            return None
        name = os.path.basename(IPKernelApp.instance().connection_file or "")
    except Exception:
        return None
    if not name.endswith(".json"):
        return None
    key = name[: -len(".json")]
    key = key[len("kernel-") :] if key.startswith("kernel-") else key
    return key if key and all(c.isalnum() or c in "-_." for c in key) else None


def state_path(key: str) -> str:
    return os.path.join(state_dir(), f"{key}.json")


def read_state(key: str) -> Optional[dict]:
    try:
        with open(state_path(key), "rb") as f:
            state = json.loads(f.read().decode("utf-8"))
    except (OSError, ValueError):
        return None
    return state if isinstance(state, dict) and state.get("v") == 1 else None


def load_ipython_extension(ipython: Any) -> None:
    key = kernel_key(ipython)
    if key is None or not os.path.exists(state_path(key)):
        return
    state = read_state(key)
    if state is None:
        return
    try:
        from .kernel.session import SESSION

        SESSION.resume(state, ipython)
    except Exception as e:  # a kernel must start whatever happens here
        # written here, not through kernel/stderr.py: importing that imports cellmark.kernel,
        # which may be what failed
        import sys

        try:
            (sys.__stderr__ or sys.stderr).write(
                f"[cellmark] could not resume capture after the restart: {type(e).__name__}: {e}\n"
            )
        except Exception:
            pass
