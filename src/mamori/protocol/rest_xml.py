"""The `rest-xml` protocol (S3, Route 53, CloudFront): REST routing and bindings from
`protocol.rest`, XML documents read and written here by shape.

Reading uses defusedxml with DTDs forbidden (no entity expansion, no external
entities); a body that doesn't parse is `MalformedXML` (400), as S3 answers
(https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html).

XML by shape (the same rules botocore's RestXML serializer and parser follow):

- a structure is an element whose children are its members, named by `locationName`;
  `xmlAttribute` members are attributes (`xsi:type` on S3's `Grantee`)
- a list is `<Name><member>..</member></Name>` (item name from the list's member
  `locationName`); a *flattened* list repeats the item element directly in the parent,
  named by the list member's `locationName`, else the member's own name
- a map is `<Name><entry><key/><value/></entry></Name>`; flattened, `<Name>` repeats
  and holds `<key/><value/>` itself
- timestamps are ISO 8601 unless `timestampFormat` says otherwise, blobs base64,
  booleans `true`/`false`
- `xmlNamespace` traits become `xmlns` / `xmlns:prefix` attributes; the root of a
  response carries the service's namespace (the one its model uses on inputs), as S3
  writes `xmlns="http://s3.amazonaws.com/doc/2006-03-01/"`

We write XML text ourselves rather than through ElementTree so that `\\r` survives
(as `&#13;`; a raw carriage return is folded to `\\n` by every XML parser).

S3 differs from the other rest-xml services in its error document and request-id
headers: `<Error><Code/><Message/><RequestId/><HostId/>` at the root with
`x-amz-request-id` / `x-amz-id-2`, where Route 53 and CloudFront answer
`<ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/></ErrorResponse>`
with `x-amzn-RequestId`. We tell them apart by the model's `endpointPrefix`. Errors of
HEAD requests have no body (S3's 404 on HeadObject is empty).
"""

from __future__ import annotations

import base64
import hashlib
import math
import re
import weakref
from typing import Any
from xml.etree.ElementTree import Element, ParseError

from botocore.model import OperationModel, ServiceModel, Shape, StructureShape
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from mamori.errors import AwsError
from mamori.gateway.http import HttpResponse
from mamori.protocol import timestamps
from mamori.protocol.base import register
from mamori.protocol.rest import BadValue, RestCodec, body_members, parse_scalar

_MALFORMED = "The XML you provided was not well-formed or did not validate against our published schema"
_NS = re.compile(r"^\{[^}]*\}")


def malformed_xml() -> AwsError:
    return AwsError(_MALFORMED, code="MalformedXML", status=400)


def _local(tag: str) -> str:
    return _NS.sub("", tag)


# -- reading ----------------------------------------------------------------------------


def read_xml(shape: Shape, body: bytes) -> Any:
    """A request body -> value for `shape` (the body's root element is `shape`)."""
    try:
        root = fromstring(body, forbid_dtd=True)
    except (ParseError, DefusedXmlException, ValueError) as exc:
        raise _Malformed(str(exc)) from None
    return _read(shape, root)


class _Malformed(Exception):
    pass


def _children(node: Element) -> dict[str, list[Element]]:
    out: dict[str, list[Element]] = {}
    for child in node:
        out.setdefault(_local(child.tag), []).append(child)
    return out


def _flat_names(name: str, member: Shape) -> list[str]:
    """Element names a flattened list/map member may use (botocore's serializer and
    parser disagree when only one of the two carries a locationName)."""
    names = []
    inner = member.member if member.type_name == "list" else None
    if inner is not None and inner.serialization.get("name"):
        names.append(inner.serialization["name"])
    names.append(member.serialization.get("name", name))
    return names


def _read(shape: Shape, node: Element) -> Any:
    kind = shape.type_name
    if kind == "structure":
        return _read_structure(shape, node)
    if kind == "list":
        return [_read(shape.member, child) for child in node]
    if kind == "map":
        return _read_map_pairs(shape, list(node))
    return parse_scalar(shape, node.text or "", timestamps.ISO8601)


def _read_structure(shape: StructureShape, node: Element) -> dict[str, Any]:
    children = _children(node)
    out: dict[str, Any] = {}
    for name, member in shape.members.items():
        if "location" in member.serialization:
            continue
        wire = member.serialization.get("name", name)
        if member.serialization.get("xmlAttribute"):
            value = _attribute(node, wire)
            if value is not None:
                out[name] = parse_scalar(member, value, timestamps.ISO8601)
            continue
        flattened = member.serialization.get("flattened")
        if member.type_name == "list" and flattened:
            for candidate in _flat_names(name, member):
                if candidate in children:
                    out[name] = [_read(member.member, el) for el in children[candidate]]
                    break
            continue
        if member.type_name == "map" and flattened:
            if wire in children:
                out[name] = _read_map_pairs(member, children[wire])
            continue
        found = children.get(wire)
        if found:
            out[name] = _read(member, found[0])
    return out


def _attribute(node: Element, wire: str) -> str | None:
    local = wire.split(":", 1)[-1]
    for key, value in node.attrib.items():
        if key == wire or _local(key) == local and (key.startswith("{") or ":" not in wire):
            return value
    return None


