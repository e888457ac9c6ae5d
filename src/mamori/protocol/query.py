"""The `query` protocol (awsQuery): IAM, STS, SNS, CloudWatch's oldest wire.

Request:  `Action=<Operation>&Version=<apiVersion>&...` as a form body (POST) or query
          string (GET). Nested input is flattened into dotted names:
            structure member   Prefix.Member            (`locationName` if modeled)
            list item          Prefix.member.N          (`Prefix.N` when flattened;
                                                         item `locationName` replaces
                                                         `member`)
            map entry          Prefix.entry.N.key / .value (`Prefix.N.key` flattened)
            empty list         Prefix=                  (an empty value)
Response: `<OpResponse xmlns=ns><OpResult>..</OpResult><ResponseMetadata><RequestId>`
          where OpResult is the output shape's `resultWrapper`.
Error:    `<ErrorResponse><Error><Type>Sender|Receiver</Type><Code/><Message/></Error>
          <RequestId/></ErrorResponse>` with the status of the modeled error.

Spec: https://smithy.io/2.0/aws/protocols/aws-query-protocol.html. `FormReader` is the
form walker the `ec2` codec reuses with its own naming rules.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from botocore.model import OperationModel, ServiceModel, Shape

from mamori.errors import AwsError, ValidationError
from mamori.gateway.http import HttpRequest, HttpResponse
from mamori.protocol import timestamps, xmlbody
from mamori.protocol.base import ProtocolCodec, register
from mamori.protocol.json_rpc import find_named_operation
from mamori.protocol.modeled_errors import resolve
from mamori.protocol.validate import validate

_TRUE = {"true": True, "false": False}


class FormReader:
    """Flat `{dotted.name: value}` parameters -> input dict, driven by the shape."""

    validation_code = "ValidationError"

    def __init__(self, form: dict[str, str]) -> None:
        self.form = form
        # prefix -> the next name segments below it, so walking a big shape only visits
        # the names present (EC2 inputs have hundreds of members).
        self.children: dict[str, set[str]] = {}
        for key in form:
            parts = key.split(".")
            for i in range(1, len(parts)):
                self.children.setdefault(".".join(parts[:i]), set()).add(parts[i])

    # -- naming (the ec2 codec overrides these) -------------------------------------

    def member_key(self, name: str, member: Shape) -> str:
        return member.serialization.get("name", name)

    def list_item_prefix(self, prefix: str, shape: Shape) -> str:
        item_name = shape.member.serialization.get("name")
        if shape.serialization.get("flattened"):
            if item_name:
                # botocore: a flattened list's item name replaces the member's own name.
                return ".".join(prefix.split(".")[:-1] + [item_name])
            return prefix
        return f"{prefix}.{item_name or 'member'}"

    def map_entry_prefix(self, prefix: str, shape: Shape) -> str:
        return prefix if shape.serialization.get("flattened") else f"{prefix}.entry"

    # -- walking -----------------------------------------------------------------

    def present(self, key: str) -> bool:
        return key in self.form or key in self.children

    def structure(self, shape: Shape, prefix: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, member in shape.members.items():
            key = self.member_key(name, member)
            if prefix:
                key = f"{prefix}.{key}"
            if member.type_name == "list":
                value = self.list(member, key)
                if value is not None:
                    out[name] = value
            elif self.present(key):
                out[name] = self.value(member, key)
        return out

    def value(self, shape: Shape, key: str) -> Any:
        kind = shape.type_name
        if kind == "structure":
            return self.structure(shape, key)
        if kind == "list":
            return self.list(shape, key) or []
        if kind == "map":
            return self.map(shape, key)
        return self.scalar(shape, key, self.form.get(key, ""))

    def indexes(self, prefix: str) -> list[int]:
        return sorted(int(c) for c in self.children.get(prefix, ()) if c.isdigit())

    def list(self, shape: Shape, key: str) -> list[Any] | None:
        item_prefix = self.list_item_prefix(key, shape)
        found = self.indexes(item_prefix)
        if not found:
            # `Foo=` is how query clients send an empty list.
            return [] if self.form.get(key) == "" else None
        return [self.value(shape.member, f"{item_prefix}.{i}") for i in found]

    def map(self, shape: Shape, key: str) -> dict[str, Any]:
        entry_prefix = self.map_entry_prefix(key, shape)
        key_name = shape.key.serialization.get("name", "key")
        value_name = shape.value.serialization.get("name", "value")
        out: dict[str, Any] = {}
        for i in self.indexes(entry_prefix):
            base = f"{entry_prefix}.{i}"
            k = self.form.get(f"{base}.{key_name}")
            if k is None:
                continue
            vkey = f"{base}.{value_name}"
            out[k] = self.value(shape.value, vkey) if self.present(vkey) else None
        return out

    def scalar(self, shape: Shape, key: str, raw: str) -> Any:
        kind = shape.type_name
        try:
            if kind in ("integer", "long"):
                return int(raw.strip())
            if kind in ("float", "double"):
                return float(raw.strip())
            if kind == "boolean":
                return _TRUE[raw.strip().lower()]
            if kind == "timestamp":
                return timestamps.parse(raw, timestamps.format_for(shape, timestamps.ISO8601))
            if kind == "blob":
                return base64.b64decode(raw, validate=True)
        except (ValueError, KeyError, binascii.Error) as exc:
            raise self.malformed(shape, key, raw) from exc
        return raw

    def malformed(self, shape: Shape, key: str, raw: str) -> AwsError:
        return ValidationError(
            f"1 validation error detected: Value '{raw}' at '{key}' failed to satisfy "
            f"constraint: Member must be of type {shape.type_name}",
            code=self.validation_code,
        )


def read_form(reader: FormReader, shape: Shape | None) -> dict[str, Any]:
    if shape is None:
        return {}
    try:
        return reader.structure(shape, "")
    except RecursionError as exc:  # a recursive shape nested absurdly deep
        raise ValidationError("Request parameters are nested too deeply", code=reader.validation_code) from exc


def xml_namespace(service: ServiceModel) -> str:
    ns = service.metadata.get("xmlNamespace")
    if isinstance(ns, dict):
        ns = ns.get("uri")
    if ns:
        return ns
    prefix = service.metadata.get("endpointPrefix", service.service_name)
    return f"https://{prefix}.amazonaws.com/doc/{service.metadata.get('apiVersion', '')}/"


def xml_response(status: int, body: str) -> HttpResponse:
    payload = '<?xml version="1.0" encoding="UTF-8"?>\n' + body
    return HttpResponse(status, [("Content-Type", "text/xml")], payload.encode("utf-8"))


def _url_members(shape: Shape, params: dict[str, Any], request: HttpRequest) -> None:
    """A member the model binds to the request URL (`location: uri` in a query model, as
    SQS's queue URL: SDKs post `Action=SendMessage` to the queue's URL and may leave the
    `QueueUrl` parameter out) takes the URL the request was sent to when the form lacks it."""
    for name, member in shape.members.items():
        if name not in params and member.serialization.get("location") == "uri":
            host = request.headers.get("host", "localhost")
            params[name] = f"{request.scheme}://{host}{request.raw_path}"


class QueryCodec(ProtocolCodec):
    name = "query"
    reader = FormReader

    def find_operation(self, service: ServiceModel, request: HttpRequest) -> OperationModel | None:
        return find_named_operation(service, request.form.get("Action", ""))

    def parse_request(self, operation: OperationModel, request: HttpRequest) -> dict[str, Any]:
        reader = self.reader(request.form)
        params = read_form(reader, operation.input_shape)
        if operation.input_shape is not None and request.raw_path not in ("", "/"):
            _url_members(operation.input_shape, params, request)
        validate(operation.input_shape, params, code=reader.validation_code)
        return params

    def serialize_response(
        self, operation: OperationModel, output: dict[str, Any], request_id: str
    ) -> HttpResponse:
        shape = operation.output_shape
        name = operation.name
        inner = ""
        if shape is not None:
            members = xmlbody.member_elements(shape, output or {})
            wrapper = shape.serialization.get("resultWrapper")
            inner = f"<{wrapper}>{members}</{wrapper}>" if wrapper else members
        ns = xml_namespace(operation.service_model)
        body = (
            f'<{name}Response xmlns="{xmlbody.escape(ns, True)}">{inner}'
            f"<ResponseMetadata><RequestId>{xmlbody.escape(request_id)}</RequestId>"
            f"</ResponseMetadata></{name}Response>"
        )
        response = xml_response(200, body)
        response.headers.append(("x-amzn-RequestId", request_id))
        return response

    def serialize_error(
        self,
        service: ServiceModel,
        operation: OperationModel | None,
        error: AwsError,
        request_id: str,
    ) -> HttpResponse:
        wire = resolve(service, error)
        fields = ""
        if wire.shape is not None and error.fields:
            known = {k: v for k, v in error.fields.items() if k in wire.shape.members and k != "message"}
            fields = xmlbody.member_elements(wire.shape, known)
        body = (
            f'<ErrorResponse xmlns="{xmlbody.escape(xml_namespace(service), True)}"><Error>'
            f"<Type>{'Sender' if wire.sender_fault else 'Receiver'}</Type>"
            f"<Code>{xmlbody.escape(wire.query_code)}</Code>"
            f"<Message>{xmlbody.escape(error.message)}</Message>{fields}</Error>"
            f"<RequestId>{xmlbody.escape(request_id)}</RequestId></ErrorResponse>"
        )
        response = xml_response(wire.status, body)
        response.headers.append(("x-amzn-RequestId", request_id))
        response.headers.extend(error.headers.items())
        return response


register(QueryCodec())
