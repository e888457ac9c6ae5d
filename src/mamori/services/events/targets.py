"""Delivering an event to a rule's target: the call, retries and the dead-letter queue.

EventBridge calls the target's service as the service principal `events.amazonaws.com`
with aws:SourceArn = the rule and aws:SourceAccount = the rule's account, so the
target's own resource policy decides (queue policy, topic policy, Logs resource
policy), as in AWS. Event bus targets in the same account are routed directly; API
destinations are HTTP calls with the connection's auth.

Failures: missing permission or missing resource are final (no retry) and go straight
to the DLQ; throttling, timeouts and 5xx/429 answers are retried with exponential
backoff and jitter on the mamori clock until `MaximumRetryAttempts` (default 185) or
`MaximumEventAgeInSeconds` (default 86,400) runs out. A pending attempt is a document in
the resource store (kind `events:pending-retry`: rule, target, event, attempt, due
time), written before a retry is armed or an HTTP call is handed to a worker, and
deleted once the event is delivered or given up, so a restart (even `kill -9`) re-arms
it in `setup()` (`rearm_retries`). A DLQ message is the event, with
the attributes RULE_ARN, TARGET_ARN, ERROR_CODE, ERROR_MESSAGE, RETRY_ATTEMPTS and
(after retries ran out) EXHAUSTED_RETRY_CONDITION.
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-retry-policy.html

Target types whose service mamori doesn't have yet are recorded as failed invocations
(logged, and sent to the DLQ with a clear message).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mamori.errors import AccessDenied, AwsError, NotImplementedOperation
from mamori.gateway.context import Principal
from mamori.services.events import inputs, metrics

if TYPE_CHECKING:  # pragma: no cover
    from mamori.runtime import Runtime

log = logging.getLogger("mamori.events")

EVENTS_PRINCIPAL = "events.amazonaws.com"
DEFAULT_RETRIES = 185
DEFAULT_MAX_AGE = 86_400
PENDING_RETRY = "events:pending-retry"
BACKOFF_BASE = 1.0   # seconds before the first retry
BACKOFF_CAP = 300.0  # no wait between two attempts longer than this
_NOT_FOUND_HINTS = ("NotFound", "NonExistent", "NoSuch", "DoesNotExist")
WORKER_PREFIX = "mamori-events-http"


def _on_worker() -> bool:
    import threading

    return threading.current_thread().name.startswith(WORKER_PREFIX)


@dataclass
class Failure(Exception):
    code: str  # NO_PERMISSIONS | NO_RESOURCE | THROTTLING | TIMEOUT | SDK_CLIENT_ERROR | ...
    message: str
    retriable: bool


def arn_parts(arn: str) -> list[str]:
    return arn.split(":", 5)


def backoff(event_id: str, target_id: str, attempt: int) -> float:
    """Seconds to wait before retry `attempt + 1`: exponential with "equal jitter"
    (half fixed, half random, AWS's "exponential back off and jitter",
    https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-event-delivery.html).
    The random half comes from a hash of the event, target and attempt, so a run
    replays the same schedule."""
    import hashlib

    base = min(BACKOFF_BASE * 2 ** attempt, BACKOFF_CAP)
    digest = hashlib.sha256(f"{event_id}|{target_id}|{attempt}".encode()).digest()
    fraction = int.from_bytes(digest[:4], "big") / 2 ** 32
    return base / 2 + base / 2 * fraction


def _pending_arn(rule_arn: str, pending_id: str) -> str:
    parts = arn_parts(rule_arn)
    return f"arn:aws:events:{parts[3]}:{parts[4]}:mamori-pending-retry/{pending_id}"


def _failure_from(exc: AwsError) -> Failure:
    if isinstance(exc, AccessDenied) or "AccessDenied" in exc.code or "AuthorizationError" in exc.code:
        return Failure("NO_PERMISSIONS", exc.message, False)
    if any(h in exc.code for h in _NOT_FOUND_HINTS):
        return Failure("NO_RESOURCE", exc.message, False)
    if isinstance(exc, NotImplementedOperation):
        return Failure("NO_RESOURCE", exc.message, False)
    if "Throttl" in exc.code or exc.status == 429:
        return Failure("THROTTLING", exc.message, True)
    if exc.status >= 500:
        return Failure("SDK_CLIENT_ERROR", exc.message, True)
    return Failure("SDK_CLIENT_ERROR", exc.message or exc.code, False)


class Deliverer:
    """Delivery of events to targets for one runtime. `route_to_bus` is the provider's
    router (for event-bus targets)."""

    def __init__(self, runtime: Runtime, route_to_bus: Callable[..., None],
                 api_call: Callable[[dict[str, Any], dict[str, Any], str], None]) -> None:
        self.runtime = runtime
        self.route_to_bus = route_to_bus
        self.api_call = api_call
        self._pool: Any = None  # HTTP calls run on worker threads (created on first use)
        self._retries: dict[str, Any] = {}  # pending retry id -> its scheduler entry

    def cancel_retries(self) -> None:
        """`mamori reset`: forget every pending retry (the store is emptied too)."""
        for pending_id, entry in list(self._retries.items()):
            self.runtime.scheduler.cancel(entry)
            self._retries.pop(pending_id, None)

    def rearm_retries(self) -> int:
        """At start: arm every pending retry kept in the store at its due time (a time
        already passed runs at once)."""
        pending = self.runtime.store.list(PENDING_RETRY)
        for doc in pending:
            self._arm(doc)
        return len(pending)

    def _arm(self, doc: dict[str, Any]) -> None:
        pending_id = doc["id"]

        def retry(t: float) -> None:
            self._retries.pop(pending_id, None)
            self.deliver(doc["rule"], doc["target"], doc["event"], tuple(doc.get("hops") or ()), doc["attempt"],
                         doc["first_try"], t, pending_id=pending_id)

        old = self._retries.pop(pending_id, None)
        if old is not None:
            self.runtime.scheduler.cancel(old)
        self._retries[pending_id] = self.runtime.scheduler.at(
            doc["due"], retry, f"events-retry:{doc['rule']['Arn']}:{doc['target'].get('Id')}")

    def _forget(self, rule: dict[str, Any], pending_id: str | None) -> None:
        if pending_id is not None:
            self.runtime.store.delete(_pending_arn(rule["Arn"], pending_id), log=False)

    # -- entry point -----------------------------------------------------------------

    def deliver(self, rule: dict[str, Any], target: dict[str, Any], event: dict[str, Any],
                hops: tuple[str, ...] = (), attempt: int = 0, first_try: float | None = None,
                at: float | None = None, pending_id: str | None = None) -> None:
        """Deliver now; `at` is the clock time this attempt was due (retries caught up
        after a clock advance keep their own schedule); `pending_id` names the stored
        retry this attempt runs (deleted when the event is delivered or given up)."""
        at = self.runtime.clock.time() if at is None else at
        first_try = at if first_try is None else first_try
        if ":api-destination/" in target.get("Arn", "") and not _on_worker():
            # An HTTP endpoint may be slow: never make the caller (a PutEvents request,
            # the scheduler) wait for it, as AWS doesn't. The attempt is stored first, so
            # an event PutEvents accepted survives a crash before the call is made.
            if pending_id is None:
                pending_id = self._store_pending(rule, target, event, hops, attempt, first_try, at)["id"]
            self._worker().submit(self.deliver, rule, target, event, hops, attempt, first_try, at, pending_id)
            return
        try:
            metrics.count(self.runtime, rule, "InvocationAttempts")
            self._send(rule, target, event, hops)
            metrics.count(self.runtime, rule, "Invocations")
            self._forget(rule, pending_id)
            return
        except Failure as failure:
            found = failure
        except AwsError as exc:
            found = _failure_from(exc)
        except Exception as exc:
            log.exception("delivery to %s failed", target.get("Arn"))
            found = Failure("INTERNAL_ERROR", str(exc), False)
        self._failed(rule, target, event, hops, attempt, first_try, at, found, pending_id)

    def _worker(self) -> Any:
        if self._pool is None:
            from concurrent.futures import ThreadPoolExecutor

            self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix=WORKER_PREFIX)
        return self._pool

    def _failed(self, rule: dict[str, Any], target: dict[str, Any], event: dict[str, Any], hops: tuple[str, ...],
                attempt: int, first_try: float, at: float, failure: Failure, pending_id: str | None = None) -> None:
        policy = target.get("RetryPolicy") or {}
        max_retries = policy.get("MaximumRetryAttempts", DEFAULT_RETRIES)
        max_age = policy.get("MaximumEventAgeInSeconds", DEFAULT_MAX_AGE)
        log.info("failed invocation of %s for rule %s: %s %s", target.get("Arn"), rule["Arn"],
                 failure.code, failure.message)
        exhausted = None
        if failure.retriable:
            due = at + backoff(event.get("id", ""), target.get("Id", ""), attempt)
            if attempt >= max_retries:
                exhausted = "MaximumRetryAttempts"
            elif due - first_try > max_age:
                exhausted = "MaximumEventAgeInSeconds"
            else:
                self._schedule_retry(rule, target, event, hops, attempt + 1, first_try, due, pending_id)
                return
        metrics.count(self.runtime, rule, "Invocations", "FailedInvocations")
        self._dead_letter(rule, target, event, failure, attempt, exhausted)
        self._forget(rule, pending_id)  # after the DLQ has it: a crash in between sends it again

    def _schedule_retry(self, rule: dict[str, Any], target: dict[str, Any], event: dict[str, Any],
                        hops: tuple[str, ...], attempt: int, first_try: float, due: float,
                        pending_id: str | None) -> None:
        """Store the retry (so it survives a restart), then arm it."""
        self._arm(self._store_pending(rule, target, event, hops, attempt, first_try, due, pending_id))

    def _store_pending(self, rule: dict[str, Any], target: dict[str, Any], event: dict[str, Any],
                       hops: tuple[str, ...], attempt: int, first_try: float, due: float,
                       pending_id: str | None = None) -> dict[str, Any]:
        import uuid

        pending_id = pending_id or str(uuid.uuid4())
        parts = arn_parts(rule["Arn"])
        doc = {
            "id": pending_id,
            "rule": {k: v for k, v in rule.items() if k != "_targets"},
            "target": target, "event": event, "hops": list(hops),
            "attempt": attempt, "first_try": first_try, "due": due,
        }
        self.runtime.store.put(_pending_arn(rule["Arn"], pending_id), doc, kind=PENDING_RETRY,
                               account_id=parts[4], region=parts[3], log=False)
        return doc

    def _dead_letter(self, rule: dict[str, Any], target: dict[str, Any], event: dict[str, Any], failure: Failure,
                     attempts: int, exhausted: str | None) -> None:
        dlq = (target.get("DeadLetterConfig") or {}).get("Arn")
        if not dlq:
            return  # dropped, as AWS does without a DLQ
        attributes = {
            "RULE_ARN": rule["Arn"],
            "TARGET_ARN": target["Arn"],
            "ERROR_CODE": failure.code,
            "ERROR_MESSAGE": failure.message[:1000] or failure.code,
            "RETRY_ATTEMPTS": str(attempts),
        }
        if exhausted:
            attributes["EXHAUSTED_RETRY_CONDITION"] = exhausted
        try:
            self._sqs_send(rule, dlq, json.dumps(event, separators=(",", ":")), {
                "MessageAttributes": {k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()},
            })
            metrics.count(self.runtime, rule, "InvocationsSentToDlq")
        except AwsError as exc:
            metrics.count(self.runtime, rule, "InvocationsFailedToBeSentToDlq")
            log.warning("could not send the failed event %s to DLQ %s: %s", event.get("id"), dlq, exc.message)

    # -- one call ------------------------------------------------------------------------

    def _send(self, rule: dict[str, Any], target: dict[str, Any], event: dict[str, Any], hops: tuple[str, ...]) -> None:
        arn = target["Arn"]
        parts = arn_parts(arn)
        service = parts[2] if len(parts) > 2 else ""
        ingestion = self.runtime.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")
        if service == "events" and ":event-bus/" in arn:
            # Another bus receives the event itself, not a transformed input.
            self.route_to_bus(arn, event, hops, source_rule=rule)
            return
        body = inputs.render(target, event, rule, ingestion)
        if service == "sqs":
            extra: dict[str, Any] = {}
            group = (target.get("SqsParameters") or {}).get("MessageGroupId")
            if arn.endswith(".fifo"):
                extra["MessageGroupId"] = group or rule["Name"]
                extra["MessageDeduplicationId"] = event["id"]
            self._sqs_send(rule, arn, body, extra)
        elif service == "sns":
            self._invoke(rule, "sns", "Publish", {"TopicArn": arn, "Message": body}, arn)
        elif service == "logs":
            self._logs(rule, arn, body, event)
        elif service == "events" and ":api-destination/" in arn:
            self.api_call(target, {"body": body, "event": event}, rule["Arn"])
        else:
            raise Failure("NO_RESOURCE", f"mamori does not deliver to {service or 'this'} targets yet "
                          f"({arn}); the invocation is recorded as failed.", False)

    def _invoke(self, rule: dict[str, Any], service: str, operation: str, params: dict[str, Any],
                target_arn: str) -> dict[str, Any]:
        account, region = arn_parts(rule["Arn"])[4], arn_parts(rule["Arn"])[3]
        target_parts = arn_parts(target_arn)
        return self.runtime.invoke(
            service, operation, params,
            principal=Principal.service(EVENTS_PRINCIPAL, account),
            account_id=target_parts[4] if len(target_parts) > 4 and target_parts[4] else account,
            region=target_parts[3] if len(target_parts) > 3 and target_parts[3] else region,
            source_arn=rule["Arn"], source_account=account,
        )

    def _sqs_send(self, rule: dict[str, Any], queue_arn: str, body: str, extra: dict[str, Any]) -> None:
        parts = arn_parts(queue_arn)
        region, account, name = parts[3], parts[4], parts[5]
        url = f"https://sqs.{region}.amazonaws.com/{account}/{name}"
        self._invoke(rule, "sqs", "SendMessage", {"QueueUrl": url, "MessageBody": body, **extra}, queue_arn)

    def _logs(self, rule: dict[str, Any], group_arn: str, body: str, event: dict[str, Any]) -> None:
        group = arn_parts(group_arn)[5].split(":", 1)[1] if ":" in arn_parts(group_arn)[5] else ""
        group = group.removesuffix(":*")
        stream = event["id"]
        try:
            self._invoke(rule, "logs", "CreateLogStream", {"logGroupName": group, "logStreamName": stream}, group_arn)
        except AwsError as exc:
            if "AlreadyExists" not in exc.code:
                raise
        self._invoke(rule, "logs", "PutLogEvents", {
            "logGroupName": group, "logStreamName": stream,
            "logEvents": [{"timestamp": int(self.runtime.clock.time() * 1000), "message": body}],
        }, group_arn)
