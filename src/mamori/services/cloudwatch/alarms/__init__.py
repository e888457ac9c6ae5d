"""CloudWatch alarms: the AlarmOperations mixin of the CloudWatch provider.

    __init__.py   the operations (PutMetricAlarm, PutCompositeAlarm, DescribeAlarms,
                  DescribeAlarmsForMetric, DescribeAlarmHistory, SetAlarmState,
                  Enable/DisableAlarmActions, DeleteAlarms, anomaly detectors), the
                  scheduler job (setup_alarms) and state changes with their actions
    engine.py     M of N / TreatMissingData / comparison: pure functions
    rule.py       the composite AlarmRule grammar
    actions.py    the state-change event and the SNS notification JSON
    band.py       the anomaly detection band model
    mute_rules.py alarm mute rules (actions muted on a schedule)

Alarms are resources of kind "cloudwatch:alarm" (doc: the API members plus `type`,
`account`, `region`, `state` {value, reason, data, time}, `updated`); history items are
kind "cloudwatch:alarm-history" and survive the alarm. One scheduler job ticks every
10 s of the mamori clock and evaluates each metric alarm at each minute boundary
(every 10 s for 10/30 s alarms), over the periods that ended by then.
"""

from __future__ import annotations

import json
import math
import uuid
from datetime import datetime, timezone
from typing import Any

from mamori.errors import AwsError
from mamori.gateway.context import Principal, RequestContext
from mamori.services.cloudwatch.alarms import actions as act
from mamori.services.cloudwatch.alarms import band as band_model
from mamori.services.cloudwatch.alarms import engine, history, rule
from mamori.services.cloudwatch.alarms.mute_rules import MuteRuleOperations
from mamori.services.cloudwatch.model import combination, epoch, invalid, missing, validation

ALARM_KIND = "cloudwatch:alarm"
HISTORY_KIND = "cloudwatch:alarm-history"
DETECTOR_KIND = "cloudwatch:anomaly-detector"
TICK = 10
CATCH_UP_LIMIT = 86400
STATES = (engine.OK, engine.ALARM, engine.INSUFFICIENT)
HISTORY_TYPES = history.HISTORY_TYPES
STATISTICS = ("SampleCount", "Average", "Sum", "Minimum", "Maximum")


def not_found(message: str) -> AwsError:
    return AwsError(message, code="ResourceNotFound", status=404)


