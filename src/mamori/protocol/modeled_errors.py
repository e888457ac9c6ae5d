"""Map an AwsError to the service's modeled error shape and its wire names.

A provider raises `AwsError(code=...)` with the code it knows: the shape name
(`NotFoundException`) or the query code the model gives in `error.code`
(IAM's `NoSuchEntity` for shape `NoSuchEntityException`). Each protocol writes a
different name on the wire:

- json / cbor `__type`: the shape name; services marked `awsQueryCompatible` add the
  `x-amzn-query-error: <query code>;Sender|Receiver` header so SDKs see the old code
  (https://smithy.io/2.0/aws/protocols/aws-query-protocol.html#aws-protocols-awsquerycompatible-trait).
- query / ec2 `<Code>`: the `error.code` when the shape has one, else the shape name.

The HTTP status is the error's own when it set one explicitly (constructor argument or
an AwsError subclass), else the shape's `httpStatusCode`, else 400 / 500 by fault.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from botocore.model import ServiceModel, Shape

from mamori.errors import AwsError


@dataclass(frozen=True)
class WireError:
    shape: Shape | None
    type_name: str  # json/cbor __type
    query_code: str  # query/ec2 <Code>, and the x-amzn-query-error code
    status: int
    sender_fault: bool


@functools.lru_cache(maxsize=256)
def _index(service: ServiceModel) -> dict[str, Shape]:
    index: dict[str, Shape] = {}
    for shape in service.error_shapes:
        index.setdefault(shape.name, shape)
    for shape in service.error_shapes:
        code = (shape.metadata.get("error") or {}).get("code")
        if code:
            index.setdefault(code, shape)
    return index


def error_shape(service: ServiceModel, code: str) -> Shape | None:
    """The modeled error shape a wire code names (by shape name or `error.code`)."""
    try:
        return _index(service).get(code)
    except Exception:  # noqa: BLE001 - a minimal fallback model has no shapes to index
        return None


def _explicit_status(error: AwsError) -> bool:
    if "status" in vars(error):
        return True
    return any("status" in vars(cls) for cls in type(error).__mro__[:-1] if cls is not AwsError)


def resolve(service: ServiceModel, error: AwsError) -> WireError:
    shape = error_shape(service, error.code)
    if shape is None:
        return WireError(None, error.code, error.code, error.status, error.sender_fault)
    trait = shape.metadata.get("error") or {}
    if _explicit_status(error):
        return WireError(shape, shape.name, trait.get("code") or shape.name, error.status, error.sender_fault)
    if "senderFault" in trait:
        sender = bool(trait["senderFault"])
    else:
        sender = not shape._shape_model.get("fault", False)
    status = int(trait.get("httpStatusCode") or (400 if sender else 500))
    return WireError(shape, shape.name, trait.get("code") or shape.name, status, sender)


def document_error_body(wire: WireError, error: AwsError, encode: Any) -> dict[str, Any]:
    """The body of a json / cbor error: the modeled fields the error carries (encoded by
    the protocol's own `encode(shape, value)`), then `__type` and `message`."""
    body: dict[str, Any] = {}
    if wire.shape is not None and error.fields:
        fields = {k: v for k, v in error.fields.items() if k in wire.shape.members}
        body.update(encode(wire.shape, fields))
    body["__type"] = wire.type_name
    body["message"] = error.message
    return body
