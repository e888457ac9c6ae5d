"""Wire details of the RPC codecs the round trips don't reach: operation lookup misses,
malformed bodies (always an AwsError, never a Python exception), response envelopes,
and the timestamp formats."""

from __future__ import annotations

from datetime import datetime, timezone

import cbor2
import pytest

from mamori.errors import AwsError
from mamori.gateway.http import HttpRequest
from mamori.protocol import timestamps
from oracle import client_request, codec, model_for

JSON_HEADERS = [("content-type", "application/x-amz-json-1.1")]
FORM = [("content-type", "application/x-www-form-urlencoded")]
CBOR_HEADERS = [("content-type", "application/cbor"), ("smithy-protocol", "rpc-v2-cbor")]


def _req(headers, body=b"", path="/", query="", method="POST"):
    return HttpRequest(method, path, query, list(headers), body)


# -- find_operation -------------------------------------------------------------------

LOOKUPS = [
    ("kms", "json", _req(JSON_HEADERS + [("x-amz-target", "TrentService.Encrypt")]), "Encrypt"),
    ("kms", "json", _req(JSON_HEADERS + [("x-amz-target", "TrentService.Nope")]), None),
    ("kms", "json", _req(JSON_HEADERS + [("x-amz-target", "Logs_20140328.Encrypt")]), None),
    ("kms", "json", _req(JSON_HEADERS), None),
    ("cloudwatch", "smithy-rpc-v2-cbor",
     _req(CBOR_HEADERS, path="/service/GraniteServiceVersion20100801/operation/ListMetrics"), "ListMetrics"),
    ("cloudwatch", "smithy-rpc-v2-cbor",
     _req(CBOR_HEADERS, path="/service/Other/operation/ListMetrics"), None),
    ("cloudwatch", "smithy-rpc-v2-cbor", _req(CBOR_HEADERS, path="/"), None),
    ("iam", "query", _req(FORM, b"Action=ListUsers&Version=2010-05-08"), "ListUsers"),
    ("iam", "query", _req([], query="Action=GetUser&Version=2010-05-08", method="GET"), "GetUser"),
    ("iam", "query", _req(FORM, b"Action=Frobnicate"), None),
    ("iam", "query", _req(FORM, b"Version=2010-05-08"), None),
    ("ec2", "ec2", _req(FORM, b"Action=DescribeVpcs&Version=2016-11-15"), "DescribeVpcs"),
    ("ec2", "ec2", _req(FORM, b"Action=describeVpcs"), None),
]


@pytest.mark.parametrize("service,protocol,request_,expected", LOOKUPS)
def test_find_operation(service, protocol, request_, expected) -> None:
    found = codec(protocol).find_operation(model_for(service, protocol), request_)
    assert (found.name if found else None) == expected


# -- malformed input --------------------------------------------------------------------

MALFORMED = [
    ("kms", "json", "Encrypt", b"{", "SerializationException"),
    ("kms", "json", "Encrypt", b"[1]", "SerializationException"),
    ("kms", "json", "Encrypt", b'{"KeyId": 5, "Plaintext": "YQ=="}', "SerializationException"),
    ("kms", "json", "Encrypt", b'{"KeyId": "k", "Plaintext": "not base64!"}', "SerializationException"),
    ("kms", "json", "Encrypt", b"\xff\xfe", "SerializationException"),
    ("logs", "json", "GetLogEvents", b'{"logStreamName":"s","startTime":"soon"}', "SerializationException"),
    ("logs", "json", "GetLogEvents", b'{"logStreamName":"s","limit":true}', "SerializationException"),
    ("cloudwatch", "smithy-rpc-v2-cbor", "ListMetrics", b"\xff\x00garbage", "SerializationException"),
    ("cloudwatch", "smithy-rpc-v2-cbor", "ListMetrics", cbor2.dumps([1, 2]), "SerializationException"),
    ("cloudwatch", "smithy-rpc-v2-cbor", "ListMetrics", cbor2.dumps({"Namespace": 7}), "SerializationException"),
    ("iam", "query", "ListUsers", b"Action=ListUsers&MaxItems=many", "ValidationError"),
    ("cloudwatch", "query", "GetMetricStatistics",
     b"Action=GetMetricStatistics&Namespace=n&MetricName=m&Period=60&StartTime=yesterday"
     b"&EndTime=2024-01-01T00:00:00Z&Statistics.member.1=Sum", "ValidationError"),
    ("ec2", "ec2", "DescribeVpcs", b"Action=DescribeVpcs&DryRun=maybe", "InvalidParameterValue"),
    ("sns", "query", "Publish", b"Action=Publish&Message=m&MessageAttributes.entry.1.Name=a"
     b"&MessageAttributes.entry.1.Value.BinaryValue=%%%", "ValidationError"),
]


