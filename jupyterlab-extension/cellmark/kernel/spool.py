"""The on-disk spool: every payload for the server is appended to a log before anything is sent.

Layout under the spool root (`$CELLMARK_SPOOL_DIR`, default `~/.cellmark/spool`):

    <server-key>/server.txt            the server URL, for people
    <server-key>/p-<pid>-<rand>/       one queue per kernel process, locked (flock) while it lives
        log-<gen>                      append-only records: `<name> <length> <crc32>\n<json>\n`,
                                       json = {"v": 1, "procedure", "input", "createdAt"}
        acked                          `<gen> <offset>`: everything before it was sent (or failed/)
    <server-key>/failed/<name>.json    payloads the server refused for good, with its message

Appending is a copy of the whole record into a shared memory map of the log (or one write(2)
where blocks cannot be preallocated), on the thread that records (a cell's hooks): it
survives a kill of the process the moment it returns, costs a few microseconds and never
waits for the disk (see _Appender). What need not be in the log before the caller goes on
(a cell's complete record) can be deferred and written a moment later, in order (see defer). Durability against power loss is the sender
thread's job: it fsyncs the log before each send (group commit: one fsync covers every record
appended since) and moves `acked` forward (write-temp-then-rename, fsync) after the server
answered. A write that fails half-way is cut off again, so the log never holds a torn record
in its middle; a torn tail (power loss) is where reading stops. When everything is acked the
log starts a new generation and the old file goes.

A queue whose lock is free belongs to a kernel that is gone: the next activation for the same
server adopts it and sends what is left (queues of older versions, one `<name>.json` file per
payload, are adopted too). Only payloads are stored; the token lives in memory.
"""

from __future__ import annotations

import collections
import errno
import hashlib
import json
import mmap
import os
import secrets
import shutil
import threading
import time
import zlib
from dataclasses import dataclass
from typing import Any, Callable, Optional

from .fsutil import _DirLock, _fsync_dir, write_atomic
from .stderr import log_stderr
from .wire import dumps, now_iso


def default_root() -> str:
    return os.environ.get("CELLMARK_SPOOL_DIR") or os.path.join(os.path.expanduser("~"), ".cellmark", "spool")


def server_key(server_url: str) -> str:
    url = server_url.strip().rstrip("/").lower()
    return hashlib.sha256(url.encode("utf-8")).hexdigest()[:16]


ROTATE_BYTES = 1024 * 1024  # a fully acked log at least this big starts a new generation
LOG_PREFIX = "log-"
ACKED = "acked"


@dataclass(frozen=True)
class Entry:
    name: str
    path: str  # its log (or, in a queue of an older version, its own file)
    size: int  # bytes of its JSON
    offset: int = -1  # where the JSON starts in the log; -1: a file of its own


class _Log:
    """One log file: its read descriptor and the entries in it not yet done."""

    def __init__(self, queue: _Queue, gen: int, path: str):
        self.queue, self.gen, self.path = queue, gen, path
        self.fd = os.open(path, os.O_RDONLY)
        self.end = 0  # bytes of whole records (where the next one goes, for the queue's own log)
        self.entries: list[tuple[Entry, int]] = []  # (entry, offset after it), in log order
        self.done: set[str] = set()
        self.acked = 0

    def close(self) -> None:
        try:
            os.close(self.fd)
        except OSError:
            pass


class _Queue:
    def __init__(self, directory: str, lock: _DirLock):
        self.dir, self.lock = directory, lock
        self.logs: list[_Log] = []
        self.files: dict[str, Entry] = {}  # an older version's entries, one file each


class _Appender:
    """Appends to the own log. Where the OS can preallocate (posix_fallocate), the log is a
    shared memory map: an append is a memory copy, no system call, so the recording thread
    never lets go of the GIL (a write(2) does, and in a kernel whose other threads are busy
    getting it back costs far more than the write). The pages belong to the OS page cache, so
    they survive a kill of the process like a write(2) would; preallocated blocks mean a full
    disk fails the grow with ENOSPC instead of a SIGBUS. Elsewhere: one O_APPEND write(2)."""

    CHUNK = 1024 * 1024

    def __init__(self, path: str):
        self.fd = os.open(path, os.O_RDWR | os.O_CREAT | (0 if _MAPPED else os.O_APPEND), 0o600)
        self.end = 0
        self.map: Any = None
        if _MAPPED:
            self._grow(self.CHUNK)

    def _grow(self, size: int) -> None:
        os.posix_fallocate(self.fd, 0, size)  # raises ENOSPC on a full disk; nothing changed then
        if self.map is not None:
            self.map.close()
        self.map = mmap.mmap(self.fd, size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)

    def append(self, record: bytes) -> int:
        start = self.end
        if self.map is not None:
            if start + len(record) > len(self.map):
                self._grow(max(2 * len(self.map), start + len(record) + self.CHUNK))
            self.map[start : start + len(record)] = record
        else:
            try:
                written = os.write(self.fd, record)
                while written < len(record):  # a short write (disk nearly full): finish or fail
                    more = os.write(self.fd, record[written:])
                    if more <= 0:
                        raise OSError(errno.ENOSPC, "short write to the spool log")
                    written += more
            except BaseException:
                try:
                    os.ftruncate(self.fd, start)  # never leave a torn record before the next one
                except OSError:
                    pass
                raise
        self.end = start + len(record)
        return start

    def sync(self) -> None:
        if self.map is not None:
            self.map.flush()
        else:
            os.fsync(self.fd)

    def close(self) -> None:
        try:
            if self.map is not None:
                self.map.flush()
                self.map.close()
                self.map = None
                os.ftruncate(self.fd, self.end)  # no preallocated zeros left behind
        except (OSError, ValueError):
            pass
        os.close(self.fd)


