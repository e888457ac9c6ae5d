"""Helpers of the SNS tests: an HTTP subscriber served by the test (http.server on
127.0.0.1 in a thread) that records every POST, and `wait_for`, which waits for
asynchronous deliveries with a deadline (deliveries run on mamori's worker threads: no
order is assumed), and `verify`, which checks an SNS signature the way the AWS
documentation tells a subscriber to, independently of mamori's code."""

from __future__ import annotations

import base64
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding


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



# The string to sign, from the AWS documentation: for a Notification the fields Message,
# MessageId, Subject (if present), Timestamp, TopicArn, Type; for SubscriptionConfirmation
# and UnsubscribeConfirmation Message, MessageId, SubscribeURL, Timestamp, Token, TopicArn,
# Type; each as name, newline, value, newline.
# https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html
NOTIFICATION = ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
CONFIRMATION = ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"]


def canonical(message: dict) -> bytes:
    names = NOTIFICATION if message["Type"] == "Notification" else CONFIRMATION
    return "".join(f"{n}\n{message[n]}\n" for n in names if n in message).encode()


def verify(message: dict) -> None:
    """Raises InvalidSignature unless the message is signed by the certificate at its
    SigningCertURL."""
    answer = requests.get(message["SigningCertURL"], timeout=10)
    assert answer.status_code == 200
    cert = x509.load_pem_x509_certificate(answer.content)
    digest = {"1": hashes.SHA1(), "2": hashes.SHA256()}[message["SignatureVersion"]]
    cert.public_key().verify(base64.b64decode(message["Signature"]), canonical(message), padding.PKCS1v15(), digest)
