"""The `json` protocol (awsJson 1.0 / 1.1): KMS, CloudWatch Logs, EventBridge, CloudWatch.

Request:  POST /, `X-Amz-Target: <targetPrefix>.<Operation>`, JSON body of the input.
Response: 200, `Content-Type: application/x-amz-json-<jsonVersion>`, `x-amzn-RequestId`,
          JSON body of the output.
Error:    status, `x-amzn-ErrorType: <code>`, body `{"__type": code, "message": ...}`
          plus the modeled error's members; `awsQueryCompatible` services add
          `x-amzn-query-error: <query code>;Sender|Receiver`.

Spec: https://smithy.io/2.0/aws/protocols/aws-json-1_1-protocol.html. Bodies go through
`jsonbody` without the `jsonName` trait (awsJson ignores it).
"""

from __future__ import annotations

import functools
import json
from typing import Any

from botocore.model import OperationModel, ServiceModel

from mamori.errors import AwsError, SerializationError
from mamori.gateway.http import HttpRequest, HttpResponse
from mamori.protocol import jsonbody
from mamori.protocol.base import ProtocolCodec, register
from mamori.protocol.modeled_errors import document_error_body, resolve
from mamori.protocol.validate import validate


def find_named_operation(service: ServiceModel, name: str) -> OperationModel | None:
    if not name or name not in _operation_names(service):
        return None
    return service.operation_model(name)


@functools.lru_cache(maxsize=256)
def _operation_names(service: ServiceModel) -> frozenset[str]:
    # ServiceModel.operation_names is a list; a set makes lookups O(1) for EC2's 765.
    return frozenset(service.operation_names)


def query_error_header(service: ServiceModel, query_code: str, sender_fault: bool) -> tuple[str, str] | None:
    """`x-amzn-query-error` for services that moved off the query protocol."""
    if "awsQueryCompatible" not in service.metadata:
        return None
    return ("x-amzn-query-error", f"{query_code};{'Sender' if sender_fault else 'Receiver'}")


def loads(body: bytes) -> Any:
    """json.loads, by orjson when it can (3x faster on a 1,000-event PutLogEvents body).
    What orjson refuses and the json module reads (bare NaN, integers past 64 bits, lone
    surrogates) goes to the json module, so both read the same documents."""
    if _orjson_loads is not None:
        try:
            return _orjson_loads(body)
        except ValueError:
            pass
    return json.loads(body)


try:
    from orjson import loads as _orjson_loads
except ImportError:  # pragma: no cover - orjson is a dependency on CPython
    _orjson_loads = None


class JsonCodec(ProtocolCodec):
    name = "json"

    def find_operation(self, service: ServiceModel, request: HttpRequest) -> OperationModel | None:
        target = request.headers.get("x-amz-target", "")
        prefix, _, op_name = target.rpartition(".")
        if prefix != service.metadata.get("targetPrefix"):
            return None
        return find_named_operation(service, op_name)

    def parse_request(self, operation: OperationModel, request: HttpRequest) -> dict[str, Any]:
        shape = operation.input_shape
        body = request.body.strip()
        if not body:
            document: Any = {}
        else:
            try:
                document = loads(body)
            except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
                raise SerializationError("Request body is not valid JSON") from exc
        if document is None:
            document = {}
        if not isinstance(document, dict):
            raise SerializationError("Start of list found where not expected")
        if shape is None:
            return {}
        try:
            params = jsonbody.decode(shape, document)
        except RecursionError as exc:  # a recursive shape nested absurdly deep
            raise SerializationError("Request body is nested too deeply") from exc
        # Services that left the query protocol keep its validation code (ValidationError).
        validate(shape, params, code=_validation_code(operation))
        return params

    def serialize_response(
        self, operation: OperationModel, output: dict[str, Any], request_id: str
    ) -> HttpResponse:
        shape = operation.output_shape
        body = jsonbody.encode(shape, output or {}) if shape is not None else {}
        return HttpResponse(
            200,
            [
                ("Content-Type", _content_type(operation.service_model)),
                ("x-amzn-RequestId", request_id),
            ],
            json.dumps(body, separators=(",", ":")).encode("utf-8"),
        )

    def serialize_error(
        self,
        service: ServiceModel,
        operation: OperationModel | None,
        error: AwsError,
        request_id: str,
    ) -> HttpResponse:
        wire = resolve(service, error)
        body = document_error_body(wire, error, jsonbody.encode)
        headers = [
            ("Content-Type", _content_type(service)),
            ("x-amzn-RequestId", request_id),
            ("x-amzn-ErrorType", wire.type_name),
        ]
        extra = query_error_header(service, wire.query_code, wire.sender_fault)
        if extra:
            headers.append(extra)
        headers.extend(error.headers.items())
        return HttpResponse(wire.status, headers, json.dumps(body, default=str).encode("utf-8"))


def _content_type(service: ServiceModel) -> str:
    return f"application/x-amz-json-{service.metadata.get('jsonVersion', '1.0')}"


register(JsonCodec())


def _validation_code(operation: OperationModel) -> str:
    compatible = "awsQueryCompatible" in operation.service_model.metadata
    return "ValidationError" if compatible else "ValidationException"
