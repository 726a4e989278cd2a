"""The on-disk spool: an append-only log per kernel, order, torn records, acks and rotation,
per-process queues, adoption of a dead kernel's queue (never a live one's), failed/."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from cellmark.kernel import spool as spool_mod
from cellmark.kernel.spool import Spool

URL = "http://cellmark.test:3000"
PKG_ROOT = Path(__file__).resolve().parents[1]


def opened(root: Path, url: str = URL) -> Spool:
    s = Spool(url, str(root))
    s.open()
    return s


def test_entries_are_appended_to_one_log_in_order(tmp_path: Path):
    s = opened(tmp_path)
    names = [s.append("ingest.cells", {"runId": "r", "cells": [{"n": i}]}) for i in range(50)]
    pending = s.pending()
    assert [e.name for e in pending] == names == sorted(names)
    assert [s.load(e)["input"]["cells"][0]["n"] for e in pending] == list(range(50))
    assert s.load(pending[0])["procedure"] == "ingest.cells"
    assert sorted(os.listdir(s.own_dir)) == ["lock", "log-00000000"]
    mode = stat.S_IMODE(os.stat(pending[0].path).st_mode)
    assert mode == 0o600
    assert s.count() == 50


def test_clock_going_backwards_keeps_the_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    s = opened(tmp_path)
    first = s.append("a", 1)
    monkeypatch.setattr(spool_mod.time, "time_ns", lambda: 5)
    second = s.append("b", 2)
    assert [e.name for e in s.pending()] == [first, second]


def test_a_full_disk_fails_the_append_and_keeps_the_log_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    if not spool_mod._MAPPED:
        pytest.skip("no posix_fallocate: the log is written with write(2)")
    monkeypatch.setattr(spool_mod._Appender, "CHUNK", 4096)
    s = opened(tmp_path)
    s.append("ingest.cells", {"n": 0})

    def full(fd, offset, length):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(spool_mod.os, "posix_fallocate", full)
    with pytest.raises(OSError):
        s.append("ingest.cells", {"n": "x" * 8000})  # needs the log to grow
    monkeypatch.undo()
    s.append("ingest.cells", {"n": 2})
    assert [s.load(e)["input"]["n"] for e in s.pending()] == [0, 2]
    s._queues[s.own_dir].lock.release()
    other = opened(tmp_path)
    assert other.adopt_leftovers() == 2


def test_a_write_that_fails_half_way_leaves_no_torn_record(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(spool_mod, "_MAPPED", False)  # the write(2) path (no posix_fallocate)
    s = opened(tmp_path)
    s.append("ingest.cells", {"n": 0})
    real_write = os.write

    def disk_full(fd, data):
        real_write(fd, data[: len(data) // 2])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(spool_mod.os, "write", disk_full)
    with pytest.raises(OSError):
        s.append("ingest.cells", {"n": "lost"})
    monkeypatch.undo()
    s.append("ingest.cells", {"n": 2})
    assert [s.load(e)["input"]["n"] for e in s.pending()] == [0, 2]
    # what a later kernel reads back: both whole records, nothing torn between them
    log = Path(s.own_dir, "log-00000000").read_bytes()
    s._queues[s.own_dir].lock.release()
    other = opened(tmp_path)
    assert other.adopt_leftovers() == 2 and b"lost" not in log


def test_a_torn_tail_is_where_recovery_stops(tmp_path: Path):
    s = opened(tmp_path)
    for i in range(3):
        s.append("ingest.cells", {"n": i})
    path = Path(s.own_dir, "log-00000000")
    s._queues[s.own_dir].lock.release()  # as if the kernel died
    data = path.read_bytes().rstrip(b"\0")  # a mapped log is preallocated with zeros
    path.write_bytes(data + data[: len(data) // 3 - 5])  # a power loss in the middle of the next record
    other = opened(tmp_path)
    assert other.adopt_leftovers() == 3
    assert [other.load(e)["input"]["n"] for e in other.pending()] == [0, 1, 2]


def test_acked_entries_are_not_sent_again_and_full_logs_rotate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(spool_mod, "ROTATE_BYTES", 200)
    s = opened(tmp_path)
    for i in range(4):
        s.append("ingest.cells", {"n": i})
    s.sync()
    s.remove(s.pending()[:2])
    assert s.count() == 2
    s.remove(s.pending())  # all acked and over ROTATE_BYTES: a new generation
    assert sorted(os.listdir(s.own_dir)) == ["acked", "lock", "log-00000001"]
    s.append("ingest.cells", {"n": 4})
    s.append("ingest.cells", {"n": 5})
    s.remove(s.pending()[:1])
    s._queues[s.own_dir].lock.release()  # the kernel dies
    other = opened(tmp_path)
    assert other.adopt_leftovers() == 1
    assert [other.load(e)["input"]["n"] for e in other.pending()] == [5]


def test_an_older_versions_queue_of_json_files_is_adopted(tmp_path: Path):
    s = opened(tmp_path)
    old = Path(s.server_dir, "p-1-abcd")
    old.mkdir()
    (old / "00000000000000000001-1-00000001.json").write_text(
        json.dumps({"v": 1, "procedure": "ingest.cells", "input": {"n": "old"}})
    )
    assert s.adopt_leftovers() == 1
    (entry,) = s.pending()
    assert s.load(entry)["input"] == {"n": "old"}
    s.remove([entry])
    s.close()
    assert not old.exists()


def test_the_server_url_picks_the_directory(tmp_path: Path):
    a, b, a_again = opened(tmp_path, URL), opened(tmp_path, "http://other:1"), opened(tmp_path, URL + "/")
    assert a.server_dir != b.server_dir and a.server_dir == a_again.server_dir
    assert Path(a.server_dir, "server.txt").read_text().strip() == URL


def test_a_live_kernels_queue_is_not_adopted(tmp_path: Path):
    # another process holds its queue open (a running kernel) ...
    code = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(PKG_ROOT)!r})
        from cellmark.kernel.spool import Spool
        s = Spool({URL!r}, {str(tmp_path)!r}); s.open()
        s.append("ingest.cells", {{"from": "live"}})
        print("ready", flush=True)
        sys.stdin.readline()
    """)
    live = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert live.stdout.readline().strip() == "ready"
        me = opened(tmp_path)
        assert me.adopt_leftovers() == 0 and me.pending() == []
    finally:
        live.kill()
        live.wait()
    # ... and once it died (SIGKILL: no cleanup at all), the next one takes its entries over
    assert me.adopt_leftovers() == 1
    (entry,) = me.pending()
    assert me.load(entry)["input"] == {"from": "live"}


