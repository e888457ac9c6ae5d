"""Real boto3 clients (signing, retries, modeled exceptions) against the RPC codecs,
in process: a `before-send` hook hands botocore's prepared request to the codec and
returns the codec's response. No server, so these run even while the gateway is being
built; end-to-end server tests live with the services."""

from __future__ import annotations

from datetime import datetime, timezone
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.config import Config
from botocore.exceptions import ClientError

from mamori.errors import AwsError
from mamori.gateway.http import HttpRequest
from mamori.protocol.base import detect_protocol
from mamori.protocol.model import service_model
from oracle import codec

UTC = timezone.utc


class _Raw:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_kw):
        yield self.body


def _client(service: str, handler, parameter_validation: bool = True):
    """A boto3 client whose HTTP calls go to `handler(operation, params) -> output`."""
    client = boto3.client(
        service,
        region_name="us-east-1",
        endpoint_url="http://mamori.test",
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="secret",
        config=Config(parameter_validation=parameter_validation, retries={"max_attempts": 1}),
    )
    model = service_model(service)
    seen: list[tuple[str, str, dict]] = []

    def send(request, **_kw):
        url = urlsplit(request.url)
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode("utf-8")
        elif hasattr(body, "read"):
            body = body.read()
        headers = [(k.lower(), v.decode() if isinstance(v, bytes) else v) for k, v in request.headers.items()]
        http = HttpRequest(request.method, url.path or "/", url.query, headers, body)
        protocol = detect_protocol(model, http)
        wire = codec(protocol)
        op = wire.find_operation(model, http)
        assert op is not None
        try:
            params = wire.parse_request(op, http)
            seen.append((protocol, op.name, params))
            response = wire.serialize_response(op, handler(op.name, params), "req-42")
        except AwsError as error:
            response = wire.serialize_error(model, op, error, "req-42")
        return AWSResponse(request.url, response.status, dict(response.headers), _Raw(response.body))

    client.meta.events.register("before-send", send)
    return client, seen


def _fail(code, message="nope", **kw):
    def handler(_op, _params):
        raise AwsError(message, code=code, **kw)

    return handler


def test_kms_json_blobs_both_ways() -> None:
    client, seen = _client("kms", lambda op, p: {"KeyId": p["KeyId"], "CiphertextBlob": b"\x00secret"})
    out = client.encrypt(KeyId="alias/k", Plaintext=b"hello", EncryptionContext={"a": "b"})
    assert out["CiphertextBlob"] == b"\x00secret"
    assert seen == [("json", "Encrypt", {"KeyId": "alias/k", "Plaintext": b"hello", "EncryptionContext": {"a": "b"}})]


def test_kms_modeled_exception() -> None:
    client, _ = _client("kms", _fail("NotFoundException", "Key 'x' does not exist"))
    with pytest.raises(client.exceptions.NotFoundException) as raised:
        client.describe_key(KeyId="x")
    assert raised.value.response["Error"]["Message"] == "Key 'x' does not exist"
    assert raised.value.response["ResponseMetadata"]["RequestId"] == "req-42"


def test_server_side_validation_reaches_the_client() -> None:
    client, _ = _client("kms", lambda op, p: {}, parameter_validation=False)
    with pytest.raises(ClientError) as raised:
        client.encrypt(KeyId="k")
    error = raised.value.response["Error"]
    assert error["Code"] == "ValidationException"
    assert error["Message"] == (
        "1 validation error detected: Value null at 'plaintext' failed to satisfy "
        "constraint: Member must not be null"
    )


def test_iam_query_modeled_error_code_and_status() -> None:
    client, _ = _client("iam", _fail("NoSuchEntity", "The user with name bob cannot be found."))
    with pytest.raises(client.exceptions.NoSuchEntityException) as raised:
        client.get_user(UserName="bob")
    assert raised.value.response["Error"]["Code"] == "NoSuchEntity"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_iam_query_output_with_timestamps_and_lists() -> None:
    created = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    users = [{"Path": "/", "UserName": n, "UserId": "AIDA" + n, "Arn": "arn:aws:iam::1:user/" + n, "CreateDate": created}
             for n in ("a", "b")]
    client, seen = _client("iam", lambda op, p: {"Users": users, "IsTruncated": False})
    out = client.list_users(PathPrefix="/", MaxItems=10)
    assert out["Users"] == users and out["IsTruncated"] is False
    assert seen[0][2] == {"PathPrefix": "/", "MaxItems": 10}


