"""Every operation of the RPC services, both directions, with botocore as the oracle.

input:  hypothesis input -> botocore's request serializer -> mamori codec
        (find_operation + parse_request) == the input (see oracle.py's normalizations)
output: hypothesis output -> mamori codec serialize_response -> botocore's response
        parser == the output

Services and protocols: oracle.SERVICES (kms, logs, events: json; sts, iam, sns: query;
ec2: ec2; cloudwatch: smithy-rpc-v2-cbor, json and query). EXAMPLES examples per
operation and direction, derandomized so CI is reproducible.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

from mamori.errors import ValidationError
from mamori.protocol.validate import validate

from oracle import SERVICES, cases, codec, client_parse, client_request, model_for, normalize_input, normalize_output
from strategies import operation_input, operation_output

EXAMPLES = 4
CASES = cases()
SETTINGS = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)

# Operations per (service, protocol) in botocore 1.43.11's models; a model update that
# adds operations shows up here, not as silent extra coverage.
EXPECTED_COUNTS = {
    ("kms", "json"): 54,
    ("logs", "json"): 113,
    ("events", "json"): 57,
    ("sts", "query"): 11,
    ("iam", "query"): 176,
    ("sns", "query"): 42,
    ("cloudwatch", "smithy-rpc-v2-cbor"): 46,
    ("cloudwatch", "json"): 46,
    ("cloudwatch", "query"): 46,
    ("ec2", "ec2"): 765,
}


def _id(case: tuple[str, str, str]) -> str:
    return "-".join(case)


def test_operation_counts() -> None:
    counts: dict[tuple[str, str], int] = {}
    for service, protocol, _ in CASES:
        counts[(service, protocol)] = counts.get((service, protocol), 0) + 1
    assert counts == EXPECTED_COUNTS
    total = sum(counts.values())
    print(f"\nRPC round trip: {total} operations x 2 directions x <= {EXAMPLES} examples")
    assert total == 1356


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_input_round_trip(case: tuple[str, str, str]) -> None:
    service, protocol, name = case
    model = model_for(service, protocol)
    op = model.operation_model(name)
    wire = codec(protocol)

    @SETTINGS
    @given(operation_input(op))
    def check(params):
        request = client_request(op, params, protocol)
        found = wire.find_operation(model, request)
        assert found is not None and found.name == name
        expected = normalize_input(op.input_shape, params, protocol)
        try:
            validate(op.input_shape, expected)
        except ValidationError:
            # The wire dropped a required member (an empty structure in query): the
            # server must answer a validation error, as AWS would.
            with pytest.raises(ValidationError):
                wire.parse_request(found, request)
            return
        assert wire.parse_request(found, request) == expected

    check()


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_output_round_trip(case: tuple[str, str, str]) -> None:
    service, protocol, name = case
    model = model_for(service, protocol)
    op = model.operation_model(name)
    if op.has_event_stream_output:
        pytest.skip("event-stream output is not an RPC body")
    wire = codec(protocol)

    @SETTINGS
    @given(operation_output(op))
    def check(output):
        response = wire.serialize_response(op, output, "req-1")
        assert response.status == 200
        parsed = client_parse(op, response, protocol)
        assert parsed == normalize_output(op.output_shape, output, protocol)

    check()


assert set(SERVICES) == {s for s, _ in EXPECTED_COUNTS}
