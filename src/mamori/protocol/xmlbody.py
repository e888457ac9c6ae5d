"""Shape-driven XML output, shared by the `query`, `ec2` and `rest-xml` codecs.

    member_elements(shape, value)       the member elements of a structure, as a string
    element(name, shape, value)         one element `<name>...</name>` for any shape
    text(shape, value)                  a scalar's text form (escaped)
    escape(s)                           XML text/attribute escaping

Naming follows the model's XML traits, the way botocore's XML parser reads them:
- a member's element is its `locationName`, else the member name; a *flattened* list
  whose item has a `locationName` uses that name instead;
- lists: `<Name><member>..</member></Name>` (item name = the list member's
  `locationName`, EC2 models use `item`); flattened lists repeat `<Name>` per item;
- maps: `<Name><entry><key>..</key><value>..</value></entry></Name>` (key/value names
  from their `locationName`); flattened maps repeat `<Name><key/><value/></Name>`;
- `xmlAttribute` members become attributes of the structure's element and
  `xmlNamespace` an `xmlns`/`xmlns:prefix` attribute (rest-xml; S3 uses both);
- members bound to headers, status code, URI or query string are not body members.

Scalars: booleans `true`/`false`; floats with `NaN`/`Infinity`/`-Infinity`; blobs
base64; timestamps ISO 8601 unless `timestampFormat` says otherwise. `\\r` is written as
`&#13;` because XML parsers turn a literal CR (and CRLF) into LF.
"""

from __future__ import annotations

import base64
import math
from typing import Any

from botocore.model import Shape

from mamori.protocol import timestamps

_NOT_BODY = {"header", "headers", "statusCode", "uri", "querystring"}


def escape(s: str, attribute: bool = False) -> str:
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")
    if attribute:
        s = s.replace('"', "&quot;").replace("\n", "&#10;").replace("\t", "&#9;")
    return s


def text(shape: Shape, value: Any, timestamp_format: str = timestamps.ISO8601) -> str:
    kind = shape.type_name
    if kind == "boolean":
        return "true" if value else "false"
    if kind in ("integer", "long"):
        return str(int(value))
    if kind in ("float", "double"):
        number = float(value)
        if math.isnan(number):
            return "NaN"
        if math.isinf(number):
            return "Infinity" if number > 0 else "-Infinity"
        return repr(number)
    if kind == "timestamp":
        return str(timestamps.format(value, timestamps.format_for(shape, timestamp_format)))
    if kind == "blob":
        if isinstance(value, str):
            value = value.encode("utf-8")
        return base64.b64encode(bytes(value)).decode("ascii")
    return escape(str(value))


def member_name(name: str, member: Shape) -> str:
    """The element name of a structure member (botocore's `_member_key_name`)."""
    if member.type_name == "list" and member.serialization.get("flattened"):
        item_name = member.member.serialization.get("name")
        if item_name:
            return item_name
    return member.serialization.get("name", name)


def _namespace_attr(shape: Shape) -> str:
    ns = shape.serialization.get("xmlNamespace")
    if not ns:
        return ""
    if isinstance(ns, str):
        return f' xmlns="{escape(ns, True)}"'
    prefix = ns.get("prefix")
    attr = f"xmlns:{prefix}" if prefix else "xmlns"
    return f' {attr}="{escape(ns.get("uri", ""), True)}"'


def member_elements(shape: Shape, value: dict[str, Any], timestamp_format: str = timestamps.ISO8601) -> str:
    parts: list[str] = []
    members = shape.members
    for name, item in value.items():
        member = members.get(name)
        if member is None or item is None:
            continue
        ser = member.serialization
        if ser.get("location") in _NOT_BODY or ser.get("xmlAttribute"):
            continue
        tag = member_name(name, member)
        if ser.get("flattened") and member.type_name == "list":
            for entry in item:
                parts.append(element(tag, member.member, entry, timestamp_format))
        elif ser.get("flattened") and member.type_name == "map":
            for key, entry in item.items():
                parts.append(f"<{tag}>{_map_entry(member, key, entry, timestamp_format)}</{tag}>")
        else:
            parts.append(element(tag, member, item, timestamp_format))
    return "".join(parts)


def _attributes(shape: Shape, value: dict[str, Any], timestamp_format: str) -> str:
    attrs = _namespace_attr(shape)
    for name, member in shape.members.items():
        if member.serialization.get("xmlAttribute") and value.get(name) is not None:
            attr_name = member.serialization.get("name", name)
            attrs += f' {attr_name}="{escape(text(member, value[name], timestamp_format), True)}"'
    return attrs


def _map_entry(shape: Shape, key: Any, value: Any, timestamp_format: str) -> str:
    key_name = shape.key.serialization.get("name", "key")
    value_name = shape.value.serialization.get("name", "value")
    out = element(key_name, shape.key, key, timestamp_format)
    if value is not None:
        out += element(value_name, shape.value, value, timestamp_format)
    return out


def element(name: str, shape: Shape, value: Any, timestamp_format: str = timestamps.ISO8601) -> str:
    kind = shape.type_name
    if kind == "structure":
        attrs = _attributes(shape, value, timestamp_format)
        return f"<{name}{attrs}>{member_elements(shape, value, timestamp_format)}</{name}>"
    if kind == "list":
        item_name = shape.member.serialization.get("name", "member")
        inner = "".join(element(item_name, shape.member, item, timestamp_format) for item in value)
        return f"<{name}{_namespace_attr(shape)}>{inner}</{name}>"
    if kind == "map":
        inner = "".join(
            f"<entry>{_map_entry(shape, k, v, timestamp_format)}</entry>" for k, v in value.items()
        )
        return f"<{name}{_namespace_attr(shape)}>{inner}</{name}>"
    return f"<{name}{_namespace_attr(shape)}>{text(shape, value, timestamp_format)}</{name}>"
