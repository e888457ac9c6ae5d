"""Vended-log deliveries (delivery sources, delivery destinations with their policies,
deliveries) and log anomaly detectors. Stored and validated: no vended logs are produced
and no anomalies are detected (ListAnomalies answers with none).
https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/AWS-logs-and-resource-policy.html
https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_CreateLogAnomalyDetector.html
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from mamori.errors import error
from mamori.gateway.context import RequestContext
from mamori.services.logs.common import (
    group_arn,
    invalid,
    make_token,
    request_tag_keys,
    resource_tag_keys,
    token_offset,
)

SOURCE = "logs:delivery-source"
DEST = "logs:delivery-destination"
DELIVERY = "logs:delivery"
DETECTOR = "logs:anomaly-detector"
DEST_TYPES = {"s3": "S3", "logs": "CWL", "firehose": "FH"}
FREQUENCIES = ("ONE_MIN", "FIVE_MIN", "TEN_MIN", "FIFTEEN_MIN", "THIRTY_MIN", "ONE_HOUR")


def _page(items: list[dict[str, Any]], request: dict[str, Any], key: str) -> dict[str, Any]:
    limit = request.get("limit") or 50
    start = token_offset(request)
    out: dict[str, Any] = {key: items[start:start + limit]}
    if start + limit < len(items):
        out["nextToken"] = make_token({"offset": start + limit})
    return out


class DeliveryOperations:
    def _arn(self, ctx: RequestContext, kind: str, name: str) -> str:
        return f"arn:aws:logs:{ctx.region}:{ctx.account_id}:{kind}:{name}"

    def _get(self, ctx: RequestContext, arn: str, what: str) -> dict[str, Any]:
        doc = ctx.store.get(arn)
        if doc is None:
            raise error("ResourceNotFoundException", f"The specified {what} does not exist.")
        return doc

    # -- delivery sources ----------------------------------------------------------------

    def put_delivery_source(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        arn = self._arn(ctx, "delivery-source", request["name"])
        tags = request.get("tags") or {}
        ctx.authorize("logs:PutDeliverySource", arn, request_tag_keys(tags))
        parts = request["resourceArn"].split(":")
        if len(parts) < 6 or parts[0] != "arn":
            raise invalid("Invalid resourceArn.")
        existing = ctx.store.get(arn)
        if existing and existing["logType"] != request["logType"]:
            raise error("ConflictException", "The logType of an existing delivery source cannot be changed.")
        doc = {"name": request["name"], "arn": arn, "resourceArns": [request["resourceArn"]], "service": parts[2],
               "logType": request["logType"], "tags": {**((existing or {}).get("tags") or {}), **tags}}
        if request.get("deliverySourceConfiguration"):
            doc["deliverySourceConfiguration"] = request["deliverySourceConfiguration"]
        ctx.store.put(arn, doc, kind=SOURCE, account_id=ctx.account_id, region=ctx.region)
        return {"deliverySource": doc}

    def get_delivery_source(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        arn = self._arn(ctx, "delivery-source", request["name"])
        ctx.authorize("logs:GetDeliverySource", arn)
        return {"deliverySource": self._get(ctx, arn, "delivery source")}

    def describe_delivery_sources(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ctx.authorize("logs:DescribeDeliverySources", "*")
        items = sorted(ctx.store.list(SOURCE, account_id=ctx.account_id, region=ctx.region), key=lambda d: d["name"])
        return _page(items, request, "deliverySources")

    def delete_delivery_source(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        arn = self._arn(ctx, "delivery-source", request["name"])
        ctx.authorize("logs:DeleteDeliverySource", arn)
        self._get(ctx, arn, "delivery source")
        if any(d["deliverySourceName"] == request["name"] for d in self._deliveries(ctx)):
            raise error("ConflictException", "The delivery source is in use by a delivery.")
        ctx.store.delete(arn)
        return {}

    # -- delivery destinations -------------------------------------------------------------

    def put_delivery_destination(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        arn = self._arn(ctx, "delivery-destination", request["name"])
        tags = request.get("tags") or {}
        ctx.authorize("logs:PutDeliveryDestination", arn, request_tag_keys(tags))
        config = request.get("deliveryDestinationConfiguration")
        kind = request.get("deliveryDestinationType")
        if config:
            service = config["destinationResourceArn"].split(":")[2:3]
            derived = DEST_TYPES.get(service[0] if service else "")
            if derived is None:
                raise invalid("destinationResourceArn must be an S3 bucket, a log group or a Firehose stream.")
            kind = kind or derived
        elif kind != "XRAY":
            raise invalid("deliveryDestinationConfiguration is required.")
        existing = ctx.store.get(arn) or {}
        doc = {"name": request["name"], "arn": arn, "deliveryDestinationType": kind,
               "tags": {**(existing.get("tags") or {}), **tags}}
        if request.get("outputFormat"):
            doc["outputFormat"] = request["outputFormat"]
        if config:
            doc["deliveryDestinationConfiguration"] = config
        if existing.get("_policy"):
            doc["_policy"] = existing["_policy"]
        ctx.store.put(arn, doc, kind=DEST, account_id=ctx.account_id, region=ctx.region)
        return {"deliveryDestination": {k: v for k, v in doc.items() if not k.startswith("_")}}

    def get_delivery_destination(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        arn = self._arn(ctx, "delivery-destination", request["name"])
        ctx.authorize("logs:GetDeliveryDestination", arn)
        doc = self._get(ctx, arn, "delivery destination")
        return {"deliveryDestination": {k: v for k, v in doc.items() if not k.startswith("_")}}

    def describe_delivery_destinations(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ctx.authorize("logs:DescribeDeliveryDestinations", "*")
        items = sorted(({k: v for k, v in d.items() if not k.startswith("_")}
                        for d in ctx.store.list(DEST, account_id=ctx.account_id, region=ctx.region)),
                       key=lambda d: d["name"])
        return _page(items, request, "deliveryDestinations")

    def delete_delivery_destination(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        arn = self._arn(ctx, "delivery-destination", request["name"])
        ctx.authorize("logs:DeleteDeliveryDestination", arn)
        self._get(ctx, arn, "delivery destination")
        if any(d["deliveryDestinationArn"] == arn for d in self._deliveries(ctx)):
            raise error("ConflictException", "The delivery destination is in use by a delivery.")
        ctx.store.delete(arn)
        return {}

    def put_delivery_destination_policy(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        arn = self._arn(ctx, "delivery-destination", request["deliveryDestinationName"])
        ctx.authorize("logs:PutDeliveryDestinationPolicy", arn)
        doc = self._get(ctx, arn, "delivery destination")
        try:
            if not isinstance(json.loads(request["deliveryDestinationPolicy"]), dict):
                raise ValueError
        except ValueError:
            raise invalid("The delivery destination policy is not a valid JSON object.") from None
        doc["_policy"] = request["deliveryDestinationPolicy"]
        ctx.store.put(arn, doc, kind=DEST, account_id=ctx.account_id, region=ctx.region)
        return {"policy": {"deliveryDestinationPolicy": doc["_policy"]}}

    def get_delivery_destination_policy(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        arn = self._arn(ctx, "delivery-destination", request["deliveryDestinationName"])
        ctx.authorize("logs:GetDeliveryDestinationPolicy", arn)
        doc = self._get(ctx, arn, "delivery destination")
        return {"policy": {"deliveryDestinationPolicy": doc["_policy"]} if doc.get("_policy") else {}}

    def delete_delivery_destination_policy(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        arn = self._arn(ctx, "delivery-destination", request["deliveryDestinationName"])
        ctx.authorize("logs:DeleteDeliveryDestinationPolicy", arn)
        doc = self._get(ctx, arn, "delivery destination")
        if not doc.pop("_policy", None):
            raise error("ResourceNotFoundException", "The specified delivery destination policy does not exist.")
        ctx.store.put(arn, doc, kind=DEST, account_id=ctx.account_id, region=ctx.region)
        return {}

    # -- deliveries ------------------------------------------------------------------------

    def _deliveries(self, ctx: RequestContext) -> list[dict[str, Any]]:
        return ctx.store.list(DELIVERY, account_id=ctx.account_id, region=ctx.region)

    def create_delivery(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ident = uuid.uuid4().hex[:16]
        arn = self._arn(ctx, "delivery", ident)
        tags = request.get("tags") or {}
        ctx.authorize("logs:CreateDelivery", arn, request_tag_keys(tags))
        self._get(ctx, self._arn(ctx, "delivery-source", request["deliverySourceName"]), "delivery source")
        dest = self._get(ctx, request["deliveryDestinationArn"], "delivery destination")
        if any(d["deliverySourceName"] == request["deliverySourceName"]
               and d["deliveryDestinationArn"] == request["deliveryDestinationArn"] for d in self._deliveries(ctx)):
            raise error("ConflictException", "A delivery between this source and destination already exists.")
        doc = {"id": ident, "arn": arn, "deliverySourceName": request["deliverySourceName"],
               "deliveryDestinationArn": request["deliveryDestinationArn"],
               "deliveryDestinationType": dest["deliveryDestinationType"], "tags": tags}
        for key in ("recordFields", "fieldDelimiter", "s3DeliveryConfiguration"):
            if key in request:
                doc[key] = request[key]
        ctx.store.put(arn, doc, kind=DELIVERY, account_id=ctx.account_id, region=ctx.region)
        return {"delivery": doc}

    def get_delivery(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        arn = self._arn(ctx, "delivery", request["id"])
        ctx.authorize("logs:GetDelivery", arn)
        return {"delivery": self._get(ctx, arn, "delivery")}

    def describe_deliveries(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ctx.authorize("logs:DescribeDeliveries", "*")
        return _page(sorted(self._deliveries(ctx), key=lambda d: d["id"]), request, "deliveries")

    def update_delivery_configuration(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        arn = self._arn(ctx, "delivery", request["id"])
        ctx.authorize("logs:UpdateDeliveryConfiguration", arn)
        doc = self._get(ctx, arn, "delivery")
        for key in ("recordFields", "fieldDelimiter", "s3DeliveryConfiguration"):
            if key in request:
                doc[key] = request[key]
        ctx.store.put(arn, doc, kind=DELIVERY, account_id=ctx.account_id, region=ctx.region)
        return {}

    def delete_delivery(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        arn = self._arn(ctx, "delivery", request["id"])
        ctx.authorize("logs:DeleteDelivery", arn)
        self._get(ctx, arn, "delivery")
        ctx.store.delete(arn)
        return {}

    # -- anomaly detectors -----------------------------------------------------------------

    def create_log_anomaly_detector(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        arn = self._arn(ctx, "anomaly-detector", str(uuid.uuid4()))
        tags = request.get("tags") or {}
        ctx.authorize("logs:CreateLogAnomalyDetector", arn, request_tag_keys(tags))
        for group in request["logGroupArnList"]:
            name = group.split(":log-group:")[-1].removesuffix(":*")
            if ctx.store.get(group_arn(ctx, name=name)) is None:
                raise error("ResourceNotFoundException", "The specified log group does not exist.")
        self._check_detector(request)
        now = int(ctx.time() * 1000)
        doc = {"anomalyDetectorArn": arn, "detectorName": request.get("detectorName", ""),
               "logGroupArnList": request["logGroupArnList"],
               "evaluationFrequency": request.get("evaluationFrequency", "FIVE_MIN"),
               "filterPattern": request.get("filterPattern", ""), "anomalyDetectorStatus": "INITIALIZING",
               "creationTimeStamp": now, "lastModifiedTimeStamp": now,
               "anomalyVisibilityTime": request.get("anomalyVisibilityTime", 21), "_tags": tags}
        if request.get("kmsKeyId"):
            doc["kmsKeyId"] = request["kmsKeyId"]
        ctx.store.put(arn, doc, kind=DETECTOR, account_id=ctx.account_id, region=ctx.region)
        return {"anomalyDetectorArn": arn}

    def _check_detector(self, request: dict[str, Any]) -> None:
        from mamori.services.logs.patterns import compile_pattern

        if request.get("filterPattern"):
            compile_pattern(request["filterPattern"])
        visibility = request.get("anomalyVisibilityTime")
        if visibility is not None and not 7 <= visibility <= 90:
            raise invalid("anomalyVisibilityTime must be between 7 and 90 days.")

    def _detector(self, ctx: RequestContext, arn: str, action: str) -> dict[str, Any]:
        doc = ctx.store.get(arn)
        ctx.authorize(action, arn, resource_tag_keys(doc or {}))
        if doc is None or not arn.startswith(f"arn:aws:logs:{ctx.region}:{ctx.account_id}:anomaly-detector:"):
            raise error("ResourceNotFoundException", "The specified anomaly detector does not exist.")
        return doc

    def get_log_anomaly_detector(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        doc = self._detector(ctx, request["anomalyDetectorArn"], "logs:GetLogAnomalyDetector")
        return {k: v for k, v in doc.items() if not k.startswith("_") and k != "anomalyDetectorArn"}

    def list_log_anomaly_detectors(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ctx.authorize("logs:ListLogAnomalyDetectors", "*")
        wanted = request.get("filterLogGroupArn")
        items = [{k: v for k, v in d.items() if not k.startswith("_")}
                 for d in ctx.store.list(DETECTOR, account_id=ctx.account_id, region=ctx.region)
                 if not wanted or wanted in d["logGroupArnList"]]
        return _page(sorted(items, key=lambda d: d["creationTimeStamp"]), request, "anomalyDetectors")

    def update_log_anomaly_detector(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        arn = request["anomalyDetectorArn"]
        doc = self._detector(ctx, arn, "logs:UpdateLogAnomalyDetector")
        self._check_detector(request)
        for key in ("evaluationFrequency", "filterPattern", "anomalyVisibilityTime"):
            if key in request:
                doc[key] = request[key]
        doc["anomalyDetectorStatus"] = "ANALYZING" if request["enabled"] else "PAUSED"
        doc["lastModifiedTimeStamp"] = int(ctx.time() * 1000)
        ctx.store.put(arn, doc, kind=DETECTOR, account_id=ctx.account_id, region=ctx.region)
        return {}

    def delete_log_anomaly_detector(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        arn = request["anomalyDetectorArn"]
        self._detector(ctx, arn, "logs:DeleteLogAnomalyDetector")
        ctx.store.delete(arn)
        return {}

    def list_anomalies(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        if request.get("anomalyDetectorArn"):
            self._detector(ctx, request["anomalyDetectorArn"], "logs:ListAnomalies")
        else:
            ctx.authorize("logs:ListAnomalies", "*")
        return {"anomalies": []}

    def update_anomaly(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        """Suppress or unsuppress an anomaly or a pattern of a detector. mamori's detectors
        find no anomalies, so after the checks AWS makes the anomaly or pattern is not found.
        https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_UpdateAnomaly.html"""
        self._detector(ctx, request["anomalyDetectorArn"], "logs:UpdateAnomaly")
        if bool(request.get("anomalyId")) == bool(request.get("patternId")):
            raise invalid("You must specify either anomalyId or patternId, but not both.")
        if request.get("suppressionType") == "LIMITED" and not request.get("suppressionPeriod"):
            raise invalid("suppressionPeriod is required when suppressionType is LIMITED.")
        what = "anomaly" if request.get("anomalyId") else "pattern"
        raise error("ResourceNotFoundException", f"The specified {what} does not exist.")
