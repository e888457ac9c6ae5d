"""Messages: send, receive (with long polling), delete, visibility, purge.

    send_message / send_message_batch     MD5 of body and attributes (digest.py), delay,
                                          FIFO deduplication (5 minutes, per queue or per
                                          message group), sealed at rest (encryption.py)
    receive_message                       visibility timeout by the clock, receipt handles,
                                          system attributes, dead-letter queue after
                                          maxReceiveCount, FIFO groups in order; long
                                          polling (waiters.py) on the mamori clock
    delete_message(_batch) / change_message_visibility(_batch) / purge_queue

Rows live in the queue store (store/queues.py), indexed by the clock time each message
can next be received, so a receive reads only what it returns (standard queues).
Retention is by the clock: messages older than MessageRetentionPeriod are dropped when
the queue is next read.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import re
import time
import uuid
from typing import Any

from mamori.errors import AwsError, error
from mamori.gateway.context import RequestContext
from mamori.services.sqs.common import invalid_value
from mamori.services.sqs.digest import md5_attributes, md5_body
from mamori.store.queues import StoredMessage

DEDUP_WINDOW = 300  # FIFO deduplication interval, seconds
MAX_BATCH_BYTES = 1_048_576  # sum of a batch's bodies: 1 MiB, as the largest message
ATTEMPT_PREFIX = "receive attempt "  # shares the deduplication table (both 5 minutes); no dedup id has a space
ATTEMPT_WINDOW = 300
FIFO_SCAN = 1000  # receivable messages a FIFO receive looks at to group its answer
_BATCH_ID = re.compile(r"^[A-Za-z0-9_-]{1,80}$")
_ATTRIBUTE_NAME = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,254}(?<!\.)$")
_SYSTEM_NAMES = ("SenderId", "SentTimestamp", "ApproximateReceiveCount", "ApproximateFirstReceiveTimestamp",
                 "SequenceNumber", "MessageDeduplicationId", "MessageGroupId", "AWSTraceHeader",
                 "DeadLetterQueueSourceArn")


# https://www.w3.org/TR/REC-xml/#charsets, as SQS allows them (one regex: the body of
# every message is checked, and a per-character loop cost 15% of an SNS fan-out)
_INVALID_TEXT = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _valid_text(body: str) -> bool:
    return _INVALID_TEXT.search(body) is None


def stored_attributes(attrs: dict[str, Any]) -> dict[str, Any]:
    """Message attributes as JSON-safe values (binary as base64 under `BinaryValue64`)."""
    out = {}
    for name, attr in attrs.items():
        item = {k: v for k, v in attr.items() if k in ("DataType", "StringValue")}
        if attr.get("BinaryValue") is not None:
            item["BinaryValue64"] = base64.b64encode(bytes(attr["BinaryValue"])).decode()
        out[name] = item
    return out


def loaded_attributes(attrs: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for name, attr in attrs.items():
        item = {k: v for k, v in attr.items() if k != "BinaryValue64"}
        if "BinaryValue64" in attr:
            item["BinaryValue"] = base64.b64decode(attr["BinaryValue64"])
        out[name] = item
    return out


def receipt_handle(message_id: str, nonce: str) -> str:
    return base64.b64encode(f"{message_id}:{nonce}".encode()).decode()


def parse_receipt(handle: Any) -> tuple[str, str]:
    try:
        message_id, nonce = base64.b64decode(handle or "", validate=True).decode().split(":", 1)
        uuid.UUID(message_id)
    except Exception:  # noqa: BLE001 - any malformed handle
        raise error("ReceiptHandleIsInvalid", f'The input receipt handle "{handle}" is not a valid receipt handle.',
                    status=400) from None
    return message_id, nonce


def batch_failure(entry: dict[str, Any], exc: Exception) -> dict[str, Any]:
    return {"Id": entry["Id"], "SenderFault": True, "Code": getattr(exc, "code", "InternalError"),
            "Message": getattr(exc, "message", str(exc))}


def check_batch(entries: list[dict[str, Any]], kind: str) -> None:
    if not entries:
        raise error("EmptyBatchRequest", f"There should be at least one {kind} in the request.", status=400)
    if len(entries) > 10:
        raise error("TooManyEntriesInBatchRequest", f"Maximum number of entries per request are 10. You have sent "
                    f"{len(entries)}.", status=400)
    ids = [e.get("Id") for e in entries]
    for i in ids:
        if not i or not _BATCH_ID.match(i):
            raise error("InvalidBatchEntryId", "A batch entry id can only contain alphanumeric characters, "
                        "hyphens and underscores. It can be at most 80 letters long.", status=400)
    if len(set(ids)) != len(ids):
        repeated = next(i for i in ids if ids.count(i) > 1)
        raise error("BatchEntryIdsNotDistinct", f"Id {repeated} repeated.", status=400)


class MessageOperations:
    """Mixed into the provider (which supplies queue(), authorize(), qstore, sealer, waiters)."""

    runtime: Any

    # -- send ---------------------------------------------------------------------------

    def _check_message(self, doc: dict[str, Any], entry: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        body = entry.get("MessageBody")
        if not body:
            raise error("MissingParameter", "The request must contain the parameter MessageBody.", status=400)
        if not _valid_text(body):
            raise error("InvalidMessageContents", "Invalid characters found. Valid unicode characters are "
                        "#x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF", status=400)
        attrs = entry.get("MessageAttributes") or {}
        if len(attrs) > 10:
            raise error("InvalidParameterValue", f"Number of message attributes [{len(attrs)}] exceeds the allowed "
                        "maximum [10].", status=400)
        size = len(body.encode())
        for name, attr in attrs.items():
            if not _ATTRIBUTE_NAME.match(name) or ".." in name or name.lower().startswith(("aws.", "amazon.")):
                raise error("InvalidParameterValue", f"Message (user) attribute name '{name}' is invalid. The "
                            "attribute name can contain A-Z, a-z, 0-9, underscore (_), hyphen (-), and period (.) "
                            "characters, can't start or end with a period, can't have successive periods, and can't "
                            "start with AWS. or Amazon.", status=400)
            data_type = attr.get("DataType") or ""
            if not data_type or not (attr.get("StringValue") or attr.get("BinaryValue")):
                raise error("InvalidParameterValue", f"The message attribute '{name}' must contain non-empty "
                            f"message attribute value for message attribute type '{data_type}'.", status=400)
            if data_type.split(".")[0] not in ("String", "Number", "Binary"):
                raise error("InvalidParameterValue", f"The type of message (user) attribute '{name}' is invalid. "
                            "You must use only the following supported type prefixes: Binary, Number, String.",
                            status=400)
            if data_type.startswith("Number"):
                try:
                    float(attr.get("StringValue") or "")
                except ValueError:
                    raise error("InvalidParameterValue", f"Can't cast the value of message (user) attribute "
                                f"'{name}' to a number.", status=400) from None
            value = attr.get("StringValue")
            if value is not None and not _valid_text(value):
                raise error("InvalidParameterValue", f"Message (user) attribute '{name}' value contains invalid "
                            "characters.", status=400)
            size += len(name.encode()) + len(data_type.encode()) + (
                len(value.encode()) if value is not None else len(bytes(attr.get("BinaryValue") or b"")))
        limit = int(doc["attributes"]["MaximumMessageSize"])
        if size > limit:
            raise error("InvalidParameterValue", "One or more parameters are invalid. Reason: Message must be "
                        f"shorter than {limit} bytes.", status=400)
        return body, attrs

    def _send_one(self, ctx: RequestContext, doc: dict[str, Any], entry: dict[str, Any]) -> dict[str, Any]:
        body, attrs = self._check_message(doc, entry)
        now = ctx.time()
        arn = doc["arn"]
        group = entry.get("MessageGroupId")
        dedup = entry.get("MessageDeduplicationId")
        dedup_key = None
        if doc["fifo"]:
            if not group:
                raise error("MissingParameter", "The request must contain the parameter MessageGroupId.", status=400)
            if entry.get("DelaySeconds"):
                raise invalid_value("DelaySeconds", entry["DelaySeconds"], "The request include parameter that is "
                                    "not valid for this queue type.")
            if not dedup:
                if doc["attributes"].get("ContentBasedDeduplication") != "true":
                    raise error("InvalidParameterValue", "The queue should either have ContentBasedDeduplication "
                                "enabled or MessageDeduplicationId provided explicitly", status=400)
                dedup = hashlib.sha256(body.encode()).hexdigest()
            # DeduplicationScope messageGroup: the same id in two groups is two messages
            dedup_key = f"{group}\n{dedup}" if doc["attributes"].get("DeduplicationScope") == "messageGroup" else dedup
            seen = self.qstore.seen(arn, dedup_key, now - DEDUP_WINDOW)
            if seen:
                return seen
        elif dedup is not None:
            # standard queues take MessageGroupId (fair queues), not deduplication ids
            raise invalid_value("MessageDeduplicationId", dedup,
                                "The request include parameter that is not valid for this queue type")
        delay = entry.get("DelaySeconds")
        if delay is None:
            delay = int(doc["attributes"].get("DelaySeconds", "0"))
        if not 0 <= int(delay) <= 900:
            raise invalid_value("DelaySeconds", delay, "DelaySeconds must be >= 0 and <= 900.")
        system = entry.get("MessageSystemAttributes") or {}
        for name in system:
            if name != "AWSTraceHeader":
                raise error("InvalidParameterValue", f"Message system attribute name '{name}' is invalid.",
                            status=400)
        message_id = str(uuid.uuid4())
        content: dict[str, Any] = {"Body": body, "MD5OfBody": md5_body(body),
                                   "SenderId": ctx.principal.principal_id or ctx.account_id}
        if attrs:
            content["MessageAttributes"] = stored_attributes(attrs)
            content["MD5OfMessageAttributes"] = md5_attributes(attrs)
        if dedup is not None:
            content["MessageDeduplicationId"] = dedup
        if system.get("AWSTraceHeader"):
            content["AWSTraceHeader"] = system["AWSTraceHeader"].get("StringValue")
        blob, wrapped = self.sealer.seal(ctx, doc, message_id, content)
        seq = self.qstore.next_seq(arn)
        self.qstore.insert(StoredMessage(arn, message_id, seq, now + int(delay), now, None, group, 0, None, None,
                                         blob, wrapped))
        result = {"MessageId": message_id, "MD5OfMessageBody": content["MD5OfBody"]}
        if attrs:
            result["MD5OfMessageAttributes"] = content["MD5OfMessageAttributes"]
        if system:
            result["MD5OfMessageSystemAttributes"] = md5_attributes(system)
        if doc["fifo"]:
            result["SequenceNumber"] = str(seq).zfill(20)
            self.qstore.remember(arn, dedup_key, now, result)
        return result

    def send_message(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        doc = self.queue(ctx, request.get("QueueUrl"))
        self.authorize(ctx, "sqs:SendMessage", doc)
        with self.qstore.transaction():
            result = self._send_one(ctx, doc, request)
        self.waiters.notify(doc["arn"])
        return result

    def send_message_batch(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        doc = self.queue(ctx, request.get("QueueUrl"))
        self.authorize(ctx, "sqs:SendMessage", doc)
        entries = request.get("Entries") or []
        check_batch(entries, "SendMessageBatchRequestEntry")
        total = sum(len((e.get("MessageBody") or "").encode()) for e in entries)
        if total > MAX_BATCH_BYTES:
            raise error("BatchRequestTooLong", f"Batch requests cannot be longer than {MAX_BATCH_BYTES} bytes. You have "
                        f"sent {total} bytes.", status=400)
        ok, failed = [], []
        with self.qstore.transaction():
            for entry in entries:
                try:
                    ok.append({"Id": entry["Id"], **self._send_one(ctx, doc, entry)})
                except AwsError as exc:
                    if exc.code.startswith("Kms"):
                        raise
                    failed.append(batch_failure(entry, exc))
        if ok:
            self.waiters.notify(doc["arn"])
        return {"Successful": ok, "Failed": failed}

    # -- receive ------------------------------------------------------------------------

    def receive_message(self, ctx: RequestContext, request: dict[str, Any]) -> Any:
        doc = self.queue(ctx, request.get("QueueUrl"))
        self.authorize(ctx, "sqs:ReceiveMessage", doc)
        count = request.get("MaxNumberOfMessages")
        if count is not None and not 1 <= count <= 10:
            raise invalid_value("MaxNumberOfMessages", count, "Must be between 1 and 10, if provided.")
        wait = request.get("WaitTimeSeconds")
        if wait is not None and not 0 <= wait <= 20:
            raise invalid_value("WaitTimeSeconds", wait, "Must be >= 0 and <= 20, if provided.")
        visibility = request.get("VisibilityTimeout")
        if visibility is not None and not 0 <= visibility <= 43200:
            raise invalid_value("VisibilityTimeout", visibility, "Must be between 0 and 43200, if provided.")
        for name in request.get("AttributeNames") or []:
            if name not in _SYSTEM_NAMES and name not in ("All", "SqsManagedSseEnabled"):
                raise error("InvalidAttributeName", f"Unknown Attribute {name}.", status=400)
        if wait is None:
            wait = int(doc["attributes"].get("ReceiveMessageWaitTimeSeconds") or 0)
        got = self._receive(ctx, doc, request)
        if got or wait <= 0:
            return {"Messages": got} if got else {}
        return self._long_poll(ctx, doc["arn"], request, wait)

    async def _long_poll(self, ctx: RequestContext, arn: str, request: dict[str, Any], wait: int) -> dict[str, Any]:
        """Wait until a message can be received or `wait` seconds pass on the mamori clock
        (advancing the clock past the deadline ends the wait). A frozen clock waits for a
        send or an advance, but never longer than `wait` seconds of real time: a client is
        never left hanging by a clock nobody advances."""
        clock = self.runtime.clock
        deadline = clock.time() + wait
        real_deadline = time.monotonic() + wait
        while True:
            entry = self.waiters.register(arn)
            try:
                doc = ctx.store.get(arn)
                if doc is None:
                    return {}
                got = self._receive(ctx, doc, request)  # after registering: no send is missed
                if got:
                    return {"Messages": got}
                now = clock.time()
                real_left = real_deadline - time.monotonic()
                if now >= deadline or real_left <= 0:
                    return {}
                pause = min(1.0, real_left)
                if not clock.frozen:
                    pause = min(pause, deadline - now)
                    upcoming = self.qstore.next_available(arn, now)
                    if upcoming is not None:
                        pause = min(pause, upcoming - now)
                try:
                    await asyncio.wait_for(entry[1].wait(), timeout=max(pause, 0.005))
                except asyncio.TimeoutError:
                    pass
            finally:
                self.waiters.unregister(arn, entry)

    def _receive(self, ctx: RequestContext, doc: dict[str, Any], request: dict[str, Any]) -> list[dict[str, Any]]:
        arn = doc["arn"]
        count = request.get("MaxNumberOfMessages") or 1
        visibility = request.get("VisibilityTimeout")
        if visibility is None:
            visibility = int(doc["attributes"]["VisibilityTimeout"])
        wanted = set(request.get("AttributeNames") or []) | set(request.get("MessageSystemAttributeNames") or [])
        wanted_attrs = request.get("MessageAttributeNames") or []
        redrive = json.loads(doc["attributes"].get("RedrivePolicy") or "null")
        max_receives = int(redrive.get("maxReceiveCount", 0)) if redrive else 0
        now = ctx.time()
        attempt = request.get("ReceiveRequestAttemptId") if doc["fifo"] else None
        if attempt is not None:
            again = self._receive_again(ctx, doc, attempt, now, wanted, wanted_attrs)
            if again is not None:
                return again
        out: list[dict[str, Any]] = []
        taken: list[list[Any]] = []
        moved: set[str] = set()
        with self.qstore.transaction():
            self.qstore.expire(arn, now - int(doc["attributes"].get("MessageRetentionPeriod", "345600")))
            for msg in self._candidates(doc, now, count):
                if max_receives and msg.receive_count >= max_receives:
                    target = self._move_to_dlq(ctx, doc, msg, redrive.get("deadLetterTargetArn"))
                    if target:
                        moved.add(target)
                        continue
                content = self.sealer.open(ctx, doc, msg.id, msg.blob, msg.key)
                nonce = uuid.uuid4().hex
                msg.receive_count += 1
                msg.first_receive = msg.first_receive or now
                msg.available = now + visibility
                msg.received = now
                msg.receipt = nonce
                self.qstore.mark_received(msg)
                out.append(self._view(msg, content, receipt_handle(msg.id, nonce), wanted, wanted_attrs))
                taken.append([msg.id, nonce, msg.available])
                if len(out) >= count:
                    break
            if attempt is not None and out:
                self.qstore.remember(arn, ATTEMPT_PREFIX + attempt, now, {"messages": taken})
        for target in moved:
            self.waiters.notify(target)
        return out

    def _receive_again(self, ctx: RequestContext, doc: dict[str, Any], attempt: str, now: float,
                       wanted: set[str], wanted_attrs: list[str]) -> list[dict[str, Any]] | None:
        """A FIFO receive retried with the same ReceiveRequestAttemptId within five minutes
        gets the same messages and receipt handles, as long as none of them was deleted,
        received again or had its visibility changed; else None (a receive as usual).
        https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ReceiveMessage.html"""
        if len(attempt) > 128 or not attempt or not all(33 <= ord(c) <= 126 for c in attempt):
            raise invalid_value("ReceiveRequestAttemptId", attempt,
                                "Must be 1 to 128 alphanumeric or punctuation characters.")
        prior = self.qstore.seen(doc["arn"], ATTEMPT_PREFIX + attempt, now - ATTEMPT_WINDOW)
        if prior is None:
            return None
        out = []
        for message_id, nonce, available in prior["messages"]:
            msg = self.qstore.get(doc["arn"], message_id)
            if msg is None or msg.receipt != nonce or msg.available != available:
                return None
            content = self.sealer.open(ctx, doc, msg.id, msg.blob, msg.key)
            out.append(self._view(msg, content, receipt_handle(msg.id, nonce), wanted, wanted_attrs))
        return out

    def _candidates(self, doc: dict[str, Any], now: float, count: int) -> Any:
        """Receivable messages in the order a receive takes them."""
        arn = doc["arn"]
        if doc["fifo"]:
            # FIFO: a group with a message in flight is skipped; within a group, in order;
            # "Amazon SQS first attempts to return as many messages with the same message
            # group ID as possible" (groups taken by their oldest message), looking at up to
            # FIFO_SCAN receivable messages.
            # https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/using-messagegroupid-property.html
            blocked = self.qstore.blocked_groups(arn, now)
            groups: dict[str, list[StoredMessage]] = {}
            for scanned, msg in enumerate(self.qstore.in_order(arn, now)):
                if scanned >= FIFO_SCAN:
                    break
                if msg.grp not in blocked:
                    groups.setdefault(msg.grp, []).append(msg)
            for messages in groups.values():
                yield from messages
            return
        seen: set[str] = set()
        while True:  # more rows only when some went to the dead-letter queue
            batch = [m for m in self.qstore.available(arn, now, count + len(seen)) if m.id not in seen]
            if not batch:
                return
            for msg in batch:
                seen.add(msg.id)
                yield msg

    def _move_to_dlq(self, ctx: RequestContext, doc: dict[str, Any], msg: StoredMessage, dlq_arn: Any) -> str | None:
        dlq = ctx.store.get(dlq_arn) if isinstance(dlq_arn, str) else None
        if dlq is None:
            return None
        self.qstore.delete(doc["arn"], msg.id)
        # a standard DLQ keeps the original enqueue time (retention counts from it), a FIFO
        # DLQ restarts it (sqs-dead-letter-queues.html)
        sent = ctx.time() if dlq["fifo"] else msg.sent
        self.qstore.insert(StoredMessage(dlq_arn, msg.id, self.qstore.next_seq(dlq_arn), ctx.time(), sent, None,
                                         msg.grp, msg.receive_count, msg.first_receive, None, msg.blob, msg.key,
                                         doc["arn"]))
        return dlq_arn

    @staticmethod
    def _view(msg: StoredMessage, content: dict[str, Any], handle: str, wanted: set[str],
              wanted_attrs: list[str]) -> dict[str, Any]:
        out: dict[str, Any] = {"MessageId": msg.id, "ReceiptHandle": handle, "MD5OfBody": content["MD5OfBody"],
                               "Body": content["Body"]}
        if wanted:
            system = {"SenderId": content.get("SenderId"), "SentTimestamp": str(int(msg.sent * 1000)),
                      "ApproximateReceiveCount": str(msg.receive_count),
                      "ApproximateFirstReceiveTimestamp": str(int((msg.first_receive or msg.sent) * 1000))}
            if msg.grp is not None:
                system["MessageGroupId"] = msg.grp
            if content.get("MessageDeduplicationId") is not None:  # FIFO
                system["MessageDeduplicationId"] = content["MessageDeduplicationId"]
                system["SequenceNumber"] = str(msg.seq).zfill(20)
            if content.get("AWSTraceHeader"):
                system["AWSTraceHeader"] = content["AWSTraceHeader"]
            if msg.source:
                system["DeadLetterQueueSourceArn"] = msg.source
            everything = "All" in wanted
            picked = {k: v for k, v in system.items() if v is not None and (everything or k in wanted)}
            if picked:
                out["Attributes"] = picked
        stored = content.get("MessageAttributes")
        if wanted_attrs and stored:
            every = "All" in wanted_attrs or ".*" in wanted_attrs
            chosen = {k: v for k, v in loaded_attributes(stored).items()
                      if every or k in wanted_attrs
                      or any(w.endswith(".*") and k.startswith(w[:-1]) for w in wanted_attrs)}
            if chosen:
                out["MessageAttributes"] = chosen
                out["MD5OfMessageAttributes"] = md5_attributes(chosen)
        return out

    # -- delete, visibility, purge ------------------------------------------------------

    def delete_message(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        doc = self.queue(ctx, request.get("QueueUrl"))
        self.authorize(ctx, "sqs:DeleteMessage", doc)
        message_id, _ = parse_receipt(request.get("ReceiptHandle"))
        self.qstore.delete(doc["arn"], message_id)
        return {}

    def delete_message_batch(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        doc = self.queue(ctx, request.get("QueueUrl"))
        self.authorize(ctx, "sqs:DeleteMessage", doc)
        entries = request.get("Entries") or []
        check_batch(entries, "DeleteMessageBatchRequestEntry")
        ok, failed = [], []
        with self.qstore.transaction():
            for entry in entries:
                try:
                    message_id, _ = parse_receipt(entry.get("ReceiptHandle"))
                    self.qstore.delete(doc["arn"], message_id)
                    ok.append({"Id": entry["Id"]})
                except AwsError as exc:
                    failed.append(batch_failure(entry, exc))
        return {"Successful": ok, "Failed": failed}

    def _change_visibility(self, ctx: RequestContext, doc: dict[str, Any], handle: Any, timeout: Any) -> None:
        if not isinstance(timeout, int) or not 0 <= timeout <= 43200:
            raise invalid_value("VisibilityTimeout", timeout, "Must be between 0 and 43200, if provided.")
        message_id, nonce = parse_receipt(handle)
        msg = self.qstore.get(doc["arn"], message_id)
        now = ctx.time()
        if msg is None or msg.receipt != nonce or msg.received is None or msg.available <= now:
            raise error("MessageNotInflight", "Message does not exist or is not available for visibility timeout "
                        "change.", status=400)
        if now + timeout > msg.received + 43200:
            # the 12-hour limit counts from when the message was received
            raise invalid_value("VisibilityTimeout", timeout, "Total VisibilityTimeout for the message is beyond "
                                "the limit [43200 seconds]")
        self.qstore.set_available(doc["arn"], message_id, now + timeout)

    def change_message_visibility(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        doc = self.queue(ctx, request.get("QueueUrl"))
        self.authorize(ctx, "sqs:ChangeMessageVisibility", doc)
        self._change_visibility(ctx, doc, request.get("ReceiptHandle"), request.get("VisibilityTimeout"))
        if request.get("VisibilityTimeout") == 0:
            self.waiters.notify(doc["arn"])
        return {}

    def change_message_visibility_batch(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        doc = self.queue(ctx, request.get("QueueUrl"))
        self.authorize(ctx, "sqs:ChangeMessageVisibility", doc)
        entries = request.get("Entries") or []
        check_batch(entries, "ChangeMessageVisibilityBatchRequestEntry")
        ok, failed = [], []
        with self.qstore.transaction():
            for entry in entries:
                try:
                    self._change_visibility(ctx, doc, entry.get("ReceiptHandle"), entry.get("VisibilityTimeout"))
                    ok.append({"Id": entry["Id"]})
                except AwsError as exc:
                    failed.append(batch_failure(entry, exc))
        self.waiters.notify(doc["arn"])
        return {"Successful": ok, "Failed": failed}

    def purge_queue(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        doc = self.queue(ctx, request.get("QueueUrl"))
        self.authorize(ctx, "sqs:PurgeQueue", doc)
        now = ctx.time()
        # https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_PurgeQueue.html:
        # one purge per queue every 60 seconds
        if doc.get("purged") is not None and now - doc["purged"] < 60:
            raise error("PurgeQueueInProgress", f"Only one PurgeQueue operation on {doc['name']} is allowed every "
                        "60 seconds.", status=403)
        self.qstore.purge(doc["arn"])
        doc["purged"] = now
        self.save(ctx, doc)
        return {}

