"""Publish and PublishBatch (mixed into the provider).

Checks, in AWS's order: the target (TopicArn, TargetArn of a platform endpoint, or
PhoneNumber: exactly one), the topic policy, the message (non-empty; with
MessageStructure=json an object with a string "default"), Subject (ASCII, no line
breaks, at most 100 characters), message attributes (names, types, values), the total
size (message + attribute names, types and values, at most 256 KiB), FIFO parameters,
then KMS for an encrypted topic: the caller needs kms:GenerateDataKey and kms:Decrypt
on the key, asked through sns.amazonaws.com on the caller's behalf.
https://docs.aws.amazon.com/sns/latest/api/API_Publish.html
https://docs.aws.amazon.com/sns/latest/dg/sns-message-attributes.html
https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html
FIFO: MessageGroupId required; deduplication by MessageDeduplicationId or, with
ContentBasedDeduplication, the SHA-256 of the message, for 5 minutes on the clock.
https://docs.aws.amazon.com/sns/latest/dg/fifo-message-dedup.html
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from typing import Any

from mamori.errors import AwsError, error
from mamori.gateway.context import RequestContext
from mamori.services.sns import filters, metrics

MAX_MESSAGE = 262144
DEDUP_WINDOW = 300
_ATTR_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,256}$")
_BATCH_ID = re.compile(r"^[A-Za-z0-9_-]{1,80}$")
_NUMBER = re.compile(r"^-?\d+(\.\d+)?([eE][-+]?\d+)?$")
_GROUP = re.compile(r"^[\x21-\x7e]{1,128}$")
# Names under AWS. are reserved, but for the ones AWS itself defines for SMS and push
# (AWS.SNS.SMS.SMSType, AWS.SNS.SMS.SenderID, AWS.MM.SMS.OriginationNumber,
# AWS.SNS.MOBILE.APNS.PUSH_TYPE, ...).
# https://docs.aws.amazon.com/sns/latest/dg/sns-message-attributes.html
RESERVED_OK = ("AWS.SNS.SMS.", "AWS.MM.SMS.", "AWS.SNS.MOBILE.")


def _invalid(message: str) -> Exception:
    return error("InvalidParameter", message, status=400)


def _value_invalid(message: str) -> Exception:
    return error("ParameterValueInvalid", message, status=400)


def check_attributes(attrs: dict[str, Any]) -> int:
    """Validate message attributes as AWS does; returns their size in bytes."""
    size = 0
    for name, attr in attrs.items():
        if (not _ATTR_NAME.match(name) or name.startswith(".") or name.endswith(".") or ".." in name
                or (name.lower().startswith(("aws.", "amazon.")) and not name.startswith(RESERVED_OK))):
            raise _value_invalid(f"The message attribute name '{name}' is invalid.")
        kind = (attr or {}).get("DataType") or ""
        base = kind.split(".", 1)[0]
        if base not in ("String", "Number", "Binary"):
            raise _value_invalid(f"The message attribute '{name}' has an invalid message attribute type, the set "
                                 "of supported type prefixes is Binary, Number, and String.")
        string, binary = attr.get("StringValue"), attr.get("BinaryValue")
        if base == "Binary":
            if binary is None:
                raise _value_invalid(f"The message attribute '{name}' with type 'Binary' must use field 'Binary'.")
            size += len(binary if isinstance(binary, bytes) else str(binary).encode())
        else:
            if string is None or string == "":
                raise _value_invalid(f"The message attribute '{name}' must contain non-empty message attribute "
                                     "value for message attribute type 'String'." if base == "String" else
                                     f"The message attribute '{name}' must contain non-empty message attribute "
                                     f"value for message attribute type '{base}'.")
            if base == "Number":
                if not _NUMBER.match(string.strip()):
                    raise _value_invalid(f"Could not cast message attribute '{name}' value to number.")
            if kind.startswith("String.Array"):
                try:
                    if not isinstance(json.loads(string), list):
                        raise ValueError
                except ValueError:
                    raise _value_invalid(f"The message attribute '{name}' with type 'String.Array' has a value "
                                         "that is not a JSON array.") from None
            size += len(string.encode())
        size += len(name.encode()) + len(kind.encode())
    return size


class PublishMixin:
    runtime: Any

    def publish(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        request = dict(request)  # notes (_size, _structured, _dedup) stay out of the caller's params
        targets = [k for k in ("TopicArn", "TargetArn", "PhoneNumber") if request.get(k)]
        if len(targets) != 1:
            ctx.authorize("sns:Publish", "*", {})
            raise _invalid("Invalid parameter: TopicArn or TargetArn Reason: "
                           + ("no value for required parameter" if not targets else
                              "Only one of TopicArn, TargetArn or PhoneNumber may be specified"))
        if request.get("PhoneNumber"):
            ctx.authorize("sns:Publish", "*", {})
            from mamori.services.sns.sms import normalize

            number = normalize(request["PhoneNumber"])
            self._check_message(request)
            message_id = str(uuid.uuid4())
            self._sms_out(ctx, ctx.account_id, ctx.region, number, self._text_for("sms", request), message_id, None,
                          request.get("MessageAttributes"))
            return {"MessageId": message_id}
        arn = request.get("TopicArn") or request.get("TargetArn")
        if ":endpoint/" in (arn or ""):
            ctx.authorize("sns:Publish", arn, {})
            self._check_pushable(ctx, arn)
            self._check_message(request)
            message_id = str(uuid.uuid4())
            self._push_out(ctx, arn, request, message_id, None)
            return {"MessageId": message_id}
        doc = self._topic(ctx, arn)
        self._authorize(ctx, "sns:Publish", doc)
        self._check_message(request)
        fifo = doc["Attributes"].get("FifoTopic") == "true"
        group = request.get("MessageGroupId")
        if fifo and not group:
            raise _invalid("Invalid parameter: The MessageGroupId parameter is required for FIFO topics")
        if group is not None and not _GROUP.match(group):
            raise _invalid("Invalid parameter: MessageGroupId")
        if request.get("MessageDeduplicationId") is not None:
            if not fifo:
                raise _invalid("Invalid parameter: MessageDeduplicationId Reason: The request includes "
                               "MessageDeduplicationId parameter that is not valid for this topic type")
            if not _GROUP.match(request["MessageDeduplicationId"]):
                raise _invalid("Invalid parameter: MessageDeduplicationId")
        self._kms(ctx, doc)
        message_id = str(uuid.uuid4())
        sequence = None
        if fifo:
            dedup = request.get("MessageDeduplicationId")
            if not dedup:
                if doc["Attributes"].get("ContentBasedDeduplication") != "true":
                    raise _invalid("Invalid parameter: The topic should either have ContentBasedDeduplication "
                                   "enabled or MessageDeduplicationId provided explicitly")
                dedup = hashlib.sha256(request["Message"].encode()).hexdigest()
            key = f"mamori:sns-dedup:{doc['arn']}:{dedup}"
            seen = ctx.store.get(key)
            if seen is not None and ctx.time() - seen["time"] < DEDUP_WINDOW:
                return {"MessageId": seen["MessageId"], "SequenceNumber": seen["SequenceNumber"]}
            sequence = str(int(ctx.time() * 1000000)).rjust(20, "0")
            ctx.store.put(key, {"key": key, "time": ctx.time(), "MessageId": message_id, "SequenceNumber": sequence},
                          kind="sns-dedup", account_id=doc["account"], region=doc["region"], log=False)
            request = dict(request, _dedup=dedup)
        from mamori.services.sns.delivery import timestamp

        request["_stamp"] = timestamp(ctx.now())
        if sequence:
            self._archive(doc, request, message_id, sequence, ctx.time(), request["_stamp"])
        confirmed = [s for s in self._subs(ctx, doc["arn"]) if not s.get("pending")]
        subs = [s for s in confirmed if self._wanted(s, request)]
        delivered, failed = self._fan_out(ctx, doc, subs, message_id, request, sequence)
        metrics.record(self.runtime, doc["arn"], {
            "NumberOfMessagesPublished": 1, "PublishSize": request["_size"], "NumberOfNotificationsDelivered": delivered,
            "NumberOfNotificationsFailed": failed, "NumberOfNotificationsFilteredOut": len(confirmed) - len(subs)})
        out = {"MessageId": message_id}
        if sequence:
            out["SequenceNumber"] = sequence
        return out

    def _check_message(self, request: dict[str, Any]) -> None:
        message = request.get("Message")
        if message is None or message == "":
            raise _invalid("Invalid parameter: Empty message")
        if request.get("MessageStructure") not in (None, "json"):
            raise _invalid("Invalid parameter: MessageStructure")
        if request.get("MessageStructure") == "json":
            try:
                doc = json.loads(message)
            except ValueError:
                raise _invalid("Invalid parameter: Message Structure - JSON message body failed to parse") from None
            if not isinstance(doc, dict) or not isinstance(doc.get("default"), str):
                raise _invalid("Invalid parameter: Message Structure - No default entry in JSON message body")
            request["_structured"] = doc
        subject = request.get("Subject")
        if subject is not None:
            if (subject == "" or len(subject) > 100 or any(ord(c) < 32 or ord(c) > 126 for c in subject)):
                raise _invalid("Invalid parameter: Subject")
        size = len(message.encode()) + check_attributes(request.get("MessageAttributes") or {})
        if size > MAX_MESSAGE:
            raise _invalid("Invalid parameter: Message too long")
        request["_size"] = size

    def publish_batch(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        doc = self._topic(ctx, request.get("TopicArn"))
        self._authorize(ctx, "sns:Publish", doc)
        entries = request.get("PublishBatchRequestEntries") or []
        if not entries:
            raise error("EmptyBatchRequest", "The batch request doesn't contain any entries", status=400)
        if len(entries) > 10:
            raise error("TooManyEntriesInBatchRequest", "The batch request contains more entries than permissible",
                        status=400)
        ids = [e.get("Id") or "" for e in entries]
        for entry_id in ids:
            if not _BATCH_ID.match(entry_id):
                raise error("InvalidBatchEntryId", "The Id of a batch entry in a batch request doesn't abide by "
                            "the specification.", status=400)
        if len(set(ids)) != len(ids):
            raise error("BatchEntryIdsNotDistinct", "Two or more batch entries in the request have the same Id",
                        status=400)
        total = 0
        for entry in entries:
            total += len((entry.get("Message") or "").encode())
            try:
                total += check_attributes(entry.get("MessageAttributes") or {})
            except AwsError:
                pass  # reported for that entry alone
        if total > MAX_MESSAGE:
            raise error("BatchRequestTooLong", "The length of all the messages put together is more than the limit",
                        status=400)
        ok, failed = [], []
        for entry in entries:
            single = {k: v for k, v in entry.items() if k != "Id"}
            single["TopicArn"] = doc["arn"]
            try:
                out = self.publish(ctx, single)
            except AwsError as exc:  # per-entry errors, as AWS reports them
                failed.append({"Id": entry["Id"], "Code": exc.code, "Message": exc.message,
                               "SenderFault": exc.status < 500})
                continue
            ok.append(dict(out, Id=entry["Id"]))
        return {"Successful": ok, "Failed": failed}

    def _kms(self, ctx: RequestContext, doc: dict[str, Any]) -> None:
        """An SSE topic: the publisher needs kms:GenerateDataKey and kms:Decrypt on the
        key, asked as the caller through sns.amazonaws.com; KMS failures answer SNS's
        KMS* codes."""
        key = doc["Attributes"].get("KmsMasterKeyId")
        if not key:
            return
        codes = {"NotFoundException": "KMSNotFound", "DisabledException": "KMSDisabled",
                 "KMSInvalidStateException": "KMSInvalidState", "AccessDeniedException": "KMSAccessDenied",
                 "AccessDenied": "KMSAccessDenied", "InvalidKeyUsageException": "KMSInvalidState",
                 "ThrottlingException": "KMSThrottling"}
        try:
            data_key = self.runtime.invoke("kms", "GenerateDataKey", {"KeyId": key, "KeySpec": "AES_256"},
                                           parent=ctx, via="sns.amazonaws.com")
            self.runtime.invoke("kms", "Decrypt", {"CiphertextBlob": data_key["CiphertextBlob"]},
                                parent=ctx, via="sns.amazonaws.com")
        except AwsError as exc:
            code = codes.get(exc.code, "KMSOptInRequired" if exc.code == "NotImplemented" else "KMSInvalidState")
            status = 403 if code == "KMSOptInRequired" else 400
            raise error(code, exc.message, status=status) from None

    def _wanted(self, sub: dict[str, Any], request: dict[str, Any]) -> bool:
        policy = sub["Attributes"].get("FilterPolicy")
        if not policy:
            return True
        scope = sub["Attributes"].get("FilterPolicyScope") or "MessageAttributes"
        return filters.matches(policy, scope, request["Message"], request.get("MessageAttributes") or {})
