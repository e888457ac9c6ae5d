"""The AWS CLI as a real process: put-metric-data and get-metric-data."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid


def _aws(mamori, tmp_path, *args):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(mamori.env())
    env["AWS_CONFIG_FILE"] = str(tmp_path / "none")
    env["AWS_SHARED_CREDENTIALS_FILE"] = str(tmp_path / "none")
    out = subprocess.run([sys.executable, "-m", "awscli", *args, "--output", "json"],
                         env=env, capture_output=True, text=True, timeout=120)
    return out


def test_cli_put_and_get_metric_data(mamori, tmp_path):
    ns = "Cli/" + uuid.uuid4().hex[:8]
    t = (int(time.time()) // 60) * 60 - 300
    iso = lambda s: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(s))  # noqa: E731
    out = _aws(mamori, tmp_path, "cloudwatch", "put-metric-data", "--namespace", ns, "--metric-name", "Latency",
               "--value", "12.5", "--unit", "Milliseconds", "--dimensions", "Service=api", "--timestamp", iso(t))
    assert out.returncode == 0, out.stderr
    data = [{"MetricName": "Latency", "Dimensions": [{"Name": "Service", "Value": "api"}], "Timestamp": iso(t + 60),
             "Values": [10, 20], "Counts": [1, 3], "Unit": "Milliseconds"}]
    (tmp_path / "data.json").write_text(json.dumps(data))
    out = _aws(mamori, tmp_path, "cloudwatch", "put-metric-data", "--namespace", ns,
               "--metric-data", f"file://{tmp_path / 'data.json'}")
    assert out.returncode == 0, out.stderr

    queries = [
        {"Id": "m1", "MetricStat": {"Metric": {"Namespace": ns, "MetricName": "Latency",
                                               "Dimensions": [{"Name": "Service", "Value": "api"}]},
                                    "Period": 60, "Stat": "Sum"}, "ReturnData": True},
        {"Id": "e1", "Expression": "m1 * 2", "Label": "doubled"},
    ]
    (tmp_path / "q.json").write_text(json.dumps(queries))
    out = _aws(mamori, tmp_path, "cloudwatch", "get-metric-data", "--metric-data-queries", f"file://{tmp_path / 'q.json'}",
               "--start-time", iso(t), "--end-time", iso(t + 300), "--scan-by", "TimestampAscending")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    m1, e1 = doc["MetricDataResults"]
    assert m1["Values"] == [12.5, 70.0]
    assert e1["Label"] == "doubled" and e1["Values"] == [25.0, 140.0]

    out = _aws(mamori, tmp_path, "cloudwatch", "put-metric-data", "--namespace", "AWS/EC2", "--metric-name", "x",
               "--value", "1")
    assert out.returncode != 0
    assert "InvalidParameterValue" in out.stderr
