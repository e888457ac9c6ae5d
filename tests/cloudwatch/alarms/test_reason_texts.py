"""StateReason and StateReasonData of evaluated alarms, word for word as CloudWatch
writes them (cases in data/reason_cases.json), through boto3 and the mamori clock."""

from __future__ import annotations

import itertools
import json
from datetime import datetime, timezone

import pytest
from alarm_helpers import boundary, cases, put

CASES = cases("reason_cases.json")["cases"]
_n = itertools.count()


def _stamp(t: float) -> str:
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_reason_text(cw_json, mamori_clock, case):
    cw = cw_json
    name = f"reason-{case['id']}-{next(_n)}"
    b = boundary(mamori_clock)
    # The evaluation at b + 60 ends with the period starting at b (t0).
    starts = [b - 60 * (len(case["values"]) - 1 - i) for i in range(len(case["values"]))]
    for t, v in zip(starts, case["values"]):
        if v is not None:
            put(cw, "Mamori/Reasons", name, t + 1, float(v))
    extra = {"DatapointsToAlarm": case["m"]} if "m" in case else {}
    cw.put_metric_alarm(AlarmName=name, Namespace="Mamori/Reasons", MetricName=name, Statistic="Maximum", Period=60,
                        EvaluationPeriods=case["n"], Threshold=50.0, ComparisonOperator="GreaterThanThreshold",
                        TreatMissingData=case["treat"], **extra)
    cw.set_alarm_state(AlarmName=name, StateValue=case["start"], StateReason="test setup")
    mamori_clock.advance(60)
    [alarm] = cw.describe_alarms(AlarmNames=[name])["MetricAlarms"]
    times = {f"t{k}": datetime.fromtimestamp(b - 60 * k, timezone.utc).strftime("%d/%m/%y %H:%M:%S") for k in range(6)}
    assert alarm["StateValue"] == case["state"]
    assert alarm["StateReason"] == case["reason"].format(**times)
    data = json.loads(alarm["StateReasonData"])
    real = [(t, float(v)) for t, v in zip(starts, case["values"]) if v is not None]
    assert data["recentDatapoints"] == [v for _, v in real][-case["n"]:]
    assert data["statistic"] == "Maximum" and data["period"] == 60 and data["threshold"] == 50.0
    assert ("startDate" in data) == bool(real)
    evaluated = data["evaluatedDatapoints"]
    assert len(evaluated) == case["n"]
    assert [e["timestamp"] for e in evaluated] == sorted((e["timestamp"] for e in evaluated), reverse=True)
    for e in evaluated:
        match = [v for t, v in real if _stamp(t) == e["timestamp"]]
        assert e.get("value") == (match[0] if match else None)
        assert e.get("sampleCount") == (1.0 if match else None)
    # The same text is the newState of the StateUpdate history item.
    [update] = cw.describe_alarm_history(AlarmName=name, HistoryItemType="StateUpdate", MaxRecords=1)["AlarmHistoryItems"]
    history = json.loads(update["HistoryData"])
    assert history["newState"]["stateReason"] == alarm["StateReason"]
    assert history["newState"]["stateReasonData"] == data
    assert update["HistorySummary"] == f"Alarm updated from {case['start']} to {case['state']}"
    cw.delete_alarms(AlarmNames=[name])
