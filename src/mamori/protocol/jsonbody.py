"""Shape-driven JSON bodies, shared by the `json` (awsJson 1.0/1.1) and `rest-json` codecs.

    encode(shape, value)  python value (boto3 conventions) -> JSON-able value
    decode(shape, value)  value from json.loads -> python value (boto3 conventions)

One walker keyed by shape type. Differences between the two protocols are flags:

- member names: botocore's `locationName` (serialization "name") is honored always, as
  botocore's own JSON serializer and parser do; the Smithy `jsonName` trait only when
  `json_name=True` (restJson1 honors it, awsJson does not).
- timestamps: epoch seconds unless the member's `timestampFormat` says otherwise
  (https://smithy.io/2.0/aws/protocols/aws-json-1_1-protocol.html#shape-serialization).
- blobs: base64 strings. Floats: finite numbers, or the strings "NaN", "Infinity",
  "-Infinity" for the rest. Document types pass through untouched.

`decode` raises `SerializationError` for values of the wrong JSON type (what AWS answers
as `SerializationException`); unknown members are ignored and `null` counts as absent,
as AWS does.
"""

from __future__ import annotations

import base64
import binascii
import math
from typing import Any

from botocore.model import Shape

from mamori.errors import SerializationError
from mamori.protocol import timestamps

_SPECIAL_FLOATS = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def member_wire_name(name: str, shape: Shape, json_name: bool = False) -> str:
    if json_name:
        # Member-level traits are merged into the resolved shape's model by botocore.
        alias = getattr(shape, "_shape_model", {}).get("jsonName")
        if alias:
            return alias
    return shape.serialization.get("name", name)


# -- encode -----------------------------------------------------------------------------


def encode(
    shape: Shape,
    value: Any,
    *,
    json_name: bool = False,
    timestamp_format: str = timestamps.UNIX,
) -> Any:
    """Python value -> JSON-able value for `shape`. `None` members are dropped."""
    return _Encoder(json_name, timestamp_format).value(shape, value)


class _Encoder:
    def __init__(self, json_name: bool, timestamp_format: str) -> None:
        self.json_name = json_name
        self.timestamp_format = timestamp_format

    def value(self, shape: Shape, value: Any) -> Any:
        method = getattr(self, "_" + shape.type_name, None)
        if method is None:
            return value
        return method(shape, value)

    def _structure(self, shape: Shape, value: Any) -> Any:
        if getattr(shape, "is_document_type", False):
            return value
        out: dict[str, Any] = {}
        members = shape.members
        for name, item in value.items():
            member = members.get(name)
            if member is None or item is None:
                continue
            out[member_wire_name(name, member, self.json_name)] = self.value(member, item)
        return out

    def _list(self, shape: Shape, value: Any) -> Any:
        return [self.value(shape.member, item) for item in value]

    def _map(self, shape: Shape, value: Any) -> Any:
        return {str(k): self.value(shape.value, v) for k, v in value.items()}

    def _timestamp(self, shape: Shape, value: Any) -> Any:
        return timestamps.format(value, timestamps.format_for(shape, self.timestamp_format))

    def _blob(self, shape: Shape, value: Any) -> Any:
        if isinstance(value, str):
            value = value.encode("utf-8")
        elif hasattr(value, "read"):
            value = value.read()
        return base64.b64encode(bytes(value)).decode("ascii")

    def _float(self, shape: Shape, value: Any) -> Any:
        value = float(value)
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return value

    _double = _float

    def _integer(self, shape: Shape, value: Any) -> Any:
        return int(value)

    _long = _integer


# -- decode -----------------------------------------------------------------------------


def decode(
    shape: Shape,
    value: Any,
    *,
    json_name: bool = False,
    timestamp_format: str = timestamps.UNIX,
) -> Any:
    """Value from `json.loads` -> python value for `shape`. Raises SerializationError."""
    try:
        return _fast(shape, json_name, timestamp_format)(value)
    except (_Invalid, SerializationError):
        # The walker names the path of what is wrong.
        return _Decoder(json_name, timestamp_format).value(shape, value, shape.name)


