"""The on-disk spool: every payload for the server is a file before anything is sent.

Layout under the spool root (`$CELLMARK_SPOOL_DIR`, default `~/.cellmark/spool`):

    <server-key>/server.txt            the server URL, for people
    <server-key>/p-<pid>-<rand>/       one queue per kernel process, locked (flock) while it lives
        <time_ns>-<pid>-<seq>.json     {"v": 1, "procedure", "input", "createdAt"}
    <server-key>/failed/<name>.json    payloads the server refused for good, with its message

Writes are atomic and durable (temp file, fsync, rename, fsync of the directory), so a crash
leaves either the whole entry or none. A queue whose lock is free belongs to a kernel that
is gone: the next activation for the same server adopts it and sends what is left. Only
payloads are stored; the token lives in memory.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import secrets
import shutil
import threading
import time
from dataclasses import dataclass
from typing import Any, Optional

from .wire import dumps, now_iso

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]
    import msvcrt


def default_root() -> str:
    return os.environ.get("CELLMARK_SPOOL_DIR") or os.path.join(os.path.expanduser("~"), ".cellmark", "spool")


def server_key(server_url: str) -> str:
    url = server_url.strip().rstrip("/").lower()
    return hashlib.sha256(url.encode("utf-8")).hexdigest()[:16]


def _fsync_dir(path: str) -> None:
    if os.name != "posix":
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: str, data: bytes) -> None:
    directory, name = os.path.split(path)
    tmp = os.path.join(directory, f".{name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_dir(directory)


class _DirLock:
    """An exclusive, non-blocking lock on <dir>/lock, released when the process dies."""

    def __init__(self, directory: str):
        self.path = os.path.join(directory, "lock")
        self.fd: Optional[int] = None

    def acquire(self) -> bool:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            else:
                msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError as e:
            os.close(fd)
            if e.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK, errno.EDEADLK):
                return False
            raise
        self.fd = fd
        return True

    def release(self) -> None:
        if self.fd is None:
            return
        try:
            if fcntl is not None:
                fcntl.flock(self.fd, fcntl.LOCK_UN)
            else:
                msvcrt.locking(self.fd, msvcrt.LK_UNLCK, 1)
        except OSError:
            pass
        os.close(self.fd)
        self.fd = None


@dataclass(frozen=True)
class Entry:
    name: str
    path: str
    size: int


class Spool:
    def __init__(self, server_url: str, root: Optional[str] = None):
        self.server_url = server_url.rstrip("/")
        self.root = root or default_root()
        self.server_dir = os.path.join(self.root, server_key(self.server_url))
        self.failed_dir = os.path.join(self.server_dir, "failed")
        self.own_dir: Optional[str] = None
        self._locks: dict[str, _DirLock] = {}  # queue dir -> its lock (own and adopted)
        self._lock = threading.Lock()
        self._seq = 0
        self._last_ns = 0

    # -- lifecycle -----------------------------------------------------------------------

    def open(self) -> None:
        os.makedirs(self.failed_dir, mode=0o700, exist_ok=True)
        marker = os.path.join(self.server_dir, "server.txt")
        if not os.path.exists(marker):
            write_atomic(marker, (self.server_url + "\n").encode("utf-8"))
        own = os.path.join(self.server_dir, f"p-{os.getpid()}-{secrets.token_hex(4)}")
        os.makedirs(own, mode=0o700)
        lock = _DirLock(own)
        if not lock.acquire():  # cannot happen for a fresh random name, but never share a queue
            raise RuntimeError(f"spool queue {own} is locked by another process")
        self.own_dir = own
        self._locks[own] = lock

    def adopt_leftovers(self) -> int:
        """Takes over the queues of kernels that are gone; returns how many entries they hold."""
        found = 0
        try:
            names = sorted(os.listdir(self.server_dir))
        except FileNotFoundError:
            return 0
        for name in names:
            path = os.path.join(self.server_dir, name)
            if not name.startswith("p-") or path in self._locks or not os.path.isdir(path):
                continue
            lock = _DirLock(path)
            try:
                if not lock.acquire():
                    continue  # a live kernel's queue
            except OSError:
                continue
            self._locks[path] = lock
            for leftover in os.listdir(path):
                if leftover.endswith(".tmp"):  # a write that crashed before its rename
                    try:
                        os.unlink(os.path.join(path, leftover))
                    except OSError:
                        pass
                elif leftover.endswith(".json"):
                    found += 1
        return found

    def close(self) -> None:
        """Releases the queues; removes the ones that are empty."""
        for path, lock in list(self._locks.items()):
            empty = not any(n.endswith(".json") for n in self._listdir(path))
            if empty:
                try:
                    os.unlink(lock.path)
                except OSError:
                    pass
            lock.release()
            if empty:
                shutil.rmtree(path, ignore_errors=True)
            del self._locks[path]
        self.own_dir = None

    # -- queue ---------------------------------------------------------------------------

    def append(self, procedure: str, payload: Any, redact: tuple = (), cleaned: bool = False) -> str:
        """Stores one payload durably; returns the entry name. Every string in `redact`
        (the API token) is replaced wherever it occurs, e.g. pasted into a cell's source.
        Raises ValueError for payloads that are not JSON (a bug here, never the user's data)."""
        if self.own_dir is None:
            raise RuntimeError("spool is not open")
        data = dumps({"v": 1, "procedure": procedure, "input": payload, "createdAt": now_iso()}, cleaned=cleaned)
        for secret in redact:
            if secret:
                data = data.replace(dumps(secret)[1:-1], b"[redacted]")
        with self._lock:
            # Names sort in creation order, across processes too (wall clock), and never go
            # backwards within this one even if the clock does.
            ns = max(time.time_ns(), self._last_ns + 1)
            self._last_ns = ns
            self._seq += 1
            name = f"{ns:020d}-{os.getpid()}-{self._seq:08d}.json"
        write_atomic(os.path.join(self.own_dir, name), data)
        return name

    @staticmethod
    def _listdir(path: str) -> list[str]:
        try:
            return os.listdir(path)
        except FileNotFoundError:
            return []

    def pending(self) -> list[Entry]:
        entries = []
        for directory in list(self._locks):
            for name in self._listdir(directory):
                if name.endswith(".json") and not name.startswith("."):
                    path = os.path.join(directory, name)
                    try:
                        size = os.stat(path).st_size
                    except FileNotFoundError:
                        continue
                    entries.append(Entry(name, path, size))
        entries.sort(key=lambda e: e.name)
        return entries

    def count(self) -> int:
        return sum(1 for directory in list(self._locks) for n in self._listdir(directory)
                   if n.endswith(".json") and not n.startswith("."))

    def failed_count(self) -> int:
        return sum(1 for n in self._listdir(self.failed_dir) if n.endswith(".json") and not n.startswith("."))

    @staticmethod
    def load(entry: Entry) -> dict:
        with open(entry.path, "rb") as f:
            value = json.loads(f.read().decode("utf-8"))
        if not isinstance(value, dict) or not isinstance(value.get("procedure"), str) or "input" not in value:
            raise ValueError("not a spool entry")
        return value

    @staticmethod
    def remove(entries: list[Entry]) -> None:
        for entry in entries:
            try:
                os.unlink(entry.path)
            except FileNotFoundError:
                pass

    def fail(self, entry: Entry, message: str, status: Optional[int]) -> str:
        """Moves an entry the server refused for good to failed/, with the server's message."""
        try:
            with open(entry.path, "rb") as f:
                raw = f.read()
            try:
                content: Any = json.loads(raw.decode("utf-8"))
            except ValueError:
                content = {"unreadable": raw.decode("utf-8", "replace")}
        except FileNotFoundError:
            return ""
        record = {"entry": content, "error": {"status": status, "message": message}, "failedAt": now_iso()}
        target = os.path.join(self.failed_dir, entry.name)
        os.makedirs(self.failed_dir, mode=0o700, exist_ok=True)
        write_atomic(target, json.dumps(record, ensure_ascii=False, indent=1).encode("utf-8", "replace"))
        self.remove([entry])
        return target
