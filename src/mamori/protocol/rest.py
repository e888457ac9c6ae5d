"""What `rest-json` and `rest-xml` share: routing by URI template and member bindings.

    RouteIndex      every operation's `requestUri` compiled once per service model
                    (cached, keyed by the model); `best(request)` picks the operation
    RestCodec       the ProtocolCodec skeleton both REST codecs subclass; it binds
                    members to their `location` and leaves only the body format
                    (`decode_body` / `encode_body`) and the error shape to subclasses

Routing (https://smithy.io/2.0/spec/http-bindings.html#http-trait). A template is
`/literal/{Label}/{Greedy+}?literal-key&key=value`. Templates are matched against the
*raw* (still percent-encoded) path so an encoded `/` inside a label stays inside it;
labels are decoded after the split. When several templates match, the most specific
wins, in this order: more literal path segments, more literal query keys, all required
query/header members present, more required query/header members present, not greedy,
not deprecated, then the operation name (S3's `GET /` is both ListBuckets and
ListDirectoryBuckets; `PUT /{Bucket}/{Key+}` is PutObject, UploadPart, CopyObject and
UploadPartCopy, told apart only by `partNumber`/`uploadId` and `x-amz-copy-source`).

SDKs built by Smithy add `x-id=<Operation>` to S3 query strings; S3 ignores it for
routing when the template lacks it. We use it as a hard filter when present, since it
is the client saying exactly which operation it means.

Bindings (https://smithy.io/2.0/spec/http-bindings.html):

- `uri`          label, decoded after matching; `+` in a path is a literal plus
- `querystring`  scalar (first value), list (every value), or a map (every key no other
                 member and no template literal claims)
- `header`       scalars; lists comma-separated with RFC 7230 quoted strings; HTTP-date
                 timestamps (the header default, `rfc822`) contain a comma themselves;
                 `jsonvalue` strings are base64-encoded JSON
- `headers`      a prefix map (`x-amz-meta-`); header names arrive lower-cased
- `statusCode`   output only
- payload        the input/output shape's `payload` member: blob and string payloads
                 (streaming or not) are the raw body; a structure payload is the body
                 document; without `payload`, unbound members form the body document
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
import threading
import weakref
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from botocore.model import OperationModel, ServiceModel, Shape, StructureShape

from mamori.errors import AwsError
from mamori.gateway.http import HttpRequest, HttpResponse
from mamori.protocol import timestamps, validate
from mamori.protocol.base import ProtocolCodec

# Query parameters of SigV4 presigned URLs: never members of a querystring map.
_PRESIGN_KEYS = frozenset(
    k.lower()
    for k in (
        "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires",
        "X-Amz-SignedHeaders", "X-Amz-Signature", "X-Amz-Security-Token",
    )
)
_LABEL = re.compile(r"\{([^}]+)\}")
_SPECIAL_FLOATS = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


# -- routing ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    operation: OperationModel
    method: str
    pattern: re.Pattern[str]
    labels: tuple[str, ...]  # template label names in group order (without '+')
    literal_segments: int
    query_literals: tuple[tuple[str, str | None], ...]  # (key, required value or None)
    required_query: tuple[str, ...]
    required_headers: tuple[str, ...]
    greedy: bool

    @property
    def literal_keys(self) -> frozenset[str]:
        return frozenset(k for k, _ in self.query_literals)

    def match(self, method: str, raw_path: str, query: dict[str, list[str]]) -> dict[str, str] | None:
        """Decoded labels if method, path and query literals fit, else None."""
        if method != self.method:
            return None
        found = self.pattern.fullmatch(raw_path)
        if found is None:
            return None
        for key, value in self.query_literals:
            if key not in query:
                return None
            if value is not None and value not in query[key]:
                return None
        x_id = query.get("x-id")
        if x_id and "x-id" not in self.literal_keys and x_id[0] != self.operation.name:
            return None
        return {name: unquote(raw) for name, raw in zip(self.labels, found.groups())}

    def rank(self, query: dict[str, list[str]], headers: dict[str, str]) -> tuple[Any, ...]:
        present = sum(1 for k in self.required_query if k in query)
        present += sum(1 for h in self.required_headers if h in headers)
        wanted = len(self.required_query) + len(self.required_headers)
        return (
            self.literal_segments,
            len(self.query_literals),
            present == wanted,
            present,
            not self.greedy,
            not self.operation.deprecated,
        )


def compile_route(operation: OperationModel) -> Route:
    http = operation.http
    path, _, query = http.get("requestUri", "/").partition("?")
    regex, labels, literals, greedy = [], [], 0, False
    # A trailing slash is optional on the wire (Lambda's `GET /2015-03-31/functions/`).
    trailing = len(path) > 1 and path.endswith("/")
    segments = path.strip("/").split("/") if path.strip("/") else []
    for segment in segments:
        pieces, pos = [], 0
        for found in _LABEL.finditer(segment):
            pieces.append(re.escape(segment[pos : found.start()]))
            name = found.group(1)
            if name.endswith("+"):
                greedy = True
                labels.append(name[:-1])
                pieces.append("(.+)")
            else:
                labels.append(name)
                pieces.append("([^/]+)")
            pos = found.end()
        pieces.append(re.escape(segment[pos:]))
        if pos == 0:
            literals += 1
        regex.append("".join(pieces))
    body = "/" + "/".join(regex)
    if not greedy or trailing:
        body = body.rstrip("/") + "/?" if segments else "/"
    query_literals = []
    for part in query.split("&"):
        if part:
            key, eq, value = part.partition("=")
            query_literals.append((unquote(key), unquote(value) if eq else None))
    required_query, required_headers = [], []
    shape = operation.input_shape
    if shape is not None:
        for name in shape.required_members:
            member = shape.members[name]
            location = member.serialization.get("location")
            wire = member.serialization.get("name", name)
            if location == "querystring" and member.type_name != "map":
                required_query.append(wire)
            elif location == "header":
                required_headers.append(wire.lower())
    return Route(
        operation=operation,
        method=http.get("method", "POST").upper(),
        pattern=re.compile(body, re.DOTALL),
        labels=tuple(labels),
        literal_segments=literals,
        query_literals=tuple(query_literals),
        required_query=tuple(required_query),
        required_headers=tuple(required_headers),
        greedy=greedy,
    )


class RouteIndex:
    """All routes of one service, grouped by method."""

    def __init__(self, service: ServiceModel) -> None:
        self.by_operation: dict[str, Route] = {}
        self.by_method: dict[str, list[Route]] = {}
        for name in service.operation_names:
            route = compile_route(service.operation_model(name))
            self.by_operation[name] = route
            self.by_method.setdefault(route.method, []).append(route)
        # Buckets are the first path label in virtual-host addressing.
        self.first_label = _first_label(service)

    def candidates(self, request: HttpRequest, raw_path: str) -> list[Route]:
        """Every route that matches, best first."""
        query, headers = request.query, request.headers
        routes = self.by_method.get(request.method.upper(), [])
        matched = [r for r in routes if r.match(request.method.upper(), raw_path, query) is not None]
        matched.sort(key=lambda r: r.operation.name)
        matched.sort(key=lambda r: r.rank(query, headers), reverse=True)
        return matched

    def best(self, request: HttpRequest, raw_path: str) -> Route | None:
        found = self.candidates(request, raw_path)
        return found[0] if found else None


def _first_label(service: ServiceModel) -> str | None:
    names = set()
    for name in service.operation_names:
        uri = service.operation_model(name).http.get("requestUri", "/")
        first = uri.split("?")[0].strip("/").split("/")[0]
        found = _LABEL.fullmatch(first)
        if found:
            names.add(found.group(1))
    return names.pop() if len(names) == 1 else None


_indexes: "weakref.WeakKeyDictionary[ServiceModel, RouteIndex]" = weakref.WeakKeyDictionary()
_index_lock = threading.Lock()


def route_index(service: ServiceModel) -> RouteIndex:
    """The service's routes, compiled on first use (a cache keyed by the model)."""
    index = _indexes.get(service)
    if index is None:
        with _index_lock:
            index = _indexes.get(service)
            if index is None:
                index = _indexes[service] = RouteIndex(service)
    return index


