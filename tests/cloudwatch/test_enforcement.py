"""IAM decisions on CloudWatch calls: cloudwatch:namespace on PutMetricData, dashboard
ARNs, tag conditions; in the three protocols for the denial itself."""

from __future__ import annotations

import json
import uuid

import pytest
from botocore.exceptions import ClientError


def _doc(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


@pytest.fixture
def cw_user(mamori, cw_models):
    from cw_clients import client_for

    iam = mamori.client("iam")
    name = f"cw-{uuid.uuid4().hex[:8]}"
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]

    class User:
        arn = f"arn:aws:iam::{mamori.account_id}:user/{name}"

        @staticmethod
        def client(protocol="json"):
            return client_for(mamori, cw_models, protocol, aws_access_key_id=key["AccessKeyId"],
                              aws_secret_access_key=key["SecretAccessKey"])

    User.name = name
    return User


@pytest.mark.parametrize("protocol", ["smithy-rpc-v2-cbor", "json", "query"])
def test_namespace_condition_on_put_metric_data(mamori, cw_user, protocol):
    mamori.client("iam").put_user_policy(UserName=cw_user.name, PolicyName="app-metrics", PolicyDocument=_doc(
        {"Effect": "Allow", "Action": "cloudwatch:PutMetricData", "Resource": "*",
         "Condition": {"StringLike": {"cloudwatch:namespace": "App/*"}}}))
    cw = cw_user.client(protocol)
    cw.put_metric_data(Namespace="App/orders", MetricData=[{"MetricName": "placed", "Value": 1.0}])
    with pytest.raises(ClientError) as err:
        cw.put_metric_data(Namespace="Other/orders", MetricData=[{"MetricName": "placed", "Value": 1.0}])
    assert err.value.response["Error"]["Code"] in ("AccessDenied", "AccessDeniedException")
    assert "cloudwatch:PutMetricData" in err.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as err:  # reading needs its own permission
        cw.list_metrics()
    assert "cloudwatch:ListMetrics" in err.value.response["Error"]["Message"]


def test_dashboard_arn_scopes_dashboard_calls(mamori, cw_user):
    mamori.client("iam").put_user_policy(UserName=cw_user.name, PolicyName="dash", PolicyDocument=_doc(
        {"Effect": "Allow", "Action": ["cloudwatch:PutDashboard", "cloudwatch:GetDashboard"],
         "Resource": f"arn:aws:cloudwatch::{mamori.account_id}:dashboard/team-*"}))
    cw = cw_user.client()
    body = json.dumps({"widgets": []})
    name = "team-" + uuid.uuid4().hex[:6]
    cw.put_dashboard(DashboardName=name, DashboardBody=body)
    assert cw.get_dashboard(DashboardName=name)["DashboardBody"] == body
    with pytest.raises(ClientError) as err:
        cw.put_dashboard(DashboardName="other-" + uuid.uuid4().hex[:6], DashboardBody=body)
    assert "dashboard/other-" in err.value.response["Error"]["Message"]
    with pytest.raises(ClientError):
        cw.delete_dashboards(DashboardNames=[name])
