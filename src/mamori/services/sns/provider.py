"""Amazon SNS: the provider, assembled from one module per family of operations.

    provider.py       topics (create/delete/list/get/set attributes), permissions, data
                      protection policies, tags; setup() re-arms pending HTTP deliveries
    subscriptions.py  subscribe / confirm (SubscribeURL or API) / unsubscribe, lists,
                      subscription attributes (filter, raw, delivery and redrive policies)
    publishing.py     publish / publish_batch: validation, FIFO deduplication, KMS,
                      filter policies, then delivery.py fans the message out
    delivery.py       per protocol: sqs, email, email-json, sms, application, http/s
                      (http_delivery.py: signed POSTs, retries, dead-letter queue)
    signing.py        the signing key and certificate (SigningCertURL)
    sms.py, platform.py  SMS and mobile push (local outbox)
    metrics.py        CloudWatch metrics AWS/SNS
    feedback.py       delivery status logging to CloudWatch Logs through the feedback roles
    archive.py        FIFO message archiving and replay
    filters.py, delivery_policy.py, mail.py

Topic doc: kind "sns-topic", keyed by the topic ARN, {"Attributes", "Tags",
"DataProtectionPolicy"}. Default topic policy: AWS's (Principal AWS "*", condition
AWS:SourceOwner = the account).
https://docs.aws.amazon.com/sns/latest/dg/sns-access-policy-use-cases.html
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from mamori.errors import AccessDenied, error
from mamori.gateway.context import RequestContext, with_resource_policy
from mamori.services.base import Provider
from mamori.services.sns import archive, delivery_policy
from mamori.services.sns.archive import ArchiveMixin
from mamori.services.sns.paging import page
from mamori.services.sns.delivery import DeliveryMixin
from mamori.services.sns.feedback import FeedbackMixin
from mamori.services.sns.platform import PlatformMixin
from mamori.services.sns.publishing import PublishMixin
from mamori.services.sns.sms import SmsMixin
from mamori.services.sns.subscriptions import SUB, SubscriptionsMixin

TOPIC = "sns-topic"
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_FEEDBACK = {f"{p}{k}" for p in ("Application", "HTTP", "Lambda", "SQS", "Firehose")
             for k in ("SuccessFeedbackRoleArn", "SuccessFeedbackSampleRate", "FailureFeedbackRoleArn")}
TOPIC_ATTRIBUTES = {"DeliveryPolicy", "DisplayName", "Policy", "SignatureVersion", "TracingConfig",
                    "KmsMasterKeyId", "FifoTopic", "ContentBasedDeduplication", "ArchivePolicy",
                    "FifoThroughputScope"} | _FEEDBACK
READ_ONLY = {"TopicArn", "Owner", "SubscriptionsConfirmed", "SubscriptionsPending", "SubscriptionsDeleted",
             "EffectiveDeliveryPolicy", "BeginningArchiveTime"}


def invalid(message: str) -> Exception:
    return error("InvalidParameter", message, status=400)


def not_found(message: str = "Topic does not exist") -> Exception:
    return error("NotFound", message, status=404)


def default_policy(arn: str, account: str) -> dict[str, Any]:
    actions = ["SNS:GetTopicAttributes", "SNS:SetTopicAttributes", "SNS:AddPermission",
               "SNS:RemovePermission", "SNS:DeleteTopic", "SNS:Subscribe",
               "SNS:ListSubscriptionsByTopic", "SNS:Publish"]
    return {"Version": "2008-10-17", "Id": "__default_policy_ID", "Statement": [{
        "Sid": "__default_statement_ID", "Effect": "Allow", "Principal": {"AWS": "*"},
        "Action": actions, "Resource": arn,
        "Condition": {"StringEquals": {"AWS:SourceOwner": account}}}]}


def check_tags(tags: list[dict[str, str]]) -> dict[str, str]:
    """Tag keys of 1-128 and values of 0-256 characters; the aws: prefix is AWS's.
    https://docs.aws.amazon.com/sns/latest/dg/sns-tags-configuring.html"""
    out = {}
    for tag in tags:
        key, value = tag.get("Key") or "", tag.get("Value") or ""
        if not 1 <= len(key) <= 128 or len(value) > 256:
            raise invalid("Invalid parameter: Tags Reason: tag keys are 1 to 128 and values 0 to 256 characters")
        if key.lower().startswith("aws:"):
            raise invalid("Invalid parameter: Tags Reason: Keys can't start with 'aws:'")
        out[key] = value
    return out


