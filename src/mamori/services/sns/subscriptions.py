"""Subscriptions (mixed into the provider): subscribe, confirm, unsubscribe, lists and
subscription attributes.

Subscription doc: kind "sns-subscription", keyed by its ARN, {"TopicArn", "Protocol",
"Endpoint", "Owner", "pending", "Attributes", "tokenExpires", "authenticated"}; the
confirmation token is sealed as the resource's secret.

Confirmation: email and email-json get a mail, http/https a signed
SubscriptionConfirmation POST whose SubscribeURL points back at mamori
(`<endpoint>/?Action=ConfirmSubscription&TopicArn=...&Token=...`): a plain GET
confirms, unsigned, as in AWS (the gateway lets ConfirmSubscription and Unsubscribe
through without a signature; the token is the credential). Tokens expire after two
days. The UnsubscribeURL works the same way unless the subscription was confirmed with
AuthenticateOnUnsubscribe=true. Unsubscribing an http/s endpoint sends it an
UnsubscribeConfirmation whose SubscribeURL restores the subscription.
https://docs.aws.amazon.com/sns/latest/api/API_ConfirmSubscription.html
https://docs.aws.amazon.com/sns/latest/dg/http-subscription-confirmation-json.html
https://docs.aws.amazon.com/sns/latest/dg/http-unsubscribe-confirmation-json.html
"""

from __future__ import annotations

import json
import secrets
import uuid
from typing import Any

from mamori.errors import AccessDenied, error
from mamori.gateway.context import RequestContext, with_resource_policy
from mamori.services.sns import delivery_policy, filters, mail
from mamori.services.sns.delivery import timestamp
from mamori.services.sns.paging import page

SUB = "sns-subscription"
UNSUBSCRIBED = "sns-unsubscribed"
PROTOCOLS = {"http", "https", "email", "email-json", "sms", "sqs", "application", "lambda", "firehose"}
PENDING = {"email", "email-json", "http", "https"}
RAW_PROTOCOLS = {"http", "https", "sqs", "firehose"}
SUB_ATTRIBUTES = {"DeliveryPolicy", "FilterPolicy", "FilterPolicyScope", "RawMessageDelivery", "RedrivePolicy",
                  "SubscriptionRoleArn", "ReplayPolicy"}
TOKEN_LIFETIME = 2 * 86400  # "Confirmation tokens are valid for two days." (API_Subscribe.html)


def _invalid(message: str) -> Exception:
    return error("InvalidParameter", message, status=400)


def _not_found(message: str) -> Exception:
    return error("NotFound", message, status=404)


