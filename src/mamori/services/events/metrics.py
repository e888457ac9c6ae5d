"""EventBridge's CloudWatch metrics (namespace AWS/Events), through CloudWatch's public
`record_metric_data` when the CloudWatch provider is there.

    TriggeredRules, MatchedEvents   a rule matched an event
    InvocationAttempts              each call of a target, retries included
    Invocations                     a target invoked (success or final failure), not retries
    FailedInvocations               an invocation that failed for good
    InvocationsSentToDlq / InvocationsFailedToBeSentToDlq

Only non-zero values are sent, as AWS does. Rules on the default bus have the RuleName
dimension; rules on a custom bus EventBusName and RuleName.
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-monitoring.html
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from mamori.runtime import Runtime

log = logging.getLogger("mamori.events")
NAMESPACE = "AWS/Events"


def rule_dimensions(rule: dict[str, Any]) -> list[dict[str, str]]:
    dims = [{"Name": "RuleName", "Value": rule["Name"]}]
    if rule.get("EventBusName", "default") != "default":
        dims.insert(0, {"Name": "EventBusName", "Value": rule["EventBusName"]})
    return dims


def count(runtime: Runtime, rule: dict[str, Any], *names: str) -> None:
    """Add 1 to each metric `names` of `rule` at the current minute."""
    provider = runtime.providers.get("cloudwatch")
    record = getattr(provider, "record_metric_data", None)
    if record is None:
        return
    parts = rule["Arn"].split(":")
    dims = rule_dimensions(rule)
    try:
        record(parts[4], parts[3], NAMESPACE,
               [{"MetricName": name, "Dimensions": dims, "Value": 1.0, "Unit": "Count"} for name in names])
    except Exception:
        log.exception("could not record EventBridge metrics %s", names)
