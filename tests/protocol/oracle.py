"""botocore as the oracle for the RPC protocol tests.

    model_for(service, protocol)          the service model, re-labelled to speak `protocol`
    codec(protocol)                       the mamori codec for a protocol
    client_request(op, params, protocol)  botocore's serializer -> mamori HttpRequest
    client_parse(op, response, protocol)  mamori HttpResponse -> botocore's parsed dict
    normalize_input / normalize_output    drop what the wire really cannot carry

Normalizations (each is a real loss on the wire, not a codec shortcut):
- smithy-rpc-v2-cbor input: botocore's CBOR serializer writes timestamps as whole epoch
  seconds (its millisecond mode cannot encode floats under tag 1), so milliseconds are
  truncated.
- query/ec2 input: empty maps and empty structures produce no parameters; ec2 also
  sends nothing for an empty list (query sends `Foo=`), so those are dropped; so are
  list items that are empty structures/maps (a list of only such items disappears).
- query/ec2 output: an empty flattened list or map produces no XML element.
"""

from __future__ import annotations

import copy
import importlib
import functools
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from botocore.model import OperationModel, ServiceModel, Shape
from botocore.parsers import create_parser
from botocore.serialize import create_serializer

from mamori.gateway.http import HttpRequest, HttpResponse
from mamori.protocol.base import ProtocolCodec, codec_for
from mamori.protocol.model import load_raw

# service -> protocols under test
SERVICES: dict[str, list[str]] = {
    "kms": ["json"],
    "logs": ["json"],
    "events": ["json"],
    "sts": ["query"],
    "iam": ["query"],
    "sns": ["query"],
    "cloudwatch": ["smithy-rpc-v2-cbor", "json", "query"],
    "ec2": ["ec2"],
}


_MODULES = {
    "json": "mamori.protocol.json_rpc",
    "smithy-rpc-v2-cbor": "mamori.protocol.cbor",
    "query": "mamori.protocol.query",
    "ec2": "mamori.protocol.ec2",
}


def codec(protocol: str) -> ProtocolCodec:
    """The codec, importing only its module (rest-* may not exist in this tree yet)."""
    importlib.import_module(_MODULES[protocol])
    return codec_for(protocol)


@functools.lru_cache(maxsize=None)
def model_for(service: str, protocol: str) -> ServiceModel:
    raw = copy.deepcopy(load_raw(service))
    raw["metadata"]["protocol"] = protocol
    raw["metadata"]["protocols"] = [protocol]
    return ServiceModel(raw, service_name=service)


def cases() -> list[tuple[str, str, str]]:
    out = []
    for service, protos in SERVICES.items():
        for protocol in protos:
            for name in model_for(service, protocol).operation_names:
                out.append((service, protocol, name))
    return out


@functools.lru_cache(maxsize=None)
def _serializer(protocol: str) -> Any:
    # cbor: botocore's millisecond mode writes a float under tag 1 it cannot encode.
    precision = "default" if protocol == "smithy-rpc-v2-cbor" else "millisecond"
    return create_serializer(protocol, include_validation=False, timestamp_precision=precision)


def client_request(op: OperationModel, params: dict[str, Any], protocol: str) -> HttpRequest:
    wire = _serializer(protocol).serialize_to_request(params, op)
    body = wire["body"]
    if isinstance(body, dict):
        body = urlencode(list(body.items()), doseq=True).encode("utf-8")
    elif isinstance(body, str):
        body = body.encode("utf-8")
    query = wire.get("query_string") or ""
    if isinstance(query, dict):
        query = urlencode(list(query.items()), doseq=True)
    headers = [(k.lower(), str(v)) for k, v in wire["headers"].items()]
    return HttpRequest(wire["method"], wire["url_path"], query, headers, body or b"")


def client_parse(op: OperationModel, response: HttpResponse, protocol: str, shape: Shape | None = None) -> dict[str, Any]:
    parser = create_parser(protocol)
    raw = {
        "status_code": response.status,
        "headers": {k.lower(): v for k, v in response.headers},
        "body": response.body,
    }
    parsed = parser.parse(raw, shape if shape is not None else op.output_shape)
    parsed.pop("ResponseMetadata", None)
    return parsed


def normalize_input(shape: Shape | None, value: Any, protocol: str) -> Any:
    if shape is None:
        return value
    return _normalize(shape, value, protocol, "input")


def normalize_output(shape: Shape | None, value: Any, protocol: str) -> Any:
    if shape is None:
        return value
    return _normalize(shape, value, protocol, "output")


def _normalize(shape: Shape, value: Any, protocol: str, direction: str) -> Any:
    kind = shape.type_name
    xmlish = protocol in ("query", "ec2")
    if kind == "structure" and isinstance(value, dict) and not shape.is_document_type:
        out = {}
        for name, item in value.items():
            member = shape.members[name]
            item = _normalize(member, item, protocol, direction)
            if item is _LOST:
                continue
            if xmlish and _dropped(member, item, protocol, direction):
                continue
            out[name] = item
        return out
    if kind == "list":
        items = [_normalize(shape.member, v, protocol, direction) for v in value]
        if xmlish and direction == "input" and shape.member.type_name in ("structure", "map"):
            # An empty structure or map item sends no parameters at all.
            items = [v for v in items if v != {}]
            if value and not items:
                return _LOST
        return items
    if kind == "map":
        return {k: _normalize(shape.value, v, protocol, direction) for k, v in value.items()}
    if kind == "timestamp" and isinstance(value, datetime):
        if protocol == "smithy-rpc-v2-cbor" and direction == "input":
            return value.replace(microsecond=0)
    return value


_LOST = object()


def _dropped(member: Shape, item: Any, protocol: str, direction: str) -> bool:
    kind = member.type_name
    if direction == "input":
        if kind in ("map", "structure") and item == {}:
            return True
        return protocol == "ec2" and kind == "list" and item == []
    flattened = member.serialization.get("flattened")
    return bool(flattened) and kind in ("list", "map") and not item