def tag_keys(tags: dict[str, str]) -> dict[str, Any]:
    return {"aws:RequestTag": tags, "aws:TagKeys": list(tags)} if tags else {}


class SnsProvider(SubscriptionsMixin, PublishMixin, DeliveryMixin, FeedbackMixin, ArchiveMixin, SmsMixin, PlatformMixin,
                  Provider):
    service = "sns"

    def setup(self) -> None:
        from mamori.services.sns.http_delivery import HttpDeliveries

        self.http = HttpDeliveries(self.runtime, self._signer, self._http_dead_letter, self._http_outcome)
        self.http.rearm()
        self.runtime.scheduler.every(60, self._forget_deduplication, "sns-dedup-expiry")

    def _forget_deduplication(self, due: float) -> None:
        """FIFO deduplication entries last 5 minutes, archived messages their topic's
        retention: older ones are deleted. A clock jump runs this once, not once per
        missed minute."""
        from mamori.services.sns.publishing import DEDUP_WINDOW

        now = self.runtime.clock.time()
        if due < now - 60:
            return
        store = self.runtime.store
        for doc in store.list("sns-dedup"):
            if now - doc["time"] >= DEDUP_WINDOW:
                store.delete(doc["key"])
        self._expire_archives(now)

    def reset(self) -> None:
        self.http.cancel_all()
        self.__dict__.pop("_signers", None)
        self._forget_feedback()

    # -- helpers ----------------------------------------------------------------------

    def _topic(self, ctx: RequestContext, arn: str | None) -> dict[str, Any]:
        if not arn:
            raise invalid("Invalid parameter: TopicArn")
        doc = ctx.store.get(arn)
        if doc is None or doc.get("kind") != "topic":
            raise not_found()
        return doc

    def _authorize(self, ctx: RequestContext, action: str, topic: dict[str, Any],
                   conditions: dict[str, Any] | None = None) -> None:
        """An action on a topic: the caller's policies and the topic policy decide."""
        policy = json.loads(topic["Attributes"]["Policy"])
        try:
            ctx.authorize(action, topic["arn"], with_resource_policy(conditions or {}, policy, account=topic["account"]))
        except AccessDenied as exc:
            # SNS answers a denial with its own code, AuthorizationError (403)
            raise error("AuthorizationError", exc.message, status=403) from None

    @staticmethod
    def _pass_role(ctx: RequestContext, role: str, topic_arn: str) -> None:
        try:
            ctx.authorize_pass_role(role, "sns.amazonaws.com", topic_arn)
        except AccessDenied as exc:
            raise error("AuthorizationError", exc.message, status=403) from None

    def _save_topic(self, ctx: RequestContext, doc: dict[str, Any]) -> None:
        ctx.store.put(doc["arn"], doc, kind=TOPIC, account_id=doc["account"], region=doc["region"])

    def _subs(self, ctx: RequestContext, topic_arn: str | None = None) -> list[dict[str, Any]]:
        """Subscriptions of the caller's account and region, or of one topic (its own)."""
        if topic_arn:
            parts = topic_arn.split(":")
            subs = ctx.store.list(SUB, account_id=parts[4], region=parts[3])
            return [s for s in subs if s["TopicArn"] == topic_arn]
        return ctx.store.list(SUB, account_id=ctx.account_id, region=ctx.region)

    def _check_topic_attribute(self, name: str, value: str, fifo: bool) -> None:
        if name not in TOPIC_ATTRIBUTES:
            raise invalid(f"Invalid parameter: AttributeName: {name}" if name not in READ_ONLY
                          else "Invalid parameter: AttributeName")
        if name == "SignatureVersion" and value not in ("1", "2"):
            raise invalid("Invalid parameter: SignatureVersion")
        if name == "TracingConfig" and value not in ("PassThrough", "Active"):
            raise invalid("Invalid parameter: TracingConfig")
        if name == "DisplayName" and len(value) > 100:
            raise invalid("Invalid parameter: DisplayName")
        if name == "ContentBasedDeduplication":
            if value not in ("true", "false"):
                raise invalid("Invalid parameter: ContentBasedDeduplication")
            if value == "true" and not fifo:
                raise invalid("Invalid parameter: ContentBasedDeduplication Reason: Content-based deduplication "
                              "can only be set for FIFO topics")
        if name == "FifoThroughputScope" and (not fifo or value not in ("Topic", "MessageGroup")):
            raise invalid("Invalid parameter: FifoThroughputScope")
        if name == "ArchivePolicy":
            if not fifo:
                raise invalid("Invalid parameter: ArchivePolicy Reason: archiving is available for FIFO topics only")
            archive.retention_days(value)
        if name == "Policy":
            try:
                if not isinstance(json.loads(value), dict):
                    raise ValueError
            except ValueError:
                raise invalid("Invalid parameter: Policy Error: null") from None
        if name.endswith("FeedbackRoleArn") and value and not re.match(r"^arn:aws:iam::\d{12}:role/.+", value):
            raise invalid(f"Invalid parameter: {name}")
        if name.endswith("FeedbackSampleRate") and not (value.isdigit() and 0 <= int(value) <= 100):
            raise invalid(f"Invalid parameter: {name}")
        if name == "DeliveryPolicy" and value:
            try:
                delivery_policy.check_topic_policy(value)
            except delivery_policy.PolicyError as exc:
                raise invalid(f"Invalid parameter: DeliveryPolicy: {exc}") from None

    # -- topics -----------------------------------------------------------------------

    def create_topic(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request["Name"]
        attrs = dict(request.get("Attributes") or {})
        fifo = attrs.get("FifoTopic", "false").lower() == "true"
        base = name[:-5] if name.endswith(".fifo") else name
        if not _NAME.match(base) or (name.endswith(".fifo") and not fifo) or (fifo and not name.endswith(".fifo")):
            raise invalid("Invalid parameter: Topic Name")
        arn = f"arn:aws:sns:{ctx.region}:{ctx.account_id}:{name}"
        tags = check_tags(request.get("Tags") or [])
        ctx.authorize("sns:CreateTopic", arn, tag_keys(tags))
        for key, value in attrs.items():
            if key != "FifoTopic":
                self._check_topic_attribute(key, value, fifo)
            if key.endswith("FeedbackRoleArn") and value:
                # handing SNS a role to log with is passing it (iam:PassRole)
                self._pass_role(ctx, value, arn)
        existing = ctx.store.get(arn)
        if existing is not None:
            # same name and attributes: the same topic; other attributes: an error
            # (https://docs.aws.amazon.com/sns/latest/api/API_CreateTopic.html)
            current = existing["Attributes"]
            if any(current.get(k, "false" if k == "FifoTopic" else "") != v for k, v in attrs.items()):
                raise invalid("Invalid parameter: Attributes Reason: Topic already exists with different attributes")
            return {"TopicArn": arn}
        attributes = {"TopicArn": arn, "Owner": ctx.account_id, "DisplayName": "",
                      "Policy": json.dumps(default_policy(arn, ctx.account_id))}
        attributes.update({k: v for k, v in attrs.items() if k != "FifoTopic"})
        if fifo:
            attributes["FifoTopic"] = "true"
            attributes.setdefault("ContentBasedDeduplication", "false")
        doc = {"kind": "topic", "arn": arn, "account": ctx.account_id, "region": ctx.region,
               "Attributes": attributes, "Tags": tags}
        if request.get("DataProtectionPolicy"):
            doc["DataProtectionPolicy"] = self._check_data_protection(request["DataProtectionPolicy"])
        if archive.retention_days(attributes.get("ArchivePolicy")) is not None:
            doc["archiveStart"] = ctx.time()
        self._save_topic(ctx, doc)
        return {"TopicArn": arn}

    def delete_topic(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        arn = request["TopicArn"]
        doc = ctx.store.get(arn)
        if doc is None or doc.get("kind") != "topic":
            ctx.authorize("sns:DeleteTopic", arn, {})
            raise not_found()
        self._authorize(ctx, "sns:DeleteTopic", doc)
        with ctx.store.transaction():
            for sub in self._subs(ctx, arn):
                ctx.store.delete(sub["SubscriptionArn"])
            ctx.store.delete(arn)
        return {}

    def list_topics(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ctx.authorize("sns:ListTopics", f"arn:aws:sns:{ctx.region}:{ctx.account_id}:*", {})
        topics = ctx.store.list(TOPIC, account_id=ctx.account_id, region=ctx.region)
        return page([{"TopicArn": t["arn"]} for t in topics], request, "Topics")

    def get_topic_attributes(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        doc = self._topic(ctx, request.get("TopicArn"))
        self._authorize(ctx, "sns:GetTopicAttributes", doc)
        subs = self._subs(ctx, doc["arn"])
        attrs = dict(doc["Attributes"])
        attrs["SubscriptionsConfirmed"] = str(sum(1 for s in subs if not s.get("pending")))
        attrs["SubscriptionsPending"] = str(sum(1 for s in subs if s.get("pending")))
        attrs["SubscriptionsDeleted"] = "0"
        attrs["EffectiveDeliveryPolicy"] = json.dumps(delivery_policy.topic_effective(attrs.get("DeliveryPolicy")))
        if doc.get("archiveStart"):
            attrs["BeginningArchiveTime"] = datetime.fromtimestamp(doc["archiveStart"], UTC).strftime(
                "%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        return {"Attributes": attrs}

    def set_topic_attributes(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        doc = self._topic(ctx, request.get("TopicArn"))
        self._authorize(ctx, "sns:SetTopicAttributes", doc)
        name, value = request["AttributeName"], request.get("AttributeValue") or ""
        if name == "FifoTopic":
            raise invalid("Invalid parameter: AttributeName")
        self._check_topic_attribute(name, value, doc["Attributes"].get("FifoTopic") == "true")
        if name.endswith("FeedbackRoleArn") and value:
            self._pass_role(ctx, value, doc["arn"])
        if name == "Policy" and not value:
            value = json.dumps(default_policy(doc["arn"], doc["account"]))
        if value == "" and name not in ("DisplayName", "Policy"):
            doc["Attributes"].pop(name, None)
        else:
            doc["Attributes"][name] = value
        if name == "ArchivePolicy":
            archiving = archive.retention_days(value) is not None
            if archiving and not doc.get("archiveStart"):
                doc["archiveStart"] = ctx.time()
            elif not archiving:
                doc.pop("archiveStart", None)
        self._save_topic(ctx, doc)
        if name == "ArchivePolicy" and not doc.get("archiveStart"):
            self._expire_archives(ctx.time())  # archiving stopped: the archive goes
        return {}

    # -- permissions and data protection --------------------------------------------

    def add_permission(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        doc = self._topic(ctx, request.get("TopicArn"))
        self._authorize(ctx, "sns:AddPermission", doc)
        policy = json.loads(doc["Attributes"]["Policy"])
        label = request["Label"]
        if not re.match(r"^[A-Za-z0-9_-]{1,80}$", label):
            raise invalid("Invalid parameter: Label")
        if any(st.get("Sid") == label for st in policy.get("Statement", [])):
            raise invalid("Invalid parameter: Statement already exists")
        accounts = request.get("AWSAccountId") or []
        actions = request.get("ActionName") or []
        if not accounts or not actions:
            raise invalid("Invalid parameter: AWSAccountId and ActionName are required")
        principals = [f"arn:aws:iam::{a}:root" for a in accounts]
        policy.setdefault("Statement", []).append({
            "Sid": label, "Effect": "Allow",
            "Principal": {"AWS": principals[0] if len(principals) == 1 else principals},
            "Action": [f"SNS:{a}" for a in actions], "Resource": doc["arn"]})
        doc["Attributes"]["Policy"] = json.dumps(policy)
        self._save_topic(ctx, doc)
        return {}

    def remove_permission(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        doc = self._topic(ctx, request.get("TopicArn"))
        self._authorize(ctx, "sns:RemovePermission", doc)
        policy = json.loads(doc["Attributes"]["Policy"])
        policy["Statement"] = [st for st in policy.get("Statement", []) if st.get("Sid") != request["Label"]]
        doc["Attributes"]["Policy"] = json.dumps(policy)
        self._save_topic(ctx, doc)
        return {}

    @staticmethod
    def _check_data_protection(text: str) -> str:
        """The policy's shape: Name, Version 2021-06-01, Statement entries with
        DataDirection, Principal, DataIdentifier and one Operation (Audit, Deny or
        Deidentify). Stored and returned; mamori doesn't scan messages with it (AWS
        closed message data protection to new customers in 2026).
        https://docs.aws.amazon.com/sns/latest/dg/sns-message-data-protection-policies.html"""
        try:
            doc = json.loads(text)
        except ValueError:
            raise invalid("Invalid parameter: DataProtectionPolicy Reason: not valid JSON") from None
        if not isinstance(doc, dict) or not isinstance(doc.get("Statement", []), list):
            raise invalid("Invalid parameter: DataProtectionPolicy Reason: Statement must be a list")
        if not doc.get("Name") or doc.get("Version") != "2021-06-01":
            raise invalid("Invalid parameter: DataProtectionPolicy Reason: Name and Version 2021-06-01 are required")
        for st in doc.get("Statement", []):
            operation = st.get("Operation") if isinstance(st, dict) else None
            if (not isinstance(operation, dict) or len(operation) != 1
                    or next(iter(operation)) not in ("Audit", "Deny", "Deidentify")
                    or st.get("DataDirection") not in ("Inbound", "Outbound")
                    or not isinstance(st.get("DataIdentifier"), list) or not st["DataIdentifier"]):
                raise invalid("Invalid parameter: DataProtectionPolicy Reason: each statement needs DataDirection "
                              "(Inbound or Outbound), DataIdentifier and one Operation (Audit, Deny or Deidentify)")
        return text

    def put_data_protection_policy(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        doc = self._topic(ctx, request.get("ResourceArn"))
        self._authorize(ctx, "sns:PutDataProtectionPolicy", doc)
        doc["DataProtectionPolicy"] = self._check_data_protection(request["DataProtectionPolicy"])
        self._save_topic(ctx, doc)
        return {}

    def get_data_protection_policy(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        doc = self._topic(ctx, request.get("ResourceArn"))
        self._authorize(ctx, "sns:GetDataProtectionPolicy", doc)
        return {"DataProtectionPolicy": doc.get("DataProtectionPolicy", "")}

    # -- tags -------------------------------------------------------------------------

    def tag_resource(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        doc = self._topic(ctx, request.get("ResourceArn"))
        tags = {t["Key"]: t["Value"] for t in request.get("Tags") or []}
        ctx.authorize("sns:TagResource", doc["arn"], tag_keys(tags))
        check_tags(request.get("Tags") or [])
        doc["Tags"].update(tags)
        if len(doc["Tags"]) > 50:
            raise error("TagLimitExceeded", "Could not complete request: tag quota of per resource exceeded", status=400)
        self._save_topic(ctx, doc)
        return {}

    def untag_resource(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        doc = self._topic(ctx, request.get("ResourceArn"))
        ctx.authorize("sns:UntagResource", doc["arn"], {"aws:TagKeys": list(request.get("TagKeys") or [])})
        for key in request.get("TagKeys") or []:
            doc["Tags"].pop(key, None)
        self._save_topic(ctx, doc)
        return {}

    def list_tags_for_resource(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        doc = self._topic(ctx, request.get("ResourceArn"))
        ctx.authorize("sns:ListTagsForResource", doc["arn"], {})
        return {"Tags": [{"Key": k, "Value": v} for k, v in doc["Tags"].items()]}
