"""Messages for whoever runs the kernel: the process's own stderr (the Jupyter server's log),
never a notebook cell's output."""

from __future__ import annotations

import sys


def log_stderr(message: str) -> None:
    """Writes one `[cellmark] …` line; never raises (capture must not break the kernel)."""
    try:
        stream = sys.__stderr__ or sys.stderr
        stream.write(f"[cellmark] {message}\n")
        stream.flush()
    except Exception:
        pass
