"""SNS's CloudWatch metrics (namespace AWS/SNS, dimension TopicName), through
CloudWatch's public `record_metric_data` when the CloudWatch provider is there.

    NumberOfMessagesPublished, PublishSize        per successful Publish
    NumberOfNotificationsDelivered                a delivery the endpoint took
    NumberOfNotificationsFailed                   a delivery given up
    NumberOfNotificationsFilteredOut              a subscription's filter policy said no
    NumberOfNotificationsRedrivenToDlq / NumberOfNotificationsFailedToRedriveToDlq

Only non-zero values are sent, as AWS does.
https://docs.aws.amazon.com/sns/latest/dg/sns-monitoring-using-cloudwatch.html
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger("mamori.sns")
NAMESPACE = "AWS/SNS"


def record(runtime: Any, topic_arn: str, values: dict[str, float]) -> None:
    """Add `values` (metric name -> value) for the topic at the current minute."""
    values = {k: v for k, v in values.items() if v}
    if not values:
        return
    provider = runtime.providers.get("cloudwatch")
    put = getattr(provider, "record_metric_data", None)
    if put is None:
        return
    parts = topic_arn.split(":")
    dims = [{"Name": "TopicName", "Value": parts[5]}]
    try:
        put(parts[4], parts[3], NAMESPACE, [
            {"MetricName": name, "Dimensions": dims, "Value": float(value),
             "Unit": "Bytes" if name == "PublishSize" else "Count"} for name, value in values.items()])
    except Exception:  # noqa: BLE001 - metrics must never break a delivery
        log.exception("could not record SNS metrics for %s", topic_arn)
