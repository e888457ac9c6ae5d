"""Never a 500: every implemented operation of every service, called through boto3 (its
own validation off) with inputs drawn from the service's model, answers with a result
or with one of the service's errors, never InternalFailure. A server of its own: the
calls create, change and delete things at random."""

from __future__ import annotations

import os
from typing import Any

import pytest
from botocore.config import Config as BotoConfig
from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError
from hypothesis import HealthCheck, given, settings

from mamori.services.base import discover
from mamori.testing.plugin import MamoriServer
from strategies import operation_input

EXAMPLES = int(os.environ.get("MAMORI_FUZZ_EXAMPLES", "3"))  # more for a local hunt
# Inputs left out: they would only make the call wait (long polling on real time).
DROP = {("sqs", "ReceiveMessage"): ("WaitTimeSeconds",)}


def _cases() -> list[tuple[str, str]]:
    out = []
    for name, cls in sorted(discover().items()):
        provider = cls.__new__(cls)
        out += [(name, op) for op in sorted(provider.implemented_operations())]
    return out


CASES = _cases()


@pytest.fixture(scope="module")
def server():
    srv = MamoriServer.start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.mark.parametrize("service,operation", CASES, ids=[f"{s}.{o}" for s, o in CASES])
def test_operation_never_answers_internal_failure(server: MamoriServer, service: str, operation: str) -> None:
    client = server.client(service, config=BotoConfig(parameter_validation=False, retries={"max_attempts": 1},
                                                       read_timeout=30, connect_timeout=5))
    op = client.meta.service_model.operation_model(operation)
    method = getattr(client, client.meta.method_to_api_mapping and
                     {v: k for k, v in client.meta.method_to_api_mapping.items()}[operation])

    @settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(operation_input(op, max_depth=3))
    def call(params: dict[str, Any]) -> None:
        for key in DROP.get((service, operation), ()):
            params.pop(key, None)
        try:
            method(**params)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            assert status != 500 and error.get("Code") not in ("InternalFailure", "InternalError"), (
                service, operation, params, error)
        except ResponseParserError:
            raise  # the server answered something the client cannot read
        except BotoCoreError:
            pass  # refused by the client before sending (endpoint rules, serialization)

    call()
