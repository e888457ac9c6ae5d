"""The EventBridge event pattern language: compile (with AWS's validation messages) and match.

    pattern = compile_pattern(text)        # raises PatternError(reason)
    pattern.matches(event)                 # event: dict from json (see parse_json) or Python values

Semantics (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns.html,
eb-create-pattern-operators.html, eb-event-patterns-arrays.html, and the open-source
engine's README, https://github.com/aws/event-ruler):

- A pattern is an object mirroring the event; every field it names must match (AND).
  A leaf is a non-empty array of alternatives (OR). `$or` (>= 2 objects) at any level.
- Leaf values of the event at a path: the value itself, or the elements of an array
  (arrays of arrays flattened). An object holds no leaf value. Arrays of objects are
  matched element by element, so two conditions on different elements don't combine.
- Exact strings compare character by character; numbers compare as numbers (within the
  engine's +-5e9 range, 6 decimals) or by their JSON text; true/false/null as literals.
- Operators: prefix, suffix (optionally with equals-ignore-case), equals-ignore-case,
  wildcard (`*`, escapes `\\*` `\\\\`), anything-but (value, all-string or all-number list,
  prefix, suffix, wildcard, equals-ignore-case, each one string or a list), numeric
  ranges, exists, cidr.
- Only `exists: false` matches a field that has no leaf value (missing, an object, []).

The wildcard matcher walks the string: no regular expression is built from user text.
Validation messages are the engine's texts ("Event pattern is not valid. Reason: ...").
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

FIVE_BILLION = 5.0e9
MAX_OR_COMBINATIONS = 1000
_MISSING = object()


class PatternError(Exception):
    """An invalid pattern; `reason` is the engine's message."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# -- JSON with numbers kept as written -----------------------------------------------


class Num:
    """A JSON number with its text (exact matching compares text as well as value)."""

    __slots__ = ("text", "value")

    def __init__(self, text: str) -> None:
        self.text = text
        try:
            self.value = float(text)
        except (OverflowError, ValueError):  # pragma: no cover - json only gives valid numbers
            self.value = float("nan")

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"Num({self.text})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Num) and other.text == self.text

    def __hash__(self) -> int:
        return hash(self.text)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"Non-standard token '{name}'")


def parse_json(text: str) -> Any:
    """JSON with numbers as `Num`; duplicate keys: the last one wins (as AWS)."""
    return json.loads(text, parse_int=Num, parse_float=Num, parse_constant=_reject_constant)


def to_plain(value: Any) -> Any:
    """`parse_json` output back to ordinary Python values (ints and floats)."""
    if isinstance(value, Num):
        try:
            return int(value.text)
        except ValueError:
            return value.value
    if isinstance(value, dict):
        return {k: to_plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_plain(v) for v in value]
    return value


def _number(value: Any) -> tuple[str, float] | None:
    """(JSON text, value) of a number, None for anything else (bools are not numbers)."""
    if isinstance(value, Num):
        return value.text, value.value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return json.dumps(value), float(value)


def _comparable(value: float) -> int | None:
    """The engine compares numbers to 6 decimals within +-5e9; outside it they have no
    comparable form."""
    if value != value or value < -FIVE_BILLION or value > FIVE_BILLION:
        return None
    return int(1e6 * (FIVE_BILLION + value))


# -- wildcard ----------------------------------------------------------------------------


def parse_wildcard(text: str) -> list[str | None]:
    """Wildcard text -> list of literal chunks with None for `*`. `**` and escapes other
    than `\\*`/`\\\\` are refused with the engine's message (positions in UTF-8 bytes)."""
    parts: list[str | None] = []
    literal: list[str] = []
    pos = 0
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "*":
            if i + 1 < len(text) and text[i + 1] == "*":
                raise PatternError(f"Consecutive wildcard characters at pos {pos}")
            if literal:
                parts.append("".join(literal))
                literal = []
            parts.append(None)
        elif ch == "\\":
            if i + 1 < len(text) and text[i + 1] in "*\\":
                literal.append(text[i + 1])
                pos += 1
                i += 1
            else:
                raise PatternError(f"Invalid escape character at pos {pos}")
        else:
            literal.append(ch)
        pos += len(ch.encode("utf-8"))
        i += 1
    if literal:
        parts.append("".join(literal))
    return parts


