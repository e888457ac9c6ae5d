"""The compiled JSON decoder must agree with the walker: for every operation of the JSON
services, inputs drawn from the model are encoded as a client would send them, then
some values are swapped for values of the wrong JSON type. Either both decoders give the
same Python value, or the compiled one refuses and the walker raises the
SerializationError that names the path."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mamori.errors import SerializationError
from mamori.protocol import jsonbody
from mamori.protocol.model import service_model
from strategies import operation_input

SERVICES = ["kms", "logs", "events", "cloudwatch", "sqs"]
CASES = [(s, op) for s in SERVICES for op in service_model(s).operation_names]
WRONG = ["text", 7, 2.5, True, [], {}, "NaN", "not base64!"]


def _corrupt(draw: Any, value: Any) -> Any:
    if isinstance(value, dict):
        return {k: (draw(st.sampled_from(WRONG)) if draw(st.integers(0, 7)) == 0 else _corrupt(draw, v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_corrupt(draw, v) for v in value]
    return value


def _same(value: Any) -> str:
    return json.dumps(value, default=repr, sort_keys=True)


@pytest.mark.parametrize("service,name", CASES, ids=[f"{s}.{o}" for s, o in CASES])
def test_fast_decoder_agrees_with_the_walker(service: str, name: str) -> None:
    op = service_model(service).operation_model(name)
    if op.input_shape is None:
        return
    shape = op.input_shape

    @settings(max_examples=6, derandomize=True, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def check(data: Any) -> None:
        wire = json.loads(json.dumps(jsonbody.encode(shape, data.draw(operation_input(op, max_depth=3)))))
        if data.draw(st.booleans()):
            wire = _corrupt(data.draw, wire)
        try:
            slow = jsonbody._Decoder(False, "unixTimestamp").value(shape, wire, shape.name)
        except SerializationError:
            slow = SerializationError
        try:
            fast = jsonbody._fast(shape, False, "unixTimestamp")(wire)
        except (jsonbody._Invalid, SerializationError):
            fast = SerializationError
        if slow is SerializationError or fast is SerializationError:
            assert slow is fast, (wire, slow if fast is SerializationError else fast)
        else:
            assert _same(fast) == _same(slow)

    check()
