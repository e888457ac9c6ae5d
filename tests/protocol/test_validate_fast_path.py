"""The compiled validity check must agree with the walker that writes the messages:
for every operation of the services mamori serves, inputs drawn from the model and then
broken at random places (a required member dropped, a string too long or outside its
enum or pattern, a number out of range, a list emptied) are valid for the fast check
exactly when the walker finds no violation."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mamori.protocol.model import service_model
from mamori.protocol.validate import _checker, _Walker
from strategies import operation_input

SERVICES = ["kms", "logs", "events", "sts", "iam", "sns", "sqs", "cloudwatch"]
CASES = [(s, op) for s in SERVICES for op in service_model(s).operation_names]
BREAKS = ["", "x" * 5000, "NOT-AN-ENUM value!", -(10**12), 10**12, [], None]


def _break(draw: Any, shape: Any, value: Any) -> Any:
    """`value` with some of its members replaced by one of BREAKS (or removed)."""
    if isinstance(value, dict) and shape.type_name == "structure":
        out = dict(value)
        for name in list(out) + list(shape.required_members):
            member = shape.members.get(name)
            if member is None or not draw(st.booleans()):
                continue
            if draw(st.booleans()) and name in out:
                out[name] = _break(draw, member, out[name])
            else:
                choice = draw(st.sampled_from(BREAKS))
                if choice is None:
                    out.pop(name, None)
                else:
                    out[name] = choice
        return out
    if isinstance(value, list) and shape.type_name == "list" and value:
        return [_break(draw, shape.member, v) for v in value]
    return value


@pytest.mark.parametrize("service,name", CASES, ids=[f"{s}.{o}" for s, o in CASES])
def test_fast_check_agrees_with_the_walker(service: str, name: str) -> None:
    op = service_model(service).operation_model(name)
    if op.input_shape is None:
        return

    @settings(max_examples=6, derandomize=True, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def check(data: Any) -> None:
        params = data.draw(operation_input(op, max_depth=3))
        params = _break(data.draw, op.input_shape, params)
        problems: list[str] = []
        _Walker(problems).structure(op.input_shape, params, "")
        fast = _checker(op.input_shape)
        fast_valid = fast is None or fast(params)
        # A recursive shape always defers to the walker (fast says "not valid").
        if fast_valid or problems:
            assert fast_valid == (not problems), (params, problems)

    check()