# Virtual-host addressing for local endpoints: `<bucket>.localhost[:port]` and
# `<bucket>.s3.localhost.localstack.cloud[:port]` put the first label in the host.
_VHOST = re.compile(
    r"^(?P<label>[a-z0-9][a-z0-9.\-]*?)\.(?:s3\.)?(?:localhost(?:\.localstack\.cloud)?)(?::\d+)?$"
)


def routed_path(index: RouteIndex, request: HttpRequest) -> str:
    """The raw path to match: the request's, with a virtual-host label put back in front."""
    host = request.headers.get("host", "").lower()
    if index.first_label and host:
        found = _VHOST.match(host)
        if found and found.group("label") not in ("s3", "www"):
            path = request.raw_path or "/"
            return "/" + found.group("label") + (path if path.startswith("/") else "/" + path)
    return request.raw_path or "/"


# -- scalar conversions (uri, querystring, header) --------------------------------------


class BadValue(ValueError):
    """A bound value that doesn't fit its shape; the codec picks the AwsError."""


def parse_scalar(shape: Shape, text: str, timestamp_default: str) -> Any:
    kind = shape.type_name
    try:
        if kind in ("string", "character"):
            return text
        if kind in ("integer", "long", "short", "byte"):
            return int(text.strip())
        if kind == "boolean":
            low = text.strip().lower()
            if low not in ("true", "false"):
                raise ValueError(text)
            return low == "true"
        if kind in ("float", "double"):
            text = text.strip()
            return _SPECIAL_FLOATS[text] if text in _SPECIAL_FLOATS else float(text)
        if kind == "timestamp":
            return timestamps.parse(text, timestamps.format_for(shape, timestamp_default))
        if kind == "blob":
            return base64.b64decode(text, validate=True)
    except (ValueError, binascii.Error) as exc:
        raise BadValue(f"Invalid value {text!r} for a {kind}") from exc
    raise BadValue(f"A {kind} can't be bound here")


