"""Metric data and dashboards survive `kill -9` of the server and a restart on the same
data directory (the metric journal is replayed, DuckDB keeps what was flushed)."""

from __future__ import annotations

import json
import time

import pytest

from mamori.testing.plugin import ServerProcess

pytestmark = pytest.mark.slow


def test_metrics_survive_kill_9(tmp_path):
    t = (int(time.time()) // 60) * 60 - 600
    server = ServerProcess.start(tmp_path)
    try:
        cw = server.client("cloudwatch")
        cw.put_metric_data(Namespace="Durable", MetricData=[
            {"MetricName": "m", "Timestamp": t + i * 60, "Value": float(i)} for i in range(5)])
        # A query moves the journal into DuckDB; then more data stays in the journal only.
        cw.get_metric_statistics(Namespace="Durable", MetricName="m", StartTime=t, EndTime=t + 600, Period=60,
                                 Statistics=["Sum"])
        cw.put_metric_data(Namespace="Durable", MetricData=[{"MetricName": "m", "Timestamp": t + 300, "Values": [7.0, 8.0]}])
        cw.put_dashboard(DashboardName="durable", DashboardBody=json.dumps({"widgets": []}))
    finally:
        server.kill()
    server = ServerProcess.start(tmp_path)
    try:
        cw = server.client("cloudwatch")
        dps = cw.get_metric_statistics(Namespace="Durable", MetricName="m", StartTime=t, EndTime=t + 600, Period=60,
                                       Statistics=["Sum", "SampleCount"])["Datapoints"]
        got = sorted((dp["Timestamp"].timestamp() - t, dp["Sum"], dp["SampleCount"]) for dp in dps)
        assert got == [(0, 0.0, 1.0), (60, 1.0, 1.0), (120, 2.0, 1.0), (180, 3.0, 1.0), (240, 4.0, 1.0),
                       (300, 15.0, 2.0)]
        assert cw.list_metrics(Namespace="Durable")["Metrics"] == [{"Namespace": "Durable", "MetricName": "m", "Dimensions": []}]
        assert cw.get_dashboard(DashboardName="durable")["DashboardBody"] == json.dumps({"widgets": []})
    finally:
        server.stop()