_MAPPED = hasattr(os, "posix_fallocate") and os.name == "posix"


def _frame(name: str, data: bytes) -> tuple[bytes, int]:
    header = f"{name} {len(data)} {zlib.crc32(data):08x}\n".encode("ascii")
    return header + data + b"\n", len(header)


def _read_records(log: _Log, start: int) -> tuple[list[tuple[Entry, int]], int, bool]:
    """The whole records from `start`: (entries, end of the last whole one, torn tail?)."""
    with open(log.path, "rb") as f:
        f.seek(start)
        raw = f.read()
    entries: list[tuple[Entry, int]] = []
    at = 0
    while at < len(raw):
        if raw[at] == 0:  # the preallocated rest of a mapped log: the end, not a torn record
            return entries, start + at, False
        nl = raw.find(b"\n", at, at + 200)
        try:
            name, length, crc = raw[at:nl].decode("ascii").split(" ")
            n = int(length)
            body = raw[nl + 1 : nl + 1 + n]
            if (
                nl < 0
                or n < 0
                or len(body) != n
                or raw[nl + 1 + n : nl + 2 + n] != b"\n"
                or int(crc, 16) != zlib.crc32(body)
            ):
                raise ValueError("torn")
        except (ValueError, UnicodeDecodeError):
            return entries, start + at, True
        end = nl + 2 + n
        entries.append((Entry(name, log.path, n, start + nl + 1), start + end))
        at = end
    return entries, start + at, False


