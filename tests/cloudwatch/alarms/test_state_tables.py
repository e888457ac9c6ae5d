"""The two tables of aws-semantics.md section 5 (M of N with missing data), end to end:
PutMetricData at the period slots of the evaluation range, PutMetricAlarm, one period
of mamori clock, DescribeAlarms - in CBOR and in query."""

from __future__ import annotations

import itertools

import pytest
from alarm_helpers import boundary, cases, put

TABLE = cases("missing_data_cases.json")
ROWS = [(c, t) for c in TABLE["cases"] for t in ("missing", "notBreaching", "breaching", "ignore")]
_names = itertools.count()


@pytest.mark.parametrize("case,treat", ROWS, ids=[f"{c['m']}of{c['n']}:{c['points'].replace(' ', '')}:{t}" for c, t in ROWS])
def test_state_table(cw2, mamori_clock, case, treat):
    name = f"table-{next(_names)}-{treat}"
    b = boundary(mamori_clock)
    # The evaluation at b + 60 looks at the 5 periods that ended by then: b-240 .. b.
    for i, mark in enumerate(case["points"].split()):
        if mark != "-":
            put(cw2, "Mamori/Tables", name, b - 240 + 60 * i + 1, 10.0 if mark == "X" else 0.0)
    cw2.put_metric_alarm(AlarmName=name, Namespace="Mamori/Tables", MetricName=name, Statistic="Maximum", Period=60,
                         EvaluationPeriods=case["n"], DatapointsToAlarm=case["m"], Threshold=5.0,
                         ComparisonOperator="GreaterThanThreshold", TreatMissingData=treat)
    want = case[treat]
    before = "ALARM" if want in ("KEEP", "OK", "INSUFFICIENT_DATA") else "OK"
    cw2.set_alarm_state(AlarmName=name, StateValue=before, StateReason="test setup")
    if want == "KEEP":
        want = before
    mamori_clock.advance(60)
    [alarm] = cw2.describe_alarms(AlarmNames=[name])["MetricAlarms"]
    assert alarm["StateValue"] == want, alarm["StateReason"]
    if want != before:
        assert alarm["StateReason"].startswith("Threshold Crossed" if want != "INSUFFICIENT_DATA" else "Insufficient Data")
    cw2.delete_alarms(AlarmNames=[name])
