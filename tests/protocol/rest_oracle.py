"""botocore as the oracle for the REST codecs (helpers for test_rest_roundtrip.py).

    wire_request(op, params)        botocore's bare serializer -> our HttpRequest
    botocore_response(op, resp)     our HttpResponse -> what botocore's parser returns
    expected_input(op, params, p)   what survives the wire of the input, normalized
    condition_output(op, out, p)    generated output made sendable (see below)
    expected_output(op, out, p)     what survives the wire of the output

Normalizations, each a place where the wire itself loses information:

- header timestamps are HTTP-dates: whole seconds; rest-json body timestamps are epoch
  seconds as botocore's default serializer writes them (no milliseconds)
- empty lists in headers / query strings and empty header or query maps send nothing;
  empty raw (blob/string) payloads are no body; empty flattened XML lists and maps
  are no elements
- header names are case-insensitive: `x-amz-meta-*` keys arrive lower-cased
- unquoted items of a header list lose surrounding whitespace (RFC 7230 OWS)
- a querystring map can't carry keys that other members or the template use

Output conditioning (values botocore's parser can't read back, whatever we send):
botocore splits header lists on every comma and doesn't unquote, so list items lose
`,` and `"`; it reads a non-streaming blob payload as UTF-8 text; header-map keys that
differ only by case collide in its case-insensitive header dict; a `statusCode` member
outside 2xx makes it parse an error.
"""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any

from botocore.model import OperationModel, Shape
from botocore.parsers import create_parser
from botocore.response import StreamingBody
from botocore.serialize import create_serializer
from botocore.utils import percent_encode_sequence
from urllib3 import HTTPHeaderDict

from mamori.gateway.http import HttpRequest, HttpResponse
from mamori.protocol.rest import payload_member, route_index


def wire_request(op: OperationModel, params: dict[str, Any]) -> HttpRequest:
    protocol = op.service_model.protocol
    serialized = create_serializer(protocol, include_validation=True).serialize_to_request(params, op)
    path, _, literal_query = serialized["url_path"].partition("?")
    query = percent_encode_sequence(serialized["query_string"] or {})
    raw_query = "&".join(q for q in (literal_query, query) if q)
    headers = [(k.lower(), str(v)) for k, v in serialized["headers"].items()]
    body = serialized["body"]
    if isinstance(body, str):
        body = body.encode("utf-8")
    return HttpRequest(serialized["method"], path, raw_query, headers, body or b"")


def same_wire(a: OperationModel, b: OperationModel) -> bool:
    """Two operations with one method and template can't be told apart by the wire
    (S3's ListBuckets / ListDirectoryBuckets, the deprecated Lifecycle/Notification)."""
    return a.http.get("method") == b.http.get("method") and a.http["requestUri"] == b.http["requestUri"]


def _seconds(value: datetime) -> datetime:
    return value.replace(microsecond=0)


def _wire_time(shape: Shape, value: datetime, default: str) -> datetime:
    """A timestamp as it comes back from botocore's default serializer: HTTP-dates and
    epoch seconds are whole seconds; ISO 8601 keeps microseconds."""
    fmt = (shape.serialization.get("timestampFormat") or default).lower()
    return value if fmt == "iso8601" else _seconds(value)


def _walk_body(shape: Shape, value: Any, json_body: bool, xml_body: bool) -> Any:
    kind = shape.type_name
    if kind == "structure":
        if getattr(shape, "is_document_type", False):
            return value
        out = {}
        for name, item in value.items():
            member = shape.members[name]
            if xml_body and member.serialization.get("flattened") and member.type_name in ("list", "map") and not item:
                continue
            out[name] = _walk_body(member, item, json_body, xml_body)
        return out
    if kind == "list":
        return [_walk_body(shape.member, v, json_body, xml_body) for v in value]
    if kind == "map":
        return {k: _walk_body(shape.value, v, json_body, xml_body) for k, v in value.items()}
    if kind == "timestamp":
        fmt = (shape.serialization.get("timestampFormat") or "").lower()
        if fmt == "rfc822" or (json_body and fmt in ("", "unixtimestamp")):
            return _seconds(value)
    return value


