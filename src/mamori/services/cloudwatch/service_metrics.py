"""The AWS/... metrics mamori publishes about its own services, once a minute of the
mamori clock.

    AWS/Usage CallCount              every API call mamori answered, per operation
      dimensions Service, Type=API, Resource=<operation>, Class=None; no unit; one
      datapoint per minute (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch-Usage-Metrics.html)
    AWS/Logs IncomingLogEvents       log events ingested, per log group (LogGroupName) and
    AWS/Logs IncomingBytes           for the account (no dimension); IncomingBytes in Bytes
      (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CloudWatch-Logs-Monitoring-CloudWatch-Metrics.html)
    AWS/KMS SecondsUntilKeyMaterialExpiration   per KeyId, for KMS keys whose imported
      key material expires (ValidTo), in Seconds
      (https://docs.aws.amazon.com/kms/latest/developerguide/monitoring-cloudwatch.html); read
      from the KMS keys' documents in the resource store (kind "kms-key"), which have no
      cross-account list operation to go through

Other services publish their own metrics through `record_metric_data` as things happen
(AWS/Events, AWS/SNS, Logs metric filters); these two are counted afterwards from what
mamori already keeps: the CloudTrail records (every call that reached an operation)
and the log events stored (store/metrics.py's `api_call_counts`, `log_ingestion`),
each datapoint at the minute of the calls or ingestions it counts. A watermark in the
resource store (kind "cloudwatch:service-metrics") keeps the newest CloudTrail seq and
log event id published - row numbers, not times, so a clock set back loses nothing and
a restart neither loses nor repeats a count. A minute still running when the job runs
gets the rest of its count as a second datapoint (its Sum is right). After a long clock
advance only the last run does the work. Unlike AWS, which counts a chosen list of
operations per service, every operation is counted.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from mamori.store.metrics import api_call_counts, log_ingestion

log = logging.getLogger("mamori.cloudwatch")
KIND = "cloudwatch:service-metrics"
WATERMARK = "mamori:cloudwatch:service-metrics"
EVERY = 60
KMS_KEY_KIND = "kms-key"
# The Service dimension by the event source's host (CloudWatch's own is "monitoring").
SERVICE_NAMES = {
    "monitoring": "CloudWatch", "logs": "Logs", "kms": "KMS", "sqs": "SQS", "sns": "SNS", "events": "Events",
    "sts": "STS", "iam": "IAM", "cloudtrail": "CloudTrail", "s3": "S3", "ec2": "EC2", "secretsmanager": "SecretsManager",
}


class ServiceMetricOperations:
    """Mixin of the CloudWatch provider (needs `record_metric_data`)."""

    def arm_service_metrics(self) -> None:
        now = self.runtime.clock.time()
        start = math.floor(now / EVERY) * EVERY + EVERY
        self.runtime.scheduler.every(EVERY, self._publish_service_metrics, "cloudwatch:service-metrics", start=start)

    def _publish_service_metrics(self, due: float) -> None:
        if self.runtime.clock.time() - due >= 2 * EVERY:
            return  # a clock advance: the newest run covers the whole gap
        mark = dict(self.runtime.store.get(WATERMARK) or {"calls": 0, "logs": 0})
        try:
            rows, mark["calls"] = api_call_counts(self.runtime.telemetry, int(mark["calls"]))
            self._publish_calls(rows)
            rows, mark["logs"] = log_ingestion(self.runtime.telemetry, int(mark["logs"]))
            self._publish_ingestion(rows)
            self._publish_key_expiry(due)
        except Exception:  # noqa: BLE001 - metrics must never stop the scheduler
            log.exception("could not publish the service metrics due at %s", due)
        self.runtime.store.put(WATERMARK, mark, kind=KIND, account_id="")

    def _publish_calls(self, rows: list[tuple]) -> None:
        batches: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for account, region, source, operation, minute, calls in rows:
            host = (source or "").split(".")[0]
            dims = [{"Name": "Service", "Value": SERVICE_NAMES.get(host, host)}, {"Name": "Type", "Value": "API"},
                    {"Name": "Resource", "Value": operation}, {"Name": "Class", "Value": "None"}]
            batches.setdefault((account, region), []).append(
                {"MetricName": "CallCount", "Dimensions": dims, "Timestamp": float(minute), "Value": float(calls)})
        for (account, region), data in batches.items():
            self.record_metric_data(account, region, "AWS/Usage", data)

    def _publish_ingestion(self, rows: list[tuple]) -> None:
        batches: dict[tuple[str, str], list[dict[str, Any]]] = {}
        totals: dict[tuple[str, str, float], list[int]] = {}
        for account, region, group, minute, events, size in rows:
            dims = [{"Name": "LogGroupName", "Value": group}]
            out = batches.setdefault((account, region), [])
            out.append({"MetricName": "IncomingLogEvents", "Dimensions": dims, "Timestamp": float(minute),
                        "Value": float(events), "Unit": "None"})
            out.append({"MetricName": "IncomingBytes", "Dimensions": dims, "Timestamp": float(minute),
                        "Value": float(size), "Unit": "Bytes"})
            total = totals.setdefault((account, region, float(minute)), [0, 0])
            total[0] += events
            total[1] += size
        for (account, region, minute), (events, size) in totals.items():
            batches[(account, region)] += [
                {"MetricName": "IncomingLogEvents", "Timestamp": minute, "Value": float(events), "Unit": "None"},
                {"MetricName": "IncomingBytes", "Timestamp": minute, "Value": float(size), "Unit": "Bytes"}]
        for (account, region), data in batches.items():
            self.record_metric_data(account, region, "AWS/Logs", data)

    def _publish_key_expiry(self, due: float) -> None:
        now = self.runtime.clock.time()
        batches: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for doc in self.runtime.store.list(KMS_KEY_KIND):
            meta = doc.get("KeyMetadata") or {}
            valid_to = meta.get("ValidTo")
            if not valid_to or meta.get("KeyState") == "PendingImport" or float(valid_to) <= now:
                continue
            region = (meta.get("Arn") or "").split(":")[3:4]
            if not region:
                continue
            batches.setdefault((meta.get("AWSAccountId", ""), region[0]), []).append({
                "MetricName": "SecondsUntilKeyMaterialExpiration", "Dimensions": [{"Name": "KeyId", "Value": meta["KeyId"]}],
                "Timestamp": due - EVERY, "Value": float(valid_to) - now, "Unit": "Seconds"})
        for (account, region), data in batches.items():
            self.record_metric_data(account, region, "AWS/KMS", data)

