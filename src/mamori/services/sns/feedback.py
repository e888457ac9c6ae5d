"""Delivery status logging (mixed into the provider): with a topic's
`<Protocol>SuccessFeedbackRoleArn` / `<Protocol>FailureFeedbackRoleArn` set (Protocol:
HTTP, SQS, Lambda, Application, Firehose), SNS assumes that role as
sns.amazonaws.com and writes one JSON log event per delivery to CloudWatch Logs:
successes (sampled by `<Protocol>SuccessFeedbackSampleRate`, percent) to the log group
`sns/<region>/<account>/<topic>`, failures to `sns/<region>/<account>/<topic>/Failure`.

The role's trust policy must let sns.amazonaws.com assume it and its policies must allow
logs:CreateLogGroup, logs:CreateLogStream and logs:PutLogEvents, as in AWS; when they
don't, the status is not logged (and the delivery itself is unaffected).
https://docs.aws.amazon.com/sns/latest/dg/sns-topic-attributes.html
https://docs.aws.amazon.com/sns/latest/dg/topics-attrib-prerequisites.html
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import uuid
from datetime import UTC, datetime
from typing import Any

from mamori.errors import AwsError
from mamori.gateway.internal import assume_role_as_service

log = logging.getLogger("mamori.sns")
PREFIX = {"http": "HTTP", "https": "HTTP", "sqs": "SQS", "lambda": "Lambda", "application": "Application",
          "firehose": "Firehose"}


class FeedbackMixin:
    runtime: Any

    def _feedback_state(self) -> set[tuple[str, str, str]]:
        """(role, group, stream) whose log group and stream are known to exist."""
        return self.__dict__.setdefault("_feedback_ready", set())

    def _feedback(self, topic: dict[str, Any], sub: dict[str, Any], message_id: str, text: str, ok: bool,
                  status_code: int | None, response: str, attempts: int = 1, published: float | None = None) -> None:
        """Log one delivery's outcome if the topic asks for it; never raises."""
        prefix = PREFIX.get(sub["Protocol"])
        if prefix is None:
            return
        attrs = topic["Attributes"]
        role = attrs.get(f"{prefix}{'Success' if ok else 'Failure'}FeedbackRoleArn")
        if not role:
            return
        if ok:
            try:
                rate = float(attrs.get(f"{prefix}SuccessFeedbackSampleRate") or 0)
            except ValueError:
                rate = 0.0
            if rate <= 0 or random.random() * 100 >= rate:  # noqa: S311 - sampling, not security
                return
        now = self.runtime.clock.time()
        event = {
            "notification": {
                "messageMD5Sum": hashlib.md5(text.encode()).hexdigest(),  # noqa: S324 - AWS's field
                "messageId": message_id, "topicArn": topic["arn"],
                "timestamp": datetime.fromtimestamp(published or now, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3],
            },
            "delivery": {
                "deliveryId": str(uuid.uuid4()), "destination": sub["Endpoint"], "providerResponse": response,
                "dwellTimeMs": int(max(now - (published or now), 0) * 1000), "attempts": attempts,
                **({"statusCode": status_code} if status_code is not None else {}),
            },
            "status": "SUCCESS" if ok else "FAILURE",
        }
        name = topic["arn"].split(":")[5]
        group = f"sns/{topic['region']}/{topic['account']}/{name}" + ("" if ok else "/Failure")
        try:
            self._write_feedback(topic, role, group, event, now)
        except AwsError as exc:
            log.info("SNS delivery status for %s not logged with %s: %s %s", topic["arn"], role, exc.code, exc.message)
        except Exception:  # noqa: BLE001 - logging a status must never break a delivery
            log.exception("SNS delivery status for %s not logged", topic["arn"])

    def _write_feedback(self, topic: dict[str, Any], role: str, group: str, event: dict[str, Any], now: float) -> None:
        principal = assume_role_as_service(self.runtime, role, "sns.amazonaws.com", topic["account"],
                                           session_name="SNSDeliveryStatus", source_arn=topic["arn"])
        ready = self._feedback_state()
        stream = datetime.fromtimestamp(now, UTC).strftime("%Y/%m/%d") + "/delivery-status"

        def call(operation: str, params: dict[str, Any]) -> None:
            self.runtime.invoke("logs", operation, params, principal=principal, account_id=topic["account"],
                                region=topic["region"])

        if (role, group, stream) not in ready:
            for operation, params in (("CreateLogGroup", {"logGroupName": group}),
                                      ("CreateLogStream", {"logGroupName": group, "logStreamName": stream})):
                try:
                    call(operation, params)
                except AwsError as exc:
                    if exc.code != "ResourceAlreadyExistsException":
                        raise
            ready.add((role, group, stream))
        put = {"logGroupName": group, "logStreamName": stream,
               "logEvents": [{"timestamp": int(now * 1000), "message": json.dumps(event)}]}
        try:
            call("PutLogEvents", put)
        except AwsError as exc:
            if exc.code != "ResourceNotFoundException" or (role, group, stream) not in ready:
                raise
            ready.discard((role, group, stream))  # deleted meanwhile: made again, once
            self._write_feedback(topic, role, group, event, now)

    def _forget_feedback(self) -> None:
        self._feedback_state().clear()
