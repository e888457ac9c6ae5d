"""Filter patterns from a data file (data/filter_patterns.json): every case runs through
FilterLogEvents (events stored in a stream of their own) and TestMetricFilter. The
expected matches are written by hand in the data file from AWS's pattern syntax page:
https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html"""

from __future__ import annotations

import json
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

CASES = json.loads((Path(__file__).parent / "data" / "filter_patterns.json").read_text())


@pytest.fixture(scope="module")
def logs(mamori):
    return mamori.client("logs")


@pytest.fixture(scope="module")
def pattern_group(logs):
    name = f"/patterns/{uuid.uuid4().hex[:8]}"
    logs.create_log_group(logGroupName=name)
    now = int(time.time() * 1000)
    for case in CASES:
        messages = case["match"] + case["nomatch"]
        if not messages:
            continue
        logs.create_log_stream(logGroupName=name, logStreamName=case["id"])
        logs.put_log_events(logGroupName=name, logStreamName=case["id"],
                            logEvents=[{"timestamp": now + i, "message": m} for i, m in enumerate(messages)])
    yield name
    logs.delete_log_group(logGroupName=name)


def test_enough_cases():
    assert len(CASES) >= 60
    assert sum(len(c["match"]) for c in CASES) >= 60 and sum(len(c["nomatch"]) for c in CASES) >= 60


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_filter_log_events(logs, pattern_group, case):
    if not case["match"] + case["nomatch"]:
        pytest.skip("no events")
    got = logs.filter_log_events(logGroupName=pattern_group, logStreamNames=[case["id"]],
                                 filterPattern=case["pattern"])["events"]
    assert sorted(e["message"] for e in got) == sorted(case["match"])


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_test_metric_filter(logs, case):
    messages = case["match"] + case["nomatch"]
    got = logs.test_metric_filter(filterPattern=case["pattern"], logEventMessages=messages)["matches"]
    assert [m["eventMessage"] for m in got] == case["match"]
    assert [m["eventNumber"] for m in got] == [messages.index(m) + 1 for m in case["match"]]


def test_extracted_values(logs):
    line = '127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /apache_pb.gif HTTP/1.0" 200 1534'
    got = logs.test_metric_filter(filterPattern="[ip, user, username, timestamp, request, status_code, bytes]",
                                  logEventMessages=[line])["matches"]
    assert got[0]["extractedValues"] == {
        "$ip": "127.0.0.1", "$user": "-", "$username": "frank", "$timestamp": "10/Oct/2000:13:25:15 -0700",
        "$request": "GET /apache_pb.gif HTTP/1.0", "$status_code": "200", "$bytes": "1534"}


@pytest.mark.parametrize("pattern", ['{ $.a = "x" ', "{ $.a == 1 }", '"unterminated', "[a, b",
                                     "{ $.a > abc }", "{ }", "%[%"])
def test_invalid_patterns(logs, pattern):
    with pytest.raises(ClientError) as exc:
        logs.test_metric_filter(filterPattern=pattern, logEventMessages=["x"])
    assert exc.value.response["Error"]["Code"] == "InvalidParameterException"


def test_metric_filter_publishes_to_cloudwatch(mamori, logs):
    name = f"/metrics/{uuid.uuid4().hex[:8]}"
    namespace = f"LogMetrics{uuid.uuid4().hex[:6]}"
    logs.create_log_group(logGroupName=name)
    logs.create_log_stream(logGroupName=name, logStreamName="app")
    logs.put_metric_filter(logGroupName=name, filterName="latency", filterPattern="{ $.latency > 0 }",
                           metricTransformations=[{"metricName": "Latency", "metricNamespace": namespace,
                                                   "metricValue": "$.latency", "unit": "Milliseconds",
                                                   "dimensions": {"Service": "$.service"}}])
    now = int(time.time() * 1000)
    logs.put_log_events(logGroupName=name, logStreamName="app", logEvents=[
        {"timestamp": now, "message": json.dumps({"latency": 100, "service": "api"})},
        {"timestamp": now + 1, "message": json.dumps({"latency": 300, "service": "api"})},
        {"timestamp": now + 2, "message": "not json"},
    ])
    cw = mamori.client("cloudwatch")
    start = datetime.now(timezone.utc) - timedelta(minutes=5)
    stats = cw.get_metric_statistics(Namespace=namespace, MetricName="Latency",
                                     Dimensions=[{"Name": "Service", "Value": "api"}], StartTime=start,
                                     EndTime=start + timedelta(minutes=10), Period=600,
                                     Statistics=["Sum", "SampleCount"])["Datapoints"]
    assert [(d["Sum"], d["SampleCount"]) for d in stats] == [(400.0, 2.0)]
    logs.delete_log_group(logGroupName=name)


def test_extracted_values_json(logs):
    message = json.dumps({"eventType": "UpdateTrail", "latency": 650, "user": {"id": 1}, "ok": True})
    got = logs.test_metric_filter(filterPattern='{ $.eventType = "Update*" && ($.latency > 5 || $.user.id = 1) '
                                                '&& $.ok IS TRUE }', logEventMessages=[message])["matches"]
    assert got[0]["extractedValues"] == {"$.eventType": "UpdateTrail", "$.latency": "650", "$.user.id": "1",
                                         "$.ok": "true"}