@pytest.mark.parametrize("service,protocol,operation,body,code", MALFORMED)
def test_malformed_input_is_an_aws_error(service, protocol, operation, body, code) -> None:
    headers = {"json": JSON_HEADERS, "smithy-rpc-v2-cbor": CBOR_HEADERS}.get(protocol, FORM)
    op = model_for(service, protocol).operation_model(operation)
    with pytest.raises(AwsError) as raised:
        codec(protocol).parse_request(op, _req(headers, body))
    assert raised.value.code == code
    assert raised.value.status == 400


def test_json_null_members_and_unknown_members_are_ignored() -> None:
    op = model_for("kms", "json").operation_model("DescribeKey")
    body = b'{"KeyId": "k", "GrantTokens": null, "Surprise": 1}'
    assert codec("json").parse_request(op, _req(JSON_HEADERS, body)) == {"KeyId": "k"}


def test_query_accepts_parameters_in_a_get_query_string() -> None:
    op = model_for("iam", "query").operation_model("GetUser")
    request = _req([], query="Action=GetUser&UserName=alice%2Bb", method="GET")
    assert codec("query").parse_request(op, request) == {"UserName": "alice+b"}


def test_query_list_indexes_need_not_be_contiguous() -> None:
    op = model_for("cloudwatch", "query").operation_model("DeleteAlarms")
    body = b"Action=DeleteAlarms&AlarmNames.member.3=c&AlarmNames.member.1=a"
    assert codec("query").parse_request(op, _req(FORM, body)) == {"AlarmNames": ["a", "c"]}


# -- response envelopes -----------------------------------------------------------------


def test_json_response_envelope() -> None:
    for service, version in (("kms", "1.1"), ("cloudwatch", "1.0")):
        model = model_for(service, "json")
        op = model.operation_model(model.operation_names[0])
        response = codec("json").serialize_response(op, {}, "rid")
        assert response.header("Content-Type") == f"application/x-amz-json-{version}"
        assert response.header("x-amzn-RequestId") == "rid"


def test_cbor_response_envelope_and_tag_1_timestamps() -> None:
    op = model_for("cloudwatch", "smithy-rpc-v2-cbor").operation_model("DescribeAlarmHistory")
    when = datetime(2024, 5, 1, 12, 0, 0, 250000, tzinfo=timezone.utc)
    output = {"AlarmHistoryItems": [{"AlarmName": "a", "Timestamp": when}]}
    response = codec("smithy-rpc-v2-cbor").serialize_response(op, output, "rid")
    assert response.header("Content-Type") == "application/cbor"
    assert response.header("smithy-protocol") == "rpc-v2-cbor"
    raw = cbor2.loads(response.body, tag_hook=lambda _d, tag: ("tag", tag.tag, tag.value))
    item = raw["AlarmHistoryItems"][0]
    assert item["Timestamp"] == ("tag", 1, 1714564800.25) or item["Timestamp"] == when


def test_query_response_envelope() -> None:
    op = model_for("iam", "query").operation_model("GetUser")
    output = {"User": {"Path": "/", "UserName": "a", "UserId": "AIDA", "Arn": "arn",
                       "CreateDate": datetime(2024, 1, 1, tzinfo=timezone.utc)}}
    body = codec("query").serialize_response(op, output, "rid").body.decode()
    assert '<GetUserResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">' in body
    assert "<GetUserResult><User>" in body
    assert "<CreateDate>2024-01-01T00:00:00Z</CreateDate>" in body
    assert body.endswith("<ResponseMetadata><RequestId>rid</RequestId></ResponseMetadata></GetUserResponse>")


def test_ec2_response_envelope() -> None:
    op = model_for("ec2", "ec2").operation_model("DescribeVpcs")
    output = {"Vpcs": [{"VpcId": "vpc-1", "IsDefault": True}]}
    body = codec("ec2").serialize_response(op, output, "rid").body.decode()
    assert '<DescribeVpcsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>rid</requestId>' in body
    assert "<vpcSet><item><vpcId>vpc-1</vpcId><isDefault>true</isDefault></item></vpcSet>" in body


