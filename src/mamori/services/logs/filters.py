"""Metric filters (PutMetricFilter, DescribeMetricFilters, DeleteMetricFilter,
TestMetricFilter) and subscription filters (stored and validated; delivery comes with
their targets).

Publishing: every event PutLogEvents accepts goes through the group's metric filters;
matches become PutMetricData MetricDatum dicts handed to the CloudWatch provider's
`record_metric_data(account, region, namespace, metric_data)` when it has one.
https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/MonitoringLogData.html
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from mamori.errors import error
from mamori.gateway.context import RequestContext
from mamori.services.logs.common import (
    METRIC_FILTER,
    SUBSCRIPTION_FILTER,
    group_arn,
    invalid,
    load_group,
    make_token,
    public,
    token_offset,
)
from mamori.services.logs.patterns import Pattern, compile_pattern, json_value

MAX_METRIC_FILTERS = 100
MAX_SUBSCRIPTION_FILTERS = 2
DESTINATION = re.compile(r"^arn:aws[\w-]*:(lambda|kinesis|firehose|logs):[a-z0-9-]*:\d{12}:.+$")


@lru_cache(maxsize=512)
def _compiled(text: str) -> Pattern:
    return compile_pattern(text)


def _value_ref(text: str) -> bool:
    return text.startswith("$")


def _resolve(extracted: dict[str, Any], ref: str) -> Any:
    if ref.startswith("$."):
        return json_value(extracted, ref)
    return extracted.get(ref)


def _check_transformation(t: dict[str, Any], pattern: Pattern) -> None:
    value = t["metricValue"]
    if not _value_ref(value):
        try:
            float(value)
        except ValueError:
            raise invalid("Invalid metric value: must be a number or a field reference like $.field or $name.") from None
    elif not value.startswith("$.") and value not in ("$" + n.lstrip("$") for n in pattern.names):
        raise invalid(f"Invalid metric value: {value} is not a field of the filter pattern.")
    dims = t.get("dimensions") or {}
    if len(dims) > 3:
        raise invalid("A metric filter can have at most 3 dimensions.")
    if dims and "defaultValue" in t:
        raise invalid("Metric filters with dimensions cannot have a default value.")
    for name, ref in dims.items():
        if not _value_ref(ref):
            raise invalid(f"Invalid dimension value for {name}: must be a field reference.")


class FilterOperations:
    # -- metric filters ------------------------------------------------------------------

    def put_metric_filter(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        group, name = request["logGroupName"], request["filterName"]
        ctx.authorize("logs:PutMetricFilter", group_arn(ctx, name=group))
        load_group(ctx, group)
        pattern = compile_pattern(request["filterPattern"])
        for t in request["metricTransformations"]:
            _check_transformation(t, pattern)
        key = f"{group_arn(ctx, name=group)}:metric-filter:{name}"
        existing = [f for f in self._metric_filters(ctx) if f["_group"] == group]
        if ctx.store.get(key) is None and len(existing) >= MAX_METRIC_FILTERS:
            raise error("LimitExceededException", "Resource limit exceeded.")
        doc = {"filterName": name, "filterPattern": request["filterPattern"],
               "metricTransformations": request["metricTransformations"],
               "creationTime": int(ctx.time() * 1000), "logGroupName": group,
               "applyOnTransformedLogs": bool(request.get("applyOnTransformedLogs", False)),
               "_group": group, "_key": key}
        ctx.store.put(key, doc, kind=METRIC_FILTER, account_id=ctx.account_id, region=ctx.region)
        return {}

    def delete_metric_filter(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        group, name = request["logGroupName"], request["filterName"]
        ctx.authorize("logs:DeleteMetricFilter", group_arn(ctx, name=group))
        load_group(ctx, group)
        if not ctx.store.delete(f"{group_arn(ctx, name=group)}:metric-filter:{name}"):
            raise error("ResourceNotFoundException", "The specified metric filter does not exist.")
        return {}

    def describe_metric_filters(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        group = request.get("logGroupName")
        ctx.authorize("logs:DescribeMetricFilters", group_arn(ctx, name=group) if group else "*")
        if request.get("filterNamePrefix") and not group:
            raise invalid("logGroupName is required when filterNamePrefix is given.")
        if bool(request.get("metricName")) != bool(request.get("metricNamespace")):
            raise invalid("metricName and metricNamespace must be given together.")
        if group:
            load_group(ctx, group)
        out = []
        for f in sorted(self._metric_filters(ctx), key=lambda f: (f["_group"], f["filterName"])):
            if group and f["_group"] != group:
                continue
            if request.get("filterNamePrefix") and not f["filterName"].startswith(request["filterNamePrefix"]):
                continue
            if request.get("metricName") and not any(
                    t["metricName"] == request["metricName"] and t["metricNamespace"] == request["metricNamespace"]
                    for t in f["metricTransformations"]):
                continue
            out.append(public(f))
        limit = request.get("limit") or 50
        start = token_offset(request)
        result: dict[str, Any] = {"metricFilters": out[start:start + limit]}
        if start + limit < len(out):
            result["nextToken"] = make_token({"offset": start + limit})
        return result

    def test_metric_filter(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ctx.authorize("logs:TestMetricFilter", "*")
        pattern = compile_pattern(request["filterPattern"])
        matches = []
        for n, message in enumerate(request["logEventMessages"], start=1):
            found = pattern.match(message)
            if found is None:
                continue
            values = {k: v for k, v in found.items() if not k.startswith("__")}
            matches.append({"eventNumber": n, "eventMessage": message, "extractedValues": values})
        return {"matches": matches}

    def _metric_filters(self, ctx: RequestContext) -> list[dict[str, Any]]:
        return ctx.store.list(METRIC_FILTER, account_id=ctx.account_id, region=ctx.region)

    def publish_metric_filters(self, ctx: RequestContext, group: str, stamps: list[int], messages: list[str]) -> None:
        """Turn accepted events (timestamps in ms, messages) into metric data for the
        group's metric filters."""
        filters = [f for f in self._metric_filters(ctx) if f["_group"] == group]
        if not filters:
            return
        cloudwatch = self.runtime.providers.get("cloudwatch") if hasattr(self.runtime, "providers") else None
        record = getattr(cloudwatch, "record_metric_data", None)
        if record is None:
            return
        by_namespace: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for f in filters:
            pattern = _compiled(f["filterPattern"])
            t = f["metricTransformations"][0]
            hits = 0
            for ts, message in zip(stamps, messages):
                found = pattern.match(message)
                if found is None:
                    continue
                value = t["metricValue"]
                number = _resolve(found, value) if _value_ref(value) else value
                try:
                    number = float(number)
                except (TypeError, ValueError):
                    continue
                datum: dict[str, Any] = {"MetricName": t["metricName"], "Value": number,
                                         "Timestamp": datetime.fromtimestamp(ts / 1000, UTC)}
                dims = []
                for name, ref in (t.get("dimensions") or {}).items():
                    dim = _resolve(found, ref)
                    if dim is None:
                        break
                    dims.append({"Name": name, "Value": str(dim)})
                else:
                    if dims:
                        datum["Dimensions"] = dims
                    if t.get("unit"):
                        datum["Unit"] = t["unit"]
                    by_namespace[t["metricNamespace"]].append(datum)
                    hits += 1
            if not hits and "defaultValue" in t:
                datum = {"MetricName": t["metricName"], "Value": float(t["defaultValue"]),
                         "Timestamp": datetime.fromtimestamp(stamps[-1] / 1000, UTC)}
                if t.get("unit"):
                    datum["Unit"] = t["unit"]
                by_namespace[t["metricNamespace"]].append(datum)
        for namespace, data in by_namespace.items():
            for i in range(0, len(data), 1000):
                record(ctx.account_id, ctx.region, namespace, data[i:i + 1000])

    # -- subscription filters ------------------------------------------------------------

    def put_subscription_filter(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        group, name = request["logGroupName"], request["filterName"]
        ctx.authorize("logs:PutSubscriptionFilter", group_arn(ctx, name=group))
        load_group(ctx, group)
        compile_pattern(request["filterPattern"])
        dest = request["destinationArn"]
        if not DESTINATION.match(dest):
            raise invalid("Invalid destination ARN: must be a Kinesis stream, Firehose delivery stream, "
                          "Lambda function or CloudWatch Logs destination.")
        service = dest.split(":")[2]
        if request.get("roleArn"):
            ctx.authorize_pass_role(request["roleArn"], "logs.amazonaws.com", group_arn(ctx, name=group))
        elif service in ("kinesis", "firehose"):
            raise invalid("roleArn is required for a Kinesis or Firehose destination.")
        distribution = request.get("distribution", "ByLogStream")
        key = f"{group_arn(ctx, name=group)}:subscription-filter:{name}"
        existing = [f for f in ctx.store.list(SUBSCRIPTION_FILTER, account_id=ctx.account_id, region=ctx.region)
                    if f["_group"] == group]
        if ctx.store.get(key) is None and len(existing) >= MAX_SUBSCRIPTION_FILTERS:
            raise error("LimitExceededException", "Resource limit exceeded.")
        doc = {"filterName": name, "logGroupName": group, "filterPattern": request["filterPattern"],
               "destinationArn": dest, "distribution": distribution,
               "applyOnTransformedLogs": bool(request.get("applyOnTransformedLogs", False)),
               "creationTime": int(ctx.time() * 1000), "_group": group, "_key": key}
        if request.get("roleArn"):
            doc["roleArn"] = request["roleArn"]
        ctx.store.put(key, doc, kind=SUBSCRIPTION_FILTER, account_id=ctx.account_id, region=ctx.region)
        return {}

    def delete_subscription_filter(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        group, name = request["logGroupName"], request["filterName"]
        ctx.authorize("logs:DeleteSubscriptionFilter", group_arn(ctx, name=group))
        load_group(ctx, group)
        if not ctx.store.delete(f"{group_arn(ctx, name=group)}:subscription-filter:{name}"):
            raise error("ResourceNotFoundException", "The specified subscription filter does not exist.")
        return {}

    def describe_subscription_filters(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        group = request["logGroupName"]
        ctx.authorize("logs:DescribeSubscriptionFilters", group_arn(ctx, name=group))
        load_group(ctx, group)
        prefix = request.get("filterNamePrefix") or ""
        out = sorted((public(f) for f in ctx.store.list(SUBSCRIPTION_FILTER, account_id=ctx.account_id,
                                                         region=ctx.region)
                      if f["_group"] == group and f["filterName"].startswith(prefix)),
                     key=lambda f: f["filterName"])
        return {"subscriptionFilters": out}
