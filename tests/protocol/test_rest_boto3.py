"""Real boto3 clients (all their handlers: S3's Content-MD5/checksums, path-style
addressing, GetBucketLocation's customization...) against the REST codecs, in process:
a `before-send` hook hands botocore's prepared request to our router and parser, and
our serialized response back to botocore."""

from __future__ import annotations

import io
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.config import Config

from mamori.errors import AwsError
from mamori.gateway.http import HttpRequest
from mamori.protocol import rest_json, rest_xml  # noqa: F401 - register the codecs
from mamori.protocol.base import codec_for
from mamori.protocol.model import service_model


class _Raw(io.BytesIO):
    """Enough of urllib3's response for botocore: read() and stream()."""

    def stream(self, *args: Any, **kwargs: Any):
        yield self.getvalue()


def client(service: str, answer):
    """A boto3 client whose requests go to `answer(operation_name, params) -> output`."""
    session = boto3.session.Session(aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret", region_name="us-east-1")
    c = session.client(
        service,
        endpoint_url="http://localhost:4566",
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 0}),
    )
    model = service_model(service)
    codec = codec_for(model.protocol)
    seen: list[tuple[str, dict[str, Any]]] = []

    def send(request, **kwargs):
        url = urlsplit(request.url)
        body = request.body or b""
        if hasattr(body, "read"):
            body = body.read()
        if isinstance(body, str):
            body = body.encode()
        headers = [(k.lower(), v.decode() if isinstance(v, bytes) else v) for k, v in request.headers.items()]
        req = HttpRequest(request.method, url.path, url.query, headers, body)
        operation = codec.find_operation(model, req)
        assert operation is not None
        try:
            params = codec.parse_request(operation, req)
            seen.append((operation.name, params))
            response = codec.serialize_response(operation, answer(operation.name, params), "req-1")
        except AwsError as exc:
            response = codec.serialize_error(model, operation, exc, "req-1")
        return AWSResponse(request.url, response.status, dict(response.headers), _Raw(response.body))

    c.meta.events.register("before-send", send)
    return c, seen


def test_s3_put_get_list_with_real_boto3():
    store: dict[str, bytes] = {}

    def answer(name, params):
        if name == "PutObject":
            store[params["Key"]] = params.get("Body", b"")
            return {"ETag": '"abc"'}
        if name == "GetObject":
            if params["Key"] not in store:
                raise AwsError("The specified key does not exist.", code="NoSuchKey", fields={"Key": params["Key"]})
            return {"Body": store[params["Key"]], "ContentLength": len(store[params["Key"]]), "Metadata": {"a": "1"},
                    "LastModified": datetime(2024, 5, 1, tzinfo=timezone.utc)}
        if name == "ListObjectsV2":
            return {"Name": params["Bucket"], "KeyCount": len(store), "IsTruncated": False,
                    "Contents": [{"Key": k, "Size": len(v)} for k, v in sorted(store.items())]}
        if name == "HeadObject":
            raise AwsError("Not Found", code="NoSuchKey")
        if name == "GetBucketLocation":
            return {"LocationConstraint": "eu-west-1"}
        if name == "DeleteObjects":
            return {"Deleted": [{"Key": o["Key"]} for o in params["Delete"]["Objects"]]}
        raise AssertionError(name)

    s3, seen = client("s3", answer)
    key = "dir/a b+c%?é#&.txt"
    s3.put_object(Bucket="bkt", Key=key, Body=b"hello", Metadata={"Color": "blue"})
    assert seen[-1][1]["Key"] == key and seen[-1][1]["Body"] == b"hello"
    assert seen[-1][1]["Metadata"] == {"color": "blue"}
    got = s3.get_object(Bucket="bkt", Key=key)
    assert got["Body"].read() == b"hello" and got["Metadata"] == {"a": "1"}
    assert got["ResponseMetadata"]["RequestId"] == "req-1"
    listed = s3.list_objects_v2(Bucket="bkt", Prefix="dir/")
    assert [o["Key"] for o in listed["Contents"]] == [key]
    assert seen[-1][0] == "ListObjectsV2" and seen[-1][1]["Prefix"] == "dir/"
    with pytest.raises(s3.exceptions.NoSuchKey) as err:
        s3.get_object(Bucket="bkt", Key="missing")
    assert err.value.response["Error"]["Key"] == "missing"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    with pytest.raises(s3.exceptions.ClientError) as err:
        s3.head_object(Bucket="bkt", Key="missing")
    assert err.value.response["Error"]["Code"] == "404"
    deleted = s3.delete_objects(Bucket="bkt", Delete={"Objects": [{"Key": "a"}, {"Key": "b/c"}]})
    assert [d["Key"] for d in deleted["Deleted"]] == ["a", "b/c"]


def test_guardduty_and_lambda_with_real_boto3():
    def gd_answer(name, params):
        if name == "CreateDetector":
            assert params["Enable"] is True and params["Tags"] == {"team": "sec"}
            return {"DetectorId": "d1"}
        if name == "GetDetector":
            if params["DetectorId"] != "d1":
                raise AwsError("The request is rejected because the input detectorId is not owned by the current account.",
                               code="BadRequestException", fields={"Type": "InvalidInputException"})
            return {"Status": "ENABLED", "ServiceRole": "r", "CreatedAt": "2024-01-01T00:00:00Z"}
        raise AssertionError(name)

    gd, seen = client("guardduty", gd_answer)
    assert gd.create_detector(Enable=True, Tags={"team": "sec"})["DetectorId"] == "d1"
    assert gd.get_detector(DetectorId="d1")["Status"] == "ENABLED"
    with pytest.raises(gd.exceptions.BadRequestException) as err:
        gd.get_detector(DetectorId="nope")
    assert err.value.response["Type"] == "InvalidInputException"

    def fn_answer(name, params):
        if name == "Invoke":
            return {"StatusCode": 200, "Payload": b'{"echo": ' + params["Payload"] + b"}", "ExecutedVersion": "$LATEST"}
        if name == "ListFunctions":
            return {"Functions": [{"FunctionName": "f1"}]}
        raise AssertionError(name)

    lam, seen = client("lambda", fn_answer)
    out = lam.invoke(FunctionName="arn:aws:lambda:us-east-1:123456789012:function:f1", Payload=b'{"x":1}')
    assert seen[-1][1]["FunctionName"] == "arn:aws:lambda:us-east-1:123456789012:function:f1"
    assert out["Payload"].read() == b'{"echo": {"x":1}}' and out["StatusCode"] == 200
    assert lam.list_functions()["Functions"][0]["FunctionName"] == "f1"