def expected_input(op: OperationModel, params: dict[str, Any]) -> dict[str, Any]:
    shape = op.input_shape
    if shape is None:
        return {}
    json_body = op.service_model.protocol == "rest-json"
    route = route_index(op.service_model).by_operation[op.name]
    claimed = set(route.literal_keys) | {"x-id"}
    claimed |= {
        m.serialization.get("name", n)
        for n, m in shape.members.items()
        if m.serialization.get("location") == "querystring" and m.type_name != "map"
    }
    payload = payload_member(shape)
    out: dict[str, Any] = {}
    for name, value in params.items():
        member = shape.members[name]
        location = member.serialization.get("location")
        if location == "header":
            if member.type_name == "list":
                if member.member.type_name == "timestamp":
                    value = [_seconds(v) for v in value]
                elif member.member.type_name == "string":
                    value = [v if ("," in v or '"' in v) else v.strip() for v in value]
                if not value or (len(value) == 1 and value[0] == ""):
                    continue
            elif member.type_name == "timestamp":
                value = _wire_time(member, value, "rfc822")
        elif location == "headers":
            value = {k.lower(): v for k, v in value.items()}
            if not value:
                continue
        elif location in ("querystring", "uri"):
            if member.type_name == "timestamp":
                value = _wire_time(member, value, "iso8601")
            elif member.type_name == "list" and member.member.type_name == "timestamp":
                value = [_wire_time(member.member, v, "iso8601") for v in value]
            if member.type_name == "map":
                value = {k: v for k, v in value.items() if k not in claimed}
            if not value and member.type_name in ("list", "map"):
                continue
        elif location is None:
            if payload is not None and payload[0] == name and member.type_name in ("blob", "string"):
                if not value:
                    continue
                if member.type_name == "blob" and isinstance(value, str):
                    value = value.encode("utf-8")
            else:
                if member.serialization.get("flattened") and member.type_name in ("list", "map") and not value:
                    if not json_body:
                        continue
                value = _walk_body(member, value, json_body, not json_body)
        out[name] = value
    if (
        json_body
        and payload is not None
        and payload[1].type_name == "structure"
        and op.input_shape.serialization.get("payload") == payload[0]
    ):
        # botocore sends `{}` for an absent structure payload.
        out.setdefault(payload[0], {})
    return out


# -- output -----------------------------------------------------------------------------


def condition_output(op: OperationModel, output: dict[str, Any], shape: Shape | None = None) -> dict[str, Any]:
    shape = op.output_shape if shape is None else shape
    if shape is None:
        return {}
    payload = payload_member(shape)
    out = {}
    for name, value in output.items():
        member = shape.members[name]
        location = member.serialization.get("location")
        if location == "header" and member.type_name == "list" and member.member.type_name == "string":
            value = [v.replace(",", "").replace('"', "").strip() for v in value]
        elif location == "headers":
            seen, kept = set(), {}
            for k, v in value.items():
                if k.lower() not in seen:
                    seen.add(k.lower())
                    kept[k] = v
            value = kept
        elif location == "statusCode":
            value = 200 + abs(int(value)) % 100
        elif (
            payload is not None
            and payload[0] == name
            and member.type_name == "blob"
            and not member.serialization.get("streaming")
        ):
            value = value.decode("utf-8", "replace").encode("utf-8")
        out[name] = value
    return out


def expected_output(op: OperationModel, output: dict[str, Any], shape: Shape | None = None) -> dict[str, Any]:
    """What botocore should read back; `shape` defaults to the operation's output (pass
    an error shape for modeled error fields)."""
    shape = op.output_shape if shape is None else shape
    if shape is None:
        return {}
    json_body = op.service_model.protocol == "rest-json"
    payload = payload_member(shape)
    out: dict[str, Any] = {}
    for name, value in output.items():
        member = shape.members[name]
        location = member.serialization.get("location")
        if location == "header":
            if member.type_name == "list":
                if not value:
                    continue
                if member.member.type_name == "timestamp":
                    value = [_seconds(v) for v in value]
            elif member.type_name == "timestamp":
                value = _seconds(value)
        elif location == "headers":
            if not value:
                # botocore always answers a (possibly empty) dict for a header map.
                value = {}
        elif location is None:
            if payload is not None and payload[0] == name and member.type_name in ("blob", "string"):
                if not value:
                    continue
                if isinstance(value, str):
                    value = value.encode("utf-8")
            else:
                if not json_body and member.serialization.get("flattened") and member.type_name in ("list", "map") and not value:
                    continue
                value = _walk_body(member, value, False, not json_body)
        out[name] = value
    for name, member in shape.members.items():
        if member.serialization.get("location") == "headers":
            out.setdefault(name, {})
        if member.serialization.get("location") == "statusCode":
            # Absent, the response has the operation's own status, which botocore reads.
            out.setdefault(name, int(op.http.get("responseCode", 200)))
    if payload is not None and payload[1].type_name == "structure" and not payload[1].serialization.get("eventstream"):
        # botocore reads an absent structure payload (empty body) as an empty structure.
        out.setdefault(payload[0], {})
    return out