def format_scalar(shape: Shape, value: Any, timestamp_default: str) -> str:
    kind = shape.type_name
    if kind == "boolean":
        return "true" if value else "false"
    if kind in ("float", "double"):
        value = float(value)
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return repr(value)
    if kind == "timestamp":
        return str(timestamps.format(value, timestamps.format_for(shape, timestamp_default)))
    if kind == "blob":
        raw = value.encode("utf-8") if isinstance(value, str) else bytes(value)
        return base64.b64encode(raw).decode("ascii")
    return str(value)


def split_header_list(shape: Shape, text: str) -> list[str]:
    """`a, "b,c", d` -> ['a', 'b,c', 'd'] (RFC 7230 list with quoted strings)."""
    member = shape.member
    if member.type_name == "timestamp" and timestamps.format_for(member, timestamps.RFC822) == timestamps.RFC822:
        # `Mon, 01 Jan 2024 00:00:00 GMT, Tue, ...`: every second comma ends a date.
        parts = [p.strip() for p in text.split(",")]
        return [", ".join(parts[i : i + 2]) for i in range(0, len(parts), 2)]
    items: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    was_quoted = False
    for char in text:
        if quoted:
            if escaped:
                current.append(char)
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                quoted = False
            else:
                current.append(char)
        elif char == '"' and not "".join(current).strip():
            quoted = was_quoted = True
            current = []
        elif char == ",":
            items.append("".join(current) if was_quoted else "".join(current).strip())
            current, was_quoted = [], False
        elif not (was_quoted and char.isspace()):
            current.append(char)
    items.append("".join(current) if was_quoted else "".join(current).strip())
    return items


def quote_header_item(text: str) -> str:
    if '"' in text or "," in text:
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return text


def parse_header(shape: Shape, text: str) -> Any:
    if shape.type_name == "list":
        if not text.strip():
            return []
        return [parse_header(shape.member, item) for item in split_header_list(shape, text)]
    if shape.type_name == "string" and shape.serialization.get("jsonvalue"):
        try:
            return json.loads(base64.b64decode(text, validate=True).decode("utf-8"))
        except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
            raise BadValue("Invalid base64-encoded JSON header value") from exc
    return parse_scalar(shape, text, timestamps.RFC822)


def format_header(shape: Shape, value: Any) -> str:
    if shape.type_name == "list":
        if shape.member.type_name == "string":
            return ",".join(quote_header_item(str(v)) for v in value if v is not None)
        return ",".join(format_header(shape.member, v) for v in value if v is not None)
    if shape.type_name == "string" and shape.serialization.get("jsonvalue"):
        text = json.dumps(value, separators=(",", ":"))
        return base64.b64encode(text.encode("utf-8")).decode("ascii")
    return format_scalar(shape, value, timestamps.RFC822)


# -- the codec skeleton -----------------------------------------------------------------


def payload_member(shape: Shape | None) -> tuple[str, Shape] | None:
    if shape is None:
        return None
    name = shape.serialization.get("payload")
    if name is None:
        return None
    return name, shape.members[name]


def is_raw_payload(member: Shape) -> bool:
    """Blob and string payloads are the body itself (streaming or not)."""
    return member.type_name in ("blob", "string")


def body_members(shape: StructureShape) -> list[str]:
    return [n for n, m in shape.members.items() if "location" not in m.serialization]


