"""Helpers of the EventBridge tests: a local HTTP endpoint that records what it
receives, unique names, and reading a whole SQS queue."""

from __future__ import annotations

import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Endpoint:
    """Requests received (method, path, headers, body); `statuses` is a queue of status
    codes to answer with (200 when empty). Under /token it is an OAuth token endpoint:
    the n-th token is "tok-n", with `expires_in` = `token_lifetime` when set."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.statuses: list[int] = []
        self.token_lifetime: int | None = None
        self.delays: list[float] = []  # seconds to wait before answering, one per request
        self.lock = threading.Lock()
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with endpoint.lock:
                    endpoint.requests.append({"method": self.command, "path": self.path,
                                              "headers": {k.lower(): v for k, v in self.headers.items()},
                                              "body": body.decode()})
                    status = endpoint.statuses.pop(0) if endpoint.statuses else 200
                    delay = endpoint.delays.pop(0) if endpoint.delays else 0.0
                if delay:
                    import time

                    time.sleep(delay)
                if self.path.startswith("/token"):
                    with endpoint.lock:
                        issued = sum(1 for r in endpoint.requests if r["path"].startswith("/token"))
                    token = {"access_token": f"tok-{issued}", "token_type": "bearer"}
                    if endpoint.token_lifetime is not None:
                        token["expires_in"] = endpoint.token_lifetime
                    out = json.dumps(token).encode()
                else:
                    out = b"{}"
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            do_POST = do_PUT = do_GET = do_DELETE = do_PATCH = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def wait(self, path_prefix: str, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        """The calls under `path_prefix` once there are `count` of them (EventBridge calls
        HTTP endpoints asynchronously, as AWS does); then a short grace period shows
        that no more arrive."""
        import time

        deadline = time.monotonic() + timeout
        while len(self.calls(path_prefix)) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.15)
        return self.calls(path_prefix)

    def calls(self, path_prefix: str = "/") -> list[dict[str, Any]]:
        with self.lock:
            return [r for r in self.requests if r["path"].startswith(path_prefix)]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def receive_all(sqs, url: str, expect: int | None = None, attributes: bool = False) -> list[dict[str, Any]]:
    """Every message now in the queue (deleted as read)."""
    out: list[dict[str, Any]] = []
    for _ in range(20):
        kw: dict[str, Any] = {"QueueUrl": url, "MaxNumberOfMessages": 10, "WaitTimeSeconds": 0}
        if attributes:
            kw["MessageAttributeNames"] = ["All"]
        got = sqs.receive_message(**kw).get("Messages", [])
        if not got:
            if expect is None or len(out) >= expect:
                break
            continue
        out.extend(got)
        sqs.delete_message_batch(QueueUrl=url, Entries=[
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)])
    return out