# -- the fast decoder -------------------------------------------------------------------
#
# One compiled function per (shape, flags): no paths, no method lookups by name. Strings,
# booleans and plain numbers come out of json.loads already right, so most of a request
# is only type-checked. Anything wrong raises _Invalid and the walker above decodes the
# whole value again to say where.


class _Invalid(Exception):
    pass


_compiled: dict[tuple[int, bool, str], tuple[Shape, Any]] = {}


def _fast(shape: Shape, json_name: bool, timestamp_format: str) -> Any:
    key = (id(shape), json_name, timestamp_format)
    found = _compiled.get(key)
    if found is not None and found[0] is shape:
        return found[1]
    fn = _build(shape, json_name, timestamp_format)
    _compiled[key] = (shape, fn)
    return fn


def _string_value(value: Any) -> Any:
    if type(value) is not str:
        raise _Invalid
    return value


def _boolean_value(value: Any) -> Any:
    if type(value) is not bool:
        raise _Invalid
    return value


def _integer_value(value: Any) -> Any:
    if type(value) is int:
        return value
    if type(value) is float and value.is_integer():
        return int(value)
    raise _Invalid


def _float_value(value: Any) -> Any:
    kind = type(value)
    if kind is float:
        return value
    if kind is int:
        return float(value)
    if kind is str and value in _SPECIAL_FLOATS:
        return _SPECIAL_FLOATS[value]
    raise _Invalid


_LEAVES = {
    "string": _string_value, "boolean": _boolean_value, "integer": _integer_value,
    "long": _integer_value, "float": _float_value, "double": _float_value,
}


def _build(shape: Shape, json_name: bool, timestamp_format: str) -> Any:
    kind = shape.type_name
    leaf = _LEAVES.get(kind)
    if leaf is not None:
        return leaf
    if kind == "structure":
        if getattr(shape, "is_document_type", False):
            return lambda value: value
        # (member name, wire name, member shape); member decoders are found on first
        # use, so recursive shapes compile.
        plan = [(name, member_wire_name(name, member, json_name), member) for name, member in shape.members.items()]
        compiled: list[Any] = [None]

        def structure(value: Any) -> Any:
            if type(value) is not dict:
                raise _Invalid
            steps = compiled[0]
            if steps is None:  # built whole, then published: safe across threads
                steps = compiled[0] = [(name, wire, _fast(member, json_name, timestamp_format)) for name, wire, member in plan]
            out: dict[str, Any] = {}
            get = value.get
            for name, wire, fn in steps:
                item = get(wire)
                if item is not None:
                    out[name] = fn(item)
            return out

        return structure
    if kind == "list":
        member = shape.member
        flat = _flat_list_decoder(member, json_name)
        if flat is not None:
            return flat

        def listing(value: Any) -> Any:
            if type(value) is not list:
                raise _Invalid
            fn = _fast(member, json_name, timestamp_format)
            if fn is _string_value:
                for item in value:
                    if item is not None and type(item) is not str:
                        raise _Invalid
                return value
            return [None if item is None else fn(item) for item in value]

        return listing
    if kind == "map":
        value_shape = shape.value

        def mapping(value: Any) -> Any:
            if type(value) is not dict:
                raise _Invalid
            fn = _fast(value_shape, json_name, timestamp_format)
            return {k: None if v is None else fn(v) for k, v in value.items()}

        return mapping
    walker = _Decoder(json_name, timestamp_format)
    method = getattr(walker, "_" + kind, None)
    if method is None:
        return lambda value: value
    return lambda value: method(shape, value, "")


# A list of flat structures (PutLogEvents' 1,000 {timestamp, message}) gets one generated
# loop with the type checks written out: no call per item or per member.
_FLAT_CHECKS = {
    "string": "if type(v) is not str: raise _Invalid",
    "boolean": "if type(v) is not bool: raise _Invalid",
    "integer": "if type(v) is not int:\n{pad}    if type(v) is float and v.is_integer(): v = int(v)\n"
               "{pad}    else: raise _Invalid",
}
_FLAT_CHECKS["long"] = _FLAT_CHECKS["integer"]


