"""ListMetrics: filters, dimension filters, RecentlyActive by the clock, pagination."""

from __future__ import annotations

import uuid

import pytest
from botocore.exceptions import ClientError


def test_filters_and_dimension_filters(cw, mamori):
    ns = "List/" + uuid.uuid4().hex[:8]
    cw.put_metric_data(Namespace=ns, MetricData=[
        {"MetricName": "cpu", "Value": 1.0, "Dimensions": [{"Name": "Host", "Value": "a"}]},
        {"MetricName": "cpu", "Value": 1.0, "Dimensions": [{"Name": "Host", "Value": "b"}, {"Name": "Az", "Value": "1a"}]},
        {"MetricName": "mem", "Value": 1.0, "Dimensions": [{"Name": "Host", "Value": "a"}]},
        {"MetricName": "mem", "Value": 1.0},
    ])
    everything = cw.list_metrics(Namespace=ns)["Metrics"]
    assert len(everything) == 4
    assert {m["MetricName"] for m in cw.list_metrics(Namespace=ns, MetricName="cpu")["Metrics"]} == {"cpu"}
    by_host = cw.list_metrics(Namespace=ns, Dimensions=[{"Name": "Host"}])["Metrics"]
    assert len(by_host) == 3
    host_a = cw.list_metrics(Namespace=ns, Dimensions=[{"Name": "Host", "Value": "a"}])["Metrics"]
    assert sorted(m["MetricName"] for m in host_a) == ["cpu", "mem"]
    both = cw.list_metrics(Namespace=ns, Dimensions=[{"Name": "Host", "Value": "b"}, {"Name": "Az"}])["Metrics"]
    assert both == [{"Namespace": ns, "MetricName": "cpu",
                     "Dimensions": [{"Name": "Az", "Value": "1a"}, {"Name": "Host", "Value": "b"}]}]
    assert cw.list_metrics(Namespace=ns + "-none")["Metrics"] == []
    linked = cw.list_metrics(Namespace=ns, MetricName="mem", IncludeLinkedAccounts=True)
    assert linked["OwningAccounts"] == [mamori.account_id] * 2


def test_recently_active_and_two_weeks_follow_the_clock(cw_json, mamori_clock):
    cw = cw_json
    mamori_clock.freeze()
    ns = "List/" + uuid.uuid4().hex[:8]
    cw.put_metric_data(Namespace=ns, MetricData=[{"MetricName": "old", "Value": 1.0}])
    mamori_clock.advance("4h")
    cw.put_metric_data(Namespace=ns, MetricData=[{"MetricName": "new", "Value": 1.0}])
    assert [m["MetricName"] for m in cw.list_metrics(Namespace=ns, RecentlyActive="PT3H")["Metrics"]] == ["new"]
    assert len(cw.list_metrics(Namespace=ns)["Metrics"]) == 2
    mamori_clock.advance("14d")  # no data for two weeks: no longer listed
    assert [m["MetricName"] for m in cw.list_metrics(Namespace=ns)["Metrics"]] == ["new"]


def test_pagination_500_a_page(cw_json):
    ns = "List/" + uuid.uuid4().hex[:8]
    cw_json.put_metric_data(Namespace=ns, MetricData=[
        {"MetricName": "m", "Value": 1.0, "Dimensions": [{"Name": "N", "Value": str(i)}]} for i in range(620)
    ])
    first = cw_json.list_metrics(Namespace=ns)
    assert len(first["Metrics"]) == 500 and first["NextToken"]
    second = cw_json.list_metrics(Namespace=ns, NextToken=first["NextToken"])
    assert len(second["Metrics"]) == 120 and "NextToken" not in second
    values = {m["Dimensions"][0]["Value"] for m in first["Metrics"] + second["Metrics"]}
    assert values == {str(i) for i in range(620)}
    paginator = cw_json.get_paginator("list_metrics")
    assert sum(len(p["Metrics"]) for p in paginator.paginate(Namespace=ns)) == 620


def test_recently_active_accepts_only_pt3h(cw):
    with pytest.raises(ClientError) as err:
        cw.list_metrics(RecentlyActive="PT1H")
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
