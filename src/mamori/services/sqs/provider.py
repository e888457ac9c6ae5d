"""Amazon SQS: queues and messages, durable in the resource store.

    create_queue / get_queue_url / delete_queue / list_queues
    get_queue_attributes / set_queue_attributes      attributes, policy, redrive policy
    send_message / send_message_batch                 MD5 of body and attributes (digest.py),
                                                      delay, FIFO deduplication (5 minutes)
    receive_message                                   visibility timeout by the clock,
                                                      receipt handles, system attributes,
                                                      dead-letter queue after maxReceiveCount
    delete_message(_batch) / change_message_visibility(_batch) / purge_queue
    tag_queue / untag_queue / list_queue_tags / add_permission / remove_permission
    list_dead_letter_source_queues

Queue doc: kind "sqs-queue", ARN arn:aws:sqs:REGION:ACCOUNT:NAME. Message doc: kind
"sqs-message:<queue arn>", one resource per message (durable across restarts).
Queue URL: <endpoint>/ACCOUNT/NAME; any URL whose last two path segments are
ACCOUNT/NAME is accepted (so https://sqs.REGION.amazonaws.com/ACCOUNT/NAME too).

Long polling: WaitTimeSeconds is accepted and the receive answers at once with what is
visible (mamori time does not pass while a request waits). Not yet done: SSE-KMS data
keys, message move tasks.
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from typing import Any

from mamori.errors import error
from mamori.gateway.context import RequestContext, with_resource_policy
from mamori.services.base import Provider
from mamori.services.sqs.digest import md5_attributes, md5_body

NAME = re.compile(r"^[A-Za-z0-9_-]{1,80}$")
DEFAULTS = {
    "DelaySeconds": "0", "MaximumMessageSize": "262144", "MessageRetentionPeriod": "345600",
    "ReceiveMessageWaitTimeSeconds": "0", "VisibilityTimeout": "30", "SqsManagedSseEnabled": "true",
}
RANGES = {"DelaySeconds": (0, 900), "MaximumMessageSize": (1024, 262144),
          "MessageRetentionPeriod": (60, 1209600), "ReceiveMessageWaitTimeSeconds": (0, 20),
          "VisibilityTimeout": (0, 43200), "KmsDataKeyReusePeriodSeconds": (60, 86400)}
SETTABLE = set(DEFAULTS) | {"Policy", "RedrivePolicy", "RedriveAllowPolicy", "KmsMasterKeyId",
                            "KmsDataKeyReusePeriodSeconds", "FifoQueue", "ContentBasedDeduplication",
                            "DeduplicationScope", "FifoThroughputLimit"}


def _invalid_attr(name: str) -> Exception:
    return error("InvalidAttributeName", f"Unknown Attribute {name}.", status=400)


def _not_found() -> Exception:
    return error("QueueDoesNotExist", "The specified queue does not exist.", status=400)


def _stored(attrs: dict[str, Any]) -> dict[str, Any]:
    """Message attributes as JSON-safe values (binary as base64 under `BinaryValue64`)."""
    out = {}
    for name, attr in attrs.items():
        item = {k: v for k, v in attr.items() if k in ("DataType", "StringValue")}
        if attr.get("BinaryValue") is not None:
            item["BinaryValue64"] = base64.b64encode(bytes(attr["BinaryValue"])).decode()
        out[name] = item
    return out


def _loaded(attrs: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for name, attr in attrs.items():
        item = {k: v for k, v in attr.items() if k != "BinaryValue64"}
        if "BinaryValue64" in attr:
            item["BinaryValue"] = base64.b64decode(attr["BinaryValue64"])
        out[name] = item
    return out


class SqsProvider(Provider):
    service = "sqs"

    # -- queues -----------------------------------------------------------------------

    def _url(self, doc: dict[str, Any]) -> str:
        return f"{self.runtime.config.endpoint}/{doc['account']}/{doc['name']}"

    def _queue(self, ctx: RequestContext, url: Any) -> dict[str, Any]:
        if not isinstance(url, str) or not url:
            raise error("InvalidAddress", "The address is not valid for this endpoint.", status=400)
        parts = [p for p in url.split("?")[0].split("/") if p]
        if len(parts) < 2:
            raise _not_found()
        account, name = parts[-2], parts[-1]
        region = ctx.region
        host = re.match(r"^(?:https?:)?/*sqs\.([a-z0-9-]+)\.", url)
        if host and host.group(1) not in ("localhost",):
            region = host.group(1)
        doc = ctx.store.get(f"arn:aws:sqs:{region}:{account}:{name}")
        if doc is None:
            raise _not_found()
        return doc

    def _authorize(self, ctx: RequestContext, action: str, doc: dict[str, Any]) -> None:
        policy = doc["attributes"].get("Policy")
        ctx.resources = [{"ARN": doc["arn"], "accountId": doc["account"], "type": "AWS::SQS::Queue"}]
        ctx.authorize(action, doc["arn"], with_resource_policy({}, policy or None, account=doc["account"]))

    def _save(self, ctx: RequestContext, doc: dict[str, Any]) -> None:
        ctx.store.put(doc["arn"], doc, kind="sqs-queue", account_id=doc["account"], region=doc["region"])

    def _check_attributes(self, attrs: dict[str, str], fifo: bool) -> None:
        for name, value in attrs.items():
            if name not in SETTABLE:
                raise _invalid_attr(name)
            if name in RANGES:
                lo, hi = RANGES[name]
                try:
                    ok = lo <= int(value) <= hi
                except (TypeError, ValueError):
                    ok = False
                if not ok:
                    raise error("InvalidAttributeValue", f"Invalid value for the parameter {name}.", status=400)
            if name in ("ContentBasedDeduplication", "DeduplicationScope", "FifoThroughputLimit") and not fifo:
                raise error("InvalidAttributeName", f"Unknown Attribute {name}.", status=400)
            if name in ("Policy", "RedrivePolicy", "RedriveAllowPolicy") and value:
                try:
                    json.loads(value)
                except ValueError:
                    raise error("InvalidAttributeValue", f"Invalid value for the parameter {name}.",
                                status=400) from None

    def create_queue(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request.get("QueueName") or ""
        attrs = dict(request.get("Attributes") or {})
        fifo = attrs.get("FifoQueue", "false").lower() == "true"
        base = name[:-5] if name.endswith(".fifo") else name
        if not NAME.match(base) or len(name) > 80 or (fifo != name.endswith(".fifo")):
            raise error("InvalidParameterValue",
                        "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length",
                        status=400)
        arn = f"arn:aws:sqs:{ctx.region}:{ctx.account_id}:{name}"
        conditions = {"aws:RequestTag/" + k: v for k, v in (request.get("tags") or {}).items()}
        if request.get("tags"):
            conditions["aws:TagKeys"] = list(request["tags"])
        ctx.authorize("sqs:CreateQueue", arn, conditions)
        self._check_attributes(attrs, fifo)
        existing = ctx.store.get(arn)
        if existing is not None:
            for key, value in attrs.items():
                if existing["attributes"].get(key, DEFAULTS.get(key)) != value:
                    raise error("QueueAlreadyExists",
                                "A queue already exists with the same name and a different value for attribute "
                                + key, status=400)
            return {"QueueUrl": self._url(existing)}
        now = int(ctx.time())
        full = dict(DEFAULTS)
        if fifo:
            full.update({"FifoQueue": "true", "ContentBasedDeduplication": "false",
                         "DeduplicationScope": "queue", "FifoThroughputLimit": "perQueue"})
        if attrs.get("KmsMasterKeyId"):
            full["SqsManagedSseEnabled"] = "false"
            full.setdefault("KmsDataKeyReusePeriodSeconds", "300")
        full.update(attrs)
        doc = {"arn": arn, "name": name, "account": ctx.account_id, "region": ctx.region, "fifo": fifo,
               "attributes": full, "tags": dict(request.get("tags") or {}), "created": now, "modified": now,
               "seq": 0, "dedup": {}}
        self._save(ctx, doc)
        return {"QueueUrl": self._url(doc)}

    def get_queue_url(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        account = request.get("QueueOwnerAWSAccountId") or ctx.account_id
        doc = ctx.store.get(f"arn:aws:sqs:{ctx.region}:{account}:{request.get('QueueName')}")
        if doc is None:
            ctx.authorize("sqs:GetQueueUrl", f"arn:aws:sqs:{ctx.region}:{account}:{request.get('QueueName')}", {})
            raise _not_found()
        self._authorize(ctx, "sqs:GetQueueUrl", doc)
        return {"QueueUrl": self._url(doc)}

    def delete_queue(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        doc = self._queue(ctx, request.get("QueueUrl"))
        self._authorize(ctx, "sqs:DeleteQueue", doc)
        with ctx.store.transaction():
            for msg in self._messages(ctx, doc):
                ctx.store.delete(msg["arn"])
            ctx.store.delete(doc["arn"])
        return {}

    def list_queues(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ctx.authorize("sqs:ListQueues", f"arn:aws:sqs:{ctx.region}:{ctx.account_id}:*", {})
        prefix = request.get("QueueNamePrefix") or ""
        docs = sorted((d for d in ctx.store.list("sqs-queue", account_id=ctx.account_id, region=ctx.region)
                       if d["name"].startswith(prefix)), key=lambda d: d["name"])
        start = int(request.get("NextToken") or 0)
        limit = request.get("MaxResults")
        page = docs[start:start + limit] if limit else docs[:1000]
        out: dict[str, Any] = {"QueueUrls": [self._url(d) for d in page]} if page else {}
        if limit and start + limit < len(docs):
            out["NextToken"] = str(start + limit)
        return out

    def get_queue_attributes(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        doc = self._queue(ctx, request.get("QueueUrl"))
        self._authorize(ctx, "sqs:GetQueueAttributes", doc)
        names = request.get("AttributeNames") or []
        now = ctx.time()
        msgs = self._messages(ctx, doc)
        computed = {
            **doc["attributes"], "QueueArn": doc["arn"],
            "CreatedTimestamp": str(doc["created"]), "LastModifiedTimestamp": str(doc["modified"]),
            "ApproximateNumberOfMessages": str(sum(1 for m in msgs if m["visible_at"] <= now and m["delay_until"] <= now)),
            "ApproximateNumberOfMessagesNotVisible": str(sum(1 for m in msgs if m["visible_at"] > now and m["delay_until"] <= now)),
            "ApproximateNumberOfMessagesDelayed": str(sum(1 for m in msgs if m["delay_until"] > now)),
        }
        if "All" in names:
            return {"Attributes": computed}
        out = {}
        for name in names:
            if name not in computed and name not in SETTABLE:
                raise _invalid_attr(name)
            if name in computed:
                out[name] = computed[name]
        return {"Attributes": out} if out else {}

    def set_queue_attributes(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        doc = self._queue(ctx, request.get("QueueUrl"))
        self._authorize(ctx, "sqs:SetQueueAttributes", doc)
        attrs = request.get("Attributes") or {}
        if "FifoQueue" in attrs:
            raise error("InvalidAttributeName", "Unknown Attribute FifoQueue.", status=400)
        self._check_attributes(attrs, doc["fifo"])
        for key, value in attrs.items():
            if value == "" and key in ("Policy", "RedrivePolicy", "RedriveAllowPolicy", "KmsMasterKeyId"):
                doc["attributes"].pop(key, None)
            else:
                doc["attributes"][key] = value
        doc["modified"] = int(ctx.time())
        self._save(ctx, doc)
        return {}

    def list_dead_letter_source_queues(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        doc = self._queue(ctx, request.get("QueueUrl"))
        self._authorize(ctx, "sqs:ListDeadLetterSourceQueues", doc)
        urls = []
        for other in ctx.store.list("sqs-queue", account_id=ctx.account_id, region=ctx.region):
            rp = other["attributes"].get("RedrivePolicy")
            if rp and json.loads(rp).get("deadLetterTargetArn") == doc["arn"]:
                urls.append(self._url(other))
        return {"queueUrls": sorted(urls)}

    # -- tags and permissions -----------------------------------------------------------

    def tag_queue(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        doc = self._queue(ctx, request.get("QueueUrl"))
        self._authorize(ctx, "sqs:TagQueue", doc)
        doc["tags"].update(request.get("Tags") or {})
        self._save(ctx, doc)
        return {}

    def untag_queue(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        doc = self._queue(ctx, request.get("QueueUrl"))
        self._authorize(ctx, "sqs:UntagQueue", doc)
        for key in request.get("TagKeys") or []:
            doc["tags"].pop(key, None)
        self._save(ctx, doc)
        return {}

    def list_queue_tags(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        doc = self._queue(ctx, request.get("QueueUrl"))
        self._authorize(ctx, "sqs:ListQueueTags", doc)
        return {"Tags": dict(doc["tags"])} if doc["tags"] else {}

    def add_permission(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        doc = self._queue(ctx, request.get("QueueUrl"))
        self._authorize(ctx, "sqs:AddPermission", doc)
        policy = json.loads(doc["attributes"].get("Policy") or '{"Version":"2012-10-17","Statement":[]}')
        label = request.get("Label")
        if any(s.get("Sid") == label for s in policy["Statement"]):
            raise error("InvalidParameterValue", f"Value {label} for parameter Label is invalid. Reason: "
                        "Already exists.", status=400)
        policy["Statement"].append({
            "Sid": label, "Effect": "Allow",
            "Principal": {"AWS": [f"arn:aws:iam::{a}:root" for a in request.get("AWSAccountIds") or []]},
            "Action": [f"SQS:{a}" for a in request.get("Actions") or []], "Resource": doc["arn"]})
        doc["attributes"]["Policy"] = json.dumps(policy)
        self._save(ctx, doc)
        return {}

    def remove_permission(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        doc = self._queue(ctx, request.get("QueueUrl"))
        self._authorize(ctx, "sqs:RemovePermission", doc)
        policy = json.loads(doc["attributes"].get("Policy") or '{"Statement":[]}')
        kept = [s for s in policy["Statement"] if s.get("Sid") != request.get("Label")]
        if len(kept) == len(policy["Statement"]):
            raise error("InvalidParameterValue", f"Value {request.get('Label')} for parameter Label is invalid. "
                        "Reason: can't find label on existing policy.", status=400)
        policy["Statement"] = kept
        doc["attributes"]["Policy"] = json.dumps(policy)
        self._save(ctx, doc)
        return {}

    # -- messages -----------------------------------------------------------------------

    def _messages(self, ctx: RequestContext, doc: dict[str, Any]) -> list[dict[str, Any]]:
        now = ctx.time()
        retention = int(doc["attributes"].get("MessageRetentionPeriod", "345600"))
        out = []
        for msg in ctx.store.list("sqs-message:" + doc["arn"], account_id=doc["account"], region=doc["region"]):
            if msg["sent"] + retention <= now:
                ctx.store.delete(msg["arn"])  # retention by the clock
                continue
            out.append(msg)
        out.sort(key=lambda m: m["seq"])
        return out

    def _put_message(self, ctx: RequestContext, doc: dict[str, Any], msg: dict[str, Any]) -> None:
        ctx.store.put(msg["arn"], msg, kind="sqs-message:" + doc["arn"], account_id=doc["account"],
                      region=doc["region"])

    def _send_one(self, ctx: RequestContext, doc: dict[str, Any], entry: dict[str, Any]) -> dict[str, Any]:
        body = entry.get("MessageBody")
        if not body:
            raise error("MissingParameter", "The request must contain the parameter MessageBody.", status=400)
        if not all(c in "\t\n\r" or 0x20 <= ord(c) <= 0xD7FF or 0xE000 <= ord(c) <= 0x10FFFF and c not in "\ufffe\uffff"
                   for c in body):
            raise error("InvalidMessageContents", "Invalid characters found. Valid unicode characters are "
                        "#x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF", status=400)
        attrs = entry.get("MessageAttributes") or {}
        size = len(body.encode()) + sum(len(k) + len(v.get("DataType", "")) + len(
            v.get("StringValue", "").encode() if "StringValue" in v else v.get("BinaryValue", b""))
            for k, v in attrs.items())
        limit = int(doc["attributes"]["MaximumMessageSize"])
        if size > limit:
            raise error("InvalidParameterValue", "One or more parameters are invalid. Reason: Message must be "
                        f"shorter than {limit} bytes.", status=400)
        for name, attr in attrs.items():
            if not attr.get("DataType") or not (attr.get("StringValue") is not None or attr.get("BinaryValue") is not None):
                raise error("InvalidParameterValue", f"The message attribute '{name}' must contain non-empty "
                            "message attribute value for message attribute type "
                            f"'{attr.get('DataType') or ''}'.", status=400)
        now = ctx.time()
        group = entry.get("MessageGroupId")
        dedup = entry.get("MessageDeduplicationId")
        if doc["fifo"]:
            if not group:
                raise error("MissingParameter", "The request must contain the parameter MessageGroupId.", status=400)
            if entry.get("DelaySeconds"):
                raise error("InvalidParameterValue", "Value " + str(entry["DelaySeconds"]) + " for parameter "
                            "DelaySeconds is invalid. Reason: The request include parameter that is not valid "
                            "for this queue type.", status=400)
            if not dedup:
                if doc["attributes"].get("ContentBasedDeduplication") != "true":
                    raise error("InvalidParameterValue", "The queue should either have ContentBasedDeduplication "
                                "enabled or MessageDeduplicationId provided explicitly", status=400)
                import hashlib
                dedup = hashlib.sha256(body.encode()).hexdigest()
            doc["dedup"] = {k: v for k, v in doc["dedup"].items() if v["at"] + 300 > now}
            seen = doc["dedup"].get(dedup)
            if seen:
                return seen["result"]
        delay = entry.get("DelaySeconds")
        if delay is None:
            delay = int(doc["attributes"].get("DelaySeconds", "0"))
        if not 0 <= int(delay) <= 900:
            raise error("InvalidParameterValue", f"Value {delay} for parameter DelaySeconds is invalid. Reason: "
                        "DelaySeconds must be >= 0 and <= 900.", status=400)
        doc["seq"] += 1
        message_id = str(uuid.uuid4())
        # SenderId: the caller's access key id (AWS shows the user or role unique id), else the account
        sender = getattr(ctx.principal, "access_key_id", None) or ctx.account_id
        msg = {"arn": f"{doc['arn']}#{message_id}", "MessageId": message_id, "Body": body,
               "MD5OfBody": md5_body(body), "MessageAttributes": _stored(attrs), "MD5OfMessageAttributes": md5_attributes(attrs),
               "sent": now, "delay_until": now + int(delay), "visible_at": now, "receive_count": 0,
               "first_receive": None, "receipt": None, "seq": doc["seq"], "group": group, "dedup": dedup,
               "SenderId": sender}
        self._put_message(ctx, doc, msg)
        result = {"MessageId": message_id, "MD5OfMessageBody": msg["MD5OfBody"]}
        if msg["MD5OfMessageAttributes"]:
            result["MD5OfMessageAttributes"] = msg["MD5OfMessageAttributes"]
        if doc["fifo"]:
            result["SequenceNumber"] = str(doc["seq"]).zfill(20)
            doc["dedup"][dedup] = {"at": now, "result": result}
        return result

    def send_message(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        doc = self._queue(ctx, request.get("QueueUrl"))
        self._authorize(ctx, "sqs:SendMessage", doc)
        with ctx.store.transaction():
            result = self._send_one(ctx, doc, request)
            self._save(ctx, doc)
        return result

    def send_message_batch(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        doc = self._queue(ctx, request.get("QueueUrl"))
        self._authorize(ctx, "sqs:SendMessage", doc)
        entries = request.get("Entries") or []
        self._check_batch(entries)
        ok, failed = [], []
        with ctx.store.transaction():
            for entry in entries:
                try:
                    ok.append({"Id": entry["Id"], **self._send_one(ctx, doc, entry)})
                except Exception as exc:  # an AwsError per entry
                    failed.append({"Id": entry["Id"], "SenderFault": True, "Code": getattr(exc, "code", "InternalError"),
                                   "Message": getattr(exc, "message", str(exc))})
            self._save(ctx, doc)
        return {"Successful": ok, "Failed": failed}

    def _check_batch(self, entries: list[dict[str, Any]]) -> None:
        if not entries:
            raise error("EmptyBatchRequest", "There should be at least one SendMessageBatchRequestEntry in the request.",
                        status=400)
        if len(entries) > 10:
            raise error("TooManyEntriesInBatchRequest", f"Maximum number of entries per request are 10. You have sent "
                        f"{len(entries)}.", status=400)
        ids = [e.get("Id") for e in entries]
        if len(set(ids)) != len(ids):
            raise error("BatchEntryIdsNotDistinct", "Id " + str(ids[0]) + " repeated.", status=400)
        for i in ids:
            if not i or not re.match(r"^[A-Za-z0-9_-]{1,80}$", i):
                raise error("InvalidBatchEntryId", "A batch entry id can only contain alphanumeric characters, "
                            "hyphens and underscores. It can be at most 80 letters long.", status=400)

    def receive_message(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        doc = self._queue(ctx, request.get("QueueUrl"))
        self._authorize(ctx, "sqs:ReceiveMessage", doc)
        count = request.get("MaxNumberOfMessages") or 1
        if not 1 <= count <= 10:
            raise error("InvalidParameterValue", f"Value {count} for parameter MaxNumberOfMessages is invalid. "
                        "Reason: Must be between 1 and 10, if provided.", status=400)
        wait = request.get("WaitTimeSeconds")
        if wait is not None and not 0 <= wait <= 20:
            raise error("InvalidParameterValue", f"Value {wait} for parameter WaitTimeSeconds is invalid. "
                        "Reason: Must be >= 0 and <= 20, if provided.", status=400)
        visibility = request.get("VisibilityTimeout")
        if visibility is None:
            visibility = int(doc["attributes"]["VisibilityTimeout"])
        wanted = set(request.get("AttributeNames") or []) | set(request.get("MessageSystemAttributeNames") or [])
        wanted_attrs = request.get("MessageAttributeNames") or []
        now = ctx.time()
        redrive = json.loads(doc["attributes"].get("RedrivePolicy") or "null")
        out = []
        busy_groups: set[str] = set()
        with ctx.store.transaction():
            msgs = self._messages(ctx, doc)
            if doc["fifo"]:
                busy_groups = {m["group"] for m in msgs if m["visible_at"] > now}
            for msg in msgs:
                if len(out) >= count:
                    break
                if msg["delay_until"] > now or msg["visible_at"] > now:
                    continue
                if doc["fifo"] and msg["group"] in busy_groups and not any(o["group"] == msg["group"] for o in out):
                    continue
                if redrive and msg["receive_count"] >= int(redrive.get("maxReceiveCount", 0)):
                    if self._move_to_dlq(ctx, doc, msg, redrive["deadLetterTargetArn"]):
                        continue
                msg["receive_count"] += 1
                msg["first_receive"] = msg["first_receive"] or now
                msg["visible_at"] = now + visibility
                msg["receipt"] = base64.b64encode(f"{msg['MessageId']}:{uuid.uuid4()}".encode()).decode()
                self._put_message(ctx, doc, msg)
                out.append(msg)
        return {"Messages": [self._view(m, wanted, wanted_attrs) for m in out]} if out else {}

    def _move_to_dlq(self, ctx: RequestContext, doc: dict[str, Any], msg: dict[str, Any], dlq_arn: str) -> bool:
        dlq = ctx.store.get(dlq_arn)
        if dlq is None:
            return False
        ctx.store.delete(msg["arn"])
        dlq["seq"] += 1
        moved = dict(msg, arn=f"{dlq_arn}#{msg['MessageId']}", seq=dlq["seq"], visible_at=ctx.time(),
                     delay_until=0, receipt=None, DeadLetterQueueSourceArn=doc["arn"])
        self._put_message(ctx, dlq, moved)
        self._save(ctx, dlq)
        return True

    def _view(self, msg: dict[str, Any], wanted: set[str], wanted_attrs: list[str]) -> dict[str, Any]:
        out: dict[str, Any] = {"MessageId": msg["MessageId"], "ReceiptHandle": msg["receipt"],
                               "MD5OfBody": msg["MD5OfBody"], "Body": msg["Body"]}
        system = {"SenderId": msg["SenderId"], "SentTimestamp": str(int(msg["sent"] * 1000)),
                  "ApproximateReceiveCount": str(msg["receive_count"]),
                  "ApproximateFirstReceiveTimestamp": str(int(msg["first_receive"] * 1000))}
        if msg.get("group"):
            system["MessageGroupId"] = msg["group"]
            system["MessageDeduplicationId"] = msg["dedup"]
            system["SequenceNumber"] = str(msg["seq"]).zfill(20)
        if msg.get("DeadLetterQueueSourceArn"):
            system["DeadLetterQueueSourceArn"] = msg["DeadLetterQueueSourceArn"]
        picked = system if "All" in wanted else {k: v for k, v in system.items() if k in wanted}
        if picked:
            out["Attributes"] = picked
        attrs = _loaded(msg["MessageAttributes"])
        if wanted_attrs and attrs:
            chosen = {k: v for k, v in attrs.items() if "All" in wanted_attrs or ".*" in wanted_attrs or k in wanted_attrs
                      or any(w.endswith(".*") and k.startswith(w[:-1]) for w in wanted_attrs)}
            if chosen:
                out["MessageAttributes"] = chosen
                out["MD5OfMessageAttributes"] = md5_attributes(chosen)
        return out

    def _by_receipt(self, ctx: RequestContext, doc: dict[str, Any], handle: Any) -> dict[str, Any] | None:
        try:
            message_id = base64.b64decode(handle or "", validate=True).decode().split(":")[0]
            uuid.UUID(message_id)
        except Exception:  # noqa: BLE001 - any malformed handle
            raise error("ReceiptHandleIsInvalid", f'The input receipt handle "{handle}" is not a valid receipt '
                        "handle.", status=400) from None
        msg = ctx.store.get(f"{doc['arn']}#{message_id}")
        return msg

    def delete_message(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        doc = self._queue(ctx, request.get("QueueUrl"))
        self._authorize(ctx, "sqs:DeleteMessage", doc)
        msg = self._by_receipt(ctx, doc, request.get("ReceiptHandle"))
        if msg is not None:
            ctx.store.delete(msg["arn"])
        return {}

    def delete_message_batch(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        doc = self._queue(ctx, request.get("QueueUrl"))
        self._authorize(ctx, "sqs:DeleteMessage", doc)
        entries = request.get("Entries") or []
        self._check_batch(entries)
        ok, failed = [], []
        with ctx.store.transaction():
            for entry in entries:
                try:
                    msg = self._by_receipt(ctx, doc, entry.get("ReceiptHandle"))
                    if msg is not None:
                        ctx.store.delete(msg["arn"])
                    ok.append({"Id": entry["Id"]})
                except Exception as exc:
                    failed.append({"Id": entry["Id"], "SenderFault": True, "Code": getattr(exc, "code", "InternalError"),
                                   "Message": getattr(exc, "message", str(exc))})
        return {"Successful": ok, "Failed": failed}

    def _change_visibility(self, ctx: RequestContext, doc: dict[str, Any], handle: Any, timeout: Any) -> None:
        if not isinstance(timeout, int) or not 0 <= timeout <= 43200:
            raise error("InvalidParameterValue", f"Value {timeout} for parameter VisibilityTimeout is invalid. "
                        "Reason: Must be between 0 and 43200, if provided.", status=400)
        msg = self._by_receipt(ctx, doc, handle)
        if msg is None or msg["receipt"] != handle or msg["visible_at"] <= ctx.time():
            raise error("MessageNotInflight", "Message does not exist or is not available for visibility timeout "
                        "change.", status=400)
        msg["visible_at"] = ctx.time() + timeout
        self._put_message(ctx, doc, msg)

    def change_message_visibility(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        doc = self._queue(ctx, request.get("QueueUrl"))
        self._authorize(ctx, "sqs:ChangeMessageVisibility", doc)
        self._change_visibility(ctx, doc, request.get("ReceiptHandle"), request.get("VisibilityTimeout"))
        return {}

    def change_message_visibility_batch(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        doc = self._queue(ctx, request.get("QueueUrl"))
        self._authorize(ctx, "sqs:ChangeMessageVisibility", doc)
        entries = request.get("Entries") or []
        self._check_batch(entries)
        ok, failed = [], []
        for entry in entries:
            try:
                self._change_visibility(ctx, doc, entry.get("ReceiptHandle"), entry.get("VisibilityTimeout"))
                ok.append({"Id": entry["Id"]})
            except Exception as exc:
                failed.append({"Id": entry["Id"], "SenderFault": True, "Code": getattr(exc, "code", "InternalError"),
                               "Message": getattr(exc, "message", str(exc))})
        return {"Successful": ok, "Failed": failed}

    def purge_queue(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        doc = self._queue(ctx, request.get("QueueUrl"))
        self._authorize(ctx, "sqs:PurgeQueue", doc)
        with ctx.store.transaction():
            for msg in self._messages(ctx, doc):
                ctx.store.delete(msg["arn"])
        return {}
