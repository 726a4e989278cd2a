"""One tRPC-over-HTTP call to the Cellmark server (stdlib urllib), failures sorted by what
the caller should do: retry later, stop until a new token, or give up on this payload."""

from __future__ import annotations

import json
import random
import socket
import time
import urllib.error
import urllib.request
from typing import Any, Callable, Optional

from .wire import dumps

TIMEOUT_S = 30.0
# A health probe is one small GET; an answer slower than this counts as no answer.
PROBE_TIMEOUT_S = 2.0
# While the server gives no answer: how often /healthz is asked (±20 % jitter, so kernels
# that lost the same server do not come back in step).
PROBE_INTERVAL_S = 1.0
USER_AGENT = "cellmark-kernel"


class CallError(Exception):
    """kind: "transient" (network, 5xx, 408, 429), "unauthorized" (401), "permanent" (other 4xx).
    unreachable: no answer came at all (refused, reset, timeout), as opposed to an answer
    that says the server is overloaded."""

    def __init__(
        self,
        kind: str,
        message: str,
        status: Optional[int] = None,
        retry_after: Optional[float] = None,
        unreachable: bool = False,
    ):
        super().__init__(message)
        self.kind = kind
        self.status = status
        self.message = message
        self.retry_after = retry_after
        self.unreachable = unreachable


def _server_message(body: bytes) -> str:
    try:
        parsed = json.loads(body.decode("utf-8", "replace"))
        err = parsed.get("error") if isinstance(parsed, dict) else None
        if isinstance(err, dict) and isinstance(err.get("message"), str):
            return err["message"]
        if isinstance(parsed, dict) and isinstance(parsed.get("message"), str):
            return parsed["message"]
    except Exception:
        pass
    return body.decode("utf-8", "replace").strip()[:500]


def _retry_after(value: Optional[str]) -> Optional[float]:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


def call(
    server_url: str,
    token: str,
    procedure: str,
    payload: Any = None,
    *,
    body: Optional[bytes] = None,
    timeout: float = TIMEOUT_S,
) -> Any:
    """POSTs a mutation and returns `result.data`, or raises CallError."""
    url = f"{server_url.rstrip('/')}/api/trpc/{procedure}"
    data = body if body is not None else dumps(payload)
    request = urllib.request.Request(
        url,
        data=data,
        method="POST",
        headers={
            "content-type": "application/json",
            "authorization": f"Bearer {token}",
            "user-agent": USER_AGENT,
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw = response.read()
    except urllib.error.HTTPError as e:
        try:
            raw_err = e.read()
        except Exception:
            raw_err = b""
        message = f"{procedure}: HTTP {e.code}: {_server_message(raw_err) or e.reason}"
        if e.code == 401:
            raise CallError("unauthorized", message, e.code) from None
        if e.code in (408, 429) or e.code >= 500:
            raise CallError("transient", message, e.code, _retry_after(e.headers.get("retry-after"))) from None
        raise CallError("permanent", message, e.code) from None
    except (urllib.error.URLError, ConnectionError, socket.timeout, TimeoutError, OSError) as e:
        reason = getattr(e, "reason", e)
        raise CallError(
            "transient", f"{procedure}: Cellmark server unreachable at {server_url}: {reason}", unreachable=True
        ) from None
    try:
        parsed = json.loads(raw.decode("utf-8"))
        return parsed["result"]["data"] if isinstance(parsed, dict) and "result" in parsed else parsed
    except Exception:
        raise CallError("transient", f"{procedure}: the server's answer is not JSON: {raw[:200]!r}") from None


def healthy(server_url: str, timeout: float = PROBE_TIMEOUT_S) -> bool:
    """Whether GET /healthz answers 200 (the server is up and has its database). Cheap and
    unauthenticated: the sender asks it while the server is unreachable."""
    request = urllib.request.Request(f"{server_url.rstrip('/')}/healthz", headers={"user-agent": USER_AGENT})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read(4096)
            return response.status == 200
    except Exception:
        return False


def _sleep(seconds: float) -> bool:
    time.sleep(seconds)
    return False


def wait_for_server(
    server_url: str,
    delay: float,
    *,
    must_see_down: bool = False,
    sleep: Callable[[float], bool] = _sleep,
    probe: Callable[[str], bool] = healthy,
) -> str:
    """The backoff after no answer, cut short when the server is back: /healthz is asked every
    PROBE_INTERVAL_S (one probe at a time, each bounded by its timeout) and a 200 ends the
    wait. With must_see_down (the caller's last wait ended so and its request still got no
    answer: a server that answers /healthz but not the request), only a 200 after a failed
    probe counts, so such a server gets the ordinary backoff, not a request a second.
    `sleep(seconds)` returns True to end the wait early (a kick, a stop).
    Returns "back" (a 200 ended it), "woken" (sleep did) or "waited" (the whole delay)."""
    deadline = time.monotonic() + delay
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return "waited"
        if sleep(min(left, PROBE_INTERVAL_S * random.uniform(0.8, 1.2))):
            return "woken"
        if time.monotonic() >= deadline:
            return "waited"
        if not probe(server_url):
            must_see_down = False
        elif not must_see_down:
            return "back"