def wildcard_match(parts: list[str | None], value: str) -> bool:
    """Match chunks (None = any run) against `value`: the head and tail literals are
    anchored, the literals between stars are found leftmost in order (enough for a
    pattern language whose only wildcard is `*`)."""
    if None not in parts:
        return "".join(p for p in parts if p is not None) == value
    first, last = parts[0], parts[-1]
    head = first if first is not None else ""
    tail = last if last is not None else ""
    if len(head) + len(tail) > len(value) or not value.startswith(head) or not value.endswith(tail):
        return False
    inner = parts[1 if first is not None else 0: len(parts) - 1 if last is not None else len(parts)]
    pos, end = len(head), len(value) - len(tail)
    for chunk in inner:
        if chunk is None:
            continue
        found = value.find(chunk, pos, end)
        if found < 0:
            return False
        pos = found + len(chunk)
    return True


# -- matchers ------------------------------------------------------------------------------


@dataclass
class Matcher:
    """One alternative of a leaf: `test(value)` for a single leaf value of the event.
    `exists` is True/False for the exists operator (tested against presence instead)."""

    kind: str
    test: Callable[[Any], bool] = lambda v: False
    exists: bool | None = None


def _exact_string(s: str) -> Matcher:
    return Matcher("exact", lambda v: isinstance(v, str) and v == s)


def _exact_number(n: Num) -> Matcher:
    key = _comparable(n.value)

    def test(v: Any) -> bool:
        num = _number(v)
        if num is None:
            return False
        if num[0] == n.text:
            return True
        return key is not None and _comparable(num[1]) == key

    return Matcher("exact", test)


def _exact_literal(lit: Any) -> Matcher:
    if lit is None:
        return Matcher("exact", lambda v: v is None)
    return Matcher("exact", lambda v: isinstance(v, bool) and v is lit)


def _is_str(v: Any) -> bool:
    return isinstance(v, str)