class Spool:
    def __init__(self, server_url: str, root: Optional[str] = None):
        self.server_url = server_url.rstrip("/")
        self.root = root or default_root()
        self.server_dir = os.path.join(self.root, server_key(self.server_url))
        self.failed_dir = os.path.join(self.server_dir, "failed")
        self.own_dir: Optional[str] = None
        self._queues: dict[str, _Queue] = {}  # queue dir -> its lock and logs (own and adopted)
        self._own: Optional[_Log] = None
        self._wfd: Optional[_Appender] = None  # writes the own log
        self._by_path: dict[str, _Log] = {}
        self._lock = threading.Lock()
        self._seq = 0
        self._last_ns = 0
        self._count = 0
        self._unsynced = False
        # defer(): payloads not yet in the log, in order
        self._deferred: collections.deque = collections.deque()
        self.on_deferred_error: Optional[Callable[[BaseException], None]] = None
        self._needles: dict[str, bytes] = {}  # a secret -> its JSON-escaped form, looked for in every payload

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
        queue = _Queue(own, lock)
        self._queues[own] = queue
        self.own_dir = own
        self._new_generation(queue, 0)
        _fsync_dir(own)

    def _new_generation(self, queue: _Queue, gen: int) -> None:
        path = os.path.join(queue.dir, f"{LOG_PREFIX}{gen:08d}")
        wfd = _Appender(path)
        log = _Log(queue, gen, path)
        queue.logs.append(log)
        self._by_path[path] = log
        old, self._wfd, self._own = self._wfd, wfd, log
        if old is not None:
            old.close()

    def adopt_leftovers(self) -> int:
        """Takes over the queues of kernels that are gone; returns how many entries they hold."""
        found = 0
        try:
            names = sorted(os.listdir(self.server_dir))
        except FileNotFoundError:
            return 0
        for name in names:
            path = os.path.join(self.server_dir, name)
            if not name.startswith("p-") or path in self._queues or not os.path.isdir(path):
                continue
            lock = _DirLock(path)
            try:
                if not lock.acquire():
                    continue  # a live kernel's queue
            except OSError:
                continue
            found += self._load_queue(path, lock)
        return found

    def _load_queue(self, path: str, lock: _DirLock) -> int:
        queue = _Queue(path, lock)
        acked_gen, acked_at = -1, 0
        try:
            with open(os.path.join(path, ACKED), "rb") as f:
                acked_gen, acked_at = (int(x) for x in f.read().split())
        except (OSError, ValueError):
            pass
        found = 0
        for leftover in sorted(self._listdir(path)):
            full = os.path.join(path, leftover)
            if leftover.endswith(".tmp"):  # a write that crashed before its rename
                try:
                    os.unlink(full)
                except OSError:
                    pass
            elif leftover.endswith(".json") and not leftover.startswith("."):  # an older version's queue
                try:
                    queue.files[leftover] = Entry(leftover, full, os.stat(full).st_size)
                    found += 1
                except OSError:
                    pass
            elif leftover.startswith(LOG_PREFIX) and leftover[len(LOG_PREFIX) :].isdigit():
                gen = int(leftover[len(LOG_PREFIX) :])
                if gen < acked_gen:
                    try:
                        os.unlink(full)  # sent entirely; its rotation was cut short
                    except OSError:
                        pass
                    continue
                log = _Log(queue, gen, full)
                log.acked = acked_at if gen == acked_gen else 0
                log.entries, log.end, torn = _read_records(log, log.acked)
                if torn:
                    log_stderr(
                        f"spool log {full}: a torn record at byte {log.end} (the kernel died while "
                        f"writing it); what follows is lost"
                    )
                queue.logs.append(log)
                self._by_path[full] = log
                found += len(log.entries)
        with self._lock:
            self._queues[path] = queue
            self._count += found
        return found

    def close(self) -> None:
        """Writes what was deferred, syncs the own log, releases the queues; removes the ones
        that hold nothing to send."""
        try:
            self.sync()
        except OSError:
            pass
        with self._lock:
            for path, queue in list(self._queues.items()):
                empty = not queue.files and all(len(log.done) == len(log.entries) for log in queue.logs)
                for log in queue.logs:
                    log.close()
                    self._by_path.pop(log.path, None)
                if empty:
                    try:
                        os.unlink(queue.lock.path)
                    except OSError:
                        pass
                queue.lock.release()
                if empty:
                    shutil.rmtree(path, ignore_errors=True)
                del self._queues[path]
            if self._wfd is not None:
                self._wfd.close()
            self._wfd, self._own, self.own_dir = None, None, None
            self._count = 0

    # -- queue ---------------------------------------------------------------------------

    def append(self, procedure: str, payload: Any, redact: tuple = (), cleaned: bool = False) -> str:
        """Appends one payload to the log (after what was deferred before it); returns the
        entry name. Every string in `redact` (the API token) is replaced wherever it occurs,
        e.g. pasted into a cell's source. Raises ValueError for payloads that are not JSON (a
        bug here, never the user's data)."""
        data = self._serialise(procedure, payload, redact, cleaned)
        with self._lock:
            self._write_deferred_locked()
            return self._append_locked(data)

    def defer(self, procedure: str, payload: Any, redact: tuple = ()) -> None:
        """Queues one payload for write_deferred(), which the caller schedules (the kernel:
        right after the current message's handler, see KernelSession.enqueue). Order is kept:
        every append, listing, sync and close first writes what was deferred before it, and
        count() includes it, so flush() waits for it. Until written it is only in memory;
        `payload` must not change after this call."""
        if self._wfd is None:
            raise RuntimeError("spool is not open")
        self._deferred.append((procedure, payload, redact))

    def write_deferred(self) -> None:
        """Writes what defer() queued, oldest first."""
        if self._deferred:
            with self._lock:
                self._write_deferred_locked()

    def _serialise(self, procedure: str, payload: Any, redact: tuple, cleaned: bool) -> bytes:
        data = dumps({"v": 1, "procedure": procedure, "input": payload, "createdAt": now_iso()}, cleaned=cleaned)
        for secret in redact:
            if secret:
                needle = self._needles.get(secret)
                if needle is None:
                    needle = self._needles[secret] = dumps(secret)[1:-1]
                data = data.replace(needle, b"[redacted]")
        return data

    def _write_deferred_locked(self) -> None:
        """Under the lock: every deferred payload into the log, oldest first. One that cannot
        be written (not JSON, a full disk) is reported and dropped, as append() would raise."""
        while self._deferred:
            procedure, payload, redact = self._deferred[0]
            try:
                self._append_locked(self._serialise(procedure, payload, redact, False))
            except Exception as e:
                if self.on_deferred_error is not None:
                    try:
                        self.on_deferred_error(e)
                    except Exception:
                        pass
            finally:
                self._deferred.popleft()  # after the append: count() never misses it

    def _append_locked(self, data: bytes) -> str:
        log, wfd = self._own, self._wfd
        if log is None or wfd is None:
            raise RuntimeError("spool is not open")
        # Names sort in creation order, across processes too (wall clock), and never go
        # backwards within this one even if the clock does.
        ns = max(time.time_ns(), self._last_ns + 1)
        self._last_ns = ns
        self._seq += 1
        name = f"{ns:020d}-{os.getpid()}-{self._seq:08d}"
        record, header = _frame(name, data)
        start = wfd.append(record)
        log.end = start + len(record)
        log.entries.append((Entry(name, log.path, len(data), start + header), log.end))
        self._count += 1
        self._unsynced = True
        return name

    def sync(self) -> None:
        """fsync of what was appended since the last call (the sender thread's group commit)."""
        with self._lock:
            self._write_deferred_locked()
            if not self._unsynced or self._wfd is None:
                return
            self._unsynced = False
            wfd = self._wfd
        try:
            wfd.sync()
        except OSError:
            with self._lock:
                self._unsynced = True
            raise

    @staticmethod
    def _listdir(path: str) -> list[str]:
        try:
            return os.listdir(path)
        except FileNotFoundError:
            return []

    def pending(self) -> list[Entry]:
        with self._lock:
            self._write_deferred_locked()
            entries = [e for q in self._queues.values() for e in q.files.values()]
            for queue in self._queues.values():
                for log in queue.logs:
                    entries.extend(e for e, _ in log.entries if e.name not in log.done)
        entries.sort(key=lambda e: e.name)
        return entries

    def count(self) -> int:
        """Entries not yet sent, deferred ones included."""
        with self._lock:
            return self._count + len(self._deferred)

    def failed_count(self) -> int:
        return sum(1 for n in self._listdir(self.failed_dir) if n.endswith(".json") and not n.startswith("."))

    def _read(self, entry: Entry) -> bytes:
        if entry.offset < 0:
            with open(entry.path, "rb") as f:
                return f.read()
        log = self._by_path.get(entry.path)
        if log is None:
            raise FileNotFoundError(entry.path)
        return os.pread(log.fd, entry.size, entry.offset)

    def load(self, entry: Entry) -> dict:
        value = json.loads(self._read(entry).decode("utf-8"))
        if not isinstance(value, dict) or not isinstance(value.get("procedure"), str) or "input" not in value:
            raise ValueError("not a spool entry")
        return value

    def remove(self, entries: list[Entry]) -> None:
        """Marks entries as done; moves each log's `acked` past its done prefix (durably: the
        caller is the sender thread) and starts a new generation of a fully acked own log."""
        touched: dict[str, _Log] = {}
        with self._lock:
            for entry in entries:
                if entry.offset < 0:
                    queue = self._queues.get(os.path.dirname(entry.path))
                    if queue is not None and queue.files.pop(entry.name, None) is not None:
                        self._count -= 1
                    try:
                        os.unlink(entry.path)
                    except FileNotFoundError:
                        pass
                    continue
                log = self._by_path.get(entry.path)
                if log is None or entry.name in log.done:
                    continue
                log.done.add(entry.name)
                self._count -= 1
                touched[log.path] = log
            acks = []
            for log in touched.values():
                # drop the done prefix from memory; what is after a gap stays until the gap is done
                cut = 0
                while cut < len(log.entries) and log.entries[cut][0].name in log.done:
                    log.done.discard(log.entries[cut][0].name)
                    log.acked = log.entries[cut][1]
                    cut += 1
                del log.entries[:cut]
                if cut:
                    acks.append(log)
            rotate = [log for log in acks if log is self._own and not log.entries and log.end >= ROTATE_BYTES]
            for log in rotate:
                self._new_generation(log.queue, log.gen + 1)
        for log in acks:
            current = self._own if log in rotate else log
            gen, at = (current.gen, 0) if log in rotate else (log.gen, log.acked)
            try:
                write_atomic(os.path.join(log.queue.dir, ACKED), f"{gen} {at}\n".encode("ascii"))
            except OSError:
                continue  # kept in memory; a restart sends these again (the server takes repeats)
            if log in rotate:
                with self._lock:
                    log.queue.logs.remove(log)
                    self._by_path.pop(log.path, None)
                log.close()
                try:
                    os.unlink(log.path)
                except OSError:
                    pass

    def fail(self, entry: Entry, message: str, status: Optional[int]) -> str:
        """Moves an entry the server refused for good to failed/, with the server's message."""
        try:
            raw = self._read(entry)
            try:
                content: Any = json.loads(raw.decode("utf-8"))
            except ValueError:
                content = {"unreadable": raw.decode("utf-8", "replace")}
        except FileNotFoundError:
            return ""
        record = {"entry": content, "error": {"status": status, "message": message}, "failedAt": now_iso()}
        target = os.path.join(self.failed_dir, entry.name if entry.name.endswith(".json") else entry.name + ".json")
        os.makedirs(self.failed_dir, mode=0o700, exist_ok=True)
        write_atomic(target, json.dumps(record, ensure_ascii=False, indent=1).encode("utf-8", "replace"))
        self.remove([entry])
        return target