def test_botocore_sends_what_we_read_for_an_ec2_filter_list() -> None:
    op = model_for("ec2", "ec2").operation_model("DescribeInstances")
    params = {"Filters": [{"Name": "tag:env", "Values": ["a", "b"]}], "InstanceIds": ["i-1"]}
    request = client_request(op, params, "ec2")
    assert "Filter.1.Value.2=b" in request.body.decode()
    assert codec("ec2").parse_request(op, request) == params


# -- timestamps -------------------------------------------------------------------------

UTC = timezone.utc
PARSE = [
    ("2024-05-01T12:00:00Z", datetime(2024, 5, 1, 12, tzinfo=UTC)),
    ("2024-05-01T12:00:00.123Z", datetime(2024, 5, 1, 12, 0, 0, 123000, tzinfo=UTC)),
    ("2024-05-01T14:00:00+02:00", datetime(2024, 5, 1, 12, tzinfo=UTC)),
    ("2024-05-01T12:00:00.123456789Z", datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)),
    ("Wed, 01 May 2024 12:00:00 GMT", datetime(2024, 5, 1, 12, tzinfo=UTC)),
    ("1714564800", datetime(2024, 5, 1, 12, tzinfo=UTC)),
    (1714564800.5, datetime(2024, 5, 1, 12, 0, 0, 500000, tzinfo=UTC)),
]


@pytest.mark.parametrize("raw,expected", PARSE)
def test_timestamp_parse(raw, expected) -> None:
    assert timestamps.parse(raw) == expected


@pytest.mark.parametrize("raw", ["", "soon", "2024-13-01T00:00:00Z", float("nan"), True, None])
def test_timestamp_parse_rejects(raw) -> None:
    with pytest.raises(ValueError):
        timestamps.parse(raw)


def test_timestamp_format() -> None:
    dt = datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)
    assert timestamps.format(dt, timestamps.ISO8601) == "2024-05-01T12:00:00.123Z"
    assert timestamps.format(dt, timestamps.UNIX) == 1714564800.123
    assert timestamps.format(dt.replace(microsecond=0), timestamps.UNIX) == 1714564800
    assert timestamps.format(dt, timestamps.RFC822) == "Wed, 01 May 2024 12:00:00 GMT"


def test_absurd_nesting_is_a_serialization_error() -> None:
    op = model_for("kms", "json").operation_model("Encrypt")
    with pytest.raises(AwsError) as raised:
        codec("json").parse_request(op, _req(JSON_HEADERS, b"[" * 100_000))
    assert raised.value.code == "SerializationException"


# -- fuzz: anything a client sends ends as a dict or an AwsError ------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=12,
)
FUZZ_OPS = [
    ("kms", "json", "Encrypt"), ("logs", "json", "PutLogEvents"), ("events", "json", "PutRule"),
    ("cloudwatch", "smithy-rpc-v2-cbor", "PutMetricData"), ("cloudwatch", "query", "PutMetricAlarm"),
    ("iam", "query", "CreateRole"), ("sns", "query", "Publish"), ("ec2", "ec2", "RunInstances"),
]


def _member_keys(op):
    return sorted(op.input_shape.members) if op.input_shape is not None else ["X"]


@pytest.mark.parametrize("service,protocol,operation", FUZZ_OPS)
def test_fuzzed_input_is_a_dict_or_an_aws_error(service, protocol, operation) -> None:
    op = model_for(service, protocol).operation_model(operation)
    wire = codec(protocol)
    keys = _member_keys(op)
    if protocol == "json":
        import json as _json

        bodies = st.one_of(
            st.binary(max_size=40),
            st.dictionaries(st.sampled_from(keys), _json_values, max_size=4).map(
                lambda d: _json.dumps(d).encode()
            ),
        )
        headers = JSON_HEADERS
    elif protocol == "smithy-rpc-v2-cbor":
        bodies = st.one_of(
            st.binary(max_size=40),
            st.dictionaries(st.sampled_from(keys), _json_values, max_size=4).map(cbor2.dumps),
        )
        headers = CBOR_HEADERS
    else:
        names = st.lists(
            st.sampled_from(keys + ["member", "1", "2", "entry", "key", "value", "Name", "Value"]),
            min_size=1, max_size=4,
        ).map(".".join)
        bodies = st.dictionaries(names, st.text(max_size=6), max_size=6).map(
            lambda d: "&".join(f"{k}={v}" for k, v in d.items()).encode()
        )
        headers = FORM

    @settings(max_examples=60, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(bodies)
    def check(body):
        try:
            assert isinstance(wire.parse_request(op, _req(headers, body)), dict)
        except AwsError as error:
            assert 400 <= error.status < 500

    check()
