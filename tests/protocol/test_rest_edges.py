"""REST codecs on bad input and on errors: AWS's error for the protocol, never a
Python exception; error documents botocore reads; HEAD errors without a body."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mamori.errors import AwsError, InternalFailure
from mamori.gateway.http import HttpRequest
from mamori.protocol import rest_json, rest_xml  # noqa: F401 - register the codecs
from mamori.protocol.base import codec_for
from mamori.protocol.model import service_model
from rest_oracle import botocore_error


def request(method, target, headers=None, body=b""):
    path, _, query = target.partition("?")
    return HttpRequest(method, path, query, [(k.lower(), v) for k, v in (headers or {}).items()], body)


def op(service, name):
    return service_model(service).operation_model(name)


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<Tagging><TagSet><Tag><Key>&lol2;</Key><Value>v</Value></Tag></TagSet></Tagging>"""
XXE = b"""<?xml version="1.0"?>
<!DOCTYPE t [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<Tagging><TagSet><Tag><Key>&xxe;</Key><Value>v</Value></Tag></TagSet></Tagging>"""

# (service, operation, request, expected code, status)
BAD_INPUT = [
    ("s3", "PutBucketTagging", request("PUT", "/b?tagging", body=b"<Tagging><TagSet>"), "MalformedXML", 400),
    ("s3", "PutBucketTagging", request("PUT", "/b?tagging", body=b"not xml"), "MalformedXML", 400),
    ("s3", "PutBucketTagging", request("PUT", "/b?tagging", body=BILLION_LAUGHS), "MalformedXML", 400),
    ("s3", "PutBucketTagging", request("PUT", "/b?tagging", body=XXE), "MalformedXML", 400),
    ("s3", "PutBucketTagging", request("PUT", "/b?tagging", body=b""), "InvalidArgument", 400),
    ("s3", "ListObjectsV2", request("GET", "/b?list-type=2&max-keys=ten"), "InvalidArgument", 400),
    ("s3", "GetObject", request("GET", "/b/k", {"If-Modified-Since": "yesterday"}), "InvalidArgument", 400),
    ("s3", "PutObject", request("PUT", "/b/k", {"Content-Length": "-x"}), "InvalidArgument", 400),
    ("s3", "PutBucketVersioning", request("PUT", "/b?versioning", body=b"<VersioningConfiguration><MfaDelete>Nope</MfaDelete></VersioningConfiguration>"), "InvalidArgument", 400),
    ("guardduty", "CreateDetector", request("POST", "/detector", body=b"{not json"), "SerializationException", 400),
    ("guardduty", "CreateDetector", request("POST", "/detector", body=b"\xff\xfe"), "SerializationException", 400),
    ("guardduty", "CreateDetector", request("POST", "/detector", body=b'{"enable": "yes"}'), "SerializationException", 400),
    ("guardduty", "CreateDetector", request("POST", "/detector", body=b"{}"), "ValidationException", 400),
    ("guardduty", "ListDetectors", request("GET", "/detector?maxResults=many"), "SerializationException", 400),
    ("lambda", "Invoke", request("POST", "/2015-03-31/functions/f/invocations", {"X-Amz-Client-Context": "%%%"}), None, 400),
]


@pytest.mark.parametrize("service,name,req,code,status", BAD_INPUT)
def test_bad_input_is_an_aws_error(service, name, req, code, status):
    operation = op(service, name)
    codec = codec_for(operation.service_model.protocol)
    try:
        codec.parse_request(operation, req)
    except AwsError as exc:
        if code is not None:
            assert exc.code == code, exc.message
        assert exc.status == status
    else:
        assert code is None  # accepted as-is (e.g. an opaque header string)


