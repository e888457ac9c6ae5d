"""CloudWatch Logs filter patterns: parser and matcher.

`compile_pattern(text)` parses a pattern once and returns a `Pattern` whose
`match(message)` says whether an event matches and, for space-delimited and JSON
patterns, which values it extracted (TestMetricFilter's `extractedValues`, metric
filter values `$.latency` / `$size`).

Three syntaxes (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html):

- terms: `ERROR`, `"quoted phrase"`, `?ERROR ?WARN` (any of), `-DEBUG` (none of),
  `%regex%`. Plain terms must all occur (case-sensitive substring); if any `?` term is
  present, at least one of them must occur.
- JSON: `{ $.a.b = "x" && ($.n > 5 || $.arr[0] IS NULL) }`, with `= != < <= > >=`,
  `*` wildcards in string values, `%regex%`, `IS NULL`, `NOT EXISTS`, `IS TRUE`,
  `IS FALSE`. Only messages that are JSON objects can match.
- space-delimited: `[ip, user, ..., status = 5* || status = 4*, bytes > 1000]`. Fields
  are separated by spaces; "quoted" and [bracketed] runs are one field; `...` matches
  any number of fields; without it the field count must be equal.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from mamori.errors import error

_NUMBER = re.compile(r"^-?\d+(\.\d+)?([eE][+-]?\d+)?$")


def invalid(message: str = "Invalid filter pattern") -> Exception:
    return error("InvalidParameterException", message)


@dataclass
class Pattern:
    text: str
    kind: str  # "all" | "terms" | "json" | "fields"
    test: Callable[[str], dict[str, Any] | None]
    names: list[str] = field(default_factory=list)
    # Substrings every matching event contains: the store may filter on them first.
    required: list[str] = field(default_factory=list)

    def match(self, message: str) -> dict[str, Any] | None:
        """None when the event does not match; else the extracted values."""
        try:
            return self.test(message)
        except (ValueError, TypeError, RecursionError):
            return None

    def matches(self, message: str) -> bool:
        return self.match(message) is not None


def compile_pattern(text: str | None) -> Pattern:
    text = (text or "").strip()
    if len(text) > 1024:
        raise invalid("Filter pattern is too long: limit is 1024 characters")
    if not text:
        return Pattern("", "all", lambda _m: {})
    if text.startswith("{"):
        if not text.endswith("}"):
            raise invalid()
        parser = _JsonParser(text[1:-1])
        expr = parser.parse()
        selectors = list(dict.fromkeys(parser.selectors))
        return Pattern(text, "json", lambda m: _json_test(expr, m, selectors))
    if text.startswith("["):
        if not text.endswith("]"):
            raise invalid()
        return _fields_pattern(text)
    return _terms_pattern(text)


# -- values and wildcards --------------------------------------------------------------------


def _value_matcher(raw: str, quoted: bool) -> Callable[[Any], bool]:
    """Equality against a pattern value: numbers compare numerically, strings with `*`
    wildcards, `%...%` as a regular expression."""
    if not quoted and len(raw) >= 2 and raw.startswith("%") and raw.endswith("%"):
        rx = _regex(raw[1:-1])
        return lambda v: v is not None and not isinstance(v, (dict, list)) and rx.search(_text(v)) is not None
    if not quoted and _NUMBER.match(raw):
        number = float(raw)
        return lambda v: _num(v) == number
    if "*" in raw:
        rx = re.compile("^" + ".*".join(re.escape(p) for p in raw.split("*")) + "$", re.S)
        return lambda v: v is not None and not isinstance(v, (dict, list)) and rx.match(_text(v)) is not None
    return lambda v: v is not None and not isinstance(v, (dict, list)) and _text(v) == raw


def _regex(body: str) -> re.Pattern:
    try:
        return re.compile(body)
    except re.error:
        raise invalid("Invalid regex in filter pattern") from None


def _text(v: Any) -> str:
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _num(v: Any) -> float | None:
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, (int, float)):
        return float(v)
    if isinstance(v, str) and _NUMBER.match(v.strip()):
        return float(v)
    return None


_COMPARE = {
    "<": lambda a, b: a < b, "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
}


def _comparison(op: str, raw: str, quoted: bool) -> Callable[[Any], bool]:
    if op in ("=", "!="):
        eq = _value_matcher(raw, quoted)
        if op == "=":
            return eq
        return lambda v: v is not None and not eq(v)
    number = _num(raw) if not quoted else None
    if number is None:
        raise invalid("Invalid filter pattern: numeric comparison needs a number")
    cmp = _COMPARE[op]
    return lambda v: (n := _num(v)) is not None and cmp(n, number)


# -- terms ---------------------------------------------------------------------------------------


def _terms_pattern(text: str) -> Pattern:
    required: list[Callable[[str], bool]] = []
    literals: list[str] = []
    optional: list[Callable[[str], bool]] = []
    excluded: list[Callable[[str], bool]] = []
    pos = 0
    while pos < len(text):
        if text[pos].isspace():
            pos += 1
            continue
        prefix = ""
        if text[pos] in "?-" and pos + 1 < len(text) and not text[pos + 1].isspace():
            prefix, pos = text[pos], pos + 1
        if text[pos] == '"':
            end = pos + 1
            buf = []
            while end < len(text) and text[end] != '"':
                if text[end] == "\\" and end + 1 < len(text):
                    end += 1
                buf.append(text[end])
                end += 1
            if end >= len(text):
                raise invalid()
            term, pos = "".join(buf), end + 1
            test = (lambda t: lambda m: t in m)(term)
        elif text[pos] == "%":
            end = text.find("%", pos + 1)
            if end < 0:
                raise invalid()
            rx = _regex(text[pos + 1:end])
            pos, term = end + 1, ""
            test = (lambda r: lambda m: r.search(m) is not None)(rx)
        else:
            end = pos
            while end < len(text) and not text[end].isspace():
                end += 1
            term, pos = text[pos:end], end
            test = (lambda t: lambda m: t in m)(term)
        {"": required, "?": optional, "-": excluded}[prefix].append(test)
        if prefix == "" and term:
            literals.append(term)

    def run(message: str) -> dict[str, Any] | None:
        if not all(t(message) for t in required):
            return None
        if optional and not any(t(message) for t in optional):
            return None
        if any(t(message) for t in excluded):
            return None
        return {}

    return Pattern(text, "terms", run, required=literals)


# -- JSON ----------------------------------------------------------------------------------------

_JSON_TOKEN = re.compile(
    r"""\s*(?:
      (?P<and>&&)|(?P<or>\|\|)|(?P<lp>\()|(?P<rp>\))
     |(?P<op>!=|<=|>=|=|<|>)
     |(?P<kw>IS\s+NULL|NOT\s+EXISTS|IS\s+TRUE|IS\s+FALSE)\b
     |(?P<sel>\$(?:\.[A-Za-z0-9_@\-]+|\.\*|\[\d+\]|\[\*\])*)
     |"(?P<str>(?:[^"\\]|\\.)*)"
     |(?P<word>%[^%]*%|[^\s()&|=!<>"]+)
    )""",
    re.X,
)


class _JsonParser:
    def __init__(self, text: str) -> None:
        self.tokens: list[tuple[str, str]] = []
        pos = 0
        text = text.rstrip()
        while pos < len(text):
            m = _JSON_TOKEN.match(text, pos)
            if not m or m.end() == pos:
                raise invalid()
            kind = m.lastgroup or ""
            self.tokens.append((kind, m.group(kind)))
            pos = m.end()
            while pos < len(text) and text[pos].isspace():
                pos += 1
        self.i = 0
        self.selectors: list[str] = []

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self, kind: str) -> str:
        tok = self.peek()
        if tok is None or tok[0] != kind:
            raise invalid()
        self.i += 1
        return tok[1]

    def parse(self) -> Any:
        if not self.tokens:
            raise invalid()
        expr = self.or_expr()
        if self.peek() is not None:
            raise invalid()
        return expr

    def or_expr(self) -> Any:
        left = self.and_expr()
        while (tok := self.peek()) and tok[0] == "or":
            self.i += 1
            left = ("or", left, self.and_expr())
        return left

    def and_expr(self) -> Any:
        left = self.atom()
        while (tok := self.peek()) and tok[0] == "and":
            self.i += 1
            left = ("and", left, self.atom())
        return left

    def atom(self) -> Any:
        tok = self.peek()
        if tok and tok[0] == "lp":
            self.i += 1
            inner = self.or_expr()
            self.take("rp")
            return inner
        raw_selector = self.take("sel")
        self.selectors.append(raw_selector)
        selector = _selector(raw_selector)
        tok = self.peek()
        if tok and tok[0] == "kw":
            self.i += 1
            return ("kw", selector, " ".join(tok[1].split()).upper())
        op = self.take("op")
        tok = self.peek()
        if tok and tok[0] == "str":
            self.i += 1
            value, quoted = re.sub(r"\\(.)", r"\1", tok[1]), True
        elif tok and tok[0] == "word":
            self.i += 1
            value, quoted = tok[1], False
        else:
            raise invalid()
        return ("cmp", selector, _comparison(op, value, quoted))


def _selector(text: str) -> list[Any]:
    steps: list[Any] = []
    for part in re.findall(r"\.([A-Za-z0-9_@\-]+|\*)|\[(\d+|\*)\]", text[1:]):
        name, index = part
        if name:
            steps.append("*" if name == "*" else name)
        else:
            steps.append("*" if index == "*" else int(index))
    return steps


_MISSING = object()


def _resolve(doc: Any, steps: list[Any]) -> list[Any]:
    """All values the selector reaches (wildcards fan out); [] when none."""
    values = [doc]
    for step in steps:
        nxt = []
        for v in values:
            if step == "*":
                if isinstance(v, dict):
                    nxt.extend(v.values())
                elif isinstance(v, list):
                    nxt.extend(v)
            elif isinstance(step, int):
                if isinstance(v, list) and step < len(v):
                    nxt.append(v[step])
            elif isinstance(v, dict) and step in v:
                nxt.append(v[step])
        values = nxt
    return values


def _eval(expr: Any, doc: Any) -> bool:
    kind = expr[0]
    if kind == "and":
        return _eval(expr[1], doc) and _eval(expr[2], doc)
    if kind == "or":
        return _eval(expr[1], doc) or _eval(expr[2], doc)
    values = _resolve(doc, expr[1])
    if kind == "kw":
        word = expr[2]
        if word == "NOT EXISTS":
            return not values
        if word == "IS NULL":
            return any(v is None for v in values)
        if word == "IS TRUE":
            return any(v is True for v in values)
        return any(v is False for v in values)
    return any(expr[2](v) for v in values)


def _json_test(expr: Any, message: str, selectors: list[str]) -> dict[str, Any] | None:
    start = message.find("{")
    if start < 0:
        return None
    try:
        doc = json.loads(message[start:])
    except ValueError:
        return None
    if not isinstance(doc, dict):
        return None
    if not _eval(expr, doc):
        return None
    # TestMetricFilter's extractedValues: the value each selector of the pattern reached.
    out: dict[str, Any] = {"__doc__": doc}
    for raw in selectors:
        found = _resolve(doc, _selector(raw))
        if found and found[0] is not None and not isinstance(found[0], (dict, list)):
            out[raw] = _text(found[0])
    return out


def json_value(extracted: dict[str, Any], selector: str) -> Any:
    """Value of `$.a.b` in a matched JSON event (metric values, dimensions)."""
    doc = extracted.get("__doc__")
    if doc is None:
        return None
    found = _resolve(doc, _selector(selector))
    return found[0] if found else None


# -- space-delimited -----------------------------------------------------------------------------

_FIELD_SPLIT = re.compile(r'"[^"]*"|\[[^\]]*\]|\S+')


def _split_fields(message: str) -> list[str]:
    out = []
    for tok in _FIELD_SPLIT.findall(message):
        if len(tok) >= 2 and tok[0] + tok[-1] in ('""', "[]"):
            tok = tok[1:-1]
        out.append(tok)
    return out


_COND = re.compile(r'\s*(\$?[A-Za-z_][\w\-]*|\$\d+)\s*(!=|<=|>=|=|<|>)\s*("(?:[^"\\]|\\.)*"|[^\s&|]+)\s*')


def _fields_pattern(text: str) -> Pattern:
    body = text[1:-1].strip()
    specs: list[tuple[str, Any]] = []  # (name, condition or None) or ("...", None)
    names: list[str] = []
    if body:
        for index, part in enumerate(_split_commas(body)):
            part = part.strip()
            if not part:
                raise invalid()
            if part == "...":
                specs.append(("...", None))
                continue
            m = re.fullmatch(r"[A-Za-z_$][\w\-$]*", part)
            if m:
                specs.append((part, None))
                names.append(part)
                continue
            cond = _field_condition(part)
            specs.append((cond[0], cond[1]))
            names.append(cond[0])

    def run(message: str) -> dict[str, Any] | None:
        values = _split_fields(message)
        bound = _bind(specs, values)
        if bound is None:
            return None
        return {"$" + k.lstrip("$"): v for k, v in bound.items()}

    return Pattern(text, "fields", run, names)


def _split_commas(body: str) -> list[str]:
    parts, buf, quote = [], [], False
    for ch in body:
        if ch == '"':
            quote = not quote
        if ch == "," and not quote:
            parts.append("".join(buf))
            buf = []
        else:
            buf.append(ch)
    parts.append("".join(buf))
    return parts


def _field_condition(part: str) -> tuple[str, Callable[[str], bool]]:
    """`status = 5* || status = 4*`, `bytes > 1000 && bytes < 2000` for one field."""
    alternatives = re.split(r"\|\|", part)
    name = None
    ors = []
    for alt in alternatives:
        ands = []
        for clause in re.split(r"&&", alt):
            m = _COND.fullmatch(clause)
            if not m:
                raise invalid()
            if name is None:
                name = m.group(1)
            elif m.group(1) != name:
                raise invalid()
            raw = m.group(3)
            quoted = raw.startswith('"') and raw.endswith('"') and len(raw) >= 2
            ands.append(_comparison(m.group(2), raw[1:-1] if quoted else raw, quoted))
        ors.append(ands)
    return name or "", lambda v: any(all(c(v) for c in ands) for ands in ors)


def _bind(specs: list[tuple[str, Any]], values: list[str]) -> dict[str, str] | None:
    """Match field specs against values; `...` takes any number of fields."""
    out: dict[str, str] = {}
    failed: set[tuple[int, int]] = set()  # memo: keeps several `...` from going exponential

    def go(si: int, vi: int) -> bool:
        if (si, vi) in failed:
            return False
        if not step(si, vi):
            failed.add((si, vi))
            return False
        return True

    def step(si: int, vi: int) -> bool:
        if si == len(specs):
            return vi == len(values)
        name, cond = specs[si]
        if name == "...":
            for take in range(len(values) - vi, -1, -1):
                if go(si + 1, vi + take):
                    return True
            return False
        if vi >= len(values):
            return False
        if cond is not None and not cond(values[vi]):
            return False
        out[name] = values[vi]
        return go(si + 1, vi + 1)

    if not specs:
        return {}
    return out if go(0, 0) else None
