"""The `rest-json` protocol (Smithy restJson1): REST routing and bindings from
`protocol.rest`, JSON documents from `protocol.jsonbody`.

Bodies honor `jsonName`; body timestamps are epoch seconds by default
(https://smithy.io/2.0/aws/protocols/aws-restjson1-protocol.html). An input with body
members but no body is the empty document.

Errors (what botocore's rest-json parser reads, in order): the `x-amzn-ErrorType`
header, then `code` / `__type` in the body. We send both, plus `message` (or the
modeled shape's own spelling of it) and the modeled shape's other members, header-bound
ones as headers.
"""

from __future__ import annotations

import json
from typing import Any

from botocore.model import OperationModel, ServiceModel, Shape, StructureShape

from mamori.errors import AwsError, SerializationError
from mamori.gateway.http import HttpResponse
from mamori.protocol import jsonbody, timestamps
from mamori.protocol.base import register
from mamori.protocol.rest import RestCodec, body_members


class RestJsonCodec(RestCodec):
    name = "rest-json"
    content_type = "application/json"

    def bad_input(self, message: str) -> AwsError:
        return SerializationError(message)

    def decode_body(self, shape: Shape, body: bytes, *, payload: bool) -> dict[str, Any] | None:
        try:
            document = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise SerializationError(f"The request body is not valid JSON: {exc}") from None
        if document is None:
            return None
        return jsonbody.decode(shape, document, json_name=True, timestamp_format=timestamps.UNIX)

    def encode_body(
        self, service: ServiceModel, shape: Shape, value: dict[str, Any], *, payload: bool, root: str
    ) -> bytes:
        if not payload:
            value = {k: v for k, v in value.items() if k in shape.members}
        document = jsonbody.encode(shape, value, json_name=True, timestamp_format=timestamps.UNIX)
        return json.dumps(document, separators=(",", ":")).encode("utf-8")

    def empty_body(self, shape: StructureShape) -> bytes:
        return b"{}"

    def serialize_error(
        self,
        service: ServiceModel,
        operation: OperationModel | None,
        error: AwsError,
        request_id: str,
    ) -> HttpResponse:
        status = self.error_status(service, error)
        headers: list[tuple[str, str]] = [
            ("x-amzn-RequestId", request_id),
            ("x-amzn-ErrorType", error.code),
            ("Content-Type", "application/json"),
        ]
        document: dict[str, Any] = {}
        shape = self.error_shape(service, error.code)
        message_key = "message"
        if shape is not None:
            bound_status, bound = self.bind_output(shape, error.fields, status)
            headers.extend(bound)
            members = body_members(shape)
            values = {k: error.fields[k] for k in members if error.fields.get(k) is not None}
            if values:
                document.update(
                    jsonbody.encode(shape, values, json_name=True, timestamp_format=timestamps.UNIX)
                )
            for name in members:
                if name.lower() == "message":
                    message_key = jsonbody.member_wire_name(name, shape.members[name], True)
        else:
            document.update({k: v for k, v in error.fields.items() if _jsonable(v)})
        document.setdefault(message_key, error.message)
        document.setdefault("__type", error.code)
        headers.extend((k, v) for k, v in error.headers.items())
        body = json.dumps(document, separators=(",", ":"), default=str).encode("utf-8")
        if operation is not None and operation.http.get("method", "").upper() == "HEAD":
            body = b""
        return HttpResponse(status, headers, body)


def _jsonable(value: Any) -> bool:
    return isinstance(value, (str, int, float, bool, list, dict)) or value is None


register(RestJsonCodec())