def test_good_inputs_parse():
    codec = codec_for("rest-xml")
    params = codec.parse_request(
        op("s3", "PutObject"),
        request(
            "PUT", "/b/dir/a%20b%2Bc",
            {"x-amz-meta-Color": "blue", "Content-Length": "3", "Expires": "Wed, 01 May 2024 12:00:00 GMT", "x-amz-object-lock-retain-until-date": "2024-05-01T12:00:00.5Z",
             "x-amz-tagging": "a=b"},
            b"abc",
        ),
    )
    assert params["Key"] == "dir/a b+c"
    assert params["Metadata"] == {"color": "blue"}
    assert params["Body"] == b"abc"
    assert params["ContentLength"] == 3
    assert params["ObjectLockRetainUntilDate"].isoformat() == "2024-05-01T12:00:00.500000+00:00"
    body = b'<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Object><Key>a</Key></Object><Object><Key>b&amp;c</Key></Object><Quiet>true</Quiet></Delete>'
    params = codec.parse_request(op("s3", "DeleteObjects"), request("POST", "/b?delete", body=body))
    assert params["Delete"] == {"Objects": [{"Key": "a"}, {"Key": "b&c"}], "Quiet": True}


# Anything at all on the wire: parse_request answers a dict or an AwsError, nothing else.
FUZZ_OPS = [("s3", n) for n in ("PutObject", "PutBucketAcl", "DeleteObjects", "ListObjectsV2", "CompleteMultipartUpload")] + [
    ("guardduty", n) for n in ("CreateDetector", "ListFindings", "CreateFilter")
] + [("lambda", n) for n in ("Invoke", "CreateFunction")]


