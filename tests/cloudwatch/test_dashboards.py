"""Dashboards: put/get/list/delete and DashboardValidationMessages, in three protocols."""

from __future__ import annotations

import json
import uuid

import pytest
from botocore.exceptions import ClientError

BODY = {"widgets": [{"type": "metric", "x": 0, "y": 0, "width": 12, "height": 6,
                     "properties": {"metrics": [["AWS/EC2", "CPUUtilization"]], "region": "us-east-1"}},
                    {"type": "text", "x": 12, "y": 0, "width": 6, "height": 3, "properties": {"markdown": "# hi"}}]}


def test_dashboard_lifecycle(cw, mamori):
    name = "dash-" + uuid.uuid4().hex[:8]
    body = json.dumps(BODY)
    out = cw.put_dashboard(DashboardName=name, DashboardBody=body)
    assert out["DashboardValidationMessages"] == []
    got = cw.get_dashboard(DashboardName=name)
    assert got["DashboardBody"] == body
    assert got["DashboardArn"] == f"arn:aws:cloudwatch::{mamori.account_id}:dashboard/{name}"
    [entry] = cw.list_dashboards(DashboardNamePrefix=name)["DashboardEntries"]
    assert entry["DashboardName"] == name and entry["Size"] == len(body)
    cw.delete_dashboards(DashboardNames=[name])
    with pytest.raises(ClientError) as err:
        cw.get_dashboard(DashboardName=name)
    assert err.value.response["Error"]["Code"] == "ResourceNotFound"
    assert err.value.response["Error"]["Message"] == f"Dashboard {name} does not exist"  # AWS's words
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_delete_is_all_or_nothing(cw_json):
    name = "keep-" + uuid.uuid4().hex[:8]
    cw_json.put_dashboard(DashboardName=name, DashboardBody=json.dumps(BODY))
    with pytest.raises(ClientError) as err:
        cw_json.delete_dashboards(DashboardNames=[name, name + "-missing"])
    assert err.value.response["Error"]["Code"] == "ResourceNotFound"
    assert cw_json.get_dashboard(DashboardName=name)["DashboardName"] == name


@pytest.mark.parametrize("body, path", [
    ("{not json", ""),
    ("[]", ""),
    ("{}", ""),
    ('{"widgets": {}}', "/widgets"),
    ('{"widgets": [{"type": "pie", "properties": {}}]}', "/widgets/0/type"),
    ('{"widgets": [{"type": "metric"}]}', "/widgets/0"),
    ('{"widgets": [{"type": "metric", "width": 30, "properties": {"metrics": []}}]}', "/widgets/0/width"),
    ('{"widgets": [{"type": "text", "properties": {}}]}', "/widgets/0/properties"),
], ids=["syntax", "array", "no-widgets", "widgets-object", "type", "no-properties", "width", "markdown"])
def test_bad_bodies_are_explained(cw, body, path):
    with pytest.raises(ClientError) as err:
        cw.put_dashboard(DashboardName="bad-" + uuid.uuid4().hex[:6], DashboardBody=body)
    error = err.value.response["Error"]
    assert error["Code"] == "InvalidParameterInput"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    messages = err.value.response["dashboardValidationMessages"]
    assert path in [m["DataPath"] for m in messages]


def test_unknown_top_level_keys_only_warn(cw_json):
    name = "warn-" + uuid.uuid4().hex[:8]
    body = dict(BODY, colour="blue")
    out = cw_json.put_dashboard(DashboardName=name, DashboardBody=json.dumps(body))
    assert [m["DataPath"] for m in out["DashboardValidationMessages"]] == ["/colour"]
    assert cw_json.get_dashboard(DashboardName=name)["DashboardName"] == name


def test_bad_name(cw):
    with pytest.raises(ClientError) as err:
        cw.put_dashboard(DashboardName="has space", DashboardBody=json.dumps(BODY))
    assert err.value.response["Error"]["Code"] == "InvalidParameterInput"


def test_list_pages_and_prefix(cw_json):
    prefix = "pg" + uuid.uuid4().hex[:6]
    for i in range(3):
        cw_json.put_dashboard(DashboardName=f"{prefix}-{i}", DashboardBody=json.dumps(BODY))
    names = [e["DashboardName"] for e in cw_json.list_dashboards(DashboardNamePrefix=prefix)["DashboardEntries"]]
    assert names == [f"{prefix}-{i}" for i in range(3)]


def test_aws_words_for_a_metric_widget_without_metrics(cw):
    body = {"widgets": [{"type": "text", "properties": {"markdown": "ok"}},
                        {"type": "metric", "properties": {"view": "timeSeries"}},
                        {"type": "alarm", "properties": {"alarms": []}}]}
    with pytest.raises(ClientError) as err:
        cw.put_dashboard(DashboardName="aws-words-" + uuid.uuid4().hex[:6], DashboardBody=json.dumps(body))
    message = err.value.response["Error"]["Message"]
    head, _, listed = message.partition("\n")
    assert head == "The dashboard body is invalid, there are 4 validation errors:"
    assert json.loads(listed) == [
        {"dataPath": "/widgets/1/properties", "message": "Should have required property 'metrics'"},
        {"dataPath": "/widgets/1/properties",
         "message": "The metric widget should have specified a region and a data source or an alarm annotation"},
        {"dataPath": "/widgets/1/properties", "message": "Should have required property 'annotations'"},
        {"dataPath": "/widgets/2/properties/alarms", "message": "Should NOT have less than 1 items"},
    ]
    assert len(err.value.response["dashboardValidationMessages"]) == 4
