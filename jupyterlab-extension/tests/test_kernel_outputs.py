"""The kernel side records what cells publish (cellmark/kernel/outputs.py, output_capture.py):
the collector on its own (the same caps and notes as the extension's outputs.ts), then a real
ipykernel against the real server: streams merged, rich bundles and images, execute_result,
errors, clear_output, update_display_data, budgets, aborted requests, and the outputs of a
cell still running when its kernel is killed."""

from __future__ import annotations

import base64
import json
import time

from cellmark_server import Account
from conftest import eventually, spooled
from test_real_kernel import execute, iopub_until, kernel

from cellmark.kernel import output_capture
from cellmark.kernel.outputs import MAX_EXECUTION_BYTES, OutputCollector, apply_carriage_returns, json_bytes

MiB = 1024 * 1024
PNG_B64 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC"


def stream(c: OutputCollector, text: str, name: str = "stdout") -> None:
    c.add("stream", {"name": name, "text": text})


def display(c: OutputCollector, data: dict, display_id: str | None = None) -> None:
    c.add("display_data", {"data": data, "metadata": {}, "transient": {"display_id": display_id} if display_id else {}})


# -- the collector -------------------------------------------------------------------------


def test_streams_merge_per_name_like_jupyterlab_and_carriage_returns_rewrite_the_line():
    c = OutputCollector()
    stream(c, "a\n")
    stream(c, "b\n")
    stream(c, "warn\n", "stderr")
    stream(c, "progress 10%\r")
    stream(c, "progress 90%\r")
    stream(c, "progress 100%\nc")
    stream(c, "d\n")
    assert c.result() == [
        {"output_type": "stream", "name": "stdout", "text": "a\nb\n"},
        {"output_type": "stream", "name": "stderr", "text": "warn\n"},
        {"output_type": "stream", "name": "stdout", "text": "progress 100%\ncd\n"},
    ]
    assert apply_carriage_returns("abcdef\rXY") == "XYcdef"
    assert apply_carriage_returns("a\r\nb") == "a\nb"


def test_clear_output_now_and_at_the_next_output():
    c = OutputCollector()
    stream(c, "gone\n")
    c.add("clear_output", {"wait": False})
    assert c.result() == []
    for i in range(3):
        c.add("clear_output", {"wait": True})
        assert len(c.result()) == (0 if i == 0 else 1)  # wait=True: the old output stays until the next one
        display(c, {"text/plain": f"step {i}"})
    assert c.result() == [{"output_type": "display_data", "data": {"text/plain": "step 2"}, "metadata": {}}]


def test_update_display_data_replaces_this_executions_display():
    c = OutputCollector()
    display(c, {"text/plain": "loading"}, "d1")
    stream(c, "between\n")
    c.add(
        "update_display_data",
        {
            "data": {"text/plain": "done", "text/html": "<b>done</b>"},
            "metadata": {"x": 1},
            "transient": {"display_id": "d1"},
        },
    )
    c.add(
        "update_display_data",
        {"data": {"text/plain": "other"}, "metadata": {}, "transient": {"display_id": "elsewhere"}},
    )
    assert c.result() == [
        {
            "output_type": "display_data",
            "data": {"text/plain": "done", "text/html": "<b>done</b>"},
            "metadata": {"x": 1},
        },
        {"output_type": "stream", "name": "stdout", "text": "between\n"},
    ]


def test_the_biggest_values_become_notes_beyond_8_mib_as_the_server_measures():
    c = OutputCollector()
    display(c, {"image/png": "A" * (2 * MiB), "text/plain": "<Figure small>"})
    display(c, {"image/png": "B" * (5 * MiB), "text/plain": "<Figure big>"})
    stream(c, "epoch 1 done\n")
    display(c, {"image/jpeg": "C" * (3 * MiB)})
    small, big, text, jpeg = c.result()
    assert len(json.dumps(c.result(), separators=(",", ":")).encode()) <= MAX_EXECUTION_BYTES
    assert small["data"] == {"image/png": "A" * (2 * MiB), "text/plain": "<Figure small>"}
    assert big["data"] == {
        "text/plain": "<Figure big>\n[Cellmark: image/png (5.0 MiB) not recorded: this execution's "
        "outputs are over the 8.0 MiB limit]"
    }
    assert text == {"output_type": "stream", "name": "stdout", "text": "epoch 1 done\n"}
    assert jpeg["data"] == {"image/jpeg": "C" * (3 * MiB)}


