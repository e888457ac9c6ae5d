"""Every modeled error of every operation, serialized by mamori, parsed by botocore.

A provider raises `AwsError(code=...)` naming the error either by shape name or by the
model's `error.code` (IAM's `NoSuchEntity`); both must come out of botocore's parser as
the code a boto3 user matches on: the shape name for json/cbor, the query code for
query and for `awsQueryCompatible` services (CloudWatch) on json/cbor, with the modeled
HTTP status.
"""

from __future__ import annotations

import pytest

from mamori.errors import AccessDenied, AwsError, InternalFailure, ValidationError
from oracle import SERVICES, client_parse, codec, model_for

PAIRS = [(s, p) for s, protos in SERVICES.items() for p in protos]


def _expected(model, shape, protocol):
    trait = shape.metadata.get("error") or {}
    query_code = trait.get("code") or shape.name
    if protocol in ("query", "ec2") or "awsQueryCompatible" in model.metadata:
        code = query_code
    else:
        code = shape.name
    status = trait.get("httpStatusCode") or (500 if shape._shape_model.get("fault") else 400)
    return code, query_code, status


@pytest.mark.parametrize("service,protocol", PAIRS, ids=[f"{s}-{p}" for s, p in PAIRS])
def test_modeled_errors_parse_to_their_code(service: str, protocol: str) -> None:
    model = model_for(service, protocol)
    wire = codec(protocol)
    checked = 0
    for name in model.operation_names:
        op = model.operation_model(name)
        for shape in op.error_shapes:
            code, query_code, status = _expected(model, shape, protocol)
            for raised_as in {shape.name, query_code}:
                error = AwsError(f"boom {name}", code=raised_as)
                response = wire.serialize_error(model, op, error, "req-9")
                parsed = client_parse(op, response, protocol)
                assert parsed["Error"]["Code"] == code, (name, raised_as)
                assert parsed["Error"]["Message"] == f"boom {name}"
                assert response.status == status, (name, shape.name)
                checked += 1
    if service != "ec2":  # the EC2 model has no modeled errors
        assert checked > 0


@pytest.mark.parametrize("service,protocol", PAIRS, ids=[f"{s}-{p}" for s, p in PAIRS])
@pytest.mark.parametrize(
    "error,code,status",
    [
        (ValidationError("bad", code="ValidationException"), "ValidationException", 400),
        (AccessDenied("no", code="AccessDenied", status=403), "AccessDenied", 403),
        (InternalFailure("oops"), "InternalFailure", 500),
        (AwsError("x", code="InvalidInstanceID.NotFound"), "InvalidInstanceID.NotFound", 400),
    ],
    ids=["validation", "denied", "internal", "dotted-code"],
)
def test_unmodeled_errors_keep_their_code_and_status(service, protocol, error, code, status) -> None:
    model = model_for(service, protocol)
    op = model.operation_model(model.operation_names[0])
    response = codec(protocol).serialize_error(model, op, error, "req-3")
    parsed = client_parse(op, response, protocol)
    assert parsed["Error"]["Code"] == code
    assert response.status == status


def test_query_error_document_shape() -> None:
    model = model_for("iam", "query")
    response = codec("query").serialize_error(model, None, AwsError("User x not found", code="NoSuchEntity"), "r-1")
    body = response.body.decode()
    assert response.status == 404
    assert "<ErrorResponse" in body and "<Type>Sender</Type>" in body
    assert "<Code>NoSuchEntity</Code>" in body and "<RequestId>r-1</RequestId>" in body


def test_ec2_error_document_shape() -> None:
    model = model_for("ec2", "ec2")
    error = AwsError("The instance ID 'i-1' does not exist", code="InvalidInstanceID.NotFound")
    response = codec("ec2").serialize_error(model, None, error, "r-2")
    body = response.body.decode()
    assert body.count("<Response>") == 1 and "<Errors><Error><Code>InvalidInstanceID.NotFound</Code>" in body
    assert "<RequestID>r-2</RequestID>" in body


@pytest.mark.parametrize("protocol", ["json", "smithy-rpc-v2-cbor"])
def test_query_compatible_header(protocol: str) -> None:
    model = model_for("cloudwatch", protocol)
    response = codec(protocol).serialize_error(model, None, AwsError("no", code="ResourceNotFound"), "r")
    assert response.header("x-amzn-query-error") == "ResourceNotFound;Sender"
    assert response.status == 404


def test_json_error_headers_and_fields() -> None:
    model = model_for("kms", "json")
    error = AwsError("key gone", code="NotFoundException")
    response = codec("json").serialize_error(model, None, error, "r-4")
    assert response.header("x-amzn-ErrorType") == "NotFoundException"
    assert response.header("x-amzn-RequestId") == "r-4"
    assert response.header("Content-Type") == "application/x-amz-json-1.1"
    assert response.header("x-amzn-query-error") is None


def test_unknown_error_code_falls_back_to_error_status() -> None:
    model = model_for("logs", "json")
    error = AwsError("slow down", code="ThrottlingException", status=429)
    response = codec("json").serialize_error(model, None, error, "r")
    assert response.status == 429
