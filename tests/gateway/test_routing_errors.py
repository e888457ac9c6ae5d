"""Requests the gateway must refuse with AWS's answer: never a 500 or a traceback."""

from __future__ import annotations

import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError


def signed(mamori, method, path, *, service, body=b"", headers=None, region=None):
    url = mamori.endpoint_url + path
    req = AWSRequest(method=method, url=url, data=body, headers=headers or {})
    SigV4Auth(Credentials(mamori.access_key_id, mamori.secret_access_key), service, region or mamori.region).add_auth(req)
    prepared = req.prepare()
    return requests.request(method, url, data=body, headers=dict(prepared.headers), timeout=10)


def test_unsigned_query_request_needs_authentication(mamori):
    resp = requests.post(
        mamori.endpoint_url + "/",
        data={"Action": "GetCallerIdentity", "Version": "2011-06-15"},
        timeout=10,
    )
    assert resp.status_code == 403
    assert "<Code>MissingAuthenticationToken" in resp.text
    assert "Traceback" not in resp.text


def test_not_implemented_operation_names_itself(mamori):
    sts = mamori.client("sts")
    with pytest.raises(ClientError) as err:
        sts.assume_root(TargetPrincipal="123456789012",
                        TaskPolicyArn={"arn": "arn:aws:iam::aws:policy/root-task/IAMAuditRootUserCredentials"})
    error = err.value.response["Error"]
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 501
    assert error["Code"] == "NotImplemented"
    assert "AssumeRoot" in error["Message"]


def test_unknown_query_action(mamori):
    resp = signed(
        mamori, "POST", "/", service="sts",
        body=b"Action=NoSuchAction&Version=2011-06-15",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert resp.status_code == 400
    assert "<Code>InvalidAction</Code>" in resp.text


def test_unknown_json_target(mamori):
    resp = signed(
        mamori, "POST", "/", service="cloudtrail", body=b"{}",
        headers={
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.NoSuchThing",
        },
    )
    assert resp.status_code == 400
    assert resp.json()["__type"].endswith("UnknownOperationException")


def test_known_service_not_implemented(mamori):
    # Amazon Polly is a service botocore knows and mamori does not implement.
    polly = mamori.client("polly")
    with pytest.raises(ClientError) as err:
        polly.describe_voices()
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 501
    assert "polly" in err.value.response["Error"]["Message"]


def test_unknown_service(mamori):
    resp = signed(mamori, "POST", "/", service="nosuchservice", body=b"Action=Foo",
                  headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert resp.status_code == 400
    assert "UnknownService" in resp.text


def test_bad_json_body_is_a_serialization_error(mamori):
    resp = signed(
        mamori, "POST", "/", service="cloudtrail", body=b"{not json",
        headers={
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.DescribeTrails",
        },
    )
    assert resp.status_code == 400
    assert "Serialization" in resp.json()["__type"]
