"""The AWS CLI as a real process: put-metric-alarm, describe-alarms, set-alarm-state,
describe-alarm-history, delete-alarms."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid


def _aws(mamori, tmp_path, *args):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(mamori.env())
    env["AWS_CONFIG_FILE"] = str(tmp_path / "none")
    env["AWS_SHARED_CREDENTIALS_FILE"] = str(tmp_path / "none")
    return subprocess.run([sys.executable, "-m", "awscli", "cloudwatch", *args, "--output", "json"],
                          env=env, capture_output=True, text=True, timeout=120)


def test_cli_alarm_lifecycle(mamori, mamori_clock, tmp_path):
    # frozen: no evaluation (minute boundary of real time) between set-alarm-state and the check
    mamori_clock.freeze()
    name = "cli-" + uuid.uuid4().hex[:8]
    topic = f"arn:aws:sns:{mamori.region}:{mamori.account_id}:ops"
    out = _aws(mamori, tmp_path, "put-metric-alarm", "--alarm-name", name, "--alarm-description", "from the CLI",
               "--namespace", "Cli/App", "--metric-name", "Errors", "--statistic", "Sum", "--period", "300",
               "--evaluation-periods", "2", "--datapoints-to-alarm", "1", "--threshold", "3",
               "--comparison-operator", "GreaterThanOrEqualToThreshold", "--dimensions", "Name=Service,Value=api",
               "--treat-missing-data", "notBreaching", "--alarm-actions", topic, "--unit", "Count")
    assert out.returncode == 0, out.stderr
    out = _aws(mamori, tmp_path, "describe-alarms", "--alarm-names", name)
    assert out.returncode == 0, out.stderr
    [alarm] = json.loads(out.stdout)["MetricAlarms"]
    assert alarm["AlarmName"] == name and alarm["AlarmDescription"] == "from the CLI"
    assert alarm["StateValue"] == "INSUFFICIENT_DATA" and alarm["StateReason"] == "Unchecked: Initial alarm creation"
    assert alarm["Dimensions"] == [{"Name": "Service", "Value": "api"}] and alarm["AlarmActions"] == [topic]
    assert alarm["Threshold"] == 3.0 and alarm["EvaluationPeriods"] == 2 and alarm["DatapointsToAlarm"] == 1
    assert alarm["TreatMissingData"] == "notBreaching" and alarm["Unit"] == "Count"
    assert alarm["AlarmArn"] == f"arn:aws:cloudwatch:{mamori.region}:{mamori.account_id}:alarm:{name}"

    out = _aws(mamori, tmp_path, "set-alarm-state", "--alarm-name", name, "--state-value", "ALARM",
               "--state-reason", "testing the pager")
    assert out.returncode == 0, out.stderr
    out = _aws(mamori, tmp_path, "describe-alarms", "--state-value", "ALARM", "--alarm-name-prefix", name[:8])
    assert [a["AlarmName"] for a in json.loads(out.stdout)["MetricAlarms"]] == [name]
    out = _aws(mamori, tmp_path, "describe-alarm-history", "--alarm-name", name, "--history-item-type", "StateUpdate")
    [item] = json.loads(out.stdout)["AlarmHistoryItems"]
    assert item["HistorySummary"] == "Alarm updated from INSUFFICIENT_DATA to ALARM"

    out = _aws(mamori, tmp_path, "put-metric-alarm", "--alarm-name", name, "--namespace", "Cli/App", "--metric-name",
               "Errors", "--statistic", "Sum", "--extended-statistic", "p99", "--period", "60", "--evaluation-periods", "1",
               "--threshold", "1", "--comparison-operator", "GreaterThanThreshold")
    assert out.returncode != 0 and "InvalidParameterCombination" in out.stderr
    out = _aws(mamori, tmp_path, "delete-alarms", "--alarm-names", name)
    assert out.returncode == 0, out.stderr
    out = _aws(mamori, tmp_path, "describe-alarms", "--alarm-names", name)
    assert json.loads(out.stdout)["MetricAlarms"] == []
