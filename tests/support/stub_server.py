"""A stub HTTP server on 127.0.0.1, in a thread, that plays an outside party in tests.

It checks every request's signature (portal.outbound's protocol) and records what it received.
Faults are queued and used up one per request, in order:

- "fail": answer 503 at once, without doing anything;
- "timeout": wait past the client's read timeout before answering 503, without doing anything;
- "lose": do what was asked, then wait past the client's read timeout (the answer is lost);
- "reset": close the connection without answering, without doing anything.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from portal.outbound import SignatureRejected, verify_signed_request


class MemoryNonces:
    """The receiver's nonce memory (a cache's add())."""

    def __init__(self):
        self.seen: set[str] = set()
        self.lock = threading.Lock()

    def add(self, key, value, timeout=None):
        with self.lock:
            if key in self.seen:
                return False
            self.seen.add(key)
            return True


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    signature: str  # "ok" or the SignatureRejected code
    fault: str = ""

    @property
    def json(self) -> dict:
        return json.loads(self.body) if self.body else {}


@dataclass
class StubServer:
    key_id: str
    secret: str
    # Seconds a "timeout" or "lose" fault waits: longer than the client's read timeout.
    stall_seconds: float = 2.0
    routes: list[tuple[str, re.Pattern, Callable]] = field(default_factory=list)
    faults: list[str] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)

    def route(self, method: str, pattern: str, handler: Callable) -> None:
        """handler(request: Received, match) -> (status, dict)."""
        self.routes.append((method, re.compile(pattern + r"\Z"), handler))

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/api"

    def start(self) -> StubServer:
        stub = self
        self.nonces = MemoryNonces()
        self.lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {name: value for name, value in self.headers.items()}
                try:
                    verify_signed_request(
                        method=self.command,
                        path=self.path,
                        headers=self.headers,
                        body=body,
                        secrets={stub.key_id: stub.secret},
                        cache=stub.nonces,
                    )
                    signature = "ok"
                except SignatureRejected as exc:
                    signature = exc.code
                with stub.lock:
                    fault = stub.faults.pop(0) if stub.faults else ""
                    request = Received(self.command, self.path, headers, body, signature, fault)
                    stub.received.append(request)
                if signature != "ok":
                    return self._answer(401, {"code": signature})
                if fault == "fail":
                    return self._answer(503, {"code": "unavailable"})
                if fault == "timeout":
                    time.sleep(stub.stall_seconds)
                    return self._answer(503, {"code": "unavailable"})
                if fault == "reset":
                    self.close_connection = True
                    return None
                status, data = stub.dispatch(request)
                if fault == "lose":
                    time.sleep(stub.stall_seconds)
                return self._answer(status, data)

            def _answer(self, status, data):
                payload = json.dumps(data).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:  # the client gave up (timeout)
                    pass

            do_GET = do_POST = do_PUT = do_DELETE = _handle

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def dispatch(self, request: Received):
        path = request.path.split("?", 1)[0].removeprefix("/api")
        for method, pattern, handler in self.routes:
            match = pattern.match(path)
            if method == request.method and match:
                with self.lock:
                    return handler(request, match)
        return 404, {"code": "no_route"}

    def calls(self, method: str, prefix: str) -> list[Received]:
        return [
            r
            for r in self.received
            if r.method == method and r.path.removeprefix("/api").startswith(prefix)
        ]