def _read_map_pairs(shape: Shape, entries: list[Element]) -> dict[str, Any]:
    key_name = shape.key.serialization.get("name", "key")
    value_name = shape.value.serialization.get("name", "value")
    out: dict[str, Any] = {}
    for entry in entries:
        parts = _children(entry)
        if key_name not in parts:
            continue
        key = _read(shape.key, parts[key_name][0])
        out[key] = _read(shape.value, parts[value_name][0]) if value_name in parts else None
    return out


# -- writing ----------------------------------------------------------------------------


def _escape(text: str, attribute: bool = False) -> str:
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")
    if attribute:
        text = text.replace('"', "&quot;").replace("\n", "&#10;").replace("\t", "&#9;")
    return text


def _namespace_attrs(shape: Shape) -> list[tuple[str, str]]:
    ns = shape.serialization.get("xmlNamespace")
    if isinstance(ns, dict) and ns.get("uri"):
        prefix = ns.get("prefix")
        return [("xmlns:" + prefix if prefix else "xmlns", ns["uri"])]
    if isinstance(ns, str):
        return [("xmlns", ns)]
    return []


def _open(name: str, attrs: list[tuple[str, str]]) -> str:
    rendered = "".join(f' {k}="{_escape(v, True)}"' for k, v in attrs)
    return f"<{name}{rendered}>"


def write_xml(shape: Shape, value: Any, root: str, namespace: str | None = None) -> bytes:
    parts: list[str] = ['<?xml version="1.0" encoding="UTF-8"?>']
    extra = [("xmlns", namespace)] if namespace and not shape.serialization.get("xmlNamespace") else []
    _write(parts, shape, value, root, extra)
    return "".join(parts).encode("utf-8")


def _write(parts: list[str], shape: Shape, value: Any, name: str, extra: list[tuple[str, str]] | None = None) -> None:
    kind = shape.type_name
    attrs = list(extra or []) + _namespace_attrs(shape)
    if kind == "structure":
        children: list[str] = []
        for member_name, member in shape.members.items():
            item = value.get(member_name)
            if item is None or "location" in member.serialization:
                continue
            wire = member.serialization.get("name", member_name)
            if member.serialization.get("xmlAttribute"):
                attrs.append((wire, _scalar_text(member, item)))
                continue
            _write_member(children, member_name, member, item)
        parts.append(_open(name, attrs))
        parts.extend(children)
        parts.append(f"</{name}>")
    elif kind == "list":
        item_name = shape.member.serialization.get("name", "member")
        parts.append(_open(name, attrs))
        for item in value:
            if item is not None:
                _write(parts, shape.member, item, item_name)
        parts.append(f"</{name}>")
    elif kind == "map":
        parts.append(_open(name, attrs))
        for key, item in value.items():
            parts.append("<entry>")
            _write_pair(parts, shape, key, item)
            parts.append("</entry>")
        parts.append(f"</{name}>")
    else:
        parts.append(_open(name, attrs) + _escape(_scalar_text(shape, value)) + f"</{name}>")


def _write_member(parts: list[str], member_name: str, member: Shape, value: Any) -> None:
    wire = member.serialization.get("name", member_name)
    flattened = member.serialization.get("flattened")
    if member.type_name == "list" and flattened:
        item_name = _flat_names(member_name, member)[0]
        for item in value:
            if item is not None:
                _write(parts, member.member, item, item_name)
    elif member.type_name == "map" and flattened:
        for key, item in value.items():
            parts.append(_open(wire, _namespace_attrs(member)))
            _write_pair(parts, member, key, item)
            parts.append(f"</{wire}>")
    else:
        _write(parts, member, value, wire)


def _write_pair(parts: list[str], shape: Shape, key: Any, value: Any) -> None:
    _write(parts, shape.key, key, shape.key.serialization.get("name", "key"))
    if value is not None:
        _write(parts, shape.value, value, shape.value.serialization.get("name", "value"))


def _scalar_text(shape: Shape, value: Any) -> str:
    kind = shape.type_name
    if kind == "boolean":
        return "true" if value else "false"
    if kind in ("float", "double"):
        number = float(value)
        if math.isnan(number):
            return "NaN"
        if math.isinf(number):
            return "Infinity" if number > 0 else "-Infinity"
        return repr(number)
    if kind == "timestamp":
        return str(timestamps.format(value, timestamps.format_for(shape, timestamps.ISO8601)))
    if kind == "blob":
        raw = value.encode("utf-8") if isinstance(value, str) else bytes(value)
        return base64.b64encode(raw).decode("ascii")
    return str(value)


# -- the codec --------------------------------------------------------------------------

_namespaces: "weakref.WeakKeyDictionary[ServiceModel, str | None]" = weakref.WeakKeyDictionary()


