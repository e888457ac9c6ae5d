"""Fan-out of one published message to a topic's subscriptions (mixed into the provider).

    sqs          SendMessage as sns.amazonaws.com (aws:SourceArn = the topic), so the
                 queue policy decides; the AWS JSON envelope, or the raw message with its
                 attributes when RawMessageDelivery is on. A refused send goes to the
                 subscription's dead-letter queue (client error: no retry).
    http/https   a worker POSTs it (http_delivery.py): signed, retried, redriven.
    email        the local mailbox (mail.py), the message text.
    email-json   the local mailbox, the AWS JSON envelope.
    sms          the local outbox (kind "sns-outbox"), unless the number opted out.
    application  mobile push to a platform endpoint: the local outbox.
    lambda, firehose  recorded in the outbox as failed: mamori has no Lambda or Firehose
                 yet; with a RedrivePolicy the message goes to the dead-letter queue.

The envelope is AWS's: Type, MessageId, TopicArn, (SequenceNumber on FIFO topics),
Subject, Message, Timestamp, SignatureVersion, Signature, SigningCertURL,
UnsubscribeURL, MessageAttributes. One signature serves every subscriber of a message
(the string to sign doesn't name the subscription), so it is computed once per text.
https://docs.aws.amazon.com/sns/latest/dg/sns-message-and-json-formats.html
DLQ messages carry the attributes RequestID, ErrorCode and ErrorMessage.
https://docs.aws.amazon.com/sns/latest/dg/sns-dead-letter-queues.html
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import uuid
from typing import Any

from mamori.errors import AwsError
from mamori.gateway.context import Principal, RequestContext
from mamori.services.sns import mail, metrics
from mamori.services.sns.signing import Signer

log = logging.getLogger("mamori.sns")

OUTBOX = "sns-outbox"
SNS_PRINCIPAL = "sns.amazonaws.com"


def timestamp(epoch_dt: Any) -> str:
    return epoch_dt.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def envelope_attributes(attrs: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for name, attr in attrs.items():
        if "BinaryValue" in attr and attr.get("BinaryValue") is not None:
            value = attr["BinaryValue"]
            value = base64.b64encode(value if isinstance(value, bytes) else str(value).encode()).decode()
        else:
            value = attr.get("StringValue")
        out[name] = {"Type": attr.get("DataType"), "Value": value}
    return out


def freeze_attributes(attrs: dict[str, Any]) -> dict[str, Any]:
    """Message attributes ready for a JSON store doc (binary values as {"b64": ...})."""
    out = {}
    for name, attr in attrs.items():
        attr = dict(attr)
        if isinstance(attr.get("BinaryValue"), bytes):
            attr["BinaryValue"] = {"b64": base64.b64encode(attr["BinaryValue"]).decode()}
        out[name] = attr
    return out


def thaw_attributes(attrs: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for name, attr in attrs.items():
        attr = dict(attr)
        if isinstance(attr.get("BinaryValue"), dict):
            attr["BinaryValue"] = base64.b64decode(attr["BinaryValue"]["b64"])
        out[name] = attr
    return out


def queue_url(queue_arn: str) -> str:
    _, _, _, region, account, name = queue_arn.split(":", 5)
    return f"https://sqs.{region}.amazonaws.com/{account}/{name}"


class DeliveryMixin:
    runtime: Any
    http: Any  # HttpDeliveries, made in setup()

    # -- signing ---------------------------------------------------------------------

    def _signer(self, account: str, region: str) -> Signer:
        cache = self.__dict__.setdefault("_signers", {})
        lock = self.__dict__.setdefault("_signers_lock", threading.Lock())
        with lock:
            signer = cache.get((account, region))
            if signer is None:
                signer = cache[(account, region)] = Signer.for_region(self.runtime, account, region)
            return signer

    def _endpoint(self) -> str:
        return self.runtime.config.endpoint

    def unsubscribe_url(self, sub_arn: str) -> str:
        return f"{self._endpoint()}/?Action=Unsubscribe&SubscriptionArn={sub_arn}"

    def subscribe_url(self, topic_arn: str, token: str) -> str:
        return f"{self._endpoint()}/?Action=ConfirmSubscription&TopicArn={topic_arn}&Token={token}"

    # -- one message -----------------------------------------------------------------

    def _text_for(self, protocol: str, request: dict[str, Any], platform: str | None = None) -> str:
        """The message a subscriber of `protocol` gets: with MessageStructure=json, its
        own key or "default"."""
        if request.get("MessageStructure") != "json":
            return request["Message"]
        doc = request["_structured"]
        key = platform or protocol
        value = doc.get(key, doc["default"])
        return value if isinstance(value, str) else json.dumps(value)

    def _notification(self, topic: dict[str, Any], sub_arn: str, message_id: str, text: str,
                      request: dict[str, Any], stamp: str, sequence: str | None) -> dict[str, Any]:
        body: dict[str, Any] = {"Type": "Notification", "MessageId": message_id, "TopicArn": topic["arn"]}
        if sequence:
            body["SequenceNumber"] = sequence
        if request.get("Subject"):
            body["Subject"] = request["Subject"]
        body["Message"] = text
        body["Timestamp"] = stamp
        if request.get("_replayed"):
            body["Replayed"] = True  # see archive.py
        return body

    def _signed(self, topic: dict[str, Any], body: dict[str, Any], cache: dict[str, dict[str, Any]],
                sub_arn: str, attributes: dict[str, Any]) -> dict[str, Any]:
        """`body` signed (one signature per text), then UnsubscribeURL and attributes."""
        done = cache.get(body["Message"])
        if done is None:
            signer = self._signer(topic["account"], topic["region"])
            done = signer.sign(dict(body), topic["Attributes"].get("SignatureVersion") or "1")
            cache[body["Message"]] = done
        out = dict(body)
        out.update({k: done[k] for k in ("SignatureVersion", "Signature", "SigningCertURL")})
        out["UnsubscribeURL"] = self.unsubscribe_url(sub_arn)
        if attributes:
            out["MessageAttributes"] = envelope_attributes(attributes)
        return out

    def _fan_out(self, ctx: RequestContext, topic: dict[str, Any], subs: list[dict[str, Any]], message_id: str,
                 request: dict[str, Any], sequence: str | None) -> tuple[int, int]:
        """Deliver to each subscription; (delivered, failed) of the deliveries done now
        (HTTP/S ones are counted by their worker)."""
        stamp = request.get("_stamp") or timestamp(ctx.now())
        delivered = failed = 0
        attributes = request.get("MessageAttributes") or {}
        signatures: dict[str, dict[str, Any]] = {}
        for sub in subs:
            protocol = sub["Protocol"]
            text = self._text_for(protocol, request)
            raw = sub["Attributes"].get("RawMessageDelivery") == "true"
            plain = self._notification(topic, sub["SubscriptionArn"], message_id, text, request, stamp, sequence)
            try:
                if protocol in ("http", "https"):
                    unsigned = dict(plain, UnsubscribeURL=self.unsubscribe_url(sub["SubscriptionArn"]))
                    if attributes:
                        unsigned["MessageAttributes"] = envelope_attributes(attributes)
                    self.http.enqueue(topic=topic, sub=sub, message=unsigned, body=text if raw else None, raw=raw,
                                      attributes=freeze_attributes(attributes) if raw else {})
                    continue
                if protocol == "email":
                    self._mail(topic, sub, message_id, request.get("Subject") or "AWS Notification Message", text, ctx)
                    delivered += 1
                    continue
                body = self._signed(topic, plain, signatures, sub["SubscriptionArn"], attributes)
                if protocol == "sqs":
                    ok = self._to_queue(topic, sub, text if raw else json.dumps(body), attributes if raw else {},
                                        request, message_id)
                elif protocol == "email-json":
                    self._mail(topic, sub, message_id, request.get("Subject") or "AWS Notification Message",
                               json.dumps(body), ctx)
                    ok = True
                elif protocol == "sms":
                    ok = self._sms_out(ctx, topic["account"], topic["region"], sub["Endpoint"], text, message_id,
                                       sub["SubscriptionArn"], attributes)
                elif protocol == "application":
                    ok = self._push_out(ctx, sub["Endpoint"], request, message_id, sub["SubscriptionArn"])
                    self._feedback(topic, sub, message_id, text, ok, 200 if ok else None,
                                   "delivered to the local outbox" if ok else "the endpoint is disabled or gone")
                else:
                    reason = (f"mamori does not deliver to {protocol} subscriptions yet ({sub['Endpoint']}); "
                              "the delivery is recorded as failed")
                    self._outbox(ctx.store, topic["account"], topic["region"], sub["SubscriptionArn"], protocol,
                                 sub["Endpoint"], body, "failed", reason)
                    self._feedback(topic, sub, message_id, text, False, None, reason)
                    self._redrive(topic, sub, json.dumps(body), {}, "NotImplemented", reason, request, message_id)
                    ok = False
            except Exception:  # noqa: BLE001 - one subscriber's failure never fails the publisher
                log.exception("SNS delivery to %s failed", sub["SubscriptionArn"])
                ok = False
            if ok:
                delivered += 1
            else:
                failed += 1
        return delivered, failed

    # -- protocols -------------------------------------------------------------------

    def _to_queue(self, topic: dict[str, Any], sub: dict[str, Any], body: str, attributes: dict[str, Any],
                  request: dict[str, Any], message_id: str) -> bool:
        params = self._queue_params(sub["Endpoint"], body, attributes, request, message_id)
        text = request.get("Message")
        try:
            out = self.runtime.invoke("sqs", "SendMessage", params,
                                      principal=Principal.service(SNS_PRINCIPAL, topic["account"]),
                                      source_arn=topic["arn"], source_account=topic["account"])
            if text is not None:
                self._feedback(topic, sub, message_id, text, True, 200,
                               json.dumps({"sqsMessageId": out.get("MessageId")}))
            return True
        except AwsError as exc:
            # client-side error: not retried, redriven at once
            # (https://docs.aws.amazon.com/sns/latest/dg/sns-dead-letter-queues.html)
            self._outbox(self.runtime.store, topic["account"], topic["region"], sub["SubscriptionArn"], "sqs",
                         sub["Endpoint"], body, "failed", f"{exc.code}: {exc.message}")
            if text is not None:
                self._feedback(topic, sub, message_id, text, False, exc.status, f"{exc.code}: {exc.message}")
            self._redrive(topic, sub, body, attributes, exc.code, exc.message, request, message_id)
            return False

    @staticmethod
    def _queue_params(queue_arn: str, body: str, attributes: dict[str, Any], request: dict[str, Any],
                      message_id: str) -> dict[str, Any]:
        params: dict[str, Any] = {"QueueUrl": queue_url(queue_arn), "MessageBody": body}
        if attributes:
            params["MessageAttributes"] = attributes
        if queue_arn.endswith(".fifo"):
            params["MessageGroupId"] = request.get("MessageGroupId") or "default"
            params["MessageDeduplicationId"] = request.get("_dedup") or message_id
        return params

    def _redrive(self, topic: dict[str, Any], sub: dict[str, Any], body: str, attributes: dict[str, Any],
                 code: str, message: str, request: dict[str, Any], message_id: str) -> None:
        redrive = sub["Attributes"].get("RedrivePolicy")
        if redrive:
            self._send_to_dlq(topic["account"], topic["arn"], redrive, body, attributes, code, message,
                              request, message_id)

    def _send_to_dlq(self, account: str, topic_arn: str, redrive: str, body: str, attributes: dict[str, Any],
                     code: str, message: str, request: dict[str, Any], message_id: str) -> None:
        try:
            target = json.loads(redrive)["deadLetterTargetArn"]
        except (ValueError, KeyError, TypeError):
            return
        extra = {name: {"DataType": "String", "StringValue": value} for name, value in (
            ("RequestID", str(uuid.uuid4())), ("ErrorCode", code or "Unknown"),
            ("ErrorMessage", (message or code or "delivery failed")[:1000]))}
        params = self._queue_params(target, body, {**attributes, **extra}, request, message_id)
        try:
            self.runtime.invoke("sqs", "SendMessage", params, principal=Principal.service(SNS_PRINCIPAL, account),
                                source_arn=topic_arn, source_account=account)
            metrics.record(self.runtime, topic_arn, {"NumberOfNotificationsRedrivenToDlq": 1})
        except AwsError as exc:
            metrics.record(self.runtime, topic_arn, {"NumberOfNotificationsFailedToRedriveToDlq": 1})
            log.warning("could not redrive SNS message %s to %s: %s", message_id, target, exc.message)

    def _http_outcome(self, doc: dict[str, Any], ok: bool, status: int | None, problem: str | None) -> None:
        """Called by a worker when an HTTP/S Notification is delivered or given up."""
        topic = self.runtime.store.get(doc["topic"])
        if topic is None:
            return
        sub = {"Protocol": doc["url"].split(":", 1)[0].lower(), "Endpoint": doc["url"]}
        message = doc["message"]
        self._feedback(topic, sub, message["MessageId"], message.get("Message") or "", ok, status,
                       problem or f"HTTP {status}", attempts=doc["attempt"] + 1, published=doc["first"])

    def _http_dead_letter(self, doc: dict[str, Any], code: str, problem: str, payload: str) -> None:
        """Called by a worker when an HTTP/S Notification is given up."""
        if doc.get("redrive"):
            message = doc["message"]
            request = {"MessageGroupId": message.get("MessageGroupId")}
            self._send_to_dlq(doc["account"], doc["topic"], doc["redrive"], payload,
                              thaw_attributes(doc.get("attributes") or {}),
                              code, problem, request, message["MessageId"])

    def _mail(self, topic: dict[str, Any], sub: dict[str, Any], message_id: str, subject: str, text: str,
              ctx: RequestContext) -> None:
        # AWS's plain mail ends with a footer carrying the unsubscribe link; email-json is the JSON alone
        footer = "" if sub["Protocol"] == "email-json" else (
            "\n\n--\nIf you wish to stop receiving notifications from this topic, please click or visit the link "
            f"below to unsubscribe:\n{self.unsubscribe_url(sub['SubscriptionArn'])}\n\n"
            "Please do not reply directly to this email.")
        sender = f"{topic['Attributes'].get('DisplayName') or 'AWS Notifications'} <no-reply@sns.amazonaws.com>"
        mail.deliver(ctx.store, topic["account"], topic["region"], message_id + sub["SubscriptionArn"][-8:], {
            "to": sub["Endpoint"], "from": sender, "subject": subject, "body": text + footer, "time": ctx.time(),
            "TopicArn": topic["arn"], "MessageId": message_id, "Message": text})

    def _outbox(self, store: Any, account: str, region: str, sub_arn: str | None, protocol: str, endpoint: str,
                body: Any, status: str, reason: str = "") -> None:
        doc = {"subscription": sub_arn, "protocol": protocol, "endpoint": endpoint, "status": status,
               "body": body, "time": self.runtime.clock.time()}
        if reason:
            doc["reason"] = reason
        store.put(f"mamori:sns-outbox:{uuid.uuid4()}", doc, kind=OUTBOX, account_id=account, region=region, log=False)
