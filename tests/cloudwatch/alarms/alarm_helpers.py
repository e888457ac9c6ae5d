"""Helpers for the alarm tests: case loading and a clock-aligned metric writer."""

from __future__ import annotations

import json
import math
from datetime import datetime, timezone
from pathlib import Path

DATA = Path(__file__).parent / "data"


def cases(name: str) -> dict:
    return json.loads((DATA / name).read_text())


def boundary(mamori_clock, period: int = 60) -> float:
    """Freeze the clock 5 seconds after a period boundary; return that boundary."""
    now = mamori_clock.now()
    start = math.floor(now / period) * period + period
    mamori_clock.freeze(start + 5)
    return start


def put(cw, namespace: str, name: str, at: float, value: float, dims=None) -> None:
    cw.put_metric_data(Namespace=namespace, MetricData=[{
        "MetricName": name, "Value": value, "Timestamp": datetime.fromtimestamp(at, timezone.utc),
        "Dimensions": dims or []}])


class Sink:
    """A local HTTP endpoint collecting the JSON bodies POSTed to it (an EventBridge API
    destination delivers the alarm events here)."""

    def __init__(self) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.bodies: list[dict] = []
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                sink.bodies.append(json.loads(body or b"null"))
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait(self, count: int, timeout: float = 10.0) -> list[dict]:
        import time

        end = time.monotonic() + timeout
        while len(self.bodies) < count and time.monotonic() < end:
            time.sleep(0.05)  # real time: the delivery runs on a worker thread
        return list(self.bodies)

    def close(self) -> None:
        self.server.shutdown()
