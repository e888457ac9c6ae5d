"""Queues (control plane): create, look up, delete, list, attributes, tags, permissions.

    create_queue / get_queue_url / delete_queue / list_queues
    get_queue_attributes / set_queue_attributes   validation of every settable attribute,
                                                  counts from the queue store
    list_dead_letter_source_queues
    tag_queue / untag_queue / list_queue_tags / add_permission / remove_permission

Dead-letter queues: a RedrivePolicy must name an existing queue of the same type, owner
and region, with maxReceiveCount 1..1000, and the dead-letter queue's RedriveAllowPolicy
must let the source use it (allowAll, the default; denyAll; byQueue with up to 10
sourceQueueArns).
https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-configure-dead-letter-queue-redrive.html
"""

from __future__ import annotations

import json
import re
from typing import Any

from mamori.errors import error
from mamori.gateway.context import RequestContext
from mamori.services.sqs.common import QUEUE_KIND, arn_parts, invalid_value, not_found

NAME = re.compile(r"^[A-Za-z0-9_-]{1,80}$")
DEFAULTS = {
    "DelaySeconds": "0", "MaximumMessageSize": "1048576", "MessageRetentionPeriod": "345600",
    "ReceiveMessageWaitTimeSeconds": "0", "VisibilityTimeout": "30", "SqsManagedSseEnabled": "true",
}
# MaximumMessageSize: up to 1 MiB (the default) since 2025, per the API reference
RANGES = {"DelaySeconds": (0, 900), "MaximumMessageSize": (1024, 1048576),
          "MessageRetentionPeriod": (60, 1209600), "ReceiveMessageWaitTimeSeconds": (0, 20),
          "VisibilityTimeout": (0, 43200), "KmsDataKeyReusePeriodSeconds": (60, 86400)}
FIFO_ONLY = ("ContentBasedDeduplication", "DeduplicationScope", "FifoThroughputLimit")
ENUMS = {"ContentBasedDeduplication": ("true", "false"), "SqsManagedSseEnabled": ("true", "false"),
         "DeduplicationScope": ("messageGroup", "queue"), "FifoThroughputLimit": ("perQueue", "perMessageGroupId"),
         "FifoQueue": ("true", "false")}
SETTABLE = set(DEFAULTS) | {"Policy", "RedrivePolicy", "RedriveAllowPolicy", "KmsMasterKeyId",
                            "KmsDataKeyReusePeriodSeconds", "FifoQueue", *FIFO_ONLY}
COMPUTED = ("QueueArn", "CreatedTimestamp", "LastModifiedTimestamp", "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed")
CLEARABLE = ("Policy", "RedrivePolicy", "RedriveAllowPolicy", "KmsMasterKeyId")


def _invalid_attr(name: str) -> Exception:
    return error("InvalidAttributeName", f"Unknown Attribute {name}.", status=400)


def _bad_value(name: str) -> Exception:
    return error("InvalidAttributeValue", f"Invalid value for the parameter {name}.", status=400)