def _expect_string(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise PatternError(f"{what} match pattern must be a string")
    return value


def _prefix(spec: Any) -> Matcher:
    if isinstance(spec, dict):
        text = _ignore_case_operand(spec, "prefix")
        low = text.lower()
        return Matcher("prefix", lambda v: _is_str(v) and v.lower().startswith(low))
    text = _expect_string(spec, "prefix")
    return Matcher("prefix", lambda v: _is_str(v) and v.startswith(text))


def _suffix(spec: Any) -> Matcher:
    if isinstance(spec, dict):
        text = _ignore_case_operand(spec, "suffix")
        low = text.lower()
        return Matcher("suffix", lambda v: _is_str(v) and v.lower().endswith(low))
    text = _expect_string(spec, "suffix")
    return Matcher("suffix", lambda v: _is_str(v) and v.endswith(text))


def _ignore_case_operand(spec: dict, op: str) -> str:
    if len(spec) != 1 or "equals-ignore-case" not in spec:
        raise PatternError(f"Unsupported {op} pattern: {next(iter(spec), '')}")
    return _expect_string(spec["equals-ignore-case"], f"{op}/equals-ignore-case")


def _equals_ignore_case(spec: Any) -> Matcher:
    low = _expect_string(spec, "equals-ignore-case").lower()
    return Matcher("equals-ignore-case", lambda v: _is_str(v) and v.lower() == low)


def _wildcard(spec: Any) -> Matcher:
    parts = parse_wildcard(_expect_string(spec, "wildcard"))
    return Matcher("wildcard", lambda v: _is_str(v) and wildcard_match(parts, v))


def _anything_but(spec: Any) -> Matcher:
    if isinstance(spec, dict):
        if len(spec) != 1:
            raise PatternError("Only one key allowed in match expression")
        (op, operand), = spec.items()
        if op == "equals-ignore-case":
            values = operand if isinstance(operand, list) else [operand]
            if not all(isinstance(x, str) for x in values) or not values:
                raise PatternError("Inside anything-but/equals-ignore-case list, "
                                   "number|start|null|boolean is not supported.")
            lows = {x.lower() for x in values}
            return Matcher("anything-but", lambda v: _is_str(v) and v.lower() not in lows)
        # The engine takes one string or a list of strings for prefix, suffix and
        # wildcard too ({"anything-but": {"wildcard": ["*/lib/*", "*/bin/*"]}}): the
        # value matches when it matches none of them (aws/event-ruler JsonRuleCompiler).
        if op in ("prefix", "suffix"):
            items = operand if isinstance(operand, list) else [operand]
            if not all(isinstance(x, str) for x in items):
                raise PatternError("prefix/suffix match pattern must be a string")
            if not all(items):
                raise PatternError("Null prefix/suffix not allowed")
            texts = tuple(items)
            if op == "prefix":
                return Matcher("anything-but", lambda v: _is_str(v) and not v.startswith(texts))
            return Matcher("anything-but", lambda v: _is_str(v) and not v.endswith(texts))
        if op == "wildcard":
            items = operand if isinstance(operand, list) else [operand]
            compiled = [parse_wildcard(_expect_string(x, "wildcard")) for x in items]
            return Matcher("anything-but", lambda v: _is_str(v) and not any(wildcard_match(p, v) for p in compiled))
        raise PatternError(f"Unsupported anything-but pattern: {op}")
    if isinstance(spec, list):
        strings = [x for x in spec if isinstance(x, str)]
        numbers = [x for x in spec if isinstance(x, Num)]
        if len(strings) + len(numbers) != len(spec):
            raise PatternError("Inside anything but list, start|null|boolean is not supported.")
        if (strings and numbers) or not spec:
            raise PatternError("Inside anything but list, either all values are number or string, "
                               "mixed type is not supported")
    elif isinstance(spec, (str, Num)):
        strings = [spec] if isinstance(spec, str) else []
        numbers = [spec] if isinstance(spec, Num) else []
    else:
        raise PatternError("Value of anything-but must be an array or single string/number value.")
    if strings:
        excluded = set(strings)
        return Matcher("anything-but", lambda v: not (_is_str(v) and v in excluded))
    keys = set()
    for n in numbers:
        key = _comparable(n.value)
        if key is None:
            raise PatternError("Value must be between -5.0E9 and 5.0E9, inclusive")
        keys.add(key)

    def test_numbers(v: Any) -> bool:
        num = _number(v)
        if num is None:
            return False
        key = _comparable(num[1])
        return key is not None and key not in keys

    return Matcher("anything-but", test_numbers)


_LOWER_OPS = {">": False, ">=": True}
_UPPER_OPS = {"<": False, "<=": True}


def _numeric(spec: Any) -> Matcher:
    if not isinstance(spec, list):
        raise PatternError("Value of numeric must be an array.")
    if not spec or not isinstance(spec[0], str):
        raise PatternError(f"Invalid member in numeric match: {_text(spec[0]) if spec else ']'}")
    low: tuple[int, bool] | None = None  # (key, inclusive)
    high: tuple[int, bool] | None = None
    op = spec[0]

    def operand(i: int, name: str) -> int:
        if i >= len(spec) or not isinstance(spec[i], Num):
            raise PatternError(f"Value of {name} must be numeric")
        key = _comparable(spec[i].value)
        if key is None:
            raise PatternError("Value must be between -5.0E9 and 5.0E9, inclusive")
        return key

    if op == "=":
        key = operand(1, "equals")
        if len(spec) > 2:
            raise PatternError("Too many elements in numeric expression")
        low = high = (key, True)
    elif op in _UPPER_OPS:
        high = (operand(1, op), _UPPER_OPS[op])
        if len(spec) > 2:
            raise PatternError("Too many elements in numeric expression")
    elif op in _LOWER_OPS:
        low = (operand(1, op), _LOWER_OPS[op])
        if len(spec) > 2:
            op2 = spec[2]
            if not isinstance(op2, str):
                raise PatternError(f"Bad value in numeric range: {_text(op2)}")
            if op2 not in _UPPER_OPS:
                raise PatternError(f"Bad numeric range operator: {op2}")
            high = (operand(3, op2), _UPPER_OPS[op2])
            if len(spec) > 4:
                raise PatternError("Too many terms in numeric range expression")
            if high[0] <= low[0]:
                raise PatternError("Bottom must be less than top")
    else:
        raise PatternError(f"Unrecognized numeric range operator: {op}")

    def test(v: Any) -> bool:
        num = _number(v)
        if num is None:
            return False
        key = _comparable(num[1])
        if key is None:
            return False
        if low is not None and (key < low[0] or (key == low[0] and not low[1])):
            return False
        if high is not None and (key > high[0] or (key == high[0] and not high[1])):
            return False
        return True

    return Matcher("numeric", test)


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _cidr(spec: Any) -> Matcher:
    if not isinstance(spec, str):
        raise PatternError("prefix match pattern must be a string")
    pieces = spec.split("/")
    if len(pieces) != 2:
        raise PatternError("Malformed CIDR, one '/' required")
    try:
        bits = int(pieces[1])
    except ValueError:
        raise PatternError("Malformed CIDR, mask bits must be an integer") from None
    if bits < 0:
        raise PatternError("Malformed CIDR, mask bits must not be negative")
    base = _ip(pieces[0])
    if base is None:
        raise PatternError(f"Invalid IP address: {pieces[0]}")
    width = 32 if base.version == 4 else 128
    if bits > width - 1:
        raise PatternError(f"IPv{base.version} mask bits must be < {width}")
    # The engine's range runs from the address as written to its host bits all set.
    bottom = int(base)
    top = bottom | ((1 << (width - bits)) - 1)

    def test(v: Any) -> bool:
        if not isinstance(v, str):
            return False
        addr = _ip(v)
        return addr is not None and addr.version == base.version and bottom <= int(addr) <= top

    return Matcher("cidr", test)


def _exists(spec: Any) -> Matcher:
    if not isinstance(spec, bool):
        raise PatternError("exists match pattern must be either true or false.")
    return Matcher("exists", exists=spec)


OPERATORS: dict[str, Callable[[Any], Matcher]] = {
    "prefix": _prefix,
    "suffix": _suffix,
    "equals-ignore-case": _equals_ignore_case,
    "wildcard": _wildcard,
    "anything-but": _anything_but,
    "numeric": _numeric,
    "cidr": _cidr,
    "exists": _exists,
}


def _text(value: Any) -> str:
    if isinstance(value, Num):
        return value.text
    if isinstance(value, str):
        return value
    return json.dumps(to_plain(value))


def _operator(obj: dict) -> Matcher:
    if not obj:
        raise PatternError("Match expression name not found")
    if len(obj) > 1:
        raise PatternError("Only one key allowed in match expression")
    (name, spec), = obj.items()
    if name == "exact":
        return _exact_string(_expect_string(spec, "exact"))
    build = OPERATORS.get(name)
    if build is None:
        raise PatternError(f"Unrecognized match type {name}")
    return build(spec)


def _leaf(values: list) -> list[Matcher]:
    matchers: list[Matcher] = []
    for item in values:
        if isinstance(item, dict):
            matchers.append(_operator(item))
        elif isinstance(item, str):
            matchers.append(_exact_string(item))
        elif isinstance(item, Num):
            matchers.append(_exact_number(item))
        elif item is None or isinstance(item, bool):
            matchers.append(_exact_literal(item))
        else:
            raise PatternError("Match value must be String, number, true, false, or null")
    if not matchers:
        raise PatternError("Empty arrays are not allowed")
    return matchers


# -- the pattern tree ---------------------------------------------------------------------


@dataclass
class Node:
    """One object level of a pattern: leaf fields, nested objects and `$or` groups."""

    leaves: dict[str, list[Matcher]] = field(default_factory=dict)
    children: dict[str, Node] = field(default_factory=dict)
    ors: list[list[Node]] = field(default_factory=list)

    def combinations(self) -> int:
        total = 1
        for child in self.children.values():
            total *= child.combinations()
        for group in self.ors:
            total *= sum(alt.combinations() for alt in group)
        return total


def _expand_dotted(obj: dict) -> dict:
    """The engine names fields by their dotted path, so `{"detail.state": [...]}` is the
    same field as `{"detail": {"state": [...]}}` (https://github.com/aws/event-ruler)."""
    if not any("." in k for k in obj if k != "$or"):
        return obj
    out: dict = {}
    for key, value in obj.items():
        if key == "$or" or "." not in key:
            target, last = out, key
        else:
            *parents, last = key.split(".")
            target = out
            for part in parents:
                nxt = target.get(part)
                if not isinstance(nxt, dict):
                    nxt = target[part] = {}
                target = nxt
        if isinstance(value, dict) and isinstance(target.get(last), dict):
            target[last] = {**target[last], **value}
        else:
            target[last] = value
    return out


def _node(obj: dict, in_or: bool = False) -> Node:
    if not obj:
        raise PatternError("Empty objects are not allowed")
    node = Node()
    for key, value in _expand_dotted(obj).items():
        if key == "$or":
            if not isinstance(value, list):
                raise PatternError("It must be an Array followed with $or.")
            group = []
            for alt in value:
                if not isinstance(alt, dict):
                    raise PatternError("Only JSON object is allowed in array of $or relationship.")
                group.append(_node(alt, True))
            if len(group) < 2:
                raise PatternError("There must have at least 2 Objects in $or relationship.")
            node.ors.append(group)
        elif isinstance(value, dict):
            node.children[key] = _node(value, in_or)
        elif isinstance(value, list):
            node.leaves[key] = _leaf(value)
        else:
            raise PatternError(f'"{key}" must be an object or an array')
    return node


def _leaf_values(value: Any, out: list) -> list:
    if value is _MISSING or isinstance(value, dict):
        return out
    if isinstance(value, list):
        for item in value:
            _leaf_values(item, out)
        return out
    out.append(value)
    return out


def _objects(value: Any, out: list) -> list:
    if isinstance(value, dict):
        out.append(value)
    elif isinstance(value, list):
        for item in value:
            _objects(item, out)
    return out


def _match_leaf(matchers: list[Matcher], value: Any) -> bool:
    values = _leaf_values(value, [])
    for m in matchers:
        if m.exists is not None:
            if m.exists == bool(values):
                return True
            continue
        for v in values:
            if m.test(v):
                return True
    return False


def _match_node(node: Node, event: dict) -> bool:
    for key, matchers in node.leaves.items():
        if not _match_leaf(matchers, event.get(key, _MISSING)):
            return False
    for key, child in node.children.items():
        candidates = _objects(event.get(key, _MISSING), [])
        if not candidates:
            candidates = [{}]  # only absence conditions can still hold
        if not any(_match_node(child, c) for c in candidates):
            return False
    for group in node.ors:
        if not any(_match_node(alt, event) for alt in group):
            return False
    return True


@dataclass
class Pattern:
    root: Node
    text: str

    def matches(self, event: dict) -> bool:
        return _match_node(self.root, event)


def compile_pattern(text: str) -> Pattern:
    """Parse and validate a pattern; PatternError carries AWS's reason."""
    try:
        doc = parse_json(text)
    except ValueError as exc:
        raise PatternError(_json_reason(exc)) from None
    except RecursionError:
        raise PatternError("Pattern nesting too deep") from None
    if not isinstance(doc, dict):
        raise PatternError("Filter is not an object")
    root = _node(doc)
    if root.combinations() > MAX_OR_COMBINATIONS:
        raise PatternError("The rule has too many combinations of $or conditions: it exceeds the limit of "
                           f"{MAX_OR_COMBINATIONS}")
    return Pattern(root, text)


def _json_reason(exc: ValueError) -> str:
    msg = getattr(exc, "msg", None) or str(exc)
    if isinstance(exc, json.JSONDecodeError):
        return f"{msg}\n at [Source: (String); line: {exc.lineno}, column: {exc.colno}]"
    return msg
