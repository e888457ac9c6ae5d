"""Metric streams and OpenTelemetry enrichment: stored and described, nothing delivered.

    put_metric_stream / get_metric_stream / list_metric_streams / delete_metric_stream
    start_metric_streams / stop_metric_streams
    get_o_tel_enrichment / start_o_tel_enrichment / stop_o_tel_enrichment

A metric stream is a resource of kind "cloudwatch:metric-stream" under its ARN
(`arn:aws:cloudwatch:REGION:ACCOUNT:metric-stream/NAME`, taggable through tags.py). As
AWS does (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricStream.html):
a new stream starts `running`, an update keeps the state; IncludeFilters and
ExcludeFilters exclude each other; a stream sends MAX, MIN, SUM and SAMPLECOUNT plus
the StatisticsConfigurations' additional statistics. mamori has no Kinesis Data
Firehose: the stream's State says what the user asked for, and no metric leaves
mamori - `delivery` in GetMetricStream's CloudTrail record is not faked, and the
README's departures list says so. The OTel enrichment switch is kept per account and
Region (kind "cloudwatch:otel-enrichment") and enriches nothing.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any

from mamori.errors import AwsError
from mamori.gateway.context import RequestContext
from mamori.services.cloudwatch.model import invalid, missing

STREAM_KIND = "cloudwatch:metric-stream"
OTEL_KIND = "cloudwatch:otel-enrichment"
OUTPUT_FORMATS = ("json", "opentelemetry0.7", "opentelemetry1.0")
# Additional statistics a stream may send (API_MetricStreamStatisticsConfiguration.html):
# percentiles and the other extended statistics, for json output only the pNN ones.
_STAT = re.compile(r"^(p\d{1,2}(\.\d{1,10})?|p100|(tm|wm|tc|ts)\d{1,2}(\.\d+)?|IQM|(TM|WM|TC|TS|PR)\(.*\))$")
PAGE = 100


def _not_found(name: str) -> AwsError:
    return AwsError(f"Metric stream {name} does not exist.", code="ResourceNotFoundException", status=404)


def _tag_conditions(tags: list[dict]) -> dict[str, Any]:
    if not tags:
        return {}
    keys: dict[str, Any] = {"aws:TagKeys": [t["Key"] for t in tags]}
    for t in tags:
        keys[f"aws:RequestTag/{t['Key']}"] = t["Value"]
    return keys


class MetricStreamOperations:
    """Mixin of the CloudWatch provider (needs `self.runtime`, tags.py's save_tags)."""

    def _stream_arn(self, ctx: RequestContext, name: str) -> str:
        return f"arn:aws:cloudwatch:{ctx.region}:{ctx.account_id}:metric-stream/{name}"

    def put_metric_stream(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request.get("Name") or ""
        arn = self._stream_arn(ctx, name)
        tags = request.get("Tags") or []
        ctx.authorize("cloudwatch:PutMetricStream", arn, _tag_conditions(tags))
        for key in ("FirehoseArn", "RoleArn", "OutputFormat"):
            if not request.get(key):
                raise AwsError(f"The parameter {key} is required.", code="MissingParameter")
        if request["OutputFormat"] not in OUTPUT_FORMATS:
            raise invalid(f"The value {request['OutputFormat']} for parameter OutputFormat is invalid.")
        if not request["FirehoseArn"].startswith("arn:") or ":firehose:" not in request["FirehoseArn"]:
            raise invalid(f"The value {request['FirehoseArn']} for parameter FirehoseArn is not a Firehose delivery stream ARN.")
        if not request["RoleArn"].startswith("arn:") or ":iam::" not in request["RoleArn"]:
            raise invalid(f"The value {request['RoleArn']} for parameter RoleArn is not an IAM role ARN.")
        include, exclude = request.get("IncludeFilters") or [], request.get("ExcludeFilters") or []
        if include and exclude:
            raise AwsError("IncludeFilters and ExcludeFilters are mutually exclusive. You can specify one or the other.",
                           code="InvalidParameterCombination")
        for f in include + exclude:
            if not f.get("Namespace") and f.get("MetricNames"):
                raise invalid("A metric stream filter with MetricNames must name its Namespace.")
        for cfg in request.get("StatisticsConfigurations") or []:
            for stat in cfg.get("AdditionalStatistics") or []:
                if not _STAT.match(stat):
                    raise invalid(f"The value {stat} for parameter AdditionalStatistics is invalid.")
                if request["OutputFormat"] == "json" and not stat.startswith("p"):
                    raise invalid(f"The statistic {stat} is only supported with the OpenTelemetry output formats; "
                                  "json streams accept percentiles only.")
        now = ctx.time()
        old = ctx.store.get(arn)
        doc = {
            "Arn": arn, "Name": name, "IncludeFilters": include, "ExcludeFilters": exclude,
            "FirehoseArn": request["FirehoseArn"], "RoleArn": request["RoleArn"], "OutputFormat": request["OutputFormat"],
            "StatisticsConfigurations": request.get("StatisticsConfigurations") or [],
            "IncludeLinkedAccountsMetrics": bool(request.get("IncludeLinkedAccountsMetrics")),
            "State": old["State"] if old else "running",
            "CreationDate": old["CreationDate"] if old else now, "LastUpdateDate": now,
        }
        ctx.store.put(arn, doc, kind=STREAM_KIND, account_id=ctx.account_id, region=ctx.region)
        if tags and old is None:  # tags are set at creation only, as for alarms
            self.save_tags(ctx.account_id, arn, {t["Key"]: t["Value"] for t in tags})
        return {"Arn": arn}

    def get_metric_stream(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request.get("Name") or ""
        arn = self._stream_arn(ctx, name)
        ctx.authorize("cloudwatch:GetMetricStream", arn)
        doc = ctx.store.get(arn)
        if doc is None:
            raise _not_found(name)
        return dict(doc)

    def list_metric_streams(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ctx.authorize("cloudwatch:ListMetricStreams")
        docs = sorted(ctx.store.list(STREAM_KIND, account_id=ctx.account_id, region=ctx.region), key=lambda d: d["Name"])
        limit = request.get("MaxResults") or PAGE
        start = _read_token(request.get("NextToken"))
        page = docs[start:start + limit]
        out: dict[str, Any] = {"Entries": [
            {k: d[k] for k in ("Arn", "CreationDate", "LastUpdateDate", "Name", "FirehoseArn", "State", "OutputFormat")}
            for d in page]}
        if start + limit < len(docs):
            out["NextToken"] = _token(start + limit)
        return out

    def delete_metric_stream(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request.get("Name") or ""
        arn = self._stream_arn(ctx, name)
        ctx.authorize("cloudwatch:DeleteMetricStream", arn)
        # Deleting a stream that does not exist succeeds (the operation models no
        # not-found error).
        if ctx.store.delete(arn):
            self.drop_tags(arn)
        return {}

    def _switch_streams(self, ctx: RequestContext, request: dict[str, Any], action: str, state: str) -> dict[str, Any]:
        names = request.get("Names")
        if not names:
            raise missing("The parameter Names is required.")
        arns = [self._stream_arn(ctx, n) for n in names]
        # "All or nothing": every stream is authorized before any changes state.
        for arn in arns:
            ctx.authorize(action, arn)
        docs = []
        for name, arn in zip(names, arns):
            doc = ctx.store.get(arn)
            if doc is None:
                raise invalid(f"The value {name} for parameter Names is not an existing metric stream.")
            docs.append(doc)
        with ctx.store.transaction():
            for doc in docs:
                if doc["State"] != state:
                    doc.update(State=state, LastUpdateDate=ctx.time())
                    ctx.store.put(doc["Arn"], doc, kind=STREAM_KIND, account_id=ctx.account_id, region=ctx.region)
        return {}

    def start_metric_streams(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        return self._switch_streams(ctx, request, "cloudwatch:StartMetricStreams", "running")

    def stop_metric_streams(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        return self._switch_streams(ctx, request, "cloudwatch:StopMetricStreams", "stopped")

    # -- OpenTelemetry enrichment --------------------------------------------------------

    def _otel_key(self, ctx: RequestContext) -> str:
        return f"arn:aws:cloudwatch:{ctx.region}:{ctx.account_id}:otel-enrichment"

    def get_o_tel_enrichment(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ctx.authorize("cloudwatch:GetOTelEnrichment")
        doc = ctx.store.get(self._otel_key(ctx))
        return {"Status": doc["Status"] if doc else "Stopped"}

    def _set_otel(self, ctx: RequestContext, action: str, status: str) -> dict[str, Any]:
        ctx.authorize(action)
        ctx.store.put(self._otel_key(ctx), {"Status": status}, kind=OTEL_KIND, account_id=ctx.account_id, region=ctx.region)
        return {}

    def start_o_tel_enrichment(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        return self._set_otel(ctx, "cloudwatch:StartOTelEnrichment", "Running")

    def stop_o_tel_enrichment(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        return self._set_otel(ctx, "cloudwatch:StopOTelEnrichment", "Stopped")


def _token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": offset}).encode()).decode()


def _read_token(token: str | None) -> int:
    if not token:
        return 0
    try:
        return int(json.loads(base64.urlsafe_b64decode(token.encode()))["o"])
    except Exception:  # noqa: BLE001
        raise AwsError("The service cannot process the token.", code="InvalidNextToken") from None
