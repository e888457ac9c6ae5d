"""POSTing SNS messages to HTTP/S endpoints, off the request path, with retries on the
mamori clock and redrive to the subscription's SQS dead-letter queue.

Every message (SubscriptionConfirmation, Notification, UnsubscribeConfirmation) becomes
a pending delivery in the resource store (kind "sns-http-delivery") before anything is
sent, so a restart re-arms what was pending (`rearm()`, from the provider's setup). A
worker thread signs it on the first attempt (the signature then stays the same for
every retry, as AWS resends the original message) and POSTs it with AWS's headers:

    x-amz-sns-message-type, x-amz-sns-message-id, x-amz-sns-topic-arn,
    x-amz-sns-subscription-arn (not on a SubscriptionConfirmation),
    x-amz-sns-rawdelivery (raw delivery), Content-Type (the request policy's
    headerContentType, default text/plain; charset=UTF-8),
    User-Agent: Amazon Simple Notification Service Agent
https://docs.aws.amazon.com/sns/latest/dg/http-header.html

An answer from 200 to 499 ends the delivery; 500 and above, a connection failure or no
answer within 15 seconds is retried by the subscription's delivery policy
(delivery_policy.py); when it is used up, a Notification goes to the RedrivePolicy's
dead-letter queue with message attributes RequestID, ErrorCode and ErrorMessage, or is
dropped without one.
https://docs.aws.amazon.com/sns/latest/dg/SendMessageToHttp.prepare.html
https://docs.aws.amazon.com/sns/latest/dg/sns-dead-letter-queues.html
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from typing import TYPE_CHECKING, Any

from mamori.services.sns import delivery_policy, metrics

if TYPE_CHECKING:  # pragma: no cover
    from mamori.runtime import Runtime

log = logging.getLogger("mamori.sns")

KIND = "sns-http-delivery"
WORKER_PREFIX = "mamori-sns-http"
TIMEOUT = 15.0
USER_AGENT = "Amazon Simple Notification Service Agent"


class HttpDeliveries:
    """HTTP/S deliveries of one runtime. `signer(account, region)` gives the Signer;
    `dead_letter(doc, code, message)` sends a failed Notification to its DLQ."""

    def __init__(self, runtime: "Runtime", signer: Any, dead_letter: Any, outcome: Any = None) -> None:
        self.runtime = runtime
        self.signer = signer
        self.dead_letter = dead_letter
        self.outcome = outcome  # (doc, ok, status, problem) for delivery status logging
        self._pool: Any = None
        self._lock = threading.Lock()
        self._scheduled: dict[str, Any] = {}  # delivery arn -> scheduler entry

    # -- entry points ----------------------------------------------------------------

    def enqueue(self, *, topic: dict[str, Any], sub: dict[str, Any], message: dict[str, Any],
                body: str | None = None, raw: bool = False, attributes: dict[str, Any] | None = None) -> str:
        """Store a pending delivery of `message` (unsigned, AWS's JSON fields) and hand
        it to a worker. `body`: what to POST instead of the signed JSON (raw delivery)."""
        policy = delivery_policy.subscription_effective(topic["Attributes"].get("DeliveryPolicy"),
                                                        sub.get("Attributes", {}).get("DeliveryPolicy"))
        headers = {
            "x-amz-sns-message-type": message["Type"],
            "x-amz-sns-message-id": message["MessageId"],
            "x-amz-sns-topic-arn": topic["arn"],
            "Content-Type": policy["requestPolicy"].get("headerContentType") or delivery_policy.DEFAULT_CONTENT_TYPE,
            "User-Agent": USER_AGENT,
        }
        if message["Type"] != "SubscriptionConfirmation":
            headers["x-amz-sns-subscription-arn"] = sub["SubscriptionArn"]
        if raw:
            headers["x-amz-sns-rawdelivery"] = "true"
        now = self.runtime.clock.time()
        arn = f"mamori:sns-http:{uuid.uuid4()}"
        doc = {
            "arn": arn, "url": sub["Endpoint"], "headers": headers, "message": message, "body": body,
            "signed": False, "signatureVersion": topic["Attributes"].get("SignatureVersion") or "1",
            "subscription": sub["SubscriptionArn"], "topic": topic["arn"], "account": topic["account"],
            "region": topic["region"], "redrive": sub.get("Attributes", {}).get("RedrivePolicy") or "",
            "attributes": attributes or {}, "retry": policy["healthyRetryPolicy"],
            "attempt": 0, "first": now, "due": now,
        }
        self.runtime.store.put(arn, doc, kind=KIND, account_id=topic["account"], region=topic["region"], log=False)
        self._submit(arn)
        return arn

    def rearm(self) -> None:
        """At start: every pending delivery is due again at its time."""
        for doc in self.runtime.store.list(KIND):
            self._schedule(doc["arn"], doc.get("due", 0.0))

    def cancel_all(self) -> None:
        with self._lock:
            entries, self._scheduled = list(self._scheduled.values()), {}
        for entry in entries:
            self.runtime.scheduler.cancel(entry)

    # -- attempts --------------------------------------------------------------------

    def _worker(self) -> Any:
        with self._lock:
            if self._pool is None:
                from concurrent.futures import ThreadPoolExecutor

                self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix=WORKER_PREFIX)
            return self._pool

    def _submit(self, arn: str) -> None:
        self._worker().submit(self._attempt, arn)

    def _schedule(self, arn: str, due: float) -> None:
        def run(_: float) -> None:
            with self._lock:
                self._scheduled.pop(arn, None)
            self._submit(arn)

        entry = self.runtime.scheduler.at(due, run, f"sns-http-retry:{arn}")
        with self._lock:
            self._scheduled[arn] = entry

    def _attempt(self, arn: str) -> None:
        try:
            self._try(arn)
        except Exception:  # noqa: BLE001 - a worker must not die silently
            log.exception("SNS HTTP delivery %s failed unexpectedly", arn)

    def _try(self, arn: str) -> None:
        store = self.runtime.store
        doc = store.get(arn)
        if doc is None:
            return
        if doc["message"]["Type"] == "Notification" and store.get(doc["subscription"]) is None:
            store.delete(arn, log=False)  # unsubscribed (or the topic deleted) meanwhile: nothing more is sent
            return
        if not doc["signed"]:
            signer = self.signer(doc["account"], doc["region"])
            message = signer.sign(doc["message"], doc["signatureVersion"])
            for late in ("UnsubscribeURL", "MessageAttributes"):  # after the signature, in AWS's field order
                if late in message:
                    message[late] = message.pop(late)
            doc["signed"] = True
        payload = doc["body"] if doc["body"] is not None else json.dumps(doc["message"], indent=2)
        status, problem = post(doc["url"], payload.encode(), doc["headers"])
        notification = doc["message"]["Type"] == "Notification"
        if problem is None:
            store.delete(arn, log=False)
            if notification:
                metrics.record(self.runtime, doc["topic"], {"NumberOfNotificationsDelivered": 1})
                if self.outcome is not None:
                    self.outcome(doc, True, status, None)
            return
        waits = delivery_policy.delays(doc["retry"])
        if doc["attempt"] < len(waits):
            doc["due"] = self.runtime.clock.time() + waits[doc["attempt"]]
            doc["attempt"] += 1
            doc["lastError"] = problem
            store.put(arn, doc, kind=KIND, account_id=doc["account"], region=doc["region"], log=False)
            self._schedule(arn, doc["due"])
            return
        store.delete(arn, log=False)
        log.info("SNS delivery to %s for %s given up after %d retries: %s", doc["url"], doc["subscription"],
                 doc["attempt"], problem)
        if notification:
            metrics.record(self.runtime, doc["topic"], {"NumberOfNotificationsFailed": 1})
            if self.outcome is not None:
                self.outcome(doc, False, status, problem)
            self.dead_letter(doc, str(status) if status else "EndpointUnreachable", problem, payload)


def post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int | None, str | None]:
    """(HTTP status or None, problem or None). 200-499 is delivered, as AWS counts it."""
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310 - the subscriber's URL
            status = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return None, f"Connection to the endpoint failed: {reason}"
    if status >= 500:
        return status, f"The endpoint answered HTTP {status}"
    return status, None