def _flat_list_decoder(member: Shape, json_name: bool) -> Any:
    if member.type_name != "structure" or getattr(member, "is_document_type", False):
        return None
    fields = [(name, member_wire_name(name, m, json_name), m.type_name) for name, m in member.members.items()]
    if not fields or any(kind not in _FLAT_CHECKS for _, _, kind in fields):
        return None
    pad = " " * 12
    lines = [
        "def flat_list(value):",
        "    if type(value) is not list: raise _Invalid",
        "    out = []",
        "    append = out.append",
        "    for item in value:",
        "        if item is None:",
        "            append(None)",
        "            continue",
        "        if type(item) is not dict: raise _Invalid",
        "        d = {}",
        "        get = item.get",
    ]
    for name, wire, kind in fields:
        lines += [
            f"        v = get({wire!r})",
            "        if v is not None:",
            pad + _FLAT_CHECKS[kind].format(pad=pad),
            f"            d[{name!r}] = v",
        ]
    lines += ["        append(d)", "    return out"]
    namespace: dict[str, Any] = {"_Invalid": _Invalid}
    exec("\n".join(lines), namespace)  # noqa: S102 - source built above from the model's names only
    return namespace["flat_list"]


def _wrong(path: str, expected: str, value: Any) -> SerializationError:
    got = type(value).__name__
    return SerializationError(f"Expected {expected} at '{path}', got {got}")


class _Decoder:
    def __init__(self, json_name: bool, timestamp_format: str) -> None:
        self.json_name = json_name
        self.timestamp_format = timestamp_format

    def value(self, shape: Shape, value: Any, path: str) -> Any:
        method = getattr(self, "_" + shape.type_name, None)
        if method is None:
            return value
        return method(shape, value, path)

    def _structure(self, shape: Shape, value: Any, path: str) -> Any:
        if getattr(shape, "is_document_type", False):
            return value
        if not isinstance(value, dict):
            raise _wrong(path, "an object", value)
        out: dict[str, Any] = {}
        for name, member in shape.members.items():
            wire = member_wire_name(name, member, self.json_name)
            item = value.get(wire)
            if item is None:
                continue
            out[name] = self.value(member, item, f"{path}.{name}")
        return out

    def _list(self, shape: Shape, value: Any, path: str) -> Any:
        if not isinstance(value, list):
            raise _wrong(path, "an array", value)
        # Sparse lists keep their nulls; dense ones have none to keep.
        return [
            None if item is None else self.value(shape.member, item, f"{path}[{i}]")
            for i, item in enumerate(value)
        ]

    def _map(self, shape: Shape, value: Any, path: str) -> Any:
        if not isinstance(value, dict):
            raise _wrong(path, "an object", value)
        return {
            k: None if v is None else self.value(shape.value, v, f"{path}.{k}")
            for k, v in value.items()
        }

    def _string(self, shape: Shape, value: Any, path: str) -> Any:
        if not isinstance(value, str):
            raise _wrong(path, "a string", value)
        return value

    def _boolean(self, shape: Shape, value: Any, path: str) -> Any:
        if not isinstance(value, bool):
            raise _wrong(path, "a boolean", value)
        return value

    def _integer(self, shape: Shape, value: Any, path: str) -> Any:
        if isinstance(value, bool):
            raise _wrong(path, "an integer", value)
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if not isinstance(value, int):
            raise _wrong(path, "an integer", value)
        return value

    _long = _integer

    def _float(self, shape: Shape, value: Any, path: str) -> Any:
        if isinstance(value, str) and value in _SPECIAL_FLOATS:
            return _SPECIAL_FLOATS[value]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _wrong(path, "a number", value)
        return float(value)

    _double = _float

    def _timestamp(self, shape: Shape, value: Any, path: str) -> Any:
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise _wrong(path, "a timestamp", value)
        try:
            return timestamps.parse(value, timestamps.format_for(shape, self.timestamp_format))
        except ValueError as exc:
            raise SerializationError(f"Invalid timestamp at '{path}': {value!r}") from exc

    def _blob(self, shape: Shape, value: Any, path: str) -> Any:
        if not isinstance(value, str):
            raise _wrong(path, "a base64 string", value)
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise SerializationError(f"Invalid base64 at '{path}'") from exc
