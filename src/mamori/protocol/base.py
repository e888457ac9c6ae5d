"""The contract every wire protocol implements.

One class per protocol (`json`, `query`, `ec2`, `rest-json`, `rest-xml`,
`smithy-rpc-v2-cbor`); methods are chosen by shape type, never by service. The gateway
asks `codec_for(name)` and calls, in order:

    operation = codec.find_operation(service_model, request)   # None -> unknown op
    params    = codec.parse_request(operation, request)        # may raise AwsError
    response  = codec.serialize_response(operation, output, request_id)
    response  = codec.serialize_error(service_model, operation, error, request_id)

Parsed input is the same dict botocore's client takes as `**kwargs` (member names as in
the model; timestamps as timezone-aware `datetime`; blobs as `bytes`; streaming payloads
as `bytes`). Output dicts use the same conventions. Validation of required members and
simple constraints happens in `parse_request` and raises the protocol's own validation
error (see `protocol.validate`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from mamori.errors import AwsError
from mamori.gateway.http import HttpRequest, HttpResponse
from mamori.protocol.model import OperationModel, ServiceModel


class ProtocolCodec(ABC):
    name: str = ""

    @abstractmethod
    def find_operation(self, service: ServiceModel, request: HttpRequest) -> OperationModel | None:
        """The operation this request names, or None if it names none of the service."""

    @abstractmethod
    def parse_request(self, operation: OperationModel, request: HttpRequest) -> dict[str, Any]:
        """Wire request -> input dict. Raises AwsError (validation / serialization)."""

    @abstractmethod
    def serialize_response(
        self, operation: OperationModel, output: dict[str, Any], request_id: str
    ) -> HttpResponse:
        """Output dict -> wire response, including the request id header/element."""

    @abstractmethod
    def serialize_error(
        self,
        service: ServiceModel,
        operation: OperationModel | None,
        error: AwsError,
        request_id: str,
    ) -> HttpResponse:
        """AwsError -> the protocol's error response (code, message, status, request id)."""


_registry: dict[str, ProtocolCodec] = {}


def register(codec: ProtocolCodec) -> ProtocolCodec:
    _registry[codec.name] = codec
    return codec


def codec_for(name: str) -> ProtocolCodec:
    """The codec for a protocol name as botocore spells it."""
    if name not in _registry:
        _load_all()
    return _registry[name]


def _load_all() -> None:
    # Each module registers its codec on import.
    from mamori.protocol import cbor, ec2, json_rpc, query, rest_json, rest_xml  # noqa: F401


def detect_protocol(service: ServiceModel, request: HttpRequest) -> str:
    """Which of the service's protocols this request speaks.

    CloudWatch accepts CBOR, JSON and query: the `smithy-protocol` header marks CBOR, an
    `X-Amz-Target` header with an `application/x-amz-json-*` body marks JSON, and an
    `Action=` parameter marks query. Single-protocol services answer their own."""
    accepted = service.metadata.get("protocols") or [service.metadata["protocol"]]
    if len(accepted) == 1:
        return accepted[0]
    headers = request.headers
    if "smithy-rpc-v2-cbor" in accepted and headers.get("smithy-protocol") == "rpc-v2-cbor":
        return "smithy-rpc-v2-cbor"
    if "json" in accepted and "x-amz-target" in headers:
        return "json"
    if "query" in accepted and "Action" in request.form:
        return "query"
    return accepted[0]
