"""Helpers of the SNS tests: an HTTP subscriber served by the test (http.server on
127.0.0.1 in a thread) that records every POST, and `wait_for`, which waits for
asynchronous deliveries with a deadline (deliveries run on mamori's worker threads: no
order is assumed)."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable


class Subscriber:
    """POSTs received: [{"path", "headers" (lower-case names), "body" (text)}]."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.status = 200
        self.lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode()
                with owner.lock:
                    owner.received.append({"path": self.path, "body": body,
                                           "headers": {k.lower(): v for k, v in self.headers.items()}})
                    status = owner.status
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def messages(self, kind: str | None = None, path: str | None = None) -> list[dict[str, Any]]:
        with self.lock:
            items = list(self.received)
        out = []
        for item in items:
            if path is not None and item["path"] != path:
                continue
            if kind is not None and item["headers"].get("x-amz-sns-message-type") != kind:
                continue
            out.append(item)
        return out

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def wait_for(probe: Callable[[], Any], timeout: float = 15.0, what: str = "delivery") -> Any:
    """Poll `probe` until it returns something truthy (real I/O on worker threads, not
    mamori time)."""
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def body(item: dict[str, Any]) -> dict[str, Any]:
    return json.loads(item["body"])