def service_namespace(service: ServiceModel) -> str | None:
    """The XML namespace the service's model puts on its request documents."""
    if service in _namespaces:
        return _namespaces[service]
    found = service.metadata.get("xmlNamespace")
    if isinstance(found, dict):
        found = found.get("uri")
    if not found:
        for name in service.operation_names:
            shape = service.operation_model(name).input_shape
            if shape is None:
                continue
            candidates = [shape] + [shape.members[n] for n in shape.members]
            for candidate in candidates:
                ns = candidate.serialization.get("xmlNamespace")
                uri = ns.get("uri") if isinstance(ns, dict) else ns
                if uri and not (isinstance(ns, dict) and ns.get("prefix")):
                    found = uri
                    break
            if found:
                break
    _namespaces[service] = found or None
    return found or None


def is_s3_style(service: ServiceModel) -> bool:
    return service.metadata.get("endpointPrefix") == "s3"


class RestXmlCodec(RestCodec):
    name = "rest-xml"
    content_type = "application/xml"
    validation_code = "InvalidArgument"

    def bad_input(self, message: str) -> AwsError:
        return AwsError(message, code="InvalidArgument", status=400)

    def decode_body(self, shape: Shape, body: bytes, *, payload: bool) -> dict[str, Any] | None:
        try:
            return read_xml(shape, body)
        except _Malformed:
            raise malformed_xml() from None
        except (BadValue, KeyError, IndexError, TypeError):
            raise malformed_xml() from None

    def encode_body(
        self, service: ServiceModel, shape: Shape, value: dict[str, Any], *, payload: bool, root: str
    ) -> bytes:
        return write_xml(shape, value, root, service_namespace(service))

    def serialize_response(self, operation: OperationModel, output: dict[str, Any], request_id: str) -> HttpResponse:
        response = super().serialize_response(operation, output, request_id)
        shape = operation.output_shape
        if shape is not None and operation._operation_model.get("s3UnwrappedXmlOutput"):
            # Smithy's `aws.customizations#s3UnwrappedXmlOutput` (GetBucketLocation):
            # the single member is the root element itself, and botocore's S3 handler
            # reads the root's text. botocore's JSON model drops the trait; a model
            # patch adds it back as this operation-level key.
            (name, member), = [(n, m) for n, m in shape.members.items() if n in body_members(shape)]
            value = output.get(name)
            wire = member.serialization.get("name", name)
            namespace = service_namespace(operation.service_model)
            text = "" if value is None else _escape(_scalar_text(member, value))
            response.body = (
                '<?xml version="1.0" encoding="UTF-8"?>'
                + _open(wire, [("xmlns", namespace)] if namespace else [])
                + text + f"</{wire}>"
            ).encode("utf-8")
            response.set_header("Content-Type", "application/xml")
        return response

    def request_id_headers(self, service: ServiceModel, request_id: str) -> list[tuple[str, str]]:
        if is_s3_style(service):
            return [("x-amz-request-id", request_id), ("x-amz-id-2", host_id(request_id))]
        return [("x-amzn-RequestId", request_id)]

    def serialize_error(
        self,
        service: ServiceModel,
        operation: OperationModel | None,
        error: AwsError,
        request_id: str,
    ) -> HttpResponse:
        status = self.error_status(service, error)
        headers = self.request_id_headers(service, request_id)
        shape = self.error_shape(service, error.code)
        fields = dict(error.fields)
        if shape is not None:
            status, bound = self.bind_output(shape, fields, status)
            headers.extend(bound)
            located = {n for n in shape.members if n not in body_members(shape)}
            fields = {k: v for k, v in fields.items() if k not in located}
        headers.extend((k, v) for k, v in error.headers.items())
        if operation is not None and operation.http.get("method", "").upper() == "HEAD":
            return HttpResponse(status, headers, b"")
        parts = ['<?xml version="1.0" encoding="UTF-8"?>']
        inner: list[str] = []
        inner.append(f"<Code>{_escape(error.code)}</Code>")
        inner.append(f"<Message>{_escape(error.message)}</Message>")
        for key, value in fields.items():
            if value is None or key in ("Code", "Message"):
                continue
            member = shape.members.get(key) if shape is not None else None
            if member is not None:
                _write_member(inner, key, member, value)
            else:
                inner.append(f"<{key}>{_escape(str(value))}</{key}>")
        if is_s3_style(service):
            parts.append("<Error>")
            parts.extend(inner)
            parts.append(f"<RequestId>{_escape(request_id)}</RequestId>")
            parts.append(f"<HostId>{_escape(host_id(request_id))}</HostId>")
            parts.append("</Error>")
        else:
            namespace = service_namespace(service)
            parts.append(_open("ErrorResponse", [("xmlns", namespace)] if namespace else []))
            parts.append("<Error>")
            parts.append(f"<Type>{'Sender' if error.sender_fault else 'Receiver'}</Type>")
            parts.extend(inner)
            parts.append("</Error>")
            parts.append(f"<RequestId>{_escape(request_id)}</RequestId>")
            parts.append("</ErrorResponse>")
        headers.append(("Content-Type", "application/xml"))
        return HttpResponse(status, headers, "".join(parts).encode("utf-8"))


def host_id(request_id: str) -> str:
    """S3's `x-amz-id-2`: an opaque token; derived from the request id so it's stable."""
    return base64.b64encode(hashlib.sha256(request_id.encode()).digest()).decode("ascii")


register(RestXmlCodec())