class RestCodec(ProtocolCodec):
    """Routing and bindings; subclasses supply the body format and the error shape."""

    content_type = "application/json"

    # -- subclass hooks ----------------------------------------------------------------

    def bad_input(self, message: str) -> AwsError:
        """A bound value (label, query, header) that doesn't fit its shape."""
        raise NotImplementedError

    def decode_body(self, shape: Shape, body: bytes, *, payload: bool) -> dict[str, Any] | None:
        """Body document -> dict for `shape` (a payload member or the input shape)."""
        raise NotImplementedError

    def encode_body(
        self, service: ServiceModel, shape: Shape, value: dict[str, Any], *, payload: bool, root: str
    ) -> bytes:
        raise NotImplementedError

    def empty_body(self, shape: StructureShape) -> bytes:
        return b""

    def request_id_headers(self, service: ServiceModel, request_id: str) -> list[tuple[str, str]]:
        return [("x-amzn-RequestId", request_id)]

    validation_code = "ValidationException"

    def validate(self, operation: OperationModel, params: dict[str, Any]) -> None:
        validate.validate(operation.input_shape, params, code=self.validation_code)

    # -- ProtocolCodec -----------------------------------------------------------------

    def find_operation(self, service: ServiceModel, request: HttpRequest) -> OperationModel | None:
        index = route_index(service)
        route = index.best(request, routed_path(index, request))
        return route.operation if route else None

    def parse_request(self, operation: OperationModel, request: HttpRequest) -> dict[str, Any]:
        try:
            params = self._bind_request(operation, request)
            self.validate(operation, params)
        except BadValue as exc:
            raise self.bad_input(str(exc)) from None
        except AwsError:
            raise
        except Exception as exc:  # noqa: BLE001 - malformed input of any kind is an AwsError
            raise self.bad_input(f"Could not parse the request: {exc}") from None
        return params

    def _bind_request(self, operation: OperationModel, request: HttpRequest) -> dict[str, Any]:
        shape = operation.input_shape
        if shape is None:
            return {}
        index = route_index(operation.service_model)
        route = index.by_operation[operation.name]
        labels = route.match(request.method.upper(), routed_path(index, request), request.query)
        if labels is None:
            # Matched by other means (or the method differs): try the labels alone.
            found = route.pattern.fullmatch(routed_path(index, request))
            labels = {n: unquote(v) for n, v in zip(route.labels, found.groups())} if found else {}
        params: dict[str, Any] = {}
        query, headers = request.query, request.headers
        claimed = set(route.literal_keys) | {"x-id"}
        query_map: tuple[str, Shape] | None = None
        for name, member in shape.members.items():
            location = member.serialization.get("location")
            wire = member.serialization.get("name", name)
            if location == "uri":
                if wire in labels:
                    params[name] = parse_scalar(member, labels[wire], timestamps.ISO8601)
            elif location == "querystring":
                if member.type_name == "map":
                    query_map = (name, member)
                    continue
                claimed.add(wire)
                values = query.get(wire)
                if values is None:
                    continue
                if member.type_name == "list":
                    params[name] = [parse_scalar(member.member, v, timestamps.ISO8601) for v in values]
                else:
                    params[name] = parse_scalar(member, values[0], timestamps.ISO8601)
            elif location == "header":
                text = headers.get(wire.lower())
                if text is not None:
                    value = parse_header(member, text)
                    if not (member.type_name == "list" and not value):
                        params[name] = value
            elif location == "headers":
                prefix = wire.lower()
                found_map = {
                    k[len(prefix):]: parse_header(member.value, v)
                    for k, v in headers.items()
                    if k.startswith(prefix)
                }
                if found_map:
                    params[name] = found_map
        if query_map is not None:
            name, member = query_map
            as_list = member.value.type_name == "list"
            found_map = {}
            for key, values in query.items():
                if key in claimed or key.lower() in _PRESIGN_KEYS:
                    continue
                found_map[key] = (
                    [parse_scalar(member.value.member, v, timestamps.ISO8601) for v in values]
                    if as_list
                    else parse_scalar(member.value, values[0], timestamps.ISO8601)
                )
            if found_map:
                params[name] = found_map
        params.update(self._bind_body(shape, request.body))
        return params

    def _bind_body(self, shape: StructureShape, body: bytes) -> dict[str, Any]:
        payload = payload_member(shape)
        if payload is not None:
            name, member = payload
            if is_raw_payload(member):
                if not body:
                    return {}
                if member.type_name == "string":
                    try:
                        return {name: body.decode("utf-8")}
                    except UnicodeDecodeError as exc:
                        raise BadValue("The body is not valid UTF-8") from exc
                return {name: bytes(body)}
            if not body.strip():
                return {}
            value = self.decode_body(member, body, payload=True)
            return {} if value is None else {name: value}
        if not body_members(shape) or not body.strip():
            return {}
        value = self.decode_body(shape, body, payload=False) or {}
        return {k: v for k, v in value.items() if "location" not in shape.members[k].serialization}

    # -- responses ---------------------------------------------------------------------

    def serialize_response(
        self, operation: OperationModel, output: dict[str, Any], request_id: str
    ) -> HttpResponse:
        status = int(operation.http.get("responseCode", 200))
        headers = self.request_id_headers(operation.service_model, request_id)
        shape = operation.output_shape
        body = b""
        if shape is not None:
            status, bound = self.bind_output(shape, output or {}, status)
            headers.extend(bound)
            body = self.output_body(operation.service_model, shape, output or {}, headers)
        if operation.http.get("method", "").upper() == "HEAD":
            body = b""
        return HttpResponse(status, headers, body)

    def bind_output(
        self, shape: StructureShape, output: dict[str, Any], status: int
    ) -> tuple[int, list[tuple[str, str]]]:
        """Header, header-map and statusCode members -> (status, headers)."""
        headers: list[tuple[str, str]] = []
        for name, member in shape.members.items():
            value = output.get(name)
            if value is None:
                continue
            location = member.serialization.get("location")
            wire = member.serialization.get("name", name)
            if location == "header":
                if member.type_name == "list" and not value:
                    continue
                headers.append((wire, format_header(member, value)))
            elif location == "headers":
                for key, item in value.items():
                    if item is not None:
                        headers.append((wire + key, format_header(member.value, item)))
            elif location == "statusCode":
                status = int(value)
        return status, headers

    def output_body(
        self,
        service: ServiceModel,
        shape: StructureShape,
        output: dict[str, Any],
        headers: list[tuple[str, str]],
    ) -> bytes:
        # A provider that owns a Content-Type member (S3's GetObject) decides it alone.
        have_type = any(k.lower() == "content-type" for k, _ in headers) or any(
            m.serialization.get("location") == "header"
            and m.serialization.get("name", "").lower() == "content-type"
            for m in shape.members.values()
        )
        payload = payload_member(shape)
        if payload is not None:
            name, member = payload
            value = output.get(name)
            if is_raw_payload(member):
                if value is None:
                    return b""
                if hasattr(value, "read"):
                    value = value.read()
                if isinstance(value, str):
                    value = value.encode("utf-8")
                if not have_type:
                    kind = "text/plain" if member.type_name == "string" else "application/octet-stream"
                    headers.append(("Content-Type", kind))
                return bytes(value)
            if member.serialization.get("eventstream"):
                # Event streams need their own framing; not produced by this codec.
                return b""
            if value is None:
                return b""
            root = member.serialization.get("name", member.name)
            body = self.encode_body(service, member, value, payload=True, root=root)
        else:
            members = body_members(shape)
            if not members:
                return b""
            values = {k: output[k] for k in members if output.get(k) is not None}
            if not values:
                body = self.empty_body(shape)
            else:
                root = shape.serialization.get("name", shape.name)
                body = self.encode_body(service, shape, values, payload=False, root=root)
        if body and not have_type:
            headers.append(("Content-Type", self.content_type))
        return body

    # -- errors ------------------------------------------------------------------------

    @staticmethod
    def error_shape(service: ServiceModel, code: str) -> StructureShape | None:
        """The modeled error shape whose wire code is `code` (cached per model)."""
        return _error_shapes(service).get(code)

    @staticmethod
    def error_status(service: ServiceModel, error: AwsError) -> int:
        """The error's status unless it only has its class default and the model says
        otherwise for this code."""
        explicit = error.__dict__.get("status")
        if explicit is not None:
            return int(explicit)
        shape = RestCodec.error_shape(service, error.code)
        if shape is not None:
            modeled = shape.metadata.get("error", {}).get("httpStatusCode")
            if modeled:
                return int(modeled)
        return int(error.status)


_error_index: "weakref.WeakKeyDictionary[ServiceModel, dict[str, StructureShape]]" = weakref.WeakKeyDictionary()


def _error_shapes(service: ServiceModel) -> dict[str, StructureShape]:
    found = _error_index.get(service)
    if found is None:
        found = {}
        for shape in service.error_shapes:
            code = shape.metadata.get("error", {}).get("code") or shape.name
            found.setdefault(code, shape)
            found.setdefault(shape.name, shape)
        _error_index[service] = found
    return found