@pytest.mark.parametrize("service,name", FUZZ_OPS)
def test_fuzzed_input_never_escapes(service, name):
    operation = op(service, name)
    codec = codec_for(operation.service_model.protocol)
    header_names = ["content-length", "x-amz-meta-a", "content-md5", "x-amz-acl", "x-amz-grant-read",
                    "x-amz-client-context", "x-amz-invocation-type", "expires", "x-amz-object-lock-retain-until-date"]

    @settings(max_examples=40, derandomize=True, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(
        body=st.one_of(st.binary(max_size=64), st.text(max_size=64).map(str.encode),
                       st.sampled_from([b"<a>", b"{}", b"[]", b"null", b'{"a":1}', b"<x><y>1</y></x>"])),
        query=st.text("abcmax-keys=&%0123456789", max_size=20),
        headers=st.lists(st.tuples(st.sampled_from(header_names), st.text(max_size=12)), max_size=4),
    )
    def check(body, query, headers):
        req = HttpRequest(operation.http["method"], "/b/k" if service == "s3" else "/x", query, headers, body)
        try:
            result = codec.parse_request(operation, req)
        except AwsError:
            return
        assert isinstance(result, dict)

    check()


# -- errors -----------------------------------------------------------------------------


def test_s3_error_document_and_fields():
    codec = codec_for("rest-xml")
    operation = op("s3", "GetObject")
    error = AwsError("The specified bucket does not exist", code="NoSuchBucket", fields={"BucketName": "b1"})
    response = codec.serialize_error(operation.service_model, operation, error, "r1")
    assert response.status == 404  # from the model: the error carried no explicit status
    assert response.header("x-amz-request-id") == "r1" and response.header("x-amz-id-2")
    assert response.body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<Error>') or b"<Error><Code>NoSuchBucket" in response.body
    parsed, _ = botocore_error(operation, response)
    assert parsed["Error"] == {"Code": "NoSuchBucket", "Message": "The specified bucket does not exist", "BucketName": "b1"}
    assert parsed["ResponseMetadata"]["RequestId"] == "r1"


def test_explicit_status_wins_over_the_model():
    codec = codec_for("rest-xml")
    operation = op("s3", "GetObject")
    response = codec.serialize_error(operation.service_model, operation, AwsError("x", code="NoSuchKey", status=410), "r")
    assert response.status == 410


def test_s3_head_errors_have_no_body():
    codec = codec_for("rest-xml")
    operation = op("s3", "HeadObject")
    response = codec.serialize_error(operation.service_model, operation, AwsError("gone", code="NoSuchKey"), "r")
    assert (response.status, response.body) == (404, b"")
    parsed, _ = botocore_error(operation, response)
    assert parsed["Error"]["Code"] == "404"


def test_unmodeled_s3_error_keeps_its_status():
    codec = codec_for("rest-xml")
    operation = op("s3", "PutObject")
    error = InternalFailure("We encountered an internal error. Please try again.")
    response = codec.serialize_error(operation.service_model, operation, error, "r")
    assert response.status == 500
    assert botocore_error(operation, response)[0]["Error"]["Code"] == "InternalFailure"


def test_non_s3_rest_xml_error_response():
    codec = codec_for("rest-xml")
    operation = op("route53", "GetHostedZone")
    error = AwsError("No hosted zone found with ID: Z1", code="NoSuchHostedZone")
    response = codec.serialize_error(operation.service_model, operation, error, "r2")
    assert response.status == 404
    assert b"<ErrorResponse" in response.body and b"<Type>Sender</Type>" in response.body
    assert response.header("x-amzn-RequestId") == "r2"
    parsed, _ = botocore_error(operation, response)
    assert parsed["Error"]["Code"] == "NoSuchHostedZone"
    assert parsed["Error"]["Message"] == "No hosted zone found with ID: Z1"
    assert parsed["ResponseMetadata"]["RequestId"] == "r2"


def test_rest_json_error_shape():
    codec = codec_for("rest-json")
    operation = op("guardduty", "GetDetector")
    error = AwsError("The request is rejected", code="BadRequestException", fields={"Type": "InvalidInputException"})
    response = codec.serialize_error(operation.service_model, operation, error, "r3")
    assert response.status == 400
    assert response.header("x-amzn-ErrorType") == "BadRequestException"
    assert response.header("x-amzn-RequestId") == "r3"
    document = json.loads(response.body)
    assert document["message"] == "The request is rejected" and document["type"] == "InvalidInputException"
    parsed, modeled = botocore_error(operation, response)
    assert parsed["Error"]["Code"] == "BadRequestException"
    assert modeled == {"Message": "The request is rejected", "Type": "InvalidInputException"}


def test_rest_json_header_bound_error_field():
    codec = codec_for("rest-json")
    operation = op("lambda", "Invoke")
    error = AwsError("slow down", code="TooManyRequestsException", status=429, fields={"retryAfterSeconds": "7", "Reason": "ConcurrentInvocationLimitExceeded"})
    response = codec.serialize_error(operation.service_model, operation, error, "r4")
    assert response.status == 429 and response.header("Retry-After") == "7"
    _, modeled = botocore_error(operation, response)
    assert modeled["retryAfterSeconds"] == "7" and modeled["Reason"] == "ConcurrentInvocationLimitExceeded"


def test_response_status_and_headers():
    codec = codec_for("rest-json")
    operation = op("lambda", "CreateFunction")
    response = codec.serialize_response(operation, {"FunctionName": "f"}, "r5")
    assert response.status == 201  # the model's responseCode
    assert response.header("x-amzn-RequestId") == "r5"
    assert response.header("Content-Type") == "application/json"
    s3 = codec_for("rest-xml")
    listing = s3.serialize_response(op("s3", "ListBuckets"), {"Buckets": [{"Name": "a"}]}, "r6")
    assert b'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"' in listing.body
    assert listing.header("Content-Type") == "application/xml"
    head = s3.serialize_response(op("s3", "HeadObject"), {"ContentLength": 5, "Metadata": {"k": "v"}}, "r7")
    assert head.body == b"" and head.header("x-amz-meta-k") == "v" and head.header("Content-Length") == "5"


def test_unwrapped_xml_output_for_get_bucket_location():
    from botocore.handlers import parse_get_bucket_location
    from botocore.model import ServiceModel

    from mamori.protocol.model import load_raw

    raw = load_raw("s3")
    raw["operations"]["GetBucketLocation"]["s3UnwrappedXmlOutput"] = True
    operation = ServiceModel(raw, service_name="s3").operation_model("GetBucketLocation")
    response = codec_for("rest-xml").serialize_response(operation, {"LocationConstraint": "eu-west-1"}, "r")
    assert b">eu-west-1</LocationConstraint>" in response.body

    class Raw:
        raw = object()
        content = response.body

    parsed = {}
    parse_get_bucket_location(parsed, Raw())
    assert parsed == {"LocationConstraint": "eu-west-1"}