def botocore_response(op: OperationModel, response: HttpResponse, shape: Shape | None = None) -> dict[str, Any]:
    """Parse our response the way botocore's endpoint + parser do."""
    protocol = op.service_model.protocol
    headers = HTTPHeaderDict()
    for k, v in response.headers:
        headers[k] = v
    body: Any = response.body
    if response.status < 300 and op.has_streaming_output:
        body = StreamingBody(io.BytesIO(response.body), len(response.body))
    raw = {"status_code": response.status, "headers": headers, "body": body}
    parsed = create_parser(protocol).parse(raw, op.output_shape if shape is None else shape)
    parsed.pop("ResponseMetadata", None)
    if shape is None and response.status < 300 and op._operation_model.get("s3UnwrappedXmlOutput"):
        # botocore's client reads these outputs with a handler, not the bare parser
        # (the model patch patches/s3.json marks them); apply it as the client does.
        from botocore.handlers import parse_get_bucket_location

        class _Raw:
            raw = object()
            content = response.body

        parsed = {}
        parse_get_bucket_location(parsed, _Raw())
        # an absent constraint reads back as None (us-east-1), as from real S3
        parsed = {k: v for k, v in parsed.items() if v is not None}
    payload = payload_member(op.output_shape)
    if payload is not None and payload[0] in parsed:
        value = parsed[payload[0]]
        if hasattr(value, "read"):
            value = value.read()
        if isinstance(value, str):
            value = value.encode("utf-8")
        if value == b"":
            del parsed[payload[0]]
        else:
            parsed[payload[0]] = value
    return parsed


def botocore_error(op: OperationModel, response: HttpResponse) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """(the generic error parse, the modeled error's fields) as botocore's client sees them."""
    protocol = op.service_model.protocol
    headers = HTTPHeaderDict()
    for k, v in response.headers:
        headers[k] = v
    raw = {"status_code": response.status, "headers": headers, "body": response.body}
    parser = create_parser(protocol)
    parsed = parser.parse(raw, op.output_shape)
    code = parsed.get("Error", {}).get("Code")
    error_shape = op.service_model.shape_for_error_code(code) if code else None
    modeled = None
    if error_shape is not None:
        modeled = parser.parse(raw, error_shape)
        modeled.pop("ResponseMetadata", None)
    return parsed, modeled


def loses_required(op: OperationModel, params: dict[str, Any]) -> bool:
    """True when a required member is an empty list/map the wire can't carry (empty
    header/query lists, empty flattened XML lists). AWS rejects such requests too, so
    the round trip skips them."""
    shape = op.input_shape
    if shape is None:
        return False
    xml = op.service_model.protocol == "rest-xml"

    def walk(shape: Shape, value: Any, top: bool) -> bool:
        if shape.type_name == "structure" and not getattr(shape, "is_document_type", False):
            for name, item in value.items():
                member = shape.members[name]
                location = member.serialization.get("location")
                empty = member.type_name in ("list", "map", "blob", "string") and not item
                if empty and top and name == shape.serialization.get("payload"):
                    return True
                empty = empty and member.type_name in ("list", "map")
                if empty and name in shape.required_members:
                    if top and location in ("header", "querystring", "headers"):
                        return True
                    if xml and member.serialization.get("flattened"):
                        return True
                if walk(member, item, False):
                    return True
        elif shape.type_name == "list":
            return any(walk(shape.member, v, False) for v in value)
        elif shape.type_name == "map":
            return any(walk(shape.value, v, False) for v in value.values())
        return False

    return walk(shape, params, True)


def shares_element_names(shape: Shape, value: Any) -> bool:
    """True when the value sets a member whose XML element name another member of the
    same structure also uses (S3's deprecated `Event` next to the flattened `Events`
    list, both `<Event>`): the XML can't say which member an element belongs to."""
    if shape.type_name == "structure" and not getattr(shape, "is_document_type", False):
        names: dict[str, int] = {}
        for name, member in shape.members.items():
            if "location" in member.serialization:
                continue
            wire = member.serialization.get("name", name)
            if member.type_name == "list" and member.serialization.get("flattened"):
                wire = member.member.serialization.get("name", wire)
            names[wire] = names.get(wire, 0) + 1
        for name, item in value.items():
            member = shape.members[name]
            wire = member.serialization.get("name", name)
            if member.type_name == "list" and member.serialization.get("flattened"):
                wire = member.member.serialization.get("name", wire)
            if "location" not in member.serialization and names.get(wire, 0) > 1:
                return True
            if shares_element_names(member, item):
                return True
    elif shape.type_name == "list":
        return any(shares_element_names(shape.member, v) for v in value)
    elif shape.type_name == "map":
        return any(shares_element_names(shape.value, v) for v in value.values())
    return False