def test_a_crashed_kernels_queue_is_adopted_without_half_written_files(tmp_path: Path):
    code = textwrap.dedent(f"""
        import os, sys
        sys.path.insert(0, {str(PKG_ROOT)!r})
        from cellmark.kernel.spool import Spool
        s = Spool({URL!r}, {str(tmp_path)!r}); s.open()
        for i in range(3):
            s.append("ingest.cells", {{"n": i}})
        s._wfd.append(b"99999999999999999999-1-00000009 400 0000")  # killed while appending
        os.kill(os.getpid(), {int(signal.SIGKILL)})
    """)
    subprocess.run([sys.executable, "-c", code], check=False)
    me = opened(tmp_path)
    assert me.adopt_leftovers() == 3
    assert [me.load(e)["input"]["n"] for e in me.pending()] == [0, 1, 2]
    dead = [d for d in Path(me.server_dir).glob("p-*") if str(d) != me.own_dir]
    assert len(dead) == 1
    # a second newcomer cannot take the same queue
    other = opened(tmp_path)
    assert other.adopt_leftovers() == 0


def test_close_removes_empty_queues_and_keeps_full_ones(tmp_path: Path):
    a = opened(tmp_path)
    a.close()
    b = opened(tmp_path)
    b.append("x", 1)
    b.close()
    queues = list(Path(b.server_dir).glob("p-*"))
    assert len(queues) == 1  # only b's, which still holds an entry
    c = opened(tmp_path)
    assert c.adopt_leftovers() == 1
    c.remove(c.pending())
    c.close()
    assert list(Path(c.server_dir).glob("p-*")) == []


def test_fail_moves_the_entry_with_the_servers_message(tmp_path: Path):
    s = opened(tmp_path)
    s.append("ingest.cells", {"runId": "r", "cells": []})
    (entry,) = s.pending()
    target = s.fail(entry, "ingest.cells: HTTP 400: invalid input: cells.0.status", 400)
    assert s.pending() == [] and s.failed_count() == 1
    saved = json.loads(Path(target).read_text())
    assert saved["entry"]["input"] == {"runId": "r", "cells": []}
    assert saved["error"] == {"status": 400, "message": "ingest.cells: HTTP 400: invalid input: cells.0.status"}


def test_default_root(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.delenv("CELLMARK_SPOOL_DIR", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert spool_mod.default_root() == str(tmp_path / ".cellmark" / "spool")
    monkeypatch.setenv("CELLMARK_SPOOL_DIR", "/somewhere")
    assert spool_mod.default_root() == "/somewhere"


def test_deferred_payloads_keep_their_place_among_appends(tmp_path: Path):
    s = opened(tmp_path)
    s.defer("ingest.cells", {"n": 0})
    s.defer("ingest.cells", {"n": 1})
    assert s.count() == 2  # flush() waits for them
    s.append("ingest.cells", {"n": 2})  # writes what was deferred before it first
    s.defer("ingest.cells", {"n": 3})
    s.append("ingest.cells", {"n": 4})
    s.defer("ingest.cells", {"n": 5})
    assert [s.load(e)["input"]["n"] for e in s.pending()] == [0, 1, 2, 3, 4, 5]
    assert s.count() == 6


def test_write_deferred_writes_them_in_order_with_the_token_redacted(tmp_path: Path):
    s = opened(tmp_path)
    s.defer("ingest.cells", {"cells": [{"source": "x = 1"}]}, redact=("cm_secret_token_123",))
    s.defer("ingest.cells", {"cells": [{"source": "t = 'cm_secret_token_123'"}]}, redact=("cm_secret_token_123",))
    log = Path(s.own_dir) / "log-00000000"
    assert b"x = 1" not in log.read_bytes()
    s.write_deferred()
    raw = log.read_bytes()
    assert raw.index(b"x = 1") < raw.index(b"t = '[redacted]'") and b"cm_secret" not in raw
    assert s.count() == 2 and not s._deferred


def test_an_unwritable_deferred_payload_is_reported_and_the_rest_are_written(tmp_path: Path):
    s = opened(tmp_path)
    errors: list[BaseException] = []
    s.on_deferred_error = errors.append
    s.defer("a", {"n": 1})
    s.defer("b", {"x": float("nan")})  # not JSON
    s.defer("c", {"n": 3})
    assert [s.load(e)["procedure"] for e in s.pending()] == ["a", "c"]
    assert len(errors) == 1 and isinstance(errors[0], ValueError) and s.count() == 2


def test_close_writes_what_was_deferred(tmp_path: Path):
    s = opened(tmp_path)
    s.defer("ingest.cells", {"n": 7})
    s.close()
    again = Spool(URL, str(tmp_path))
    again.open()
    assert again.adopt_leftovers() == 1
    assert [again.load(e)["input"] for e in again.pending()] == [{"n": 7}]
    with pytest.raises(RuntimeError):
        s.defer("ingest.cells", {"n": 8})
