"""Execution records from IPython's pre_run_cell / post_run_cell events (pure helpers)."""

from __future__ import annotations

import os
import traceback
import uuid
from typing import Any, Optional

from .wire import cap_utf8, now_iso

MAX_SOURCE_BYTES = 1024 * 1024  # the server's default CELLMARK_MAX_SOURCE_BYTES
MAX_TRACEBACK_LINE_BYTES = 64 * 1024
MAX_TRACEBACK_FRAMES = 200


def parent_message(shell: Any) -> Optional[dict]:
    """The execute_request being run (ipykernel ≥ 6), or None in a plain IPython shell."""
    kernel = getattr(shell, "kernel", None)
    if kernel is None or not hasattr(kernel, "get_parent"):
        return None
    try:
        parent = kernel.get_parent()
    except Exception:
        return None
    return parent if isinstance(parent, dict) and parent.get("header") else None


def is_silent(info: Any, parent: Optional[dict]) -> bool:
    """Executions nobody sees (the frontend's own activation, tooling): never recorded."""
    if getattr(info, "silent", False) or getattr(info, "store_history", True) is False:
        return True
    content = (parent or {}).get("content") or {}
    return content.get("silent") is True or content.get("store_history") is False


def execution_key(parent: Optional[dict]) -> str:
    """The execute_request's msg_id (what the frontend sends too); a fresh id without a kernel."""
    msg_id = ((parent or {}).get("header") or {}).get("msg_id")
    return str(msg_id) if msg_id else f"ipython-{uuid.uuid4()}"


def cell_id(info: Any, parent: Optional[dict]) -> Optional[str]:
    value = getattr(info, "cell_id", None)
    if not value:
        value = ((parent or {}).get("metadata") or {}).get("cellId")
    return str(value) if value else None


def running_record(info: Any, parent: Optional[dict], execution_count: Optional[int]) -> dict:
    source = getattr(info, "raw_cell", "") or ""
    return {
        "executionKey": execution_key(parent),
        "cellId": cell_id(info, parent),
        "executionCount": execution_count,
        "source": cap_utf8(source, MAX_SOURCE_BYTES, "\n# [cellmark: source truncated at 1 MiB]\n"),
        "status": "running",
        "error": None,
        "startedAt": now_iso(),
        "endedAt": None,
    }


_IPYTHON_DIR = None


def _ipython_dir() -> str:
    global _IPYTHON_DIR
    if _IPYTHON_DIR is None:
        try:
            import IPython

            _IPYTHON_DIR = os.path.dirname(os.path.abspath(IPython.__file__)) + os.sep
        except Exception:
            _IPYTHON_DIR = "\0"
    return _IPYTHON_DIR


def error_of(exc: BaseException) -> dict:
    """{ename, evalue, traceback} in plain text, starting at the user's code."""
    try:
        evalue = str(exc)
    except Exception as e:  # a broken __str__ must not break the record
        evalue = f"<str() failed: {type(e).__name__}>"
    tb = exc.__traceback__
    # Skip IPython's own frames (run_code's exec) so the traceback starts in the cell.
    while tb is not None and os.path.abspath(tb.tb_frame.f_code.co_filename).startswith(_ipython_dir()):
        tb = tb.tb_next
    try:
        lines = traceback.format_exception(type(exc), exc, tb, limit=MAX_TRACEBACK_FRAMES)
    except Exception:
        lines = [f"{type(exc).__name__}: {evalue}\n"]
    return {
        "ename": type(exc).__name__,
        "evalue": evalue,
        "traceback": [cap_utf8(line, MAX_TRACEBACK_LINE_BYTES, "…") for line in lines],
    }


def finish(record: dict, result: Any, execution_count: Optional[int]) -> dict:
    """The complete record for an execution, from IPython's ExecutionResult."""
    exc = getattr(result, "error_before_exec", None) or getattr(result, "error_in_exec", None)
    done = dict(record, endedAt=now_iso())
    if execution_count is not None:
        done["executionCount"] = execution_count
    if exc is None:
        done["status"], done["error"] = "ok", None
    else:
        done["status"] = "interrupted" if isinstance(exc, KeyboardInterrupt) else "error"
        done["error"] = error_of(exc)
    return done
