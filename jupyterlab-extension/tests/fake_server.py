"""A scripted stand-in for the Cellmark ingest API (unit tests of delivery and capture).

Answers 200 `{"result":{"data":…}}` unless a test queued another answer for a procedure;
records every request (path, headers, parsed body) in order.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Optional


class FakeServer:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self._script: dict[str, list[tuple[int, Any, dict]]] = {}
        self._lock = threading.Lock()
        self.data_for: Callable[[str, Any], Any] = lambda procedure, body: {"ok": True}
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("content-length") or 0))
                procedure = self.path.rsplit("/", 1)[-1]
                body = json.loads(raw.decode("utf-8"))
                with outer._lock:
                    outer.requests.append(
                        {
                            "procedure": procedure,
                            "headers": {k.lower(): v for k, v in self.headers.items()},
                            "body": body,
                            "raw": raw,
                        }
                    )
                    queued = outer._script.get(procedure) or outer._script.get("*")
                    answer = queued.pop(0) if queued else None
                if answer is None:
                    status, payload, headers = 200, {"result": {"data": outer.data_for(procedure, body)}}, {}
                else:
                    status, payload, headers = answer
                data = json.dumps(payload).encode("utf-8")
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._httpd.server_port}"

    def answer(
        self, procedure: str, status: int, message: str = "", times: int = 1, headers: Optional[dict] = None
    ) -> None:
        """Queue `times` error answers for procedure ("*" for any)."""
        payload = {"error": {"message": message or f"HTTP {status}", "data": {"httpStatus": status}}}
        with self._lock:
            self._script.setdefault(procedure, []).extend([(status, payload, headers or {})] * times)

    def calls(self, procedure: Optional[str] = None) -> list[dict[str, Any]]:
        with self._lock:
            return [r for r in self.requests if procedure is None or r["procedure"] == procedure]

    def cells(self) -> list[dict[str, Any]]:
        """Every cell record received, in arrival order."""
        return [c for r in self.calls("ingest.cells") for c in r["body"]["cells"]]

    def wait_for(self, predicate: Callable[[], Any], timeout: float = 10.0) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout} s; requests: {[r['procedure'] for r in self.calls()]}")
            time.sleep(0.02)

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