class AlarmOperations(MuteRuleOperations):
    """Mixin of CloudWatchProvider (needs `self.runtime`, `self.metric_series`,
    `self.evaluate_metric_data`)."""

    # -- plumbing ------------------------------------------------------------------------

    @property
    def alarm_lock(self):
        """Serialises alarm writes: the scheduler evaluates on the thread that moved the
        clock while requests change alarms on theirs (made in setup_alarms)."""
        lock = getattr(self, "_alarm_lock", None)
        if lock is None:
            import threading

            lock = self._alarm_lock = threading.RLock()
        return lock

    def _alarm_arn(self, account: str, region: str, name: str) -> str:
        return f"arn:aws:cloudwatch:{region}:{account}:alarm:{name}"

    def _alarm(self, account: str, region: str, name: str) -> dict | None:
        return self.runtime.store.get(self._alarm_arn(account, region, name))

    def _save(self, alarm: dict) -> None:
        self._index = None
        self.runtime.store.put(alarm["AlarmArn"], alarm, kind=ALARM_KIND, account_id=alarm["account"], region=alarm["region"])

    def _history(self, alarm: dict, kind: str, summary: str, data: dict, t: float) -> None:
        item = {"AlarmName": alarm["AlarmName"], "AlarmType": alarm["type"], "Timestamp": t,
                "HistoryItemType": kind, "HistorySummary": summary, "HistoryData": json.dumps(data),
                "AlarmArn": alarm["AlarmArn"]}
        arn = f"{alarm['AlarmArn']}#history/{t:.3f}/{uuid.uuid4().hex[:8]}"
        item["_id"] = arn
        seq = getattr(self, "_history_seq", None)
        if seq is None:  # items written in the same millisecond keep their order, across restarts too
            seq = max((i.get("_seq", 0) for _, i in self._history_items()), default=0)
        self._history_seq = item["_seq"] = seq + 1
        self.runtime.store.put(arn, item, kind=HISTORY_KIND, account_id=alarm["account"], region=alarm["region"])

    def _history_items(self) -> list[tuple[str, dict]]:
        return [(i["_id"], i) for i in self.runtime.store.list(HISTORY_KIND) if "_id" in i]

    def _resolve(self, account: str, region: str, name: str) -> dict | None:
        if name.startswith("arn:"):
            return self.runtime.store.get(name)
        return self._alarm(account, region, name)

    # -- validation -----------------------------------------------------------------------

    def _common(self, request: dict) -> dict:
        name = request.get("AlarmName")
        if not name:
            raise missing("The parameter AlarmName is required.")
        if len(name) > 255 or any(ord(c) < 32 for c in name):
            raise invalid(f"The value {name} for parameter AlarmName is invalid.")
        if len(request.get("AlarmDescription") or "") > 1024:
            raise validation("1 validation error detected: Value at 'alarmDescription' failed to satisfy constraint: Member must have length less than or equal to 1024")
        for key in ("OKActions", "AlarmActions", "InsufficientDataActions"):
            acts = request.get(key) or []
            if len(acts) > 5:
                raise validation(f"1 validation error detected: Value at '{key[0].lower() + key[1:]}' failed to satisfy constraint: Member must have length less than or equal to 5")
            for a in acts:
                if not a.startswith("arn:"):
                    raise invalid(f"Invalid arn syntax: {a}")
        if len(request.get("Tags") or []) > 50:
            raise invalid("The collection Tags must not have a size greater than 50.")
        return {k: request[k] for k in ("AlarmName", "AlarmDescription", "ActionsEnabled", "OKActions", "AlarmActions",
                                         "InsufficientDataActions") if k in request}

    def _validate_metric_alarm(self, request: dict) -> dict:
        doc = self._common(request)
        doc.setdefault("ActionsEnabled", True)
        for k in ("OKActions", "AlarmActions", "InsufficientDataActions"):
            doc.setdefault(k, [])
        single = bool(request.get("MetricName"))
        multi = bool(request.get("Metrics"))
        if single and multi:
            raise combination("The parameters MetricName and Metrics are mutually exclusive and you must specify one of them.")
        if not single and not multi:
            raise validation("One of the parameters MetricName or Metrics must be specified.")
        if request.get("Statistic") and request.get("ExtendedStatistic"):
            raise combination("Statistic and ExtendedStatistic parameters are mutually exclusive and you have specified both.")
        n = request.get("EvaluationPeriods")
        if n is None:
            raise missing("The parameter EvaluationPeriods is required.")
        if n < 1:
            raise validation(f"1 validation error detected: Value '{n}' at 'evaluationPeriods' failed to satisfy constraint: Member must have value greater than or equal to 1")
        m = request.get("DatapointsToAlarm", n)
        if m < 1 or m > n:
            raise validation("DatapointsToAlarm must be greater than 0 and less than or equal to EvaluationPeriods.")
        op = request.get("ComparisonOperator")
        if op not in engine.STATIC_OPERATORS and op not in engine.BAND_OPERATORS:
            raise validation(f"1 validation error detected: Value '{op}' at 'comparisonOperator' failed to satisfy constraint: Member must satisfy enum value set: [{', '.join(list(engine.STATIC_OPERATORS) + list(engine.BAND_OPERATORS))}]")
        treat = request.get("TreatMissingData", "missing")
        if treat not in engine.TREATMENTS:
            raise invalid(f"The value {treat} for parameter TreatMissingData is invalid.")
        elsp = request.get("EvaluateLowSampleCountPercentile")
        if elsp not in (None, "", "evaluate", "ignore"):
            raise invalid(f"The value {elsp} for parameter EvaluateLowSampleCountPercentile is invalid.")
        if op in engine.BAND_OPERATORS:
            if not request.get("ThresholdMetricId"):
                raise validation("ThresholdMetricId must be specified for anomaly detection alarms.")
            if request.get("Threshold") is not None:
                raise validation("Threshold should not be specified for anomaly detection alarms.")
        elif request.get("Threshold") is None:
            raise validation("Threshold must be specified.")
        if single:
            if not request.get("Namespace"):
                raise missing("The parameter Namespace is required.")
            if not request.get("Statistic") and not request.get("ExtendedStatistic"):
                raise validation("Either Statistic or ExtendedStatistic must be specified.")
            if request.get("Statistic") and request["Statistic"] not in STATISTICS:
                raise invalid(f"The value {request['Statistic']} for parameter Statistic is invalid.")
            if request.get("ExtendedStatistic"):
                from mamori.services.cloudwatch.statistics import parse_statistic
                if parse_statistic(request["ExtendedStatistic"]) is None:
                    raise invalid(f"The value {request['ExtendedStatistic']} for parameter ExtendedStatistic is invalid.")
            if len(request.get("Dimensions") or []) > 30:
                raise invalid("The collection Dimensions must not have a size greater than 30.")
            period = request.get("Period")
            if period is None:
                raise missing("The parameter Period is required.")
            periods = [period]
        else:
            queries = request["Metrics"]
            tid = request.get("ThresholdMetricId")
            if tid:
                [tq] = [q for q in queries if q["Id"] == tid] or [None]
                if tq is None or band_model.parse_band(tq.get("Expression", "")) is None:
                    raise validation("ThresholdMetricId must name an ANOMALY_DETECTION_BAND expression in Metrics.")
                if band_model.parse_band(tq["Expression"])[0] not in {q["Id"] for q in queries}:
                    raise validation("ANOMALY_DETECTION_BAND must name a metric of the alarm.")
            if sum(1 for q in queries if q.get("ReturnData", True) and q["Id"] != tid) != 1:
                raise validation("Exactly one element of the metrics list should return data.")
            if len([q for q in queries if q.get("MetricStat")]) > 10:
                raise validation("Metric math alarms can use at most 10 metrics.")
            periods = [q["MetricStat"]["Period"] for q in queries if q.get("MetricStat")] + [q["Period"] for q in queries if q.get("Period")]
            if len(set(periods)) > 1:
                raise validation("All metrics in an alarm must have the same period.")
            for k in ("Namespace", "Statistic", "ExtendedStatistic", "Period", "Dimensions", "Unit"):
                if request.get(k):
                    raise combination(f"The parameters {k} and Metrics are mutually exclusive.")
        for period in periods or [60]:
            if not (period in (10, 20, 30) or (period >= 60 and period % 60 == 0)):
                raise validation(f"The value {period} for parameter Period is not a valid period. Valid values are 10, 20, 30, or any multiple of 60.")
            if period * n > 604800 or (period < 3600 and period * n > 86400):
                raise validation("The evaluation period (Period multiplied by EvaluationPeriods) must not exceed one day (86400 seconds) for periods under an hour, or seven days otherwise.")
        for k in ("MetricName", "Namespace", "Statistic", "ExtendedStatistic", "Dimensions", "Period", "Unit", "EvaluationPeriods",
                  "DatapointsToAlarm", "Threshold", "ComparisonOperator", "TreatMissingData", "EvaluateLowSampleCountPercentile",
                  "Metrics", "ThresholdMetricId"):
            if request.get(k) is not None and request.get(k) != "":
                doc[k] = request[k]
        acts = [a for k in ("OKActions", "AlarmActions", "InsufficientDataActions") for a in request.get(k) or []]
        if multi and any(a.startswith("arn:aws:automate:") or a.split(":")[2:3] == ["ec2"] for a in acts):
            raise validation("EC2 actions are not supported for metric math alarms.")
        if request.get("ThresholdMetricId") and any(a.split(":")[2:3] == ["autoscaling"] for a in acts):
            raise validation("Auto Scaling actions are not supported for anomaly detection alarms.")
        doc.setdefault("Dimensions", []) if single else None
        doc["TreatMissingData"] = treat
        doc["period"] = periods[0] if periods else 60
        return doc

    # -- PutMetricAlarm / PutCompositeAlarm ----------------------------------------------

    def _conditions(self, request: dict, namespace: str | None = None) -> dict:
        keys: dict[str, Any] = {}
        acts = [a for k in ("OKActions", "AlarmActions", "InsufficientDataActions") for a in request.get(k) or []]
        if acts:
            keys["cloudwatch:AlarmActions"] = acts
        if namespace:
            keys["cloudwatch:namespace"] = namespace
        tags = request.get("Tags") or []
        if tags:
            keys["aws:RequestTag"] = {t["Key"]: t["Value"] for t in tags}
            keys["aws:TagKeys"] = [t["Key"] for t in tags]
        return keys

    def put_metric_alarm(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        arn = self._alarm_arn(ctx.account_id, ctx.region, request.get("AlarmName") or "")
        ctx.authorize("cloudwatch:PutMetricAlarm", arn, self._conditions(request, request.get("Namespace")))
        doc = self._validate_metric_alarm(request)
        doc["type"] = "MetricAlarm"
        with self.alarm_lock:
            self._store_alarm(ctx, doc, request)
        return {}

    def put_composite_alarm(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        arn = self._alarm_arn(ctx.account_id, ctx.region, request.get("AlarmName") or "")
        ctx.authorize("cloudwatch:PutCompositeAlarm", arn, self._conditions(request))
        doc = self._common(request)
        doc.setdefault("ActionsEnabled", True)
        for k in ("OKActions", "AlarmActions", "InsufficientDataActions"):
            doc.setdefault(k, [])
            for a in doc[k]:
                if a.split(":")[2] in ("ec2", "autoscaling"):
                    raise validation("Composite alarms cannot have EC2 or Auto Scaling actions.")
        text = request.get("AlarmRule") or ""
        if not text:
            raise missing("The parameter AlarmRule is required.")
        if len(text) > 10240:
            raise validation("1 validation error detected: Value at 'alarmRule' failed to satisfy constraint: Member must have length less than or equal to 10240")
        try:
            tree = rule.parse(text)
        except rule.RuleError as exc:
            raise invalid(f"Error in alarm rule: {exc}.") from None
        kids = rule.children(tree)
        if len(set(kids)) > 100:
            raise invalid("An alarm rule can reference at most 100 alarms.")
        for kid in kids:
            if self._resolve(ctx.account_id, ctx.region, kid) is None:
                raise invalid(f"Could not save the composite alarm as alarms [{kid}] in the alarm rule do not exist")
        doc["AlarmRule"] = text
        doc["children"] = [self._resolve(ctx.account_id, ctx.region, k)["AlarmArn"] for k in kids]
        for k in ("ActionsSuppressor", "ActionsSuppressorWaitPeriod", "ActionsSuppressorExtensionPeriod"):
            if request.get(k) is not None:
                doc[k] = request[k]
        if doc.get("ActionsSuppressor"):
            sup = self._resolve(ctx.account_id, ctx.region, doc["ActionsSuppressor"])
            if sup is None:
                raise invalid(f"Could not save the composite alarm as the actions suppressor [{doc['ActionsSuppressor']}] does not exist")
            doc["ActionsSuppressor"] = sup["AlarmArn"]
            doc.setdefault("ActionsSuppressorWaitPeriod", 60)
            doc.setdefault("ActionsSuppressorExtensionPeriod", 60)
        elif request.get("ActionsSuppressorWaitPeriod") is not None or request.get("ActionsSuppressorExtensionPeriod") is not None:
            raise validation("ActionsSuppressorWaitPeriod and ActionsSuppressorExtensionPeriod require ActionsSuppressor.")
        doc["type"] = "CompositeAlarm"
        with self.alarm_lock:
            alarm = self._store_alarm(ctx, doc, request)
            self._evaluate_composite(alarm, ctx.time())
        return {}

    def _store_alarm(self, ctx: RequestContext, doc: dict, request: dict) -> dict:
        now = ctx.time()
        arn = self._alarm_arn(ctx.account_id, ctx.region, doc["AlarmName"])
        old = self.runtime.store.get(arn)
        if old is not None and old["type"] != doc["type"]:
            raise invalid(f"The alarm {doc['AlarmName']} already exists as a {old['type']}.")
        doc.update(AlarmArn=arn, account=ctx.account_id, region=ctx.region, updated=now)
        if old is None:
            doc["state"] = {"value": engine.INSUFFICIENT, "reason": "Unchecked: Initial alarm creation", "data": None, "time": now}
            if request.get("Tags"):
                save = getattr(self, "save_tags", None)
                if callable(save):
                    save(ctx.account_id, arn, {t["Key"]: t["Value"] for t in request["Tags"]})
        else:
            doc["state"] = old["state"]
            for k in ("pending",):
                if k in old:
                    doc[k] = old[k]
        self._save(doc)
        self._history(doc, "ConfigurationUpdate", f"Alarm \"{doc['AlarmName']}\" {'created' if old is None else 'updated'}",
                      history.configuration_data("Create" if old is None else "Update", doc), now)
        self._publish(doc, "CloudWatch Alarm Configuration Change", act.configuration_event(doc, "create" if old is None else "update", old), now)
        return doc

    def _publish(self, alarm: dict, detail_type: str, detail: dict, t: float) -> None:
        self.runtime.bus.publish({
            "version": "0", "id": str(uuid.uuid4()), "detail-type": detail_type,
            "source": "aws.cloudwatch", "account": alarm["account"],
            "time": datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": alarm["region"], "resources": [alarm["AlarmArn"]], "detail": detail,
        })

    # -- describe ------------------------------------------------------------------------

    def _public(self, a: dict) -> dict:
        out = {k: v for k, v in a.items() if k[:1].isupper() and k not in ("AlarmArn",)}
        out["AlarmArn"] = a["AlarmArn"]
        out["AlarmConfigurationUpdatedTimestamp"] = a["updated"]
        out["StateValue"] = a["state"]["value"]
        out["StateReason"] = a["state"]["reason"]
        if a["state"].get("data"):
            out["StateReasonData"] = a["state"]["data"]
        out["StateUpdatedTimestamp"] = a["state"]["time"]
        out["StateTransitionedTimestamp"] = a["state"]["time"]
        if a["type"] == "CompositeAlarm":
            out.setdefault("ActionsSuppressedBy", a.get("suppressed_by", "None"))
            if a.get("suppressed_reason"):
                out["ActionsSuppressedReason"] = a["suppressed_reason"]
        return out

    def describe_alarms(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ctx.authorize("cloudwatch:DescribeAlarms", self._alarm_arn(ctx.account_id, ctx.region, "*"))
        names = request.get("AlarmNames") or []
        prefix = request.get("AlarmNamePrefix")
        if names and prefix:
            raise combination("AlarmNames and AlarmNamePrefix are mutually exclusive.")
        types = request.get("AlarmTypes") or ["MetricAlarm"]
        kids_of, parents_of = request.get("ChildrenOfAlarmName"), request.get("ParentsOfAlarmName")
        if (kids_of or parents_of) and (names or prefix or request.get("StateValue") or request.get("ActionPrefix")):
            raise combination("ChildrenOfAlarmName and ParentsOfAlarmName can't be used with other filters except AlarmTypes.")
        state = request.get("StateValue")
        if state and state not in STATES:
            raise invalid(f"The value {state} for parameter StateValue is invalid.")
        alarms = self.runtime.store.list(ALARM_KIND, account_id=ctx.account_id, region=ctx.region)
        if kids_of:
            parent = self._alarm(ctx.account_id, ctx.region, kids_of)
            wanted = set(parent.get("children", [])) if parent and parent["type"] == "CompositeAlarm" else set()
            alarms = [a for a in alarms if a["AlarmArn"] in wanted]
        if parents_of:
            arn = self._alarm_arn(ctx.account_id, ctx.region, parents_of)
            alarms = [a for a in alarms if arn in a.get("children", [])]
        if not (kids_of or parents_of) or request.get("AlarmTypes"):
            alarms = [a for a in alarms if a["type"] in types]
        if names:
            alarms = [a for a in alarms if a["AlarmName"] in names]
        if prefix:
            alarms = [a for a in alarms if a["AlarmName"].startswith(prefix)]
        if state:
            alarms = [a for a in alarms if a["state"]["value"] == state]
        if request.get("ActionPrefix"):
            p = request["ActionPrefix"]
            alarms = [a for a in alarms if any(x.startswith(p) for k in ("OKActions", "AlarmActions", "InsufficientDataActions") for x in a.get(k, []))]
        alarms.sort(key=lambda a: a["AlarmName"])
        limit = request.get("MaxRecords") or 100
        if limit < 1 or limit > 100:
            raise invalid(f"The value {limit} for parameter MaxRecords is invalid.")
        start = int(request.get("NextToken") or 0) if str(request.get("NextToken") or "0").isdigit() else None
        if start is None:
            raise invalid("The value for parameter NextToken is invalid.")
        page = alarms[start:start + limit]
        out: dict[str, Any] = {
            "MetricAlarms": [self._metric_public(a) for a in page if a["type"] == "MetricAlarm"],
            "CompositeAlarms": [self._public(a) for a in page if a["type"] == "CompositeAlarm"],
        }
        if start + limit < len(alarms):
            out["NextToken"] = str(start + limit)
        return out

    def _metric_public(self, a: dict) -> dict:
        out = self._public(a)
        out.pop("ThresholdMetricId", None) if not a.get("ThresholdMetricId") else None
        return out

    def describe_alarms_for_metric(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ctx.authorize("cloudwatch:DescribeAlarmsForMetric", "*")
        for k in ("MetricName", "Namespace"):
            if not request.get(k):
                raise missing(f"The parameter {k} is required.")
        dims = sorted((d["Name"], d["Value"]) for d in request.get("Dimensions") or [])
        out = []
        for a in self.runtime.store.list(ALARM_KIND, account_id=ctx.account_id, region=ctx.region):
            if a["type"] != "MetricAlarm":
                continue
            metrics = [(a.get("Namespace"), a.get("MetricName"), a.get("Dimensions") or [], a.get("Statistic"), a.get("ExtendedStatistic"), a.get("Period"), a.get("Unit"))]
            for q in a.get("Metrics") or []:
                if q.get("MetricStat"):
                    ms = q["MetricStat"]
                    metrics.append((ms["Metric"].get("Namespace"), ms["Metric"].get("MetricName"), ms["Metric"].get("Dimensions") or [],
                                    ms["Stat"], ms["Stat"], ms["Period"], ms.get("Unit")))
            for ns, name, d, stat, ext, period, unit in metrics:
                if ns != request["Namespace"] or name != request["MetricName"]:
                    continue
                if "Dimensions" in request and sorted((x["Name"], x["Value"]) for x in d) != dims:
                    continue
                if request.get("Statistic") and request["Statistic"] != stat:
                    continue
                if request.get("ExtendedStatistic") and request["ExtendedStatistic"] != ext:
                    continue
                if request.get("Period") and request["Period"] != period:
                    continue
                if request.get("Unit") and request["Unit"] != unit:
                    continue
                out.append(self._metric_public(a))
                break
        return {"MetricAlarms": sorted(out, key=lambda a: a["AlarmName"])}

    def describe_alarm_history(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ctx.authorize("cloudwatch:DescribeAlarmHistory", self._alarm_arn(ctx.account_id, ctx.region, request.get("AlarmName") or "*"))
        kind = request.get("HistoryItemType")
        if kind and kind not in HISTORY_TYPES:
            raise invalid(f"The value {kind} for parameter HistoryItemType is invalid.")
        cutoff = ctx.time() - history.RETENTION
        items = [i for i in self.runtime.store.list(HISTORY_KIND, account_id=ctx.account_id, region=ctx.region)
                 if i["Timestamp"] >= cutoff]
        if request.get("AlarmName"):
            items = [i for i in items if i["AlarmName"] == request["AlarmName"]]
        if request.get("AlarmContributorId"):
            items = []
        # "If you omit this parameter, only metric alarms are returned."
        # (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_DescribeAlarmHistory.html)
        types = request.get("AlarmTypes") or ["MetricAlarm"]
        items = [i for i in items if i["AlarmType"] in types and (not kind or i["HistoryItemType"] == kind)]
        if request.get("StartDate") is not None:
            items = [i for i in items if i["Timestamp"] >= epoch(request["StartDate"])]
        if request.get("EndDate") is not None:
            items = [i for i in items if i["Timestamp"] <= epoch(request["EndDate"])]
        items.sort(key=lambda i: (i["Timestamp"], i.get("_seq", 0)), reverse=request.get("ScanBy", "TimestampDescending") != "TimestampAscending")
        limit = request.get("MaxRecords") or 100
        token = request.get("NextToken") or "0"
        if not str(token).isdigit():
            raise invalid("The value for parameter NextToken is invalid.")
        start = int(token)
        page = items[start:start + limit]
        out: dict[str, Any] = {"AlarmHistoryItems": [{k: v for k, v in i.items() if k != "AlarmArn" and k[0] != "_"} for i in page]}
        if start + limit < len(items):
            out["NextToken"] = str(start + limit)
        return out

    def describe_alarm_contributors(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        """Contributors exist for multi-time-series (PromQL / Metrics Insights) alarms,
        which mamori does not evaluate: an existing alarm has none."""
        name = request.get("AlarmName") or ""
        ctx.authorize("cloudwatch:DescribeAlarmContributors", self._alarm_arn(ctx.account_id, ctx.region, name))
        if self._alarm(ctx.account_id, ctx.region, name) is None:
            raise AwsError(f"Alarm {name} does not exist.", code="ResourceNotFoundException", status=404)
        return {"AlarmContributors": []}

    # -- state and actions switches ---------------------------------------------------------

    def set_alarm_state(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request.get("AlarmName") or ""
        ctx.authorize("cloudwatch:SetAlarmState", self._alarm_arn(ctx.account_id, ctx.region, name))
        value = request.get("StateValue")
        if value not in STATES:
            raise invalid(f"The value {value} for parameter StateValue is invalid.")
        reason = request.get("StateReason")
        if reason is None:
            raise missing("The parameter StateReason is required.")
        if len(reason) > 1023:
            raise validation("1 validation error detected: Value at 'stateReason' failed to satisfy constraint: Member must have length less than or equal to 1023")
        data = request.get("StateReasonData")
        if data is not None:
            if len(data) > 4000:
                raise validation("1 validation error detected: Value at 'stateReasonData' failed to satisfy constraint: Member must have length less than or equal to 4000")
            try:
                json.loads(data)
            except ValueError:
                raise AwsError("The StateReasonData is not valid JSON.", code="InvalidFormat") from None
        with self.alarm_lock:
            alarm = self._alarm(ctx.account_id, ctx.region, name)
            if alarm is None:
                raise not_found(f"Alarm {name} not found")
            self._change_state(alarm, value, reason, data, ctx.time())
        return {}

    def _switch(self, ctx: RequestContext, request: dict, action: str, on: bool) -> dict:
        names = request.get("AlarmNames") or []
        for name in names:
            ctx.authorize(action, self._alarm_arn(ctx.account_id, ctx.region, name))
        if not names:
            ctx.authorize(action, "*")
        with self.alarm_lock:
            self._switch_locked(ctx, names, on)
        return {}

    def _switch_locked(self, ctx: RequestContext, names: list[str], on: bool) -> None:
        for name in names:
            alarm = self._alarm(ctx.account_id, ctx.region, name)
            if alarm is not None and alarm.get("ActionsEnabled") != on:
                before = dict(alarm)
                alarm["ActionsEnabled"] = on
                alarm["updated"] = ctx.time()
                self._save(alarm)
                self._history(alarm, "ConfigurationUpdate", f"Alarm \"{name}\" updated",
                              history.configuration_data("Update", alarm), ctx.time())
                self._publish(alarm, "CloudWatch Alarm Configuration Change", act.configuration_event(alarm, "update", before), ctx.time())

    def enable_alarm_actions(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        return self._switch(ctx, request, "cloudwatch:EnableAlarmActions", True)

    def disable_alarm_actions(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        return self._switch(ctx, request, "cloudwatch:DisableAlarmActions", False)

    def delete_alarms(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        names = request.get("AlarmNames") or []
        for name in names:
            ctx.authorize("cloudwatch:DeleteAlarms", self._alarm_arn(ctx.account_id, ctx.region, name))
        if not names:
            ctx.authorize("cloudwatch:DeleteAlarms", "*")
        with self.alarm_lock:
            self._delete_locked(ctx, names)
        return {}

    def _delete_locked(self, ctx: RequestContext, names: list[str]) -> None:
        found = [self._alarm(ctx.account_id, ctx.region, n) for n in names]
        gone = [n for n, a in zip(names, found) if a is None]
        if gone:
            raise not_found(f"The following alarms were not found: [{', '.join(gone)}]")
        arns = {a["AlarmArn"] for a in found}
        for other in self.runtime.store.list(ALARM_KIND, account_id=ctx.account_id, region=ctx.region):
            if other["AlarmArn"] not in arns and arns & set(other.get("children", [])):
                raise invalid(f"Alarm {other['AlarmName']} references the alarms to delete in its AlarmRule.")
        self._index = None
        for a in found:
            self.runtime.store.delete(a["AlarmArn"])
            drop = getattr(self, "drop_tags", None)
            if callable(drop):
                drop(a["AlarmArn"])
            self._history(a, "ConfigurationUpdate", f"Alarm \"{a['AlarmName']}\" deleted",
                          history.configuration_data("Delete", a), ctx.time())
            self._publish(a, "CloudWatch Alarm Configuration Change", act.configuration_event(a, "delete"), ctx.time())

    # -- anomaly detectors -----------------------------------------------------------------

    def _detector_key(self, ctx: RequestContext, request: dict) -> tuple[str, dict]:
        single = request.get("SingleMetricAnomalyDetector") or {}
        if not single and request.get("MetricName"):
            single = {k: request[k] for k in ("Namespace", "MetricName", "Dimensions", "Stat") if k in request}
        if request.get("MetricMathAnomalyDetector"):
            raise validation("Metric math anomaly detectors are not supported by mamori yet.")
        for k in ("Namespace", "MetricName", "Stat"):
            if not single.get(k):
                raise missing(f"The parameter {k} is required.")
        dims = ",".join(f"{d['Name']}={d['Value']}" for d in sorted(single.get("Dimensions") or [], key=lambda d: d["Name"]))
        key = f"arn:aws:cloudwatch:{ctx.region}:{ctx.account_id}:anomaly-detector/{single['Namespace']}/{single['MetricName']}/{single['Stat']}/{dims}"
        single.setdefault("Dimensions", [])
        single["AccountId"] = single.get("AccountId") or ctx.account_id
        return key, single

    def put_anomaly_detector(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ctx.authorize("cloudwatch:PutAnomalyDetector", "*")
        key, single = self._detector_key(ctx, request)
        cfg = request.get("Configuration") or {}
        doc = {"SingleMetricAnomalyDetector": single, "Configuration": {"ExcludedTimeRanges": cfg.get("ExcludedTimeRanges", []),
               **({"MetricTimezone": cfg["MetricTimezone"]} if cfg.get("MetricTimezone") else {})},
               "StateValue": "PENDING_TRAINING"}
        if request.get("MetricCharacteristics"):
            doc["MetricCharacteristics"] = request["MetricCharacteristics"]
        self.runtime.store.put(key, doc, kind=DETECTOR_KIND, account_id=ctx.account_id, region=ctx.region)
        return {}

    def describe_anomaly_detectors(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ctx.authorize("cloudwatch:DescribeAnomalyDetectors", "*")
        out = []
        for d in self.runtime.store.list(DETECTOR_KIND, account_id=ctx.account_id, region=ctx.region):
            s = d["SingleMetricAnomalyDetector"]
            if request.get("Namespace") and s["Namespace"] != request["Namespace"]:
                continue
            if request.get("MetricName") and s["MetricName"] != request["MetricName"]:
                continue
            if request.get("AnomalyDetectorTypes") and "SINGLE_METRIC" not in request["AnomalyDetectorTypes"]:
                continue
            item = dict(d)
            item.update({"Namespace": s["Namespace"], "MetricName": s["MetricName"], "Dimensions": s["Dimensions"], "Stat": s["Stat"]})
            out.append(item)
        return {"AnomalyDetectors": out}

    def delete_anomaly_detector(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ctx.authorize("cloudwatch:DeleteAnomalyDetector", "*")
        key, _ = self._detector_key(ctx, request)
        if not self.runtime.store.delete(key):
            raise not_found("No anomaly detector found for namespace, metric name, dimensions and stat.")
        return {}

    # -- evaluation ---------------------------------------------------------------------------

    def setup(self) -> None:
        self.setup_alarms()
        parent = getattr(super(), "setup", None)
        if callable(parent):
            parent()

    def setup_alarms(self) -> None:
        """One clock-driven job evaluates every stored alarm (nothing to re-arm per alarm:
        the job reads the alarms from the store each tick). Idempotent."""
        if getattr(self, "_alarms_armed", False):
            return
        self._alarms_armed = True
        _ = self.alarm_lock
        self._arm_tick()
        self.runtime.clock.on_change(self._clock_moved)
        self.runtime.scheduler.every(3600, self._expire_history, "cloudwatch:alarm-history-retention")

    def _expire_history(self, due: float) -> None:
        """History items older than the retention go (DescribeAlarmHistory also hides
        them at once, between two runs of this job)."""
        if self.runtime.clock.time() - due >= 3600:
            return  # a long clock advance runs this once per missed hour: only the newest matters
        cutoff = self.runtime.clock.time() - history.RETENTION
        for arn, item in self._history_items():
            if item["Timestamp"] < cutoff:
                self.runtime.store.delete(arn)

    def _arm_tick(self) -> None:
        now = self.runtime.clock.time()
        start = math.floor(now / TICK) * TICK + TICK
        self._alarm_entry = self.runtime.scheduler.every(TICK, self._tick, "cloudwatch:alarms", start=start)

    def _clock_moved(self) -> None:
        # A clock set back (`mamori clock reset`) would leave the job due in the future:
        # re-arm it at the next tick of the new time.
        entry = getattr(self, "_alarm_entry", None)
        if entry is not None and entry.due > self.runtime.clock.time() + 2 * TICK:
            self.runtime.scheduler.cancel(entry)
            self._arm_tick()

    def _alarm_index(self) -> dict:
        """What the tick needs to know cheaply: whether any alarm exists and whether any
        is sub-minute. Rebuilt from the store after each put/delete (the store is the
        truth; this is a per-provider cache)."""
        index = getattr(self, "_index", None)
        if index is None:
            alarms = self.runtime.store.list(ALARM_KIND)
            index = self._index = {"any": bool(alarms), "fast": any(
                (a["type"] == "MetricAlarm" and a.get("period", 60) < 60) or a.get("pending") for a in alarms)}
        return index

    def _tick(self, due: float) -> None:
        index = self._alarm_index()
        if not index["any"] or (int(due) % 60 != 0 and not index["fast"]):
            return
        if self.runtime.clock.time() - due > CATCH_UP_LIMIT:
            # A clock advanced by more than a day: the evaluations of the last day are
            # run, older missed ones skipped (they would only see data older than that).
            return
        with self.alarm_lock:
            self._tick_locked(due)

    def _tick_locked(self, due: float) -> None:
        alarms = self.runtime.store.list(ALARM_KIND)
        for alarm in alarms:
            try:
                if alarm["type"] == "MetricAlarm":
                    period = alarm.get("period", 60)
                    if period < 60 or int(due) % 60 == 0:
                        self._evaluate_metric_alarm(alarm, due)
                elif alarm.get("pending"):
                    self._run_pending(alarm, due)
            except Exception:  # noqa: BLE001 - one broken alarm must not stop the others
                import logging
                logging.getLogger("mamori.cloudwatch.alarms").exception("evaluating %s", alarm.get("AlarmArn"))

    def _points(self, alarm: dict, due: float) -> tuple[list[tuple[float, float | None]], int]:
        period = alarm.get("period", 60)
        n = alarm["EvaluationPeriods"]
        r = engine.evaluation_range(n)
        end = math.floor(due / period) * period
        start = end - r * period
        if alarm.get("MetricName"):
            stat = alarm.get("Statistic") or alarm.get("ExtendedStatistic")
            ms = {"Metric": {"Namespace": alarm["Namespace"], "MetricName": alarm["MetricName"], "Dimensions": alarm.get("Dimensions") or []},
                  "Period": period, "Stat": stat}
            if alarm.get("Unit"):
                ms["Unit"] = alarm["Unit"]
            series = dict(self.metric_series(alarm["account"], alarm["region"], ms, start, end))
        else:
            tid = alarm.get("ThresholdMetricId")
            queries = [dict(q) for q in alarm["Metrics"] if q["Id"] != tid]
            result = self.evaluate_metric_data(alarm["account"], alarm["region"], queries, start, end)
            rid = next(q["Id"] for q in queries if q.get("ReturnData", True))
            series = dict(result.get(rid, []))
        slots = [start + i * period for i in range(r)]
        return [(t, series.get(t)) for t in slots], period

    def _evaluate_metric_alarm(self, alarm: dict, due: float) -> None:
        slots, period = self._points(alarm, due)
        op, threshold = alarm["ComparisonOperator"], alarm.get("Threshold", 0.0)
        n = alarm["EvaluationPeriods"]
        m = alarm.get("DatapointsToAlarm", n)
        treat = alarm.get("TreatMissingData", "missing")
        if (alarm.get("Namespace") or "") == "AWS/DynamoDB":
            treat = "ignore"
        ext = alarm.get("ExtendedStatistic") or ""
        if ext.startswith("p") and alarm.get("EvaluateLowSampleCountPercentile") == "ignore":
            counts = dict(self.metric_series(alarm["account"], alarm["region"], {
                "Metric": {"Namespace": alarm["Namespace"], "MetricName": alarm["MetricName"], "Dimensions": alarm.get("Dimensions") or []},
                "Period": period, "Stat": "SampleCount"}, slots[0][0], slots[-1][0] + period))
            p = float(ext[1:])
            if any(v is not None and engine.low_sample(counts.get(t, 0), p) for t, v in slots[-n:]):
                return  # low sample count: the state stays as it is
        bounds = self._band_for(alarm, slots[0][0], period) if alarm.get("ThresholdMetricId") else None
        if alarm.get("ThresholdMetricId"):
            if bounds is None:  # no trained model yet: no comparable point
                slots = [(t, None) for t, _ in slots]
            else:
                alarm["_band"] = bounds
        lower, upper = bounds if bounds else (threshold, None)
        flags = [None if v is None else engine.breaches(v, op, lower, upper) for _, v in slots]
        new = engine.decide(flags, n, m, treat, alarm["state"]["value"])
        if new == alarm["state"]["value"]:
            return
        reason, data = self._reason(alarm, slots, flags, new, n, m, due)
        self._change_state(alarm, new, reason, data, due)

    def _band_for(self, alarm: dict, start: float, period: int) -> tuple[float, float] | None:
        """The anomaly band of the alarm's ThresholdMetricId expression (band.py)."""
        tq = next(q for q in alarm["Metrics"] if q["Id"] == alarm["ThresholdMetricId"])
        mid, width = band_model.parse_band(tq["Expression"])
        mq = next((q for q in alarm["Metrics"] if q["Id"] == mid and q.get("MetricStat")), None)
        if mq is None:
            return None
        return self._train(alarm["account"], alarm["region"], mq["MetricStat"], width, start, period)

    def _train(self, account: str, region: str, metric_stat: dict, width: float, start: float, period: int) -> tuple[float, float] | None:
        ms = dict(metric_stat, Period=period)
        history = self.metric_series(account, region, ms, start - band_model.TRAINING_WINDOW, start)
        excluded = []
        detector = self._detector_for(account, region, ms)
        if detector:
            excluded = [(epoch(r["StartTime"]), epoch(r["EndTime"])) for r in detector["Configuration"].get("ExcludedTimeRanges") or []]
        values = [v for t, v in history if not any(a <= t < b for a, b in excluded)]
        return band_model.train(values, width)

    def _detector_for(self, account: str, region: str, ms: dict) -> dict | None:
        metric = ms.get("Metric") or {}
        dims = ",".join(f"{d['Name']}={d['Value']}" for d in sorted(metric.get("Dimensions") or [], key=lambda d: d["Name"]))
        key = f"arn:aws:cloudwatch:{region}:{account}:anomaly-detector/{metric.get('Namespace')}/{metric.get('MetricName')}/{ms.get('Stat')}/{dims}"
        return self.runtime.store.get(key)

    def anomaly_band(self, account: str, region: str, series, width: float, start: float, end: float):
        """Hook for metric math's ANOMALY_DETECTION_BAND: [(label, {t: value})] lower, upper."""
        meta = series.meta or {}
        ms = {"Metric": {"Namespace": meta.get("Namespace"), "MetricName": meta.get("MetricName"),
                         "Dimensions": meta.get("Dimensions") or []}, "Stat": meta.get("Stat"), "Period": meta.get("Period", 60)}
        bounds = self._train(account, region, ms, width, start, int(meta.get("Period", 60)))
        if bounds is None or not meta.get("MetricName"):
            return [(f"{series.label} Band (Lower)", {}), (f"{series.label} Band (Upper)", {})]
        times = list(series.points)
        return [(f"{series.label} Band (Lower)", {t: bounds[0] for t in times}),
                (f"{series.label} Band (Upper)", {t: bounds[1] for t in times})]

    def _reason(self, alarm: dict, slots, flags, new: str, n: int, m: int, due: float) -> tuple[str, str]:
        """StateReason and StateReasonData as CloudWatch writes them (reason.py)."""
        from mamori.services.cloudwatch.alarms import reason

        band = alarm.pop("_band", None) if alarm.get("ThresholdMetricId") else None
        alarm.pop("_band", None)
        period = alarm.get("period", 60)
        counts = None
        if alarm.get("MetricName") and slots:
            # evaluatedDatapoints carry each period's sample count
            ms = {"Metric": {"Namespace": alarm["Namespace"], "MetricName": alarm["MetricName"],
                             "Dimensions": alarm.get("Dimensions") or []}, "Period": period, "Stat": "SampleCount"}
            if alarm.get("Unit"):
                ms["Unit"] = alarm["Unit"]
            counts = dict(self.metric_series(alarm["account"], alarm["region"], ms, slots[0][0], slots[-1][0] + period))
        return reason.state_reason(alarm, slots, flags, new, n, m, due, period, band, counts)

    # -- state changes, composites, actions --------------------------------------------------

    def _change_state(self, alarm: dict, value: str, reason: str, data: str | None, t: float,
                      chain: frozenset = frozenset()) -> None:
        previous = dict(alarm["state"])
        alarm["state"] = {"value": value, "reason": reason, "data": data, "time": t}
        if previous["value"] == engine.ALARM and value != engine.ALARM:
            alarm["left_alarm"] = t  # an actions suppressor's extension period starts here
        alarm.pop("pending", None)
        suppressed = None
        if alarm["type"] == "CompositeAlarm":
            suppressed = self._suppression(alarm, t)
            alarm["suppressed_by"], alarm["suppressed_reason"] = suppressed if suppressed else ("None", None)
        self._save(alarm)
        summary = f"Alarm updated from {previous['value']} to {value}"
        self._history(alarm, "StateUpdate", summary, {
            "version": "1.0",
            "oldState": {"stateValue": previous["value"], "stateReason": previous["reason"],
                         **({"stateReasonData": json.loads(previous["data"])} if previous.get("data") else {})},
            "newState": {"stateValue": value, "stateReason": reason,
                         **({"stateReasonData": json.loads(data)} if data else {})},
        }, t)
        self._publish(alarm, "CloudWatch Alarm State Change", act.state_event(alarm, previous, suppressed), t)
        if suppressed is None and alarm["type"] == "CompositeAlarm" and alarm.get("ActionsSuppressor") and alarm.get("ActionsSuppressorWaitPeriod"):
            # The suppressor has WaitPeriod seconds to go into ALARM before the actions run.
            alarm["pending"] = {"until": t + alarm["ActionsSuppressorWaitPeriod"], "previous": previous}
            self._save(alarm)
        elif suppressed is None:
            self._run_actions(alarm, previous, t)
        for parent in self.runtime.store.list(ALARM_KIND, account_id=alarm["account"], region=alarm["region"]):
            if parent["type"] == "CompositeAlarm" and alarm["AlarmArn"] in parent.get("children", []):
                # a cycle of composites (allowed to be created) stops here
                if parent["AlarmArn"] not in chain:
                    self._evaluate_composite(parent, t, chain | {alarm["AlarmArn"]})

    def _suppression(self, alarm: dict, t: float) -> tuple[str, str] | None:
        arn = alarm.get("ActionsSuppressor")
        if not arn:
            return None
        sup = self.runtime.store.get(arn)
        if sup is None:
            return None
        if sup["state"]["value"] == engine.ALARM:
            return ("Alarm", f"Alarm action suppressed by {arn} in ALARM state")
        left = sup.get("left_alarm")
        if left is not None and t - left < alarm.get("ActionsSuppressorExtensionPeriod", 60):
            return ("ExtensionPeriod", f"Extension period of {alarm.get('ActionsSuppressorExtensionPeriod', 60)} seconds after {arn} left ALARM state")
        return None

    def _run_pending(self, alarm: dict, due: float) -> None:
        pending = alarm["pending"]
        sup = self.runtime.store.get(alarm["ActionsSuppressor"])
        if sup is not None and sup["state"]["value"] == engine.ALARM:
            alarm.pop("pending")
            alarm["suppressed_by"] = "WaitPeriod"
            alarm["suppressed_reason"] = f"Actions suppressed by WaitPeriod: {alarm['ActionsSuppressor']} went into ALARM state"
            self._save(alarm)
            return
        if due >= pending["until"]:
            alarm.pop("pending")
            self._save(alarm)
            self._run_actions(alarm, pending["previous"], due)

    def _evaluate_composite(self, alarm: dict, t: float, chain: frozenset = frozenset()) -> None:
        alarm = self.runtime.store.get(alarm["AlarmArn"]) or alarm
        tree = rule.parse(alarm["AlarmRule"])
        account, region = alarm["account"], alarm["region"]

        def state_of(name: str) -> str | None:
            child = self._resolve(account, region, name)
            return child["state"]["value"] if child else None

        value = engine.ALARM if rule.evaluate(tree, state_of) else engine.OK
        if value == alarm["state"]["value"]:
            return
        triggering = []
        for arn in alarm.get("children", []):
            child = self.runtime.store.get(arn)
            if child:
                triggering.append({"arn": arn, "state": {"value": child["state"]["value"], "timestamp": act.aws_time(child["state"]["time"])}})
        latest = max(triggering, key=lambda x: x["state"]["timestamp"], default=None)
        if latest:
            when = datetime.fromtimestamp(max(self.runtime.store.get(x["arn"])["state"]["time"] for x in triggering), timezone.utc)
            reason = f"{latest['arn']} transitioned to {latest['state']['value']} at {when.strftime('%A %d %B, %Y %H:%M:%S')} UTC"
        else:
            reason = "Alarm rule evaluated to " + value
        self._change_state(alarm, value, reason, json.dumps({"triggeringAlarms": triggering}), t, chain)

    def _run_actions(self, alarm: dict, previous: dict, t: float) -> None:
        value = alarm["state"]["value"]
        key = {"OK": "OKActions", "ALARM": "AlarmActions", "INSUFFICIENT_DATA": "InsufficientDataActions"}[value]
        if not alarm.get("ActionsEnabled", True) or self.muted(alarm, t):
            return
        for arn in alarm.get(key) or []:
            service = arn.split(":")[2] if arn.count(":") >= 5 else ""
            data: dict[str, Any] = {"actionState": "Succeeded", "stateUpdateTimestamp": int(t * 1000), "notificationResource": arn}
            summary = f"Successfully executed action {arn}"
            if service == "sns":
                subject, message = act.sns_message(alarm, previous)
                data["publishedMessage"] = message
                if "sns" in self.runtime.providers:
                    try:
                        self.runtime.invoke("sns", "Publish", {"TopicArn": arn, "Subject": subject, "Message": message},
                                            principal=Principal.service("cloudwatch.amazonaws.com", alarm["account"]),
                                            source_arn=alarm["AlarmArn"], source_account=alarm["account"])
                    except AwsError as exc:
                        data["actionState"] = "Failed"
                        data["error"] = f"{exc.code}: {exc}"
                        summary = f"Failed to execute action {arn}. Received error: \"{exc}\""
                else:
                    data["actionState"] = "Failed"
                    summary = f"Failed to execute action {arn}. Received error: \"SNS is not running in this mamori\""
            self._history(alarm, "Action", summary, data, t)
