r"""Input validation against the model's constraints, with AWS's message form.

    validate(shape, params, code="ValidationException")   raises ValidationError

Checked: `required` members, length `min`/`max` of strings, blobs, lists and maps,
numeric `min`/`max`, `enum` and `pattern` when the pattern is a regex Python reads the
same way (Java-only syntax like `\p{L}` is skipped rather than guessed at). Every
violation is collected and reported in one message, as AWS does:

    1 validation error detected: Value null at 'keyId' failed to satisfy constraint:
    Member must not be null
    2 validation errors detected: Value ... ; Value ...

Paths use the member name with its first letter lowered (`keyId`), list items as
`tags.1.member` (1-based) and map values as `tags.<key>`, which is how the Coral/Smithy
validators behind AWS services name them. Values of sensitive members are left out
("Value at 'password' failed ...").

Patterns must match the whole value. Smithy's `pattern` trait is nominally not anchored
(https://smithy.io/2.0/spec/constraint-traits.html#pattern-trait), but the services
reject partial matches: CloudWatch Logs refuses `bad name!` for the pattern
`[\.\-_/#A-Za-z0-9]+` although `bad` matches it, because AWS's validators use Java's
`Matcher.matches()`.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from botocore.model import Shape

from mamori.errors import ValidationError


@functools.lru_cache(maxsize=2048)
def compile_pattern(pattern: str) -> re.Pattern[str] | None:
    if "\\p{" in pattern or "\\P{" in pattern:
        return None
    try:
        return re.compile(pattern)
    except (re.error, OverflowError):
        return None


def validate(shape: Shape | None, params: dict[str, Any], code: str = "ValidationException") -> None:
    """Raise ValidationError (with `code`) listing every constraint `params` breaks."""
    if shape is None:
        return
    check = _checker(shape)
    if check is None or check(params):
        return
    problems: list[str] = []
    _Walker(problems).structure(shape, params, "")
    if problems:
        count = len(problems)
        noun = "error" if count == 1 else "errors"
        raise ValidationError(
            f"{count} validation {noun} detected: " + "; ".join(problems), code=code
        )


# -- the fast path --------------------------------------------------------------------
#
# Most requests are valid, and a 1,000-event PutLogEvents batch is 3,000 values to look
# at. So each shape gets a compiled checker that only answers valid or not, without
# paths or messages (None: nothing to check below this shape). Only an invalid request
# pays for the walker that names every violation.

_checkers: dict[int, tuple[Shape, Any]] = {}
_BUILDING = object()


def _checker(shape: Shape) -> Any:
    found = _checkers.get(id(shape))
    if found is not None and found[0] is shape:
        return None if found[1] is _BUILDING else found[1]
    # A recursive shape refers to itself: while it is being built, it checks nothing
    # through that reference, so the whole request is then walked the slow way.
    _checkers[id(shape)] = (shape, _BUILDING)
    fn = _build_checker(shape)
    _checkers[id(shape)] = (shape, fn)
    return fn


def _is_recursive(shape: Shape, seen: frozenset[str] = frozenset()) -> bool:
    if shape.name in seen:
        return True
    seen = seen | {shape.name}
    kind = shape.type_name
    if kind == "structure":
        return any(_is_recursive(m, seen) for m in shape.members.values())
    if kind == "list":
        return _is_recursive(shape.member, seen)
    if kind == "map":
        return _is_recursive(shape.key, seen) or _is_recursive(shape.value, seen)
    return False


def _sized(meta: dict[str, Any]) -> tuple[int | None, int | None]:
    return meta.get("min"), meta.get("max")


def _build_checker(shape: Shape) -> Any:
    kind = shape.type_name
    meta = shape.metadata
    low, high = _sized(meta)
    if kind == "structure":
        if getattr(shape, "is_document_type", False):
            return None
        if _is_recursive(shape):
            return lambda value: False  # the walker decides
        required = tuple(shape.required_members)
        members = {name: c for name, m in shape.members.items() if (c := _checker(m)) is not None}
        if not required and not members:
            return None

        def structure(value: Any) -> bool:
            if not isinstance(value, dict):
                return True
            for name in required:
                if value.get(name) is None:
                    return False
            for name, check in members.items():
                item = value.get(name)
                if item is not None and not check(item):
                    return False
            return True

        return structure
    if kind == "list":
        flat = _flat_list_checker(shape)
        if flat is not None:
            return flat
    if kind == "list" or kind == "map":
        inner = _checker(shape.member) if kind == "list" else None
        key_check = _checker(shape.key) if kind == "map" else None
        value_check = _checker(shape.value) if kind == "map" else None
        if low is None and high is None and inner is None and key_check is None and value_check is None:
            return None
        wanted = list if kind == "list" else dict

        def container(value: Any) -> bool:
            if not isinstance(value, wanted):
                return True
            size = len(value)
            if (low is not None and size < low) or (high is not None and size > high):
                return False
            if inner is not None:
                for item in value:
                    if item is not None and not inner(item):
                        return False
            if key_check is not None or value_check is not None:
                for key, item in value.items():
                    if key_check is not None and not key_check(key):
                        return False
                    if value_check is not None and item is not None and not value_check(item):
                        return False
            return True

        return container
    if kind == "string":
        enum = frozenset(meta["enum"]) if meta.get("enum") else None
        regex = compile_pattern(meta["pattern"]) if meta.get("pattern") else None
        if low is None and high is None and enum is None and regex is None:
            return None

        def string(value: Any) -> bool:
            if not isinstance(value, str):
                return True
            size = len(value)
            if (low is not None and size < low) or (high is not None and size > high):
                return False
            if enum is not None and value not in enum:
                return False
            return regex is None or regex.fullmatch(value) is not None

        return string
    if kind == "blob":
        if low is None and high is None:
            return None
        return lambda value: not isinstance(value, (bytes, bytearray)) or (
            (low is None or len(value) >= low) and (high is None or len(value) <= high))
    if kind in ("integer", "long", "float", "double"):
        if low is None and high is None:
            return None
        return lambda value: not isinstance(value, (int, float)) or isinstance(value, bool) or (
            (low is None or value >= low) and (high is None or value <= high))
    return None


_NUMBERS = ("integer", "long", "float", "double")


def _flat_list_checker(shape: Shape) -> Any:
    """A list of flat structures (PutLogEvents' 1,000 {timestamp, message}) gets one
    generated loop with every constraint written out; None if the items nest."""
    member = shape.member
    if member.type_name != "structure" or getattr(member, "is_document_type", False):
        return None
    members = member.members
    if any(m.type_name not in ("string", "boolean", *_NUMBERS) for m in members.values()):
        return None
    required = set(member.required_members)
    env: dict[str, Any] = {}
    body: list[str] = []
    for i, (name, m) in enumerate(members.items()):
        meta = m.metadata
        low, high = _sized(meta)
        tests: list[str] = []
        if m.type_name == "string":
            if low is not None:
                tests.append(f"len(v) < {int(low)}")
            if high is not None:
                tests.append(f"len(v) > {int(high)}")
            if meta.get("enum"):
                env[f"enum{i}"] = frozenset(meta["enum"])
                tests.append(f"v not in enum{i}")
            regex = compile_pattern(meta["pattern"]) if meta.get("pattern") else None
            if regex is not None:
                env[f"match{i}"] = regex.fullmatch
                tests.append(f"match{i}(v) is None")
            guard = "isinstance(v, str)"
        elif m.type_name in _NUMBERS:
            if low is not None:
                tests.append(f"v < {low!r}")
            if high is not None:
                tests.append(f"v > {high!r}")
            guard = "isinstance(v, (int, float)) and not isinstance(v, bool)"
        else:
            guard = "False"
        if name not in required and not tests:
            continue
        body.append(f"        v = get({name!r})")
        if name in required:
            body.append("        if v is None: return False")
        if tests:
            body.append(f"        if v is not None and {guard} and ({' or '.join(tests)}): return False")
    low, high = _sized(shape.metadata)
    if not body and low is None and high is None:
        return None
    lines = ["def flat_list(value):", "    if not isinstance(value, list): return True"]
    if low is not None:
        lines.append(f"    if len(value) < {int(low)}: return False")
    if high is not None:
        lines.append(f"    if len(value) > {int(high)}: return False")
    if body:
        lines += ["    for item in value:", "        if not isinstance(item, dict): continue", "        get = item.get",
                  *body]
    lines.append("    return True")
    exec("\n".join(lines), env)  # noqa: S102 - source built above from the model only
    return env["flat_list"]


def _lower_first(name: str) -> str:
    return name[:1].lower() + name[1:]


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={_show(v)}" for k, v in value.items()) + "}"
    if isinstance(value, bytes):
        return "java.nio.HeapByteBuffer"
    return str(value)


class _Walker:
    def __init__(self, problems: list[str]) -> None:
        self.problems = problems

    def fail(self, shape: Shape, value: Any, path: str, constraint: str) -> None:
        if value is None:
            shown = "Value null"
        elif shape.metadata.get("sensitive"):
            shown = "Value"
        else:
            shown = f"Value '{_show(value)}'"
        self.problems.append(
            f"{shown} at '{path}' failed to satisfy constraint: {constraint}"
        )

    def value(self, shape: Shape, value: Any, path: str) -> None:
        kind = shape.type_name
        if kind == "structure":
            if isinstance(value, dict) and not getattr(shape, "is_document_type", False):
                self.structure(shape, value, path)
        elif kind == "list":
            if isinstance(value, list):
                self.length(shape, value, path)
                for i, item in enumerate(value, 1):
                    if item is not None:
                        self.value(shape.member, item, f"{path}.{i}.member")
        elif kind == "map":
            if isinstance(value, dict):
                self.length(shape, value, path)
                for key, item in value.items():
                    self.value(shape.key, key, path)
                    if item is not None:
                        self.value(shape.value, item, f"{path}.{key}")
        elif kind == "string":
            if isinstance(value, str):
                self.string(shape, value, path)
        elif kind == "blob":
            if isinstance(value, (bytes, bytearray)):
                self.length(shape, value, path)
        elif kind in ("integer", "long", "float", "double"):
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                self.range(shape, value, path)

    def structure(self, shape: Shape, params: dict[str, Any], path: str) -> None:
        # Model member order, so the message is the same whatever order the client sent.
        required = set(shape.required_members)
        for name, member in shape.members.items():
            item = params.get(name)
            if item is None:
                if name in required:
                    self.fail(member, None, self.join(path, name), "Member must not be null")
            else:
                self.value(member, item, self.join(path, name))

    @staticmethod
    def join(path: str, name: str) -> str:
        name = _lower_first(name)
        return f"{path}.{name}" if path else name

    def length(self, shape: Shape, value: Any, path: str) -> None:
        meta = shape.metadata
        size = len(value)
        if "min" in meta and size < meta["min"]:
            self.fail(shape, value, path, f"Member must have length greater than or equal to {meta['min']}")
        if "max" in meta and size > meta["max"]:
            self.fail(shape, value, path, f"Member must have length less than or equal to {meta['max']}")

    def range(self, shape: Shape, value: float, path: str) -> None:
        meta = shape.metadata
        if "min" in meta and value < meta["min"]:
            self.fail(shape, value, path, f"Member must have value greater than or equal to {meta['min']}")
        if "max" in meta and value > meta["max"]:
            self.fail(shape, value, path, f"Member must have value less than or equal to {meta['max']}")

    def string(self, shape: Shape, value: str, path: str) -> None:
        self.length(shape, value, path)
        enum = shape.metadata.get("enum")
        if enum and value not in enum:
            self.fail(shape, value, path, f"Member must satisfy enum value set: [{', '.join(enum)}]")
        pattern = shape.metadata.get("pattern")
        if pattern:
            regex = compile_pattern(pattern)
            if regex is not None and regex.fullmatch(value) is None:
                self.fail(shape, value, path, f"Member must satisfy regular expression pattern: {pattern}")
