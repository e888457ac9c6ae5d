"""Every operation of S3 (rest-xml) and GuardDuty, Lambda, API Gateway (rest-json),
with botocore as the oracle (helpers and the list of wire normalizations in
`rest_oracle.py`):

1. requests: model-generated input -> botocore's serializer -> our router picks the
   same operation -> our parser gives back the input
2. responses: model-generated output -> our serializer -> botocore's parser gives back
   the output
3. errors: every modeled error of the operation -> our serializer -> botocore reads
   the right `Error.Code` and the modeled fields

Examples per operation are few and derandomized so CI is fast and reproducible.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from mamori.errors import AwsError
from mamori.protocol import rest_json, rest_xml  # noqa: F401 - register the codecs
from mamori.protocol.base import codec_for
from mamori.protocol.model import service_model
from rest_oracle import (
    botocore_error,
    botocore_response,
    condition_output,
    expected_input,
    expected_output,
    loses_required,
    shares_element_names,
    same_wire,
    wire_request,
)
from strategies import operation_input, operation_output, shape_values

SERVICES = {"s3": "rest-xml", "guardduty": "rest-json", "lambda": "rest-json", "apigateway": "rest-json"}
EXAMPLES = 5
# Deep enough for S3's required lists nested four levels down (CORSRules[].AllowedMethods).
INPUT_DEPTH = 6
SETTINGS = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)

OPERATIONS = [(svc, name) for svc in SERVICES for name in service_model(svc).operation_names]


def _op(service: str, name: str):
    return service_model(service).operation_model(name)


def _with_labels(op, params: dict[str, Any]) -> dict[str, Any]:
    # A URI label can't be empty on the wire (the path would lose a segment).
    shape = op.input_shape
    if shape is None:
        return params
    out = dict(params)
    for name, member in shape.members.items():
        if member.serialization.get("location") == "uri" and out.get(name) == "":
            out[name] = "x"
        if member.serialization.get("hostLabel") and name in out:
            # Host labels become part of the host name; botocore checks them.
            out[name] = "route-1"
    return out


@pytest.mark.parametrize("service,operation", OPERATIONS)
def test_request_round_trip(service: str, operation: str) -> None:
    op = _op(service, operation)
    codec = codec_for(SERVICES[service])

    @SETTINGS
    @given(operation_input(op, max_depth=INPUT_DEPTH))
    def check(params: dict[str, Any]) -> None:
        params = _with_labels(op, params)
        assume(not loses_required(op, params))
        if SERVICES[service] == "rest-xml" and op.input_shape is not None:
            assume(not shares_element_names(op.input_shape, params))
        request = wire_request(op, params)
        found = codec.find_operation(op.service_model, request)
        assert found is not None, f"{request.method} {request.raw_path}?{request.raw_query} not routed"
        assert found.name == op.name or same_wire(found, op), (found.name, request.raw_path, request.raw_query)
        assert codec.parse_request(op, request) == expected_input(op, params)

    check()


STREAMING_OUT = {
    (svc, name)
    for svc, name in OPERATIONS
    if _op(svc, name).output_shape is not None
    and any(m.serialization.get("eventstream") for m in _op(svc, name).output_shape.members.values())
}


@pytest.mark.parametrize("service,operation", [o for o in OPERATIONS if o not in STREAMING_OUT])
def test_response_round_trip(service: str, operation: str) -> None:
    op = _op(service, operation)
    codec = codec_for(SERVICES[service])

    @SETTINGS
    @given(operation_output(op))
    def check(output: dict[str, Any]) -> None:
        output = condition_output(op, output)
        if SERVICES[service] == "rest-xml" and op.output_shape is not None:
            assume(not shares_element_names(op.output_shape, output))
        response = codec.serialize_response(op, output, "11111111-2222-3333-4444-555555555555")
        assert 200 <= response.status < 300
        assert botocore_response(op, response) == expected_output(op, output)

    check()


def _message_member(shape) -> str | None:
    for name in shape.members:
        if name.lower() == "message":
            return name
    return None


ERRORING = [(svc, name) for svc, name in OPERATIONS if _op(svc, name).error_shapes]


@pytest.mark.parametrize("service,operation", ERRORING)
def test_modeled_errors(service: str, operation: str) -> None:
    op = _op(service, operation)
    codec = codec_for(SERVICES[service])
    is_head = op.http.get("method") == "HEAD"

    @SETTINGS
    @given(st.data())
    def check(data: st.DataObject) -> None:
        for shape in op.error_shapes:
            code = shape.metadata.get("error", {}).get("code") or shape.name
            fields = condition_output(op, data.draw(shape_values(shape, 2)), shape)
            message_member = _message_member(shape)
            if message_member:
                fields.pop(message_member, None)
            for name in ("Code", "Message"):
                fields.pop(name, None)
            error = AwsError(f"boom {code}", code=code, fields=fields)
            response = codec.serialize_error(op.service_model, op, error, "req-1")
            modeled_status = shape.metadata.get("error", {}).get("httpStatusCode")
            if modeled_status:
                assert response.status == modeled_status
            parsed, modeled = botocore_error(op, response)
            if is_head:
                assert response.body == b""
                assert parsed["Error"]["Code"] == str(response.status)
                continue
            assert parsed["Error"]["Code"] == code
            assert parsed["Error"]["Message"] == f"boom {code}"
            assert modeled is not None
            expected = expected_output(op, fields, shape)
            if message_member and (SERVICES[service] == "rest-json" or message_member == "Message"):
                expected[message_member] = f"boom {code}"
            assert modeled == expected

    check()


def test_every_operation_is_covered() -> None:
    counts = {svc: len(service_model(svc).operation_names) for svc in SERVICES}
    assert len(OPERATIONS) == sum(counts.values())
    assert {svc for svc, _ in OPERATIONS} == set(SERVICES)
    print(
        f"\nrest round trips: {len(OPERATIONS)} operations {counts}, "
        f"{len(OPERATIONS)} request / {len(OPERATIONS) - len(STREAMING_OUT)} response / "
        f"{len(ERRORING)} error tests x {EXAMPLES} examples; "
        f"event-stream outputs not serialized: {sorted(STREAMING_OUT)}"
    )
