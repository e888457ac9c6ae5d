"""Which service a request is for.

One endpoint serves every service (`AWS_ENDPOINT_URL=http://localhost:4566`), so the
service is read off the request itself, in this order:

1. `smithy-protocol: rpc-v2-cbor` with a `/service/<Service>/operation/<Op>` path;
2. `X-Amz-Target: <targetPrefix>.<Op>` (JSON 1.0 / 1.1);
3. the SigV4 credential scope's service name (Authorization header or presigned
   `X-Amz-Credential`), which every signed request carries;
4. an `Action=` parameter naming an operation of exactly one query/ec2 service;
5. otherwise REST on S3 (path-style), as AWS's own S3 endpoint would.

Indexes are built once from the models of the implemented services. A service botocore
knows but mamori does not implement answers `NotImplemented` (501); a name nobody
knows answers `UnknownService`.
"""

from __future__ import annotations

from dataclasses import dataclass

from mamori.errors import AwsError, NotImplementedOperation, UnknownService
from mamori.gateway.http import HttpRequest
from mamori.protocol.model import ServiceModel, known_services, protocols, service_model, signing_name

CBOR_PREFIX = "/service/"


@dataclass(frozen=True)
class Route:
    service: str  # botocore service name of an implemented provider


class Router:
    def __init__(self, services: list[str]) -> None:
        self.services = list(services)
        self._by_target: dict[str, str] = {}
        self._by_signing: dict[str, list[str]] = {}
        self._by_action: dict[str, list[str]] = {}
        for name in self.services:
            model = service_model(name)
            target = model.metadata.get("targetPrefix")
            if target:
                self._by_target[target] = name
            self._by_signing.setdefault(signing_name(model), []).append(name)
            if {"query", "ec2"} & set(protocols(model)):
                for op in model.operation_names:
                    self._by_action.setdefault(op, []).append(name)

    def service_for(self, request: HttpRequest, scope_service: str | None) -> str:
        headers = request.headers
        if headers.get("smithy-protocol") == "rpc-v2-cbor" and request.raw_path.startswith(CBOR_PREFIX):
            target = request.raw_path[len(CBOR_PREFIX):].split("/", 1)[0]
            if target in self._by_target:
                return self._by_target[target]
            raise self._unknown(scope_service or target)
        amz_target = headers.get("x-amz-target")
        if amz_target:
            prefix = amz_target.rsplit(".", 1)[0]
            if prefix in self._by_target:
                return self._by_target[prefix]
            if not scope_service:
                raise self._unknown(prefix)
        if scope_service:
            candidates = self._by_signing.get(scope_service)
            if candidates:
                if len(candidates) == 1:
                    return candidates[0]
                action = request.form.get("Action")
                for name in candidates:
                    if action and action in service_model(name).operation_names:
                        return name
                return candidates[0]
            raise self._unknown(scope_service)
        action = request.form.get("Action") if request.method in ("GET", "POST") else None
        if action:
            owners = self._by_action.get(action, [])
            if len(owners) == 1:
                return owners[0]
            raise AwsError(
                f"Could not determine the service for action {action}: sign the request so its "
                "credential scope names the service.",
                code="UnknownService",
            )
        if "s3" in self.services:
            return "s3"
        raise UnknownService("Could not determine the service this request is for.")

    def model(self, service: str) -> ServiceModel:
        return service_model(service)

    @staticmethod
    def _unknown(name: str) -> AwsError:
        if name in known_services() or name in _SIGNING_ALIASES:
            return NotImplementedOperation(
                f"The service {_SIGNING_ALIASES.get(name, name)} is not implemented by mamori yet."
            )
        return UnknownService(f"mamori does not know the service {name!r}.")


# Signing names that differ from botocore's model directory name, for the
# "not implemented yet" message only (routing itself uses the models).
_SIGNING_ALIASES = {"monitoring": "cloudwatch", "email": "ses", "execute-api": "apigateway"}