class SubscriptionsMixin:
    runtime: Any

    # -- validation ------------------------------------------------------------------

    def _check_endpoint(self, ctx: RequestContext, topic: dict[str, Any], protocol: str, endpoint: str) -> str:
        fifo = topic["Attributes"].get("FifoTopic") == "true"
        if protocol not in PROTOCOLS:
            raise _invalid("Invalid parameter: Amazon SNS does not support this protocol string: " + protocol)
        if fifo and protocol != "sqs":
            # FIFO topics deliver to SQS FIFO queues only
            # (https://docs.aws.amazon.com/sns/latest/dg/fifo-message-delivery.html)
            raise _invalid(f"Invalid parameter: Invalid protocol type: {protocol}")
        if fifo and not endpoint.endswith(".fifo"):
            raise _invalid("Invalid parameter: Invalid parameter: Endpoint Reason: Please use FIFO SQS queue")
        if protocol in ("http", "https") and not endpoint.lower().startswith(protocol + "://"):
            raise _invalid("Invalid parameter: Endpoint must match the specified protocol")
        if protocol == "sqs":
            if not endpoint.startswith("arn:aws:sqs:") or len(endpoint.split(":")) != 6:
                raise _invalid("Invalid parameter: SQS endpoint ARN")
            if endpoint.endswith(".fifo") and not fifo:
                raise _invalid("Invalid parameter: Invalid parameter: Endpoint Reason: FIFO SQS Queues can not be "
                               "subscribed to standard SNS topics")
        if protocol in ("email", "email-json") and ("@" not in endpoint or endpoint.startswith("@")):
            raise _invalid("Invalid parameter: Email address")
        if protocol == "sms":
            from mamori.services.sns.sms import normalize

            endpoint = normalize(endpoint, "SMS endpoint")
        if protocol == "application":
            doc = ctx.store.get(endpoint)
            if doc is None or doc.get("kind") != "platform-endpoint":
                raise _invalid("Invalid parameter: Application endpoint arn invalid:" + endpoint)
        if protocol == "lambda" and not endpoint.startswith("arn:aws:lambda:"):
            raise _invalid("Invalid parameter: Lambda endpoint ARN")
        if protocol == "firehose" and not endpoint.startswith("arn:aws:firehose:"):
            raise _invalid("Invalid parameter: Firehose endpoint ARN")
        return endpoint

    def _check_sub_attribute(self, topic: dict[str, Any] | None, protocol: str, name: str, value: str,
                             current: dict[str, str] | None = None) -> None:
        """`current`: the subscription's attributes with this one's new value."""
        current = current or {}
        if name not in SUB_ATTRIBUTES:
            raise _invalid("Invalid parameter: AttributeName")
        if name in ("FilterPolicy", "FilterPolicyScope") and current.get("FilterPolicy"):
            problem = filters.validate(current["FilterPolicy"], current.get("FilterPolicyScope") or "MessageAttributes")
            if problem:
                raise _invalid(f"Invalid parameter: FilterPolicy: {problem}")
        if name == "FilterPolicy" and value and topic is not None and not current.get("_had_filter"):
            # 200 filter policies per topic by default (the quota AWS lets you raise)
            subs = self._subs_with_filters(topic["arn"])
            if subs >= 200:
                raise error("FilterPolicyLimitExceeded", "Filter policy limit exceeded", status=403)
        if name == "FilterPolicyScope" and value not in ("MessageAttributes", "MessageBody"):
            raise _invalid("Invalid parameter: FilterPolicyScope: Invalid value [" + value + "]. "
                           "Please use either MessageBody or MessageAttributes")
        if name == "RawMessageDelivery":
            if value.lower() not in ("true", "false"):
                raise _invalid("Invalid parameter: RawMessageDelivery")
            if protocol not in RAW_PROTOCOLS:
                raise _invalid(f"Invalid parameter: Attributes Reason: Delivery protocol [{protocol}] does not "
                               "support raw message delivery.")
        if name == "DeliveryPolicy" and value:
            try:
                delivery_policy.check_subscription_policy(value)
            except delivery_policy.PolicyError as exc:
                raise _invalid(f"Invalid parameter: DeliveryPolicy: {exc}") from None
        if name == "RedrivePolicy" and value:
            try:
                target = json.loads(value)["deadLetterTargetArn"]
            except (ValueError, KeyError, TypeError):
                raise _invalid("Invalid parameter: RedrivePolicy: Redrive policy is not a valid JSON object with "
                               "deadLetterTargetArn") from None
            if not isinstance(target, str) or not target.startswith("arn:aws:sqs:") or len(target.split(":")) != 6:
                raise _invalid("Invalid parameter: RedrivePolicy: deadLetterTargetArn is an invalid arn")
            fifo = topic is not None and topic["Attributes"].get("FifoTopic") == "true"
            if fifo != target.endswith(".fifo"):
                raise _invalid("Invalid parameter: RedrivePolicy: must use a queue of the same type as the topic "
                               "(FIFO topics use FIFO queues, standard topics standard queues)")
        if name == "ReplayPolicy" and value:
            from mamori.services.sns.archive import check_replay_policy, retention_days

            if topic is None or topic["Attributes"].get("FifoTopic") != "true" \
                    or retention_days(topic["Attributes"].get("ArchivePolicy")) is None:
                raise _invalid("Invalid parameter: ReplayPolicy Reason: the topic has no message archive")
            check_replay_policy(value)
        if name == "SubscriptionRoleArn" and protocol != "firehose":
            raise _invalid("Invalid parameter: SubscriptionRoleArn is only for firehose subscriptions")

    def _subs_with_filters(self, topic_arn: str) -> int:
        parts = topic_arn.split(":")
        return sum(1 for s in self.runtime.store.list(SUB, account_id=parts[4], region=parts[3])
                   if s["TopicArn"] == topic_arn and s["Attributes"].get("FilterPolicy"))

    # -- subscribe -------------------------------------------------------------------

    def subscribe(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        topic = self._topic(ctx, request.get("TopicArn"))
        protocol = (request.get("Protocol") or "").lower()
        endpoint = request.get("Endpoint") or ""
        self._authorize(ctx, "sns:Subscribe", topic, {"sns:Endpoint": endpoint, "sns:Protocol": protocol})
        endpoint = self._check_endpoint(ctx, topic, protocol, endpoint)
        attrs = {k: str(v) for k, v in (request.get("Attributes") or {}).items()}
        for name, value in attrs.items():
            self._check_sub_attribute(topic, protocol, name, value, attrs)
        if "RawMessageDelivery" in attrs:
            attrs["RawMessageDelivery"] = attrs["RawMessageDelivery"].lower()
        if protocol == "firehose" and not attrs.get("SubscriptionRoleArn"):
            raise _invalid("Invalid parameter: SubscriptionRoleArn is required for firehose subscriptions")
        for sub in self._subs(ctx, topic["arn"]):
            if sub["Protocol"] == protocol and sub["Endpoint"] == endpoint:
                shown = sub["SubscriptionArn"]
                if sub.get("pending"):
                    # subscribing again while pending sends the confirmation again, with a
                    # fresh validity (https://docs.aws.amazon.com/sns/latest/api/API_Subscribe.html)
                    sub["tokenExpires"] = ctx.time() + TOKEN_LIFETIME
                    ctx.store.put(shown, sub, kind=SUB, account_id=topic["account"], region=topic["region"])
                    self._send_confirmation(ctx, topic, sub, (ctx.store.get_secret(shown) or b"").decode())
                    if not request.get("ReturnSubscriptionArn"):
                        shown = "pending confirmation"
                return {"SubscriptionArn": shown}
        sub_arn = f"{topic['arn']}:{uuid.uuid4()}"
        pending = protocol in PENDING
        if protocol in ("sqs", "lambda"):
            # a queue (or function) of another account than the topic's must confirm,
            # unless its own account subscribes it
            # (https://docs.aws.amazon.com/sns/latest/dg/sns-send-message-to-sqs-cross-account.html)
            owner = endpoint.split(":")[4]
            pending = owner != topic["account"] and owner != ctx.account_id
        token = secrets.token_hex(64)
        sub = {"SubscriptionArn": sub_arn, "TopicArn": topic["arn"], "Protocol": protocol, "Endpoint": endpoint,
               "Owner": ctx.account_id, "pending": pending, "Attributes": attrs,
               "tokenExpires": ctx.time() + TOKEN_LIFETIME, "authenticated": False}
        ctx.store.put(sub_arn, sub, kind=SUB, account_id=topic["account"], region=topic["region"],
                      secret=token.encode())
        if pending:
            self._send_confirmation(ctx, topic, sub, token)
        elif attrs.get("ReplayPolicy"):
            self._start_replay(ctx, topic, sub)
        shown = sub_arn if (not pending or request.get("ReturnSubscriptionArn")) else "pending confirmation"
        return {"SubscriptionArn": shown}

    def _send_confirmation(self, ctx: RequestContext, topic: dict[str, Any], sub: dict[str, Any], token: str,
                           kind: str = "SubscriptionConfirmation") -> None:
        url = self.subscribe_url(topic["arn"], token)
        if kind == "SubscriptionConfirmation":
            text = (f"You have chosen to subscribe to the topic {topic['arn']}.\n"
                    "To confirm the subscription, visit the SubscribeURL included in this message.")
        else:
            text = (f"You have chosen to deactivate subscription {sub['SubscriptionArn']}.\n"
                    "To cancel this operation and restore the subscription, visit the SubscribeURL included "
                    "in this message.")
        message = {"Type": kind, "MessageId": str(uuid.uuid4()), "Token": token, "TopicArn": topic["arn"],
                   "Message": text, "SubscribeURL": url, "Timestamp": timestamp(ctx.now())}
        if sub["Protocol"] in ("http", "https"):
            self.http.enqueue(topic=topic, sub=sub, message=message)
        elif sub["Protocol"] == "sqs":
            # the queue's owner reads the confirmation from the queue
            signed = self._signer(topic["account"], topic["region"]).sign(
                message, topic["Attributes"].get("SignatureVersion") or "1")
            self._to_queue(topic, sub, json.dumps(signed), {}, {}, message["MessageId"])
        elif kind == "SubscriptionConfirmation":
            name = topic["Attributes"].get("DisplayName") or "AWS Notifications"
            mail.deliver(ctx.store, topic["account"], topic["region"], str(uuid.uuid4()), {
                "to": sub["Endpoint"], "subject": "AWS Notification - Subscription Confirmation",
                "body": f"You have chosen to subscribe to the topic: {topic['arn']}\n"
                        f"To confirm this subscription, click or visit the link below:\n{url}\n"
                        f"Sent by {name}.\nToken={token}",
                "time": ctx.time(), "TopicArn": topic["arn"]})

    # -- confirm ---------------------------------------------------------------------

    def confirm_subscription(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        topic_arn = request.get("TopicArn") or ""
        token = request.get("Token") or ""
        anonymous = ctx.principal.type == "Anonymous"
        if anonymous:
            ctx.no_authorization_required("sns:ConfirmSubscription",
                                          "the confirmation token sent to the endpoint authenticates the call")
        else:
            # the token is the authorization: any caller holding it may confirm, the
            # endpoint owner of another account included, if its own policies allow
            token_policy = {"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": "*", "Action": "sns:ConfirmSubscription", "Resource": topic_arn}]}
            owner = topic_arn.split(":")[4] if topic_arn.count(":") >= 5 else None
            try:
                ctx.authorize("sns:ConfirmSubscription", topic_arn or "*",
                              with_resource_policy({}, token_policy, account=owner) if owner else {})
            except AccessDenied as exc:
                raise error("AuthorizationError", exc.message, status=403) from None
        topic = ctx.store.get(topic_arn) if topic_arn else None
        if topic is None or topic.get("kind") != "topic":
            raise _not_found("Topic does not exist")
        for sub in self._subs(ctx, topic_arn):
            secret = ctx.store.get_secret(sub["SubscriptionArn"])
            if secret is None or not secrets.compare_digest(secret, token.encode()):
                continue
            if sub.get("pending"):
                if ctx.time() > sub.get("tokenExpires", float("inf")):
                    raise _invalid("Invalid token")
                sub["pending"] = False
                sub["authenticated"] = not anonymous
                if str(request.get("AuthenticateOnUnsubscribe", "")).lower() == "true" and not anonymous:
                    sub["authenticateOnUnsubscribe"] = True
                ctx.store.put(sub["SubscriptionArn"], sub, kind=SUB, account_id=topic["account"],
                              region=topic["region"])
            return {"SubscriptionArn": sub["SubscriptionArn"]}
        for gone in ctx.store.list(UNSUBSCRIBED, account_id=topic["account"], region=topic["region"]):
            secret = ctx.store.get_secret(f"mamori:sns-unsubscribed:{gone['SubscriptionArn']}")
            if gone["TopicArn"] == topic_arn and secret is not None and secrets.compare_digest(secret, token.encode()):
                with ctx.store.transaction():
                    ctx.store.delete(f"mamori:sns-unsubscribed:{gone['SubscriptionArn']}")
                    ctx.store.put(gone["SubscriptionArn"], dict(gone, pending=False), kind=SUB,
                                  account_id=topic["account"], region=topic["region"], secret=secret)
                return {"SubscriptionArn": gone["SubscriptionArn"]}
        raise _invalid("Invalid token")

    # -- unsubscribe -----------------------------------------------------------------

    def _sub(self, ctx: RequestContext, arn: str | None) -> dict[str, Any]:
        sub = ctx.store.get(arn or "")
        if sub is None or "Protocol" not in sub:
            raise _not_found("Subscription does not exist")
        return sub

    def unsubscribe(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        arn = request.get("SubscriptionArn") or ""
        sub = ctx.store.get(arn)
        if ctx.principal.type == "Anonymous" and not (sub or {}).get("authenticateOnUnsubscribe"):
            ctx.no_authorization_required("sns:Unsubscribe",
                                          "AWS lets whoever holds the UnsubscribeURL unsubscribe the endpoint")
        else:
            try:
                ctx.authorize("sns:Unsubscribe", arn or "*", {})
            except AccessDenied as exc:
                raise error("AuthorizationError", exc.message, status=403) from None
        sub = self._sub(ctx, arn)
        parts = arn.split(":")
        topic = ctx.store.get(sub["TopicArn"])
        if sub["Protocol"] in ("http", "https") and topic is not None and not sub.get("pending"):
            token = secrets.token_hex(64)
            with ctx.store.transaction():
                ctx.store.delete(arn)
                ctx.store.put(f"mamori:sns-unsubscribed:{arn}", sub, kind=UNSUBSCRIBED, account_id=parts[4],
                              region=parts[3], secret=token.encode())
            self._send_confirmation(ctx, topic, sub, token, "UnsubscribeConfirmation")
        else:
            ctx.store.delete(arn)
        return {}

    # -- lists and attributes --------------------------------------------------------

    def _public(self, sub: dict[str, Any]) -> dict[str, Any]:
        return {"SubscriptionArn": "PendingConfirmation" if sub.get("pending") else sub["SubscriptionArn"],
                "Owner": sub["Owner"], "Protocol": sub["Protocol"], "Endpoint": sub["Endpoint"],
                "TopicArn": sub["TopicArn"]}

    def list_subscriptions(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ctx.authorize("sns:ListSubscriptions", f"arn:aws:sns:{ctx.region}:{ctx.account_id}:*", {})
        return page([self._public(s) for s in self._subs(ctx)], request, "Subscriptions")

    def list_subscriptions_by_topic(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        topic = self._topic(ctx, request.get("TopicArn"))
        self._authorize(ctx, "sns:ListSubscriptionsByTopic", topic)
        return page([self._public(s) for s in self._subs(ctx, topic["arn"])], request, "Subscriptions")

    def get_subscription_attributes(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        arn = request.get("SubscriptionArn") or ""
        ctx.authorize("sns:GetSubscriptionAttributes", arn or "*", {})
        sub = self._sub(ctx, arn)
        attrs = {"SubscriptionArn": sub["SubscriptionArn"], "TopicArn": sub["TopicArn"],
                 "Owner": sub["Owner"], "Protocol": sub["Protocol"], "Endpoint": sub["Endpoint"],
                 "PendingConfirmation": str(bool(sub.get("pending"))).lower(),
                 "ConfirmationWasAuthenticated": str(bool(sub.get("authenticated"))).lower(),
                 "RawMessageDelivery": "false"}
        attrs.update(sub["Attributes"])
        if sub.get("replayStatus"):
            attrs["ReplayStatus"] = sub["replayStatus"]
        if sub["Protocol"] in ("http", "https"):
            topic = ctx.store.get(sub["TopicArn"]) or {"Attributes": {}}
            attrs["EffectiveDeliveryPolicy"] = json.dumps(delivery_policy.subscription_effective(
                topic["Attributes"].get("DeliveryPolicy"), sub["Attributes"].get("DeliveryPolicy")))
        return {"Attributes": attrs}

    def set_subscription_attributes(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        arn = request.get("SubscriptionArn") or ""
        ctx.authorize("sns:SetSubscriptionAttributes", arn or "*", {})
        sub = self._sub(ctx, arn)
        name, value = request["AttributeName"], request.get("AttributeValue") or ""
        current = dict(sub["Attributes"], **{name: value})
        current["_had_filter"] = "yes" if sub["Attributes"].get("FilterPolicy") else ""
        self._check_sub_attribute(ctx.store.get(sub["TopicArn"]), sub["Protocol"], name, value, current)
        if value == "" and name != "RawMessageDelivery":
            sub["Attributes"].pop(name, None)
        else:
            sub["Attributes"][name] = value.lower() if name == "RawMessageDelivery" else value
        parts = arn.split(":")
        ctx.store.put(arn, sub, kind=SUB, account_id=parts[4], region=parts[3])
        if name == "ReplayPolicy" and value and not sub.get("pending"):
            self._start_replay(ctx, ctx.store.get(sub["TopicArn"]), sub)
        return {}

    def _start_replay(self, ctx: RequestContext, topic: dict[str, Any], sub: dict[str, Any]) -> None:
        try:
            status = self._replay(ctx, topic, sub)
        except Exception:  # noqa: BLE001 - a replay that breaks is reported, not raised
            status = "Failed"
        sub["replayStatus"] = status
        ctx.store.put(sub["SubscriptionArn"], sub, kind=SUB, account_id=topic["account"], region=topic["region"])
