"""The `smithy-rpc-v2-cbor` protocol: what current boto3 speaks to CloudWatch.

Request:  POST `/service/<ServiceShapeName>/operation/<Operation>`, header
          `smithy-protocol: rpc-v2-cbor`, CBOR body of the input (botocore names the
          service by the model's `targetPrefix`, e.g. `GraniteServiceVersion20100801`).
Response: 200, `Content-Type: application/cbor`, `smithy-protocol: rpc-v2-cbor`, CBOR
          body; timestamps are tag 1 (epoch seconds, a float when it has milliseconds),
          blobs are byte strings.
Error:    status, CBOR body `{"__type": ..., "message": ...}` plus modeled members;
          `awsQueryCompatible` services also send `x-amzn-query-error`.

Spec: https://smithy.io/2.0/additional-specs/protocols/smithy-rpc-v2.html. cbor2 does the
byte-level encoding; this module maps shapes to and from cbor2's Python values.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any

import cbor2
from botocore.model import OperationModel, ServiceModel, Shape

from mamori.errors import AwsError, SerializationError
from mamori.gateway.http import HttpRequest, HttpResponse
from mamori.protocol import timestamps
from mamori.protocol.base import ProtocolCodec, register
from mamori.protocol.json_rpc import find_named_operation, query_error_header
from mamori.protocol.modeled_errors import document_error_body, resolve
from mamori.protocol.validate import validate

_PATH = re.compile(r"/service/([^/]+)/operation/([^/]+)/?$")
_CONTENT_TYPE = "application/cbor"


# -- decode -------------------------------------------------------------------------


def _wrong(path: str, expected: str, value: Any) -> SerializationError:
    return SerializationError(f"Expected {expected} at '{path}', got {type(value).__name__}")


def decode(shape: Shape, value: Any, path: str) -> Any:
    kind = shape.type_name
    if kind == "structure":
        if getattr(shape, "is_document_type", False):
            return value
        if not isinstance(value, dict):
            raise _wrong(path, "a map", value)
        out = {}
        for name, member in shape.members.items():
            item = value.get(member.serialization.get("name", name))
            if item is not None:
                out[name] = decode(member, item, f"{path}.{name}")
        return out
    if kind == "list":
        if not isinstance(value, list):
            raise _wrong(path, "an array", value)
        return [None if v is None else decode(shape.member, v, f"{path}[{i}]") for i, v in enumerate(value)]
    if kind == "map":
        if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
            raise _wrong(path, "a map with text keys", value)
        return {k: None if v is None else decode(shape.value, v, f"{path}.{k}") for k, v in value.items()}
    if kind == "string":
        if not isinstance(value, str):
            raise _wrong(path, "a text string", value)
        return value
    if kind == "boolean":
        if not isinstance(value, bool):
            raise _wrong(path, "a boolean", value)
        return value
    if kind in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int):
            raise _wrong(path, "an integer", value)
        return value
    if kind in ("float", "double"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _wrong(path, "a number", value)
        return float(value)
    if kind == "timestamp":
        if isinstance(value, datetime):
            return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            try:
                return timestamps.from_epoch(value)
            except ValueError as exc:
                raise SerializationError(f"Invalid timestamp at '{path}'") from exc
        raise _wrong(path, "a timestamp (tag 1)", value)
    if kind == "blob":
        if not isinstance(value, (bytes, bytearray)):
            raise _wrong(path, "a byte string", value)
        return bytes(value)
    return value


# -- encode -------------------------------------------------------------------------


def encode(shape: Shape, value: Any) -> Any:
    kind = shape.type_name
    if kind == "structure":
        if getattr(shape, "is_document_type", False):
            return value
        members = shape.members
        return {
            members[k].serialization.get("name", k): encode(members[k], v)
            for k, v in value.items()
            if v is not None and k in members
        }
    if kind == "list":
        return [None if v is None else encode(shape.member, v) for v in value]
    if kind == "map":
        return {str(k): None if v is None else encode(shape.value, v) for k, v in value.items()}
    if kind == "timestamp":
        return cbor2.CBORTag(1, timestamps.format(value, timestamps.UNIX))
    if kind == "blob":
        if isinstance(value, str):
            return value.encode("utf-8")
        return bytes(value)
    if kind in ("float", "double"):
        return float(value)
    if kind in ("integer", "long"):
        return int(value)
    return value


def dumps(value: Any) -> bytes:
    return cbor2.dumps(value)


class CborCodec(ProtocolCodec):
    name = "smithy-rpc-v2-cbor"

    def find_operation(self, service: ServiceModel, request: HttpRequest) -> OperationModel | None:
        match = _PATH.search(request.path)
        if match is None:
            return None
        service_name, op_name = match.groups()
        if service_name != service.metadata.get("targetPrefix"):
            return None
        return find_named_operation(service, op_name)

    def parse_request(self, operation: OperationModel, request: HttpRequest) -> dict[str, Any]:
        shape = operation.input_shape
        if not request.body:
            document: Any = {}
        else:
            try:
                document = cbor2.loads(request.body)
            except Exception as exc:  # noqa: BLE001 - cbor2 raises several types
                raise SerializationError("Request body is not valid CBOR") from exc
        if document is None:
            document = {}
        if not isinstance(document, dict):
            raise SerializationError("Expected a CBOR map as the request body")
        if shape is None:
            return {}
        try:
            params = decode(shape, document, shape.name)
        except RecursionError as exc:  # a recursive shape nested absurdly deep
            raise SerializationError("Request body is nested too deeply") from exc
        # Services that left the query protocol keep its validation code (ValidationError).
        validate(shape, params, code=_validation_code(operation))
        return params

    def serialize_response(
        self, operation: OperationModel, output: dict[str, Any], request_id: str
    ) -> HttpResponse:
        shape = operation.output_shape
        body = dumps(encode(shape, output or {}) if shape is not None else {})
        return HttpResponse(200, self._headers(request_id), body)

    def serialize_error(
        self,
        service: ServiceModel,
        operation: OperationModel | None,
        error: AwsError,
        request_id: str,
    ) -> HttpResponse:
        wire = resolve(service, error)
        body = document_error_body(wire, error, encode)
        headers = self._headers(request_id)
        extra = query_error_header(service, wire.query_code, wire.sender_fault)
        if extra:
            headers.append(extra)
        headers.extend(error.headers.items())
        return HttpResponse(wire.status, headers, dumps(body))

    @staticmethod
    def _headers(request_id: str) -> list[tuple[str, str]]:
        return [
            ("Content-Type", _CONTENT_TYPE),
            ("smithy-protocol", "rpc-v2-cbor"),
            ("x-amzn-RequestId", request_id),
        ]


register(CborCodec())

__all__ = ["CborCodec", "decode", "encode"]


def _validation_code(operation: OperationModel) -> str:
    compatible = "awsQueryCompatible" in operation.service_model.metadata
    return "ValidationError" if compatible else "ValidationException"
