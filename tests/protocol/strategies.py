"""Hypothesis strategies for a valid value of any botocore shape.

    shape_values(shape)        a value for the shape (boto3 conventions)
    operation_input(op)        input kwargs for an operation ({} if it has no input)
    operation_output(op)       output dict for an operation ({} if it has no output)

Values satisfy the model's constraints that mamori validates (`required`, min/max
length and range, `enum`, `pattern` when it is a plain Python regex), so a generated
input must pass `mamori.protocol.validate`. Structures get all required members plus a
random subset of the optional ones; unions get exactly one member. Recursion is cut at
`max_depth`: below it only required members are generated and lists/maps hold their
minimum number of items.

Strings avoid control characters other than tab and newline and never contain `\\r`:
XML 1.0 cannot carry them and XML parsers fold `\\r\\n`, so they cannot round-trip
through the query/ec2/rest-xml wire. Floats are drawn at the shape's width (`float` is
32-bit) so CBOR's float32 encoding is exact. Timestamps are UTC, whole seconds or
milliseconds, between 1970 and 2100.
"""

from __future__ import annotations

import functools
import re
import struct
from datetime import datetime, timedelta, timezone
from typing import Any

from botocore.model import OperationModel, Shape
from hypothesis import strategies as st

from mamori.protocol.rest import _PRESIGN_KEYS

MAX_STRING = 24
MAX_ITEMS = 3
MAX_OPTIONAL_MEMBERS = 8
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MAX_SECONDS = int((datetime(2100, 1, 1, tzinfo=timezone.utc) - _EPOCH).total_seconds())

# One character class (or \w, \d, \S, .) with an optional quantifier: most AWS patterns.
_CHAR_CLASS_PATTERN = re.compile(
    r"^\^?(\[(?:\\.|[^\]\\])+\]|\\[wdS]|\.)([+*]|\{(\d+)(?:,(\d*))?\})?\$?$"
)


def _xml_safe(ch: str) -> bool:
    code = ord(ch)
    if ch in "\t\n":
        return True
    if code < 0x20 or 0x7F <= code <= 0x9F or 0xD800 <= code <= 0xDFFF:
        return False
    return code not in (0xFFFE, 0xFFFF)


def _safe_text(s: str) -> bool:
    return all(_xml_safe(c) for c in s)


_CHARS = st.characters(
    codec="utf-8",
    exclude_categories=("Cc", "Cs"),
    include_characters="\t\n",
    exclude_characters="\ufffe\uffff",
)


def compiled_pattern(pattern: str | None) -> re.Pattern[str] | None:
    """The pattern as a Python regex, or None when Python can't read it (Java-only
    syntax like \\p{L}); validate.py uses the same rule to decide what it checks."""
    from mamori.protocol.validate import compile_pattern

    return compile_pattern(pattern) if pattern else None


@functools.lru_cache(maxsize=4096)
def _string_strategy(
    enum: tuple[str, ...] | None, pattern: str | None, min_len: int, max_len: int | None
) -> st.SearchStrategy[str]:
    if enum:
        return st.sampled_from(enum)
    hi = min(max_len if max_len is not None else MAX_STRING, max(min_len, MAX_STRING))
    hi = max(hi, min_len)
    regex = compiled_pattern(pattern)
    if regex is None:
        return st.text(_CHARS, min_size=min_len, max_size=hi)
    assert pattern is not None
    single = _CHAR_CLASS_PATTERN.match(pattern)
    if single:
        cls, quant, qmin, qmax = single.groups()
        lo, top = min_len, hi
        if quant == "+":
            lo = max(lo, 1)
        elif quant and quant.startswith("{"):
            lo = max(lo, int(qmin))
            if qmax != "":
                top = min(top, int(qmax if qmax is not None else qmin))
        elif not quant:
            lo, top = max(lo, 1), min(top, 1)
        alphabet = st.from_regex(re.compile(cls), fullmatch=True).filter(_safe_text)
        return st.lists(alphabet, min_size=lo, max_size=max(lo, top)).map("".join)
    return (
        st.from_regex(regex, fullmatch=True)
        .filter(lambda s: min_len <= len(s) <= (max_len or 1 << 30) and _safe_text(s))
    )


def _float32(x: float) -> float:
    return struct.unpack(">f", struct.pack(">f", x))[0]


def _number_bounds(shape: Shape, lo: float, hi: float) -> tuple[Any, Any]:
    meta = shape.metadata
    if "min" in meta:
        lo = max(lo, meta["min"])
    if "max" in meta:
        hi = min(hi, meta["max"])
    return lo, hi


@st.composite
def shape_values(draw: Any, shape: Shape, max_depth: int = 4) -> Any:
    return _draw(draw, shape, 0, max_depth)


