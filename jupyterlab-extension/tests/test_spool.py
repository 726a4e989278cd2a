"""The on-disk spool: durable atomic entries, order, per-process queues, adoption of a dead
kernel's queue (never a live one's), failed/."""

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


def test_entries_are_whole_json_files_in_order(tmp_path: Path):
    s = opened(tmp_path)
    names = [s.append("ingest.cells", {"runId": "r", "cells": [{"n": i}]}) for i in range(50)]
    pending = s.pending()
    assert [e.name for e in pending] == names == sorted(names)
    assert [s.load(e)["input"]["cells"][0]["n"] for e in pending] == list(range(50))
    assert s.load(pending[0])["procedure"] == "ingest.cells"
    assert not [n for n in os.listdir(s.own_dir) if n.endswith(".tmp")]
    mode = stat.S_IMODE(os.stat(pending[0].path).st_mode)
    assert mode == 0o600
    assert s.count() == 50


def test_clock_going_backwards_keeps_the_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    s = opened(tmp_path)
    first = s.append("a", 1)
    monkeypatch.setattr(spool_mod.time, "time_ns", lambda: 5)
    second = s.append("b", 2)
    assert [e.name for e in s.pending()] == [first, second]


def test_a_write_that_fails_leaves_nothing_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    s = opened(tmp_path)

    def crash(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(spool_mod.os, "replace", crash)
    with pytest.raises(OSError):
        s.append("ingest.cells", {"x": 1})
    monkeypatch.undo()
    assert os.listdir(s.own_dir) == ["lock"]
    assert s.pending() == []


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
        open(os.path.join(s.own_dir, ".half-written.json.abcd.tmp"), "w").write('{{"trunc')
        os.kill(os.getpid(), {int(signal.SIGKILL)})
    """)
    subprocess.run([sys.executable, "-c", code], check=False)
    me = opened(tmp_path)
    assert me.adopt_leftovers() == 3
    assert [me.load(e)["input"]["n"] for e in me.pending()] == [0, 1, 2]
    dead = [d for d in Path(me.server_dir).glob("p-*") if str(d) != me.own_dir]
    assert len(dead) == 1 and not list(dead[0].glob("*.tmp"))
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