def test_sts_query() -> None:
    ident = {"UserId": "AIDA", "Account": "123456789012", "Arn": "arn:aws:iam::123456789012:user/a"}
    client, _ = _client("sts", lambda op, p: ident)
    out = client.get_caller_identity()
    assert {k: out[k] for k in ident} == ident


def test_sns_query_map_of_structures() -> None:
    client, seen = _client("sns", lambda op, p: {"MessageId": "m-1"})
    out = client.publish(
        TopicArn="arn:aws:sns:us-east-1:1:t", Message="hi",
        MessageAttributes={"k": {"DataType": "String", "StringValue": "v"}, "b": {"DataType": "Binary", "BinaryValue": b"\x01"}},
    )
    assert out["MessageId"] == "m-1"
    assert seen[0][2]["MessageAttributes"]["b"] == {"DataType": "Binary", "BinaryValue": b"\x01"}


def test_cloudwatch_timestamps_through_the_client() -> None:
    # botocore 1.43 prefers awsJson over rpc-v2-cbor when a model lists both
    # (botocore.utils.PRIORITY_ORDERED_SUPPORTED_PROTOCOLS), so boto3 speaks json here.
    when = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    points = [{"Timestamp": when, "Sum": 3.5, "Unit": "Count"}]
    client, seen = _client("cloudwatch", lambda op, p: {"Label": "m", "Datapoints": points})
    out = client.get_metric_statistics(
        Namespace="ns", MetricName="m", StartTime=when, EndTime=when, Period=60, Statistics=["Sum"],
    )
    assert out["Datapoints"] == points
    protocol, name, params = seen[0]
    assert (protocol, name) == ("json", "GetMetricStatistics")
    assert params["StartTime"] == when


def test_cloudwatch_query_compatible_error() -> None:
    client, _ = _client("cloudwatch", _fail("ResourceNotFound", "no such alarm"))
    with pytest.raises(client.exceptions.ResourceNotFound):
        client.describe_alarm_history(AlarmName="a")


def test_ec2_filters_and_item_lists() -> None:
    reservation = {"ReservationId": "r-1", "OwnerId": "1", "Instances": [{"InstanceId": "i-1", "Tags": [{"Key": "env", "Value": "a"}]}]}
    client, seen = _client("ec2", lambda op, p: {"Reservations": [reservation]})
    out = client.describe_instances(Filters=[{"Name": "tag:env", "Values": ["a"]}], InstanceIds=["i-1"])
    assert out["Reservations"] == [reservation]
    assert seen[0][2] == {"Filters": [{"Name": "tag:env", "Values": ["a"]}], "InstanceIds": ["i-1"]}


def test_ec2_error() -> None:
    client, _ = _client("ec2", _fail("InvalidInstanceID.NotFound", "The instance ID 'i-1' does not exist"))
    with pytest.raises(ClientError) as raised:
        client.terminate_instances(InstanceIds=["i-1"])
    assert raised.value.response["Error"]["Code"] == "InvalidInstanceID.NotFound"


def test_logs_and_events_json() -> None:
    client, _ = _client("logs", _fail("ResourceNotFoundException", "The specified log group does not exist."))
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.get_log_events(logGroupName="g", logStreamName="s")
    events, seen = _client("events", lambda op, p: {"FailedEntryCount": 0, "Entries": [{"EventId": "e-1"}]})
    out = events.put_events(Entries=[{"Source": "app", "DetailType": "t", "Detail": "{}"}])
    assert out["Entries"] == [{"EventId": "e-1"}]
    assert seen[0][:2] == ("json", "PutEvents")