class QueueOperations:
    """Mixed into the provider (queue(), authorize(), save(), url(), qstore)."""

    runtime: Any

    # -- validation ---------------------------------------------------------------------

    def _check_attributes(self, ctx: RequestContext, attrs: dict[str, str], fifo: bool, arn: str) -> None:
        for name, value in attrs.items():
            if name not in SETTABLE or (name in FIFO_ONLY and not fifo):
                raise _invalid_attr(name)
            if not isinstance(value, str):
                raise _bad_value(name)
            if name in RANGES:
                lo, hi = RANGES[name]
                if not value.strip().lstrip("-").isdigit() or not lo <= int(value) <= hi:
                    raise _bad_value(name)
            if name in ENUMS and value not in ENUMS[name]:
                raise _bad_value(name)
            if name == "Policy" and value:
                self._check_policy(value)
        if attrs.get("RedrivePolicy"):
            self._check_redrive(ctx, attrs["RedrivePolicy"], fifo, arn)
        if attrs.get("RedriveAllowPolicy"):
            self._check_redrive_allow(attrs["RedriveAllowPolicy"])

    @staticmethod
    def _check_policy(text: str) -> None:
        """A queue policy: a valid resource policy of at most 8,192 bytes
        (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-policies.html)."""
        from mamori.policy import PolicyError, PolicyKind, parse_policy

        if len(text.encode()) > 8192:
            raise error("InvalidAttributeValue", "Invalid value for the parameter Policy. Reason: Policy exceeds "
                        "the maximum size of 8192 bytes.", status=400)
        try:
            parse_policy(text, PolicyKind.RESOURCE)
        except PolicyError as exc:
            raise error("InvalidAttributeValue", f"Invalid value for the parameter Policy. Reason: {exc.message}",
                        status=400) from None

    def _check_redrive(self, ctx: RequestContext, text: str, fifo: bool, source_arn: str) -> None:
        def bad(reason: str) -> Exception:
            return invalid_value("RedrivePolicy", text, reason)

        try:
            policy = json.loads(text)
        except ValueError:
            policy = None
        if not isinstance(policy, dict):
            raise bad("Redrive policy is not a valid JSON map.")
        target = policy.get("deadLetterTargetArn")
        if "maxReceiveCount" not in policy or not target:
            raise bad("Redrive policy does not contain mandatory attribute: "
                      + ("deadLetterTargetArn." if not target else "maxReceiveCount."))
        extra = set(policy) - {"deadLetterTargetArn", "maxReceiveCount"}
        if extra:
            raise bad("Only following attributes are supported: [deadLetterTargetArn, maxReceiveCount].")
        try:
            count = int(policy["maxReceiveCount"])
        except (TypeError, ValueError):
            count = 0
        if not 1 <= count <= 1000:
            raise bad(f"Invalid value for maxReceiveCount: {policy['maxReceiveCount']}, valid values are from 1 to "
                      "1000 both inclusive.")
        parts, own = arn_parts(target), arn_parts(source_arn)
        if parts is None:
            raise bad("Invalid value for deadLetterTargetArn.")
        if own and parts[1] != own[1]:
            raise bad("Dead-letter target owner should be same as the source.")
        dlq = ctx.store.get(target)
        if dlq is None:
            raise bad("Dead letter target does not exist.")
        if dlq["fifo"] != fifo:
            raise bad("Dead-letter queue must be same type of queue as the source.")
        allow = json.loads(dlq["attributes"].get("RedriveAllowPolicy") or "{}")
        permission = allow.get("redrivePermission", "allowAll")
        if permission == "denyAll" or (permission == "byQueue" and source_arn not in allow.get("sourceQueueArns", [])):
            # AWS refuses the source queue here; the wording of its reason is not documented
            raise bad(f"Queue {target} does not allow {source_arn} to use it as a dead-letter queue "
                      f"(RedriveAllowPolicy {permission}).")

    @staticmethod
    def _check_redrive_allow(text: str) -> None:
        def bad(reason: str) -> Exception:
            return invalid_value("RedriveAllowPolicy", text, reason)

        try:
            policy = json.loads(text)
        except ValueError:
            policy = None
        if not isinstance(policy, dict) or "redrivePermission" not in policy:
            raise bad("Amazon SQS can't create the redrive allow policy, as it’s in an unsupported format.")
        permission = policy["redrivePermission"]
        if permission not in ("allowAll", "denyAll", "byQueue"):
            raise bad(f"Invalid value for redrivePermission: {permission}. Valid values are allowAll, denyAll, byQueue.")
        sources = policy.get("sourceQueueArns")
        if permission == "byQueue":
            if not isinstance(sources, list) or not 1 <= len(sources) <= 10:
                raise bad("sourceQueueArns must list 1 to 10 queue ARNs when redrivePermission is byQueue.")
        elif sources is not None:
            raise bad(f"sourceQueueArns can be specified only when redrivePermission is byQueue, not {permission}.")

    @staticmethod
    def _apply(doc: dict[str, Any], attrs: dict[str, str]) -> None:
        current = doc["attributes"]
        for key, value in attrs.items():
            if value == "" and key in CLEARABLE:
                current.pop(key, None)
            else:
                current[key] = value
        # SSE-KMS and SSE-SQS exclude each other
        if attrs.get("KmsMasterKeyId"):
            current["SqsManagedSseEnabled"] = "false"
            current.setdefault("KmsDataKeyReusePeriodSeconds", "300")
        elif attrs.get("SqsManagedSseEnabled") == "true":
            current.pop("KmsMasterKeyId", None)
            current.pop("KmsDataKeyReusePeriodSeconds", None)
        if not current.get("KmsMasterKeyId"):
            current.pop("KmsDataKeyReusePeriodSeconds", None)

    # -- queues -------------------------------------------------------------------------

    def create_queue(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request.get("QueueName") or ""
        attrs = dict(request.get("Attributes") or {})
        fifo = str(attrs.get("FifoQueue", "false")).lower() == "true"
        base = name[:-5] if name.endswith(".fifo") else name
        if not NAME.match(base) or len(name) > 80:
            raise error("InvalidParameterValue", "Can only include alphanumeric characters, hyphens, or underscores. "
                        "1 to 80 in length", status=400)
        if fifo != name.endswith(".fifo"):
            raise error("InvalidParameterValue", "The name of a FIFO queue can only include alphanumeric characters, "
                        "hyphens, or underscores, must end with .fifo suffix and be 1 to 80 in length.", status=400)
        arn = f"arn:aws:sqs:{ctx.region}:{ctx.account_id}:{name}"
        tags = dict(request.get("tags") or {})
        conditions: dict[str, Any] = {"aws:RequestTag/" + k: v for k, v in tags.items()}
        if tags:
            conditions["aws:TagKeys"] = list(tags)
        ctx.resources = [{"ARN": arn, "accountId": ctx.account_id, "type": "AWS::SQS::Queue"}]
        ctx.authorize("sqs:CreateQueue", arn, conditions)
        if tags:
            ctx.authorize("sqs:TagQueue", arn, conditions)
        self._check_attributes(ctx, attrs, fifo, arn)
        existing = ctx.store.get(arn)
        if existing is not None:
            for key, value in attrs.items():
                if existing["attributes"].get(key, DEFAULTS.get(key)) != value:
                    raise error("QueueNameExists", "A queue already exists with the same name and a different value "
                                "for attribute " + key, status=400)
            return {"QueueUrl": self.url(existing)}
        deleted = self.qstore.deleted_at(arn)
        if deleted is not None and 0 <= ctx.time() - deleted < 60:
            # https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_DeleteQueue.html
            raise error("QueueDeletedRecently", "You must wait 60 seconds after deleting a queue before you can "
                        "create another with the same name.", status=400)
        now = int(ctx.time())
        doc = {"arn": arn, "name": name, "account": ctx.account_id, "region": ctx.region, "fifo": fifo,
               "attributes": dict(DEFAULTS), "tags": tags, "created": now, "modified": now}
        if fifo:
            doc["attributes"].update({"FifoQueue": "true", "ContentBasedDeduplication": "false",
                                      "DeduplicationScope": "queue", "FifoThroughputLimit": "perQueue"})
        self._apply(doc, attrs)
        self.save(ctx, doc)
        return {"QueueUrl": self.url(doc)}

    def get_queue_url(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        account = request.get("QueueOwnerAWSAccountId") or ctx.account_id
        arn = f"arn:aws:sqs:{ctx.region}:{account}:{request.get('QueueName')}"
        doc = ctx.store.get(arn)
        if doc is None:
            ctx.authorize("sqs:GetQueueUrl", arn, {})
            raise not_found()
        self.authorize(ctx, "sqs:GetQueueUrl", doc)
        return {"QueueUrl": self.url(doc)}

    def delete_queue(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        doc = self.queue(ctx, request.get("QueueUrl"))
        self.authorize(ctx, "sqs:DeleteQueue", doc)
        self.qstore.drop_queue(doc["arn"], ctx.time())
        ctx.store.delete(doc["arn"])
        self.waiters.notify(doc["arn"])
        return {}

    def list_queues(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ctx.authorize("sqs:ListQueues", f"arn:aws:sqs:{ctx.region}:{ctx.account_id}:*", {})
        prefix = request.get("QueueNamePrefix") or ""
        limit = request.get("MaxResults")
        if limit is not None and not 1 <= limit <= 1000:
            raise invalid_value("MaxResults", limit, "MaxResults must be an integer between 1 and 1000.")
        docs = sorted((d for d in ctx.store.list(QUEUE_KIND, account_id=ctx.account_id, region=ctx.region)
                       if d["name"].startswith(prefix)), key=lambda d: d["name"])
        try:
            start = int(request.get("NextToken") or 0)
        except ValueError:
            raise invalid_value("NextToken", request.get("NextToken"), "Invalid NextToken value.") from None
        page = docs[start:start + limit] if limit else docs[:1000]
        out: dict[str, Any] = {"QueueUrls": [self.url(d) for d in page]} if page else {}
        if limit and start + limit < len(docs):
            out["NextToken"] = str(start + limit)
        return out

    def get_queue_attributes(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        doc = self.queue(ctx, request.get("QueueUrl"))
        self.authorize(ctx, "sqs:GetQueueAttributes", doc)
        names = request.get("AttributeNames") or []
        for name in names:
            if name != "All" and name not in SETTABLE and name not in COMPUTED and name != "SqsManagedSseEnabled":
                raise _invalid_attr(name)
        if not names:
            return {}
        out = dict(doc["attributes"])
        out.update({"QueueArn": doc["arn"], "CreatedTimestamp": str(doc["created"]),
                    "LastModifiedTimestamp": str(doc["modified"])})
        if "All" in names or any(n.startswith("ApproximateNumberOfMessages") for n in names):
            now = ctx.time()
            with self.qstore.transaction():
                self.qstore.expire(doc["arn"], now - int(doc["attributes"].get("MessageRetentionPeriod", "345600")))
                visible, inflight, delayed = self.qstore.counts(doc["arn"], now)
            out.update({"ApproximateNumberOfMessages": str(visible),
                        "ApproximateNumberOfMessagesNotVisible": str(inflight),
                        "ApproximateNumberOfMessagesDelayed": str(delayed)})
        if "All" not in names:
            out = {k: v for k, v in out.items() if k in names}
        return {"Attributes": out} if out else {}

    def set_queue_attributes(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        doc = self.queue(ctx, request.get("QueueUrl"))
        self.authorize(ctx, "sqs:SetQueueAttributes", doc)
        attrs = request.get("Attributes") or {}
        if "FifoQueue" in attrs:
            raise _invalid_attr("FifoQueue")
        self._check_attributes(ctx, attrs, doc["fifo"], doc["arn"])
        self._apply(doc, attrs)
        doc["modified"] = int(ctx.time())
        self.save(ctx, doc)
        self.waiters.notify(doc["arn"])
        return {}

    def _sources_of(self, ctx: RequestContext, dlq_arn: str) -> list[dict[str, Any]]:
        region, account, _ = arn_parts(dlq_arn) or (ctx.region, ctx.account_id, "")
        out = []
        for other in ctx.store.list(QUEUE_KIND, account_id=account, region=region):
            rp = other["attributes"].get("RedrivePolicy")
            if rp and json.loads(rp).get("deadLetterTargetArn") == dlq_arn:
                out.append(other)
        return out

    def list_dead_letter_source_queues(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        doc = self.queue(ctx, request.get("QueueUrl"))
        self.authorize(ctx, "sqs:ListDeadLetterSourceQueues", doc)
        urls = sorted(self.url(d) for d in self._sources_of(ctx, doc["arn"]))
        limit = request.get("MaxResults")
        start = int(request.get("NextToken") or 0) if str(request.get("NextToken") or "0").isdigit() else 0
        page = urls[start:start + limit] if limit else urls
        out: dict[str, Any] = {"queueUrls": page}
        if limit and start + limit < len(urls):
            out["NextToken"] = str(start + limit)
        return out

    # -- tags and permissions -----------------------------------------------------------

    def tag_queue(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        doc = self.queue(ctx, request.get("QueueUrl"))
        self.authorize(ctx, "sqs:TagQueue", doc)
        tags = request.get("Tags") or {}
        if len({**doc["tags"], **tags}) > 50:
            raise error("InvalidParameterValue", "Too many tags added for queue " + doc["name"] + ".", status=400)
        doc["tags"].update(tags)
        self.save(ctx, doc)
        return {}

    def untag_queue(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        doc = self.queue(ctx, request.get("QueueUrl"))
        self.authorize(ctx, "sqs:UntagQueue", doc)
        for key in request.get("TagKeys") or []:
            doc["tags"].pop(key, None)
        self.save(ctx, doc)
        return {}

    def list_queue_tags(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        doc = self.queue(ctx, request.get("QueueUrl"))
        self.authorize(ctx, "sqs:ListQueueTags", doc)
        return {"Tags": dict(doc["tags"])} if doc["tags"] else {}

    def add_permission(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        doc = self.queue(ctx, request.get("QueueUrl"))
        self.authorize(ctx, "sqs:AddPermission", doc)
        policy = json.loads(doc["attributes"].get("Policy") or '{"Version":"2012-10-17","Statement":[]}')
        label = request.get("Label")
        if any(s.get("Sid") == label for s in policy["Statement"]):
            raise invalid_value("Label", label, "Already exists.")
        policy["Statement"].append({
            "Sid": label, "Effect": "Allow",
            "Principal": {"AWS": [f"arn:aws:iam::{a}:root" for a in request.get("AWSAccountIds") or []]},
            "Action": [f"SQS:{a}" for a in request.get("Actions") or []], "Resource": doc["arn"]})
        doc["attributes"]["Policy"] = json.dumps(policy)
        self.save(ctx, doc)
        return {}

    def remove_permission(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        doc = self.queue(ctx, request.get("QueueUrl"))
        self.authorize(ctx, "sqs:RemovePermission", doc)
        policy = json.loads(doc["attributes"].get("Policy") or '{"Statement":[]}')
        kept = [s for s in policy["Statement"] if s.get("Sid") != request.get("Label")]
        if len(kept) == len(policy["Statement"]):
            raise invalid_value("Label", request.get("Label"), "can't find label on existing policy.")
        policy["Statement"] = kept
        if kept:
            doc["attributes"]["Policy"] = json.dumps(policy)
        else:
            doc["attributes"].pop("Policy", None)
        self.save(ctx, doc)
        return {}
