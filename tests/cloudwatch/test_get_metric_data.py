"""GetMetricData beyond the math: labels and LabelOptions, ScanBy, pagination,
partial data, units, validation; and the public methods the alarms and other
services use (record_metric_data, metric_series, evaluate_metric_data)."""

from __future__ import annotations

import time
import uuid

import pytest
from botocore.exceptions import ClientError


def _setup(cw, n=10, dims=None):
    ns = "GMD/" + uuid.uuid4().hex[:8]
    t = (int(time.time()) // 3600) * 3600 - 3600
    cw.put_metric_data(Namespace=ns, MetricData=[
        {"MetricName": "req", "Timestamp": t + i * 60, "Value": float(i + 1), "Unit": "Count",
         "Dimensions": dims or [{"Name": "Host", "Value": "web-1"}]} for i in range(n)
    ])
    return ns, t


def _stat(ns, stat="Sum", period=60, unit=None, dims=None):
    ms = {"Metric": {"Namespace": ns, "MetricName": "req", "Dimensions": dims or [{"Name": "Host", "Value": "web-1"}]},
          "Period": period, "Stat": stat}
    if unit:
        ms["Unit"] = unit
    return ms


def test_scan_by_and_default_labels(cw):
    ns, t = _setup(cw, 3)
    q = [{"Id": "m1", "MetricStat": _stat(ns)}, {"Id": "e1", "Expression": "m1 * 10"}]
    desc = cw.get_metric_data(MetricDataQueries=q, StartTime=t, EndTime=t + 600)["MetricDataResults"]
    assert [r["Id"] for r in desc] == ["m1", "e1"]
    assert desc[0]["Label"] == "req" and desc[1]["Label"] == "e1"
    assert desc[0]["Values"] == [3.0, 2.0, 1.0]
    assert [ts.timestamp() - t for ts in desc[0]["Timestamps"]] == [120, 60, 0]
    asc = cw.get_metric_data(MetricDataQueries=q, StartTime=t, EndTime=t + 600, ScanBy="TimestampAscending")
    assert asc["MetricDataResults"][1]["Values"] == [10.0, 20.0, 30.0]
    assert all(r["StatusCode"] == "Complete" for r in asc["MetricDataResults"])


def test_dynamic_labels_and_timezone(cw, mamori):
    cw_account = mamori.account_id
    ns, t = _setup(cw, 4)
    q = [{"Id": "m1", "MetricStat": _stat(ns),
          "Label": "${PROP('Dim.Host')} ${PROP('MetricName')} max=${MAX} last=${LAST} n=${DATAPOINT_COUNT} at ${LAST_TIME}"
                   " range=${MIN_MAX_RANGE} ${PROP('Period')}s ${PROP('Stat')} ${PROP('AccountId')}"}]
    [r] = cw.get_metric_data(MetricDataQueries=q, StartTime=t, EndTime=t + 600,
                             LabelOptions={"Timezone": "+0130"})["MetricDataResults"]
    from datetime import datetime, timedelta, timezone
    last = (datetime.fromtimestamp(t + 180, timezone.utc) + timedelta(minutes=90)).strftime("%Y-%m-%dT%H:%M:%S")
    assert r["Label"] == f"web-1 req max=4 last=4 n=4 at {last}+0130 range=3 60s Sum {cw_account}"
    with pytest.raises(ClientError) as err:
        cw.get_metric_data(MetricDataQueries=q, StartTime=t, EndTime=t + 600, LabelOptions={"Timezone": "UTC"})
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_pagination_with_max_datapoints(cw):
    ns, t = _setup(cw, 10)
    q = [{"Id": "m1", "MetricStat": _stat(ns)}, {"Id": "m2", "MetricStat": _stat(ns, "SampleCount")}]
    seen: dict[str, list[float]] = {"m1": [], "m2": []}
    token, pages = None, 0
    while True:
        kw = {"NextToken": token} if token else {}
        out = cw.get_metric_data(MetricDataQueries=q, StartTime=t, EndTime=t + 600, MaxDatapoints=7,
                                 ScanBy="TimestampAscending", **kw)
        pages += 1
        assert sum(len(r["Values"]) for r in out["MetricDataResults"]) <= 7
        for r in out["MetricDataResults"]:
            seen[r["Id"]] += r["Values"]
        token = out.get("NextToken")
        if not token:
            assert all(r["StatusCode"] == "Complete" for r in out["MetricDataResults"])
            break
        assert any(r["StatusCode"] == "PartialData" for r in out["MetricDataResults"])
    assert pages == 3
    assert seen == {"m1": [float(i + 1) for i in range(10)], "m2": [1.0] * 10}
    with pytest.raises(ClientError) as err:
        cw.get_metric_data(MetricDataQueries=q, StartTime=t, EndTime=t + 600, NextToken="bm9wZQ==")
    assert err.value.response["Error"]["Code"] == "InvalidNextToken"


def test_unit_that_does_not_match_gives_no_data(cw):
    ns, t = _setup(cw, 3)
    q = [{"Id": "a", "MetricStat": _stat(ns, unit="Count")}, {"Id": "b", "MetricStat": _stat(ns, unit="Seconds")}]
    a, b = cw.get_metric_data(MetricDataQueries=q, StartTime=t, EndTime=t + 600)["MetricDataResults"]
    assert len(a["Values"]) == 3 and b["Values"] == []


def test_extended_statistic_and_period_in_metric_stat(cw):
    ns, t = _setup(cw, 10)
    q = [{"Id": "p", "MetricStat": _stat(ns, "p50", period=300)}, {"Id": "tm", "MetricStat": _stat(ns, "TM(10%:90%)", period=600)}]
    p, tm = cw.get_metric_data(MetricDataQueries=q, StartTime=t, EndTime=t + 600, ScanBy="TimestampAscending")["MetricDataResults"]
    assert p["Values"] == [3.0, 8.0]
    assert tm["Values"] == [pytest.approx(sum(range(2, 10)) / 8)]


def test_division_by_zero_says_points_were_dropped(cw):
    ns, t = _setup(cw, 3)
    q = [{"Id": "m1", "MetricStat": _stat(ns)}, {"Id": "e1", "Expression": "m1 / (m1 - 2)"}]
    _, e1 = cw.get_metric_data(MetricDataQueries=q, StartTime=t, EndTime=t + 600)["MetricDataResults"]
    assert e1["Values"] == [3.0, -1.0]
    assert e1["Messages"][0]["Code"] == "ArithmeticError"


@pytest.mark.parametrize("queries, fragment", [
    ([{"Id": "M1", "Expression": "1"}], "is not matching the expected pattern ^[a-z][a-zA-Z0-9_]*$"),
    ([{"Id": "a", "Expression": "1"}, {"Id": "a", "Expression": "2"}], "not unique"),
    ([{"Id": "a"}], "Exactly one"),
    ([{"Id": "a", "Expression": "b"}, {"Id": "b", "Expression": "a"}], "Circular"),
    ([{"Id": "a", "Expression": "1", "ReturnData": False}], "ReturnData"),
    ([{"Id": "a", "Expression": "1 + 1", "Period": 60}], "SEARCH"),
    ([{"Id": "a", "MetricStat": {"Metric": {"Namespace": "x", "MetricName": "y"}, "Period": 45, "Stat": "Sum"}}], "Period"),
    ([{"Id": "a", "MetricStat": {"Metric": {"Namespace": "x", "MetricName": "y"}, "Period": 60, "Stat": "p200"}},
      {"Id": "b", "MetricStat": {"Metric": {"Namespace": "x", "MetricName": "y"}, "Period": 60, "Stat": "Mean"}}],
     "The value p200 for parameter MetricDataQueries.member.1.MetricStat.Stat is not a valid statistic.\n"
     "The value Mean for parameter MetricDataQueries.member.2.MetricStat.Stat is not a valid statistic."),
    ([{"Id": "a", "Expression": "1", "MetricStat": {"Metric": {"Namespace": "x", "MetricName": "y"}, "Period": 60,
                                                    "Stat": "Sum"}}], "mutually exclusive"),
    ([{"Id": "a", "Expression": "SELECT AVG(CPUUtilization) FROM \"AWS/EC2\""}], "Metrics Insights"),
], ids=["id-case", "dup", "neither", "cycle", "no-return", "period-no-search", "period-45", "bad-stats", "both", "insights"])
def test_query_validation(cw, queries, fragment):
    t = int(time.time()) - 600
    with pytest.raises(ClientError) as err:
        cw.get_metric_data(MetricDataQueries=queries, StartTime=t, EndTime=t + 300)
    assert err.value.response["Error"]["Code"] == "ValidationError"
    assert fragment in err.value.response["Error"]["Message"]


def _provider(mamori):
    return mamori._server.config.app.runtime.providers["cloudwatch"]


def test_public_methods_for_other_services(mamori, cw_json):
    provider = _provider(mamori)
    t = (int(time.time()) // 60) * 60 - 600
    ns = "AWS/Logs"  # services publish in AWS/ namespaces, which callers may not
    dims = [{"Name": "LogGroupName", "Value": "app-" + uuid.uuid4().hex[:6]}]
    provider.record_metric_data(mamori.account_id, mamori.region, ns, [
        {"MetricName": "IncomingLogEvents", "Dimensions": dims, "Timestamp": t + i * 60, "Values": [1.0, 3.0]}
        for i in range(3)
    ] + [{"MetricName": "IncomingLogEvents", "Dimensions": dims, "Value": float("nan")}])  # a bad datum is skipped
    ms = {"Metric": {"Namespace": ns, "MetricName": "IncomingLogEvents", "Dimensions": dims}, "Period": 60, "Stat": "Sum"}
    assert provider.metric_series(mamori.account_id, mamori.region, ms, t, t + 600) == [
        (t, 4.0), (t + 60, 4.0), (t + 120, 4.0)]
    p99 = dict(ms, Stat="p99")
    assert [v for _, v in provider.metric_series(mamori.account_id, mamori.region, p99, t, t + 600)] == [3.0] * 3
    out = provider.evaluate_metric_data(mamori.account_id, mamori.region, [
        {"Id": "m1", "MetricStat": ms, "ReturnData": False}, {"Id": "e1", "Expression": "RATE(RUNNING_SUM(m1))"},
    ], t, t + 600)
    assert out["e1"] == [(t + 60, 4.0 / 60), (t + 120, 4.0 / 60)]
    assert len(out["m1"]) == 3
    # ...and the API sees what the service published.
    listed = cw_json.list_metrics(Namespace=ns, Dimensions=dims)["Metrics"]
    assert listed == [{"Namespace": ns, "MetricName": "IncomingLogEvents", "Dimensions": dims}]
    # Other accounts see nothing of it.
    assert provider.metric_series("111122223333", mamori.region, ms, t, t + 600) == []


def test_a_range_too_long_to_fill_is_refused(cw):
    t = int(time.time()) - 13 * 86400
    with pytest.raises(ClientError) as err:
        cw.get_metric_data(MetricDataQueries=[{"Id": "e", "Expression": "TIME_SERIES(1)", "Period": 1}],
                           StartTime=t, EndTime=t + 12 * 86400)
    # Period on an expression is only for SEARCH: refused either way, never a 500.
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    ns, t0 = _setup(cw, 1)
    with pytest.raises(ClientError) as err:
        cw.get_metric_data(MetricDataQueries=[{"Id": "m", "MetricStat": _stat(ns, period=1), "ReturnData": False},
                                              {"Id": "e", "Expression": "FILL(m, 0)"}],
                           StartTime=t0 - 12 * 86400, EndTime=t0 + 600)
    assert err.value.response["Error"]["Code"] == "ValidationError"
    assert "more than 1,000,000 periods" in err.value.response["Error"]["Message"]