def test_a_big_stream_is_cut_to_its_head_and_later_chunks_are_counted():
    c = OutputCollector(max_text_bytes=40_000, max_execution_bytes=50_000, max_outputs=10)
    stream(c, "x" * 30_000)
    display(c, {"image/png": "A" * 20_000})
    s, image = c.result()
    assert s["text"] == "x" * 2048 + "\n[… 27952 more bytes not recorded by Cellmark]"
    assert image["data"]["image/png"] == "A" * 20_000
    stream(c, "e", "stderr")
    assert len(c.result()) == 3


def test_memory_stays_within_the_budget_however_long_a_cell_prints():
    """Ten minutes of printing, compressed: 60 MiB in 0.5 MiB chunks and 5,000 displays."""
    c = OutputCollector()
    line = ("y" * 99 + "\n") * (MiB // 200)  # 0.5 MiB
    for _ in range(120):
        stream(c, line)
        assert c.total <= MAX_EXECUTION_BYTES
    for i in range(5000):
        display(c, {"text/plain": f"value {i}"})
    held = sum(len("".join(o.parts)) if hasattr(o, "parts") else json_bytes(o.output) for o in c._outputs)
    assert held <= MAX_EXECUTION_BYTES
    result = c.result()
    assert json_bytes(result) <= MAX_EXECUTION_BYTES
    assert result[0]["text"].endswith(f"\n[… {120 * len(line) - MiB} more bytes not recorded by Cellmark]")
    assert result[-1]["data"]["text/plain"] == (
        "[Cellmark: 3001 more outputs not recorded: over 2000 outputs or 8.0 MiB for one execution]"
    )


def test_the_output_count_limit_counts_what_it_drops():
    c = OutputCollector(max_outputs=3)
    for i in range(5):
        display(c, {"text/plain": str(i)})
    assert [o["data"]["text/plain"] for o in c.result()] == [
        "0",
        "1",
        "2",
        "[Cellmark: 2 more outputs not recorded: over 3 outputs or 8.0 MiB for one execution]",
    ]


def test_values_json_cannot_hold_are_made_json():
    c = OutputCollector()
    c.add(
        "display_data",
        {"data": {"image/png": b"\x89PNG", "application/json": {"x": float("nan")}}, "metadata": {"w": object()}},
    )
    (out,) = c.result()
    assert out["data"] == {"image/png": base64.b64encode(b"\x89PNG").decode(), "application/json": {"x": None}}
    assert isinstance(out["metadata"]["w"], str)
    json.dumps(c.result(), allow_nan=False)


# -- a real kernel ---------------------------------------------------------------------------


def _activate(kc, account: Account, run_id: str) -> None:
    line = (
        f'import cellmark.kernel as __cellmark; __cellmark.activate(server_url="{account.server.url}", '
        f'token="{account.token}", run_id="{run_id}", notebook_path="notebooks/train.ipynb")'
    )
    _, reply = execute(kc, line, silent=True, store_history=False)
    assert reply["status"] == "ok", reply


def _flush(kc) -> None:
    _, reply = execute(
        kc, "import cellmark as __cm; assert __cm.flush(30), __cm.status()", silent=True, store_history=False
    )
    assert reply["status"] == "ok", reply


def _cells(account: Account, run_id: str, n: int) -> dict:
    def check():
        cells = account.get_run(run_id)["cells"]
        assert len([c for c in cells if c["status"] != "running"]) == n, cells
        return {c["executionKey"]: c for c in cells}

    return eventually(check, timeout=30)


def _stream_messages(kc, msg_id: str) -> int:
    n = 0
    while True:
        msg = kc.get_iopub_msg(timeout=10)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "stream":
            n += 1
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            return n


def test_real_kernel_records_what_cells_publish(kernel, account: Account, cellmark_server):
    _km, kc, _ = kernel
    run_id = account.start_run("notebooks/train.ipynb")
    _activate(kc, account, run_id)
    keys = {}
    keys["streams"], reply = execute(
        kc,
        "import sys\nfor i in range(30):\n    print(i)\n    if i % 10 == 9:\n"
        "        sys.stdout.flush()\nprint('to stderr', file=sys.stderr)",
    )
    assert reply["status"] == "ok"
    assert _stream_messages(kc, keys["streams"]) >= 3  # the merge below had several chunks to merge
    keys["rich"], _ = execute(
        kc,
        "from IPython.display import Image, HTML, display\nimport base64\n"
        f"display(Image(data=base64.b64decode('{PNG_B64}')))\n"
        "display(HTML('<b>bold</b>'))\n41 + 1",
    )
    keys["error"], reply = execute(kc, "print('before')\nraise ValueError('boom')", stop_on_error=False)
    assert reply["status"] == "error"
    keys["clear_wait"], _ = execute(
        kc,
        "from IPython.display import clear_output\nfor i in range(5):\n"
        "    clear_output(wait=True)\n    print(f'step {i}')",
    )
    keys["clear_now"], _ = execute(kc, "print('gone')\nclear_output()\nprint('kept')")
    keys["update"], _ = execute(kc, "h = display('loading', display_id=True)\nprint('meanwhile')\nh.update('done')")
    keys["budget"], _ = execute(
        kc,
        "import os\nfor n in (2, 5, 3):\n"
        "    display({'image/png': os.urandom(n * 1024 * 1024 * 3 // 4), 'text/plain': f'<{n} MiB>'}, raw=True)\n"
        "for _ in range(20):\n    sys.stdout.write('x' * 1024 * 1024)",
    )
    _flush(kc)
    cells = _cells(account, run_id, len(keys))
    outputs = {name: cells[key]["outputs"] for name, key in keys.items()}
    assert all(cells[key]["capturedBy"] == ["kernel"] for key in keys.values())

    assert outputs["streams"] == [
        {"output_type": "stream", "name": "stdout", "text": "".join(f"{i}\n" for i in range(30))},
        {"output_type": "stream", "name": "stderr", "text": "to stderr\n"},
    ]

    image, html, result = outputs["rich"]
    assert (
        image["output_type"] == "display_data" and image["data"]["text/plain"] == "<IPython.core.display.Image object>"
    )
    blob = image["data"]["image/png"]
    assert blob["encoding"] == "base64"
    import urllib.request

    req = urllib.request.Request(
        f"{cellmark_server.url}/api/blobs/{blob['$blob']}?run={run_id}", headers={"cookie": account.cookie}
    )
    with urllib.request.urlopen(req, timeout=30) as res:
        assert res.headers["content-type"] == "image/png" and base64.b64encode(res.read()).decode() == PNG_B64
    assert html["data"]["text/html"] == "<b>bold</b>"
    assert result == {
        "output_type": "execute_result",
        "data": {"text/plain": "42"},
        "metadata": {},
        "execution_count": 2,
    }

    before, error = outputs["error"]
    assert before["text"] == "before\n"
    assert error["output_type"] == "error" and error["ename"] == "ValueError" and error["evalue"] == "boom"
    assert any("boom" in frame for frame in error["traceback"])  # as the notebook shows it (ANSI colours)

    assert outputs["clear_wait"] == [{"output_type": "stream", "name": "stdout", "text": "step 4\n"}]
    assert outputs["clear_now"] == [{"output_type": "stream", "name": "stdout", "text": "kept\n"}]
    assert [o.get("data", {}).get("text/plain") or o.get("text") for o in outputs["update"]] == [
        "'done'",
        "meanwhile\n",
    ]

    # 2 + 5 + 3 MiB of images and 20 MiB printed: the 5 MiB image and most of the stream are
    # notes, the rest is kept, and the server accepted the whole within its 8 MiB
    small, big, third, text = outputs["budget"]
    assert small["data"]["image/png"]["size"] == 2 * MiB * 3 // 4 and small["data"]["text/plain"] == "<2 MiB>"
    assert big["data"] == {
        "text/plain": "<5 MiB>\n[Cellmark: image/png (5.0 MiB) not recorded: this execution's "
        "outputs are over the 8.0 MiB limit]"
    }
    assert third["data"]["image/png"]["size"] == 3 * MiB * 3 // 4
    # 1 MiB kept and the marker: over the server's inline limit, so a blob of its own
    marker = f"\n[… {19 * MiB} more bytes not recorded by Cellmark]".encode()
    assert text["text"]["size"] == MiB + len(marker)


def test_real_kernel_records_requests_it_aborts(kernel, account: Account):
    _km, kc, _ = kernel
    run_id = account.start_run("notebooks/train.ipynb")
    _activate(kc, account, run_id)
    failing = kc.execute("import time\ntime.sleep(0.5)\nraise ValueError('stop')")
    aborted = kc.execute("print('never runs')")  # queued behind it: aborted (stop_on_error)
    replies = {}
    while len(replies) < 2:
        reply = kc.get_shell_msg(timeout=30)
        replies[reply["parent_header"]["msg_id"]] = reply["content"]["status"]
    assert replies == {failing: "error", aborted: "aborted"}
    time.sleep(0.2)
    _flush(kc)
    cells = _cells(account, run_id, 2)
    assert cells[aborted]["status"] == "aborted" and cells[aborted]["source"] == "print('never runs')"
    assert cells[aborted]["outputs"] == [] and cells[failing]["status"] == "error"


def test_real_kernel_killed_mid_cell_left_its_outputs_so_far(kernel, account: Account):
    km, kc, _ = kernel
    run_id = account.start_run("notebooks/train.ipynb")
    _activate(kc, account, run_id)
    key = kc.execute("import time\nfor i in range(600):\n    print(f'line {i}')\n    time.sleep(0.1)")
    iopub_until(kc, key, "stream")

    def partial():
        cells = account.get_run(run_id)["cells"]
        assert len(cells) == 1 and cells[0]["status"] == "running" and cells[0]["outputs"], cells
        return cells[0]

    # the first partial record goes after PARTIAL_FIRST_S of running
    cell = eventually(partial, timeout=output_capture.PARTIAL_FIRST_S + 15)
    km.shutdown_kernel(now=True)  # SIGKILL: no post_run_cell, no exit handlers
    lines = cell["outputs"][0]["text"].splitlines()
    assert len(lines) >= 30 and lines == [f"line {i}" for i in range(len(lines))]
    time.sleep(1)
    (after,) = account.get_run(run_id)["cells"]
    assert after["outputs"][0]["text"].startswith(cell["outputs"][0]["text"])


def test_outputs_of_other_executions_and_silent_ones_are_not_recorded(kernel, account: Account):
    _km, kc, _ = kernel
    run_id = account.start_run("notebooks/train.ipynb")
    _activate(kc, account, run_id)
    _, _reply = execute(kc, "print('from a silent execute')", silent=True, store_history=False)
    key, _ = execute(
        kc,
        "import threading, time\nt = threading.Thread(target=lambda: (time.sleep(1.0), print('late')))\n"
        "t.start()\nprint('own')",
    )
    time.sleep(1.5)  # the thread prints after the execution ended: not this execution's output any more
    _second, _ = execute(kc, "t.join()\n'second'")
    _flush(kc)
    cells = _cells(account, run_id, 2)
    assert cells[key]["outputs"] == [{"output_type": "stream", "name": "stdout", "text": "own\n"}]
    assert all("silent" not in json.dumps(c["outputs"]) for c in cells.values())


def test_real_kernel_writes_the_complete_record_before_it_handles_the_next_request(
    kernel, account: Account, spool_root
):
    # The complete record is made as the execute_reply goes out and written by a callback on
    # the shell thread's event loop right after that handler (off the reply's path): even a
    # request already waiting behind it finds it in the spool log, after the running record.
    _km, kc, _ = kernel
    run_id = account.start_run("notebooks/train.ipynb")
    _activate(kc, account, run_id)
    deferred = "len(__import__('cellmark.kernel.session', fromlist=['SESSION']).SESSION.spool._deferred)"
    for i in range(5):
        key = kc.execute(f"print({i})")
        probe = kc.execute("", silent=True, store_history=False, user_expressions={"n": deferred})  # queued behind it
        replies = {}
        while probe not in replies:
            reply = kc.get_shell_msg(timeout=30)
            replies[reply["parent_header"].get("msg_id")] = reply["content"]
        assert replies[key]["status"] == "ok"
        assert replies[probe]["user_expressions"]["n"]["data"]["text/plain"] == "0"
    records = [
        (c["source"], c["status"], c.get("outputs"))
        for r in spooled(spool_root)
        if r["procedure"] == "ingest.cells"
        for c in r["input"]["cells"]
    ]
    assert records == [
        rec
        for i in range(5)
        for rec in (
            (f"print({i})", "running", None),
            (f"print({i})", "ok", [{"output_type": "stream", "name": "stdout", "text": f"{i}\n"}]),
        )
    ]
    _flush(kc)
    assert len(_cells(account, run_id, 5)) == 5
