"""Amazon SNS: topics, subscriptions and Publish (first cut).

    create_topic / delete_topic / list_topics / get_topic_attributes / set_topic_attributes
    subscribe / unsubscribe / confirm_subscription / list_subscriptions(_by_topic)
    get_subscription_attributes / set_subscription_attributes
    publish / publish_batch  sqs subscribers through runtime.invoke("sqs", "SendMessage")
                             as sns.amazonaws.com (the queue policy decides); email and
                             email-json to the local mailbox (mail.py); other protocols
                             recorded in the store as an outbox
    tag_resource / untag_resource / list_tags_for_resource

Not yet: http(s) confirmation and signing, filter policies, FIFO dedup, KMS, retries.
Default topic policy: AWS's (Principal AWS "*", condition AWS:SourceOwner = the account)
https://docs.aws.amazon.com/sns/latest/dg/sns-access-policy-use-cases.html
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from mamori.errors import AccessDenied, error
from mamori.gateway.context import Principal, RequestContext, with_resource_policy
from mamori.services.base import Provider
from mamori.services.sns import filters, mail

TOPIC = "sns-topic"
SUB = "sns-subscription"
MAX_MESSAGE = 262144
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
PROTOCOLS = {"http", "https", "email", "email-json", "sms", "sqs", "application", "lambda", "firehose"}


def _invalid(message: str) -> Exception:
    return error("InvalidParameter", message, status=400)


def _not_found(message: str = "Topic does not exist") -> Exception:
    return error("NotFound", message, status=404)


def default_policy(arn: str, account: str) -> dict[str, Any]:
    actions = ["SNS:GetTopicAttributes", "SNS:SetTopicAttributes", "SNS:AddPermission",
               "SNS:RemovePermission", "SNS:DeleteTopic", "SNS:Subscribe",
               "SNS:ListSubscriptionsByTopic", "SNS:Publish"]
    return {"Version": "2008-10-17", "Id": "__default_policy_ID", "Statement": [{
        "Sid": "__default_statement_ID", "Effect": "Allow", "Principal": {"AWS": "*"},
        "Action": actions, "Resource": arn,
        "Condition": {"StringEquals": {"AWS:SourceOwner": account}}}]}


class SnsProvider(Provider):
    service = "sns"

    # -- helpers ----------------------------------------------------------------------

    def _topic(self, ctx: RequestContext, arn: str | None) -> dict[str, Any]:
        if not arn:
            raise _invalid("Invalid parameter: TopicArn")
        doc = ctx.store.get(arn)
        if doc is None or doc.get("kind") != "topic":
            raise _not_found()
        return doc

    def _authorize(self, ctx: RequestContext, action: str, topic: dict[str, Any]) -> None:
        policy = json.loads(topic["Attributes"]["Policy"])
        try:
            ctx.authorize(action, topic["arn"],
                          with_resource_policy({}, policy, account=topic["account"]))
        except AccessDenied as exc:
            # SNS answers a denial with its own code, AuthorizationError (403)
            raise error("AuthorizationError", exc.message, status=403) from None

    def _save_topic(self, ctx: RequestContext, doc: dict[str, Any]) -> None:
        ctx.store.put(doc["arn"], doc, kind=TOPIC, account_id=doc["account"], region=doc["region"])

    def _subs(self, ctx: RequestContext, topic_arn: str | None = None) -> list[dict[str, Any]]:
        subs = ctx.store.list(SUB, account_id=ctx.account_id, region=ctx.region)
        return [s for s in subs if topic_arn is None or s["TopicArn"] == topic_arn]

    # -- topics -----------------------------------------------------------------------

    def create_topic(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request["Name"]
        attrs = dict(request.get("Attributes") or {})
        fifo = attrs.get("FifoTopic", "false").lower() == "true"
        base = name[:-5] if name.endswith(".fifo") else name
        if not _NAME.match(base) or (name.endswith(".fifo") and not fifo) or (fifo and not name.endswith(".fifo")):
            raise _invalid("Invalid parameter: Topic Name")
        arn = f"arn:aws:sns:{ctx.region}:{ctx.account_id}:{name}"
        ctx.authorize("sns:CreateTopic", arn, {})
        existing = ctx.store.get(arn)
        if existing is not None:
            return {"TopicArn": arn}
        attributes = {
            "TopicArn": arn, "Owner": ctx.account_id, "DisplayName": attrs.get("DisplayName", ""),
            "Policy": attrs.get("Policy") or json.dumps(default_policy(arn, ctx.account_id)),
            "EffectiveDeliveryPolicy": json.dumps({"http": {"defaultHealthyRetryPolicy": {
                "minDelayTarget": 20, "maxDelayTarget": 20, "numRetries": 3, "numMaxDelayRetries": 0,
                "numNoDelayRetries": 0, "numMinDelayRetries": 0, "backoffFunction": "linear"},
                "disableSubscriptionOverrides": False, "defaultRequestPolicy": {"headerContentType": "text/plain; charset=UTF-8"}}}),
        }
        for key, value in attrs.items():
            if key not in attributes or key == "DisplayName":
                attributes[key] = value
        if fifo:
            attributes["FifoTopic"] = "true"
            attributes.setdefault("ContentBasedDeduplication", "false")
        doc = {"kind": "topic", "arn": arn, "account": ctx.account_id, "region": ctx.region,
               "Attributes": attributes, "Tags": {t["Key"]: t["Value"] for t in request.get("Tags") or []}}
        self._save_topic(ctx, doc)
        return {"TopicArn": arn}

    def delete_topic(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        arn = request["TopicArn"]
        doc = ctx.store.get(arn)
        if doc is None:
            ctx.authorize("sns:DeleteTopic", arn, {})
            return {}
        self._authorize(ctx, "sns:DeleteTopic", doc)
        for sub in self._subs(ctx, arn):
            ctx.store.delete(sub["SubscriptionArn"])
        ctx.store.delete(arn)
        return {}

    def list_topics(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ctx.authorize("sns:ListTopics", f"arn:aws:sns:{ctx.region}:{ctx.account_id}:*", {})
        topics = ctx.store.list(TOPIC, account_id=ctx.account_id, region=ctx.region)
        return {"Topics": [{"TopicArn": t["arn"]} for t in topics]}

    def get_topic_attributes(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        doc = self._topic(ctx, request.get("TopicArn"))
        self._authorize(ctx, "sns:GetTopicAttributes", doc)
        subs = self._subs(ctx, doc["arn"])
        attrs = dict(doc["Attributes"])
        attrs["SubscriptionsConfirmed"] = str(sum(1 for s in subs if not s.get("pending")))
        attrs["SubscriptionsPending"] = str(sum(1 for s in subs if s.get("pending")))
        attrs["SubscriptionsDeleted"] = "0"
        return {"Attributes": attrs}

    def set_topic_attributes(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        doc = self._topic(ctx, request.get("TopicArn"))
        self._authorize(ctx, "sns:SetTopicAttributes", doc)
        name, value = request["AttributeName"], request.get("AttributeValue", "")
        if name in ("TopicArn", "Owner", "FifoTopic"):
            raise _invalid("Invalid parameter: AttributeName")
        if name == "Policy":
            try:
                json.loads(value)
            except ValueError:
                raise _invalid("Invalid parameter: Policy Error: null") from None
        doc["Attributes"][name] = value
        self._save_topic(ctx, doc)
        return {}

    def add_permission(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        doc = self._topic(ctx, request.get("TopicArn"))
        self._authorize(ctx, "sns:AddPermission", doc)
        policy = json.loads(doc["Attributes"]["Policy"])
        label = request["Label"]
        if any(st.get("Sid") == label for st in policy.get("Statement", [])):
            raise _invalid("Invalid parameter: Statement already exists")
        principals = [f"arn:aws:iam::{a}:root" for a in request.get("AWSAccountId") or []]
        policy.setdefault("Statement", []).append({
            "Sid": label, "Effect": "Allow",
            "Principal": {"AWS": principals[0] if len(principals) == 1 else principals},
            "Action": [f"SNS:{a}" for a in request.get("ActionName") or []], "Resource": doc["arn"]})
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

    def put_data_protection_policy(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        doc = self._topic(ctx, request.get("ResourceArn"))
        self._authorize(ctx, "sns:PutDataProtectionPolicy", doc)
        try:
            json.loads(request["DataProtectionPolicy"])
        except ValueError:
            raise _invalid("Invalid parameter: DataProtectionPolicy") from None
        doc["DataProtectionPolicy"] = request["DataProtectionPolicy"]
        self._save_topic(ctx, doc)
        return {}

    def get_data_protection_policy(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        doc = self._topic(ctx, request.get("ResourceArn"))
        self._authorize(ctx, "sns:GetDataProtectionPolicy", doc)
        return {"DataProtectionPolicy": doc.get("DataProtectionPolicy", "")}

    # -- subscriptions ----------------------------------------------------------------

    def subscribe(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        doc = self._topic(ctx, request.get("TopicArn"))
        protocol = (request.get("Protocol") or "").lower()
        endpoint = request.get("Endpoint") or ""
        self._authorize(ctx, "sns:Subscribe", doc)
        if protocol not in PROTOCOLS:
            raise _invalid("Invalid parameter: Amazon SNS does not support this protocol string: " + protocol)
        if protocol == "sqs" and not endpoint.startswith("arn:aws:sqs:"):
            raise _invalid("Invalid parameter: SQS endpoint ARN")
        if protocol in ("email", "email-json") and "@" not in endpoint:
            raise _invalid("Invalid parameter: Email address")
        for sub in self._subs(ctx, doc["arn"]):
            if sub["Protocol"] == protocol and sub["Endpoint"] == endpoint:
                return {"SubscriptionArn": "pending confirmation" if sub.get("pending") and not request.get("ReturnSubscriptionArn") else sub["SubscriptionArn"]}
        sub_arn = f"{doc['arn']}:{uuid.uuid4()}"
        pending = protocol in ("email", "email-json", "http", "https")
        token = uuid.uuid4().hex + uuid.uuid4().hex
        sub = {"SubscriptionArn": sub_arn, "TopicArn": doc["arn"], "Protocol": protocol,
               "Endpoint": endpoint, "Owner": ctx.account_id, "pending": pending,
               "Attributes": dict(request.get("Attributes") or {})}
        ctx.store.put(sub_arn, sub, kind=SUB, account_id=ctx.account_id, region=ctx.region,
                      secret=token.encode())
        if pending and protocol.startswith("email"):
            mail.deliver(ctx.store, ctx.account_id, ctx.region, str(uuid.uuid4()), {
                "to": endpoint, "subject": "AWS Notification - Subscription Confirmation",
                "body": f"You have chosen to subscribe to the topic: {doc['arn']}\n"
                        f"Token={token}", "time": ctx.time(), "TopicArn": doc["arn"]})
        shown = sub_arn if (not pending or request.get("ReturnSubscriptionArn")) else "pending confirmation"
        return {"SubscriptionArn": shown}

    def confirm_subscription(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        doc = self._topic(ctx, request.get("TopicArn"))
        ctx.authorize("sns:ConfirmSubscription", doc["arn"], {})
        for sub in self._subs(ctx, doc["arn"]):
            secret = ctx.store.get_secret(sub["SubscriptionArn"])
            if secret is not None and secret.decode() == request.get("Token"):
                sub["pending"] = False
                ctx.store.put(sub["SubscriptionArn"], sub, kind=SUB, account_id=ctx.account_id, region=ctx.region)
                return {"SubscriptionArn": sub["SubscriptionArn"]}
        raise _invalid("Invalid token")

    def _sub(self, ctx: RequestContext, arn: str) -> dict[str, Any]:
        sub = ctx.store.get(arn)
        if sub is None or "Protocol" not in sub:
            raise _not_found("Subscription does not exist")
        return sub

    def unsubscribe(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        arn = request["SubscriptionArn"]
        ctx.authorize("sns:Unsubscribe", arn, {})
        sub = self._sub(ctx, arn)
        ctx.store.delete(sub["SubscriptionArn"])
        return {}

    def _public(self, sub: dict[str, Any]) -> dict[str, Any]:
        return {"SubscriptionArn": "PendingConfirmation" if sub.get("pending") else sub["SubscriptionArn"],
                "Owner": sub["Owner"], "Protocol": sub["Protocol"], "Endpoint": sub["Endpoint"],
                "TopicArn": sub["TopicArn"]}

    def list_subscriptions(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ctx.authorize("sns:ListSubscriptions", f"arn:aws:sns:{ctx.region}:{ctx.account_id}:*", {})
        return {"Subscriptions": [self._public(s) for s in self._subs(ctx)]}

    def list_subscriptions_by_topic(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        doc = self._topic(ctx, request.get("TopicArn"))
        self._authorize(ctx, "sns:ListSubscriptionsByTopic", doc)
        return {"Subscriptions": [self._public(s) for s in self._subs(ctx, doc["arn"])]}

    def get_subscription_attributes(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        arn = request["SubscriptionArn"]
        ctx.authorize("sns:GetSubscriptionAttributes", arn, {})
        sub = self._sub(ctx, arn)
        attrs = {"SubscriptionArn": sub["SubscriptionArn"], "TopicArn": sub["TopicArn"],
                 "Owner": sub["Owner"], "Protocol": sub["Protocol"], "Endpoint": sub["Endpoint"],
                 "PendingConfirmation": str(bool(sub.get("pending"))).lower(),
                 "ConfirmationWasAuthenticated": "false",
                 "RawMessageDelivery": "false"}
        attrs.update(sub["Attributes"])
        return {"Attributes": attrs}

    def set_subscription_attributes(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        arn = request["SubscriptionArn"]
        ctx.authorize("sns:SetSubscriptionAttributes", arn, {})
        sub = self._sub(ctx, arn)
        name = request["AttributeName"]
        if name not in ("DeliveryPolicy", "FilterPolicy", "FilterPolicyScope", "RawMessageDelivery",
                        "RedrivePolicy", "SubscriptionRoleArn", "ReplayPolicy"):
            raise _invalid("Invalid parameter: AttributeName")
        if name == "FilterPolicy" and request.get("AttributeValue"):
            problem = filters.validate(request["AttributeValue"])
            if problem:
                raise _invalid(f"Invalid parameter: FilterPolicy: {problem}")
        sub["Attributes"][name] = request.get("AttributeValue", "")
        ctx.store.put(arn, sub, kind=SUB, account_id=ctx.account_id, region=ctx.region)
        return {}

    # -- publish ----------------------------------------------------------------------

    def publish(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        arn = request.get("TopicArn") or request.get("TargetArn")
        if request.get("PhoneNumber"):
            ctx.authorize("sns:Publish", "*", {})
            raise _invalid("Invalid parameter: PhoneNumber publishing is not supported yet")
        doc = self._topic(ctx, arn)
        self._authorize(ctx, "sns:Publish", doc)
        message = request.get("Message")
        if message is None or message == "":
            raise _invalid("Invalid parameter: Empty message")
        attrs = request.get("MessageAttributes") or {}
        size = len(message.encode()) + sum(len(k) + len(json.dumps(v, default=str)) for k, v in attrs.items())
        if size > MAX_MESSAGE:
            raise _invalid("Invalid parameter: Message too long")
        fifo = doc["Attributes"].get("FifoTopic") == "true"
        if fifo and not request.get("MessageGroupId"):
            raise _invalid("Invalid parameter: The MessageGroupId parameter is required for FIFO topics")
        self._kms(ctx, doc)
        message_id = str(uuid.uuid4())
        if fifo:
            dedup = request.get("MessageDeduplicationId")
            if not dedup:
                if doc["Attributes"].get("ContentBasedDeduplication") != "true":
                    raise _invalid("Invalid parameter: The topic should either have ContentBasedDeduplication "
                                   "enabled or MessageDeduplicationId provided explicitly")
                import hashlib

                dedup = hashlib.sha256(message.encode()).hexdigest()
            # deduplication interval: 5 minutes, on the mamori clock
            # https://docs.aws.amazon.com/sns/latest/dg/fifo-message-dedup.html
            key = f"mamori:sns-dedup:{doc['arn']}:{dedup}"
            seen = ctx.store.get(key)
            if seen is not None and ctx.time() - seen["time"] < 300:
                return {"MessageId": seen["MessageId"], "SequenceNumber": seen["SequenceNumber"]}
            sequence = str(int(ctx.time() * 1000000)).rjust(20, "0")
            ctx.store.put(key, {"time": ctx.time(), "MessageId": message_id, "SequenceNumber": sequence},
                          kind="sns-dedup", account_id=doc["account"], region=doc["region"])
        for sub in self._subs(ctx, doc["arn"]):
            if not sub.get("pending") and self._wanted(sub, request):
                self._deliver(ctx, doc, sub, message_id, request)
        out = {"MessageId": message_id}
        if fifo:
            out["SequenceNumber"] = sequence
        return out

    def publish_batch(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        doc = self._topic(ctx, request.get("TopicArn"))
        self._authorize(ctx, "sns:Publish", doc)
        entries = request.get("PublishBatchRequestEntries") or []
        if not entries:
            raise error("EmptyBatchRequest", "The batch request doesn't contain any entries", status=400)
        if len(entries) > 10:
            raise error("TooManyEntriesInBatchRequest", "The batch request contains more entries than permissible",
                        status=400)
        ids = [e.get("Id") for e in entries]
        if len(set(ids)) != len(ids):
            raise error("BatchEntryIdsNotDistinct", "Two or more batch entries in the request have the same Id",
                        status=400)
        total = sum(len((e.get("Message") or "").encode()) for e in entries)
        if total > MAX_MESSAGE:
            raise error("BatchRequestTooLong", "The length of all the messages put together is more than the limit",
                        status=400)
        ok, failed = [], []
        for entry in entries:
            single = dict(entry, TopicArn=doc["arn"])
            try:
                out = self.publish(ctx, single)
            except Exception as exc:  # noqa: BLE001 - per-entry errors, as AWS reports them
                failed.append({"Id": entry["Id"], "Code": getattr(exc, "code", "InternalError"),
                               "Message": getattr(exc, "message", "error"), "SenderFault": True})
                continue
            ok.append(dict(out, Id=entry["Id"]))
        return {"Successful": ok, "Failed": failed}

    def _kms(self, ctx: RequestContext, doc: dict[str, Any]) -> None:
        """An SSE topic: the publisher needs kms:GenerateDataKey on the key, asked as the
        caller through sns.amazonaws.com; KMS failures answer SNS's KMS* codes.
        https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html"""
        key = doc["Attributes"].get("KmsMasterKeyId")
        if not key:
            return
        from mamori.errors import AwsError

        codes = {"NotFoundException": "KMSNotFound", "DisabledException": "KMSDisabled",
                 "KMSInvalidStateException": "KMSInvalidState", "AccessDeniedException": "KMSAccessDenied",
                 "AccessDenied": "KMSAccessDenied", "InvalidKeyUsageException": "KMSInvalidState"}
        try:
            self.runtime.invoke("kms", "GenerateDataKey", {"KeyId": key, "KeySpec": "AES_256"},
                                parent=ctx, via="sns.amazonaws.com")
        except AwsError as exc:
            code = codes.get(exc.code, "KMSOptInRequired" if exc.code == "NotImplemented" else "KMSInvalidState")
            raise error(code, exc.message, status=400) from None

    def _wanted(self, sub: dict[str, Any], request: dict[str, Any]) -> bool:
        policy = sub["Attributes"].get("FilterPolicy")
        if not policy:
            return True
        scope = sub["Attributes"].get("FilterPolicyScope") or "MessageAttributes"
        return filters.matches(policy, scope, request["Message"], request.get("MessageAttributes") or {})

    def _envelope(self, ctx: RequestContext, doc: dict[str, Any], sub: dict[str, Any], message_id: str,
                  request: dict[str, Any]) -> dict[str, Any]:
        body: dict[str, Any] = {"Type": "Notification", "MessageId": message_id, "TopicArn": doc["arn"]}
        if request.get("Subject"):
            body["Subject"] = request["Subject"]
        body["Message"] = request["Message"]
        body["Timestamp"] = ctx.now().strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        body["UnsubscribeURL"] = f"https://sns.{ctx.region}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={sub['SubscriptionArn']}"
        attrs = request.get("MessageAttributes") or {}
        if attrs:
            body["MessageAttributes"] = {k: {"Type": v.get("DataType"), "Value": v.get("StringValue")}
                                         for k, v in attrs.items()}
        return body

    def _deliver(self, ctx: RequestContext, doc: dict[str, Any], sub: dict[str, Any], message_id: str,
                 request: dict[str, Any]) -> None:
        body = self._envelope(ctx, doc, sub, message_id, request)
        raw = sub["Attributes"].get("RawMessageDelivery") == "true"
        protocol = sub["Protocol"]
        if protocol == "sqs":
            params: dict[str, Any] = {"QueueUrl": self._queue_url(sub["Endpoint"]),
                                      "MessageBody": request["Message"] if raw else json.dumps(body)}
            if raw and request.get("MessageAttributes"):
                params["MessageAttributes"] = request["MessageAttributes"]
            if request.get("MessageGroupId"):
                params["MessageGroupId"] = request["MessageGroupId"]
                params["MessageDeduplicationId"] = request.get("MessageDeduplicationId") or message_id
            try:
                self.runtime.invoke("sqs", "SendMessage", params,
                                    principal=Principal.service("sns.amazonaws.com", doc["account"]),
                                    source_arn=doc["arn"], source_account=doc["account"])
            except Exception:  # noqa: BLE001 - a failed delivery is recorded, never raised to the publisher
                self._outbox(ctx, sub, body, "failed")
        elif protocol in ("email", "email-json"):
            text = json.dumps(body) if protocol == "email-json" else request["Message"]
            mail.deliver(ctx.store, doc["account"], doc["region"], message_id + sub["SubscriptionArn"][-8:], {
                "to": sub["Endpoint"], "subject": request.get("Subject") or "AWS Notification Message",
                "body": text, "time": ctx.time(), "TopicArn": doc["arn"], "MessageId": message_id})
        else:
            self._outbox(ctx, sub, body, "failed" if protocol == "lambda" else "delivered")

    def _outbox(self, ctx: RequestContext, sub: dict[str, Any], body: dict[str, Any], status: str) -> None:
        arn = f"mamori:sns-outbox:{uuid.uuid4()}"
        ctx.store.put(arn, {"subscription": sub["SubscriptionArn"], "protocol": sub["Protocol"],
                            "endpoint": sub["Endpoint"], "status": status, "body": body},
                      kind="sns-outbox", account_id=ctx.account_id, region=ctx.region)

    def _queue_url(self, queue_arn: str) -> str:
        _, _, _, region, account, name = queue_arn.split(":", 5)
        return f"https://sqs.{region}.amazonaws.com/{account}/{name}"

    # -- tags -------------------------------------------------------------------------

    def tag_resource(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        doc = self._topic(ctx, request.get("ResourceArn"))
        ctx.authorize("sns:TagResource", doc["arn"], {})
        doc["Tags"].update({t["Key"]: t["Value"] for t in request.get("Tags") or []})
        if len(doc["Tags"]) > 50:
            raise error("TagLimitExceeded", "Could not complete request: tag quota of per resource exceeded", status=400)
        self._save_topic(ctx, doc)
        return {}

    def untag_resource(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        doc = self._topic(ctx, request.get("ResourceArn"))
        ctx.authorize("sns:UntagResource", doc["arn"], {})
        for key in request.get("TagKeys") or []:
            doc["Tags"].pop(key, None)
        self._save_topic(ctx, doc)
        return {}

    def list_tags_for_resource(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        doc = self._topic(ctx, request.get("ResourceArn"))
        ctx.authorize("sns:ListTagsForResource", doc["arn"], {})
        return {"Tags": [{"Key": k, "Value": v} for k, v in doc["Tags"].items()]}