def _draw(draw: Any, shape: Shape, depth: int, max_depth: int) -> Any:
    kind = shape.type_name
    meta = shape.metadata
    if kind == "structure":
        if getattr(shape, "is_document_type", False):
            return draw(
                st.dictionaries(
                    st.text("abcdef", min_size=1, max_size=5),
                    st.one_of(st.text("xyz ", max_size=5), st.integers(-100, 100), st.booleans()),
                    max_size=3,
                )
            )
        return _draw_structure(draw, shape, depth, max_depth)
    if kind == "list":
        lo = meta.get("min", 0)
        hi = max(lo, min(meta.get("max", MAX_ITEMS), MAX_ITEMS))
        if depth >= max_depth:
            hi = lo
        size = draw(st.integers(lo, hi))
        return [_draw(draw, shape.member, depth + 1, max_depth) for _ in range(size)]
    if kind == "map":
        lo = meta.get("min", 0)
        hi = max(lo, min(meta.get("max", MAX_ITEMS), MAX_ITEMS))
        if depth >= max_depth:
            hi = lo
        keys = draw(st.lists(_draw_key(shape.key), min_size=lo, max_size=hi, unique=True))
        return {k: _draw(draw, shape.value, depth + 1, max_depth) for k in keys}
    if kind == "string":
        return draw(_string_for(shape))
    if kind in ("integer", "long"):
        bits = 31 if kind == "integer" else 63
        lo, hi = _number_bounds(shape, -(2**bits), 2**bits - 1)
        return draw(st.integers(int(lo), int(hi)))
    if kind in ("float", "double"):
        lo, hi = _number_bounds(shape, -1e9, 1e9)
        number = st.floats(float(lo), float(hi), allow_nan=False, allow_infinity=False)
        if kind == "float":
            # `float` is 32-bit on the CBOR wire: draw values float32 holds exactly.
            number = number.map(_float32).filter(lambda x: lo <= x <= hi)
        return draw(number)
    if kind == "boolean":
        return draw(st.booleans())
    if kind == "timestamp":
        seconds = draw(st.integers(0, _MAX_SECONDS))
        millis = draw(st.sampled_from([0, draw(st.integers(0, 999))]))
        return _EPOCH + timedelta(seconds=seconds, milliseconds=millis)
    if kind == "blob":
        lo = meta.get("min", 0)
        hi = max(lo, min(meta.get("max", 32), 32))
        return draw(st.binary(min_size=lo, max_size=hi))
    raise AssertionError(f"no strategy for shape type {kind}")


def _string_for(shape: Shape) -> st.SearchStrategy[str]:
    meta = shape.metadata
    enum = tuple(shape.enum) if getattr(shape, "enum", None) else None
    return _string_strategy(enum, meta.get("pattern"), meta.get("min", 0), meta.get("max"))


def _draw_key(shape: Shape) -> st.SearchStrategy[str]:
    # Map keys travel as XML text and form values: keep them non-empty and unique.
    meta = shape.metadata
    enum = tuple(shape.enum) if getattr(shape, "enum", None) else None
    # The SigV4 query parameters of presigned URLs (X-Amz-Credential, ...) belong to
    # authentication: a querystring map never carries them.
    return _string_strategy(enum, meta.get("pattern"), max(1, meta.get("min", 0)), meta.get("max")).filter(
        lambda key: key.lower() not in _PRESIGN_KEYS)


def _draw_structure(draw: Any, shape: Shape, depth: int, max_depth: int) -> dict[str, Any]:
    members = shape.members
    names = list(members)
    if meta_union(shape):
        if not names:
            return {}
        name = draw(st.sampled_from(names))
        return {name: _draw(draw, members[name], depth + 1, max_depth)}
    required = [n for n in shape.required_members if n in members]
    optional = [n for n in names if n not in required]
    chosen: list[str] = []
    if optional and depth < max_depth:
        chosen = draw(
            st.lists(
                st.sampled_from(optional),
                unique=True,
                max_size=min(len(optional), MAX_OPTIONAL_MEMBERS),
            )
        )
    out: dict[str, Any] = {}
    for name in names:
        if name in required or name in chosen:
            out[name] = _draw(draw, members[name], depth + 1, max_depth)
    return out


def meta_union(shape: Shape) -> bool:
    return bool(shape.metadata.get("union"))


def operation_input(op: OperationModel, max_depth: int = 4) -> st.SearchStrategy[dict[str, Any]]:
    if op.input_shape is None:
        return st.just({})
    return shape_values(op.input_shape, max_depth)


def operation_output(op: OperationModel, max_depth: int = 4) -> st.SearchStrategy[dict[str, Any]]:
    if op.output_shape is None:
        return st.just({})
    return shape_values(op.output_shape, max_depth)
