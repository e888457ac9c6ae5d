"""SEARCH() expressions: which stored metrics a search term selects.

Syntax (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/search-expression-syntax.html):

    {AWS/EC2,InstanceId} MetricName="CPUUtilization"     schema: this namespace, exactly these dimension names
    {AWS/EC2,InstanceId} CPUUtilization NOT i-123          partial terms, boolean operators
    Namespace="AWS/EC2" InstanceId=i-123 (a OR b)          exact property terms, parentheses

A bare term matches when it equals a token (split on non-alphanumeric characters) of
the namespace, the metric name, a dimension name or value, or, quoted, the whole of
one; `Name=value` matches the property (MetricName, Namespace or a dimension name)
exactly; `Name=(a OR b)` any of them. Adjacent terms are joined by AND; NOT binds
tightest, then AND, then OR. Matching is case-sensitive for exact terms and
case-insensitive for partial ones, as in CloudWatch.
"""

from __future__ import annotations

import re
from typing import Any, Callable

Metric = tuple[str, str, list[tuple[str, str]]]  # namespace, name, dims
Predicate = Callable[[Metric], bool]


class SearchSyntaxError(ValueError):
    pass


_TOKEN = re.compile(r'\s*(?:(?P<lp>\()|(?P<rp>\))|(?P<eq>=)|(?P<q>"(?:[^"\\]|\\.)*")|(?P<w>[^\s()="]+))')


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise SearchSyntaxError(f"Invalid search expression near {text[pos:pos + 10]!r}")
        kind = m.lastgroup or ""
        value = m.group(kind)
        if kind == "q":
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        out.append((kind, value))
        pos = m.end()
    return out


def _split_words(text: str) -> set[str]:
    return {w.lower() for w in re.split(r"[^A-Za-z0-9]+", text) if w}


def _fields(metric: Metric) -> list[str]:
    ns, name, dims = metric
    out = [ns, name]
    for k, v in dims:
        out += [k, v]
    return out


def _partial(term: str, quoted: bool) -> Predicate:
    if quoted:
        return lambda m: term in _fields(m)
    words = _split_words(term)

    def match(m: Metric) -> bool:
        have: set[str] = set()
        for f in _fields(m):
            have |= _split_words(f)
        return words <= have

    return match


def _exact(prop: str, value: str) -> Predicate:
    if prop == "MetricName":
        return lambda m: m[1] == value
    if prop == "Namespace":
        return lambda m: m[0] == value
    return lambda m: any(k == prop and v == value for k, v in m[2])


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.t = tokens
        self.i = 0

    def peek(self) -> tuple[str, str] | None:
        return self.t[self.i] if self.i < len(self.t) else None

    def or_(self) -> Predicate:
        parts = [self.and_()]
        while self.peek() == ("w", "OR"):
            self.i += 1
            parts.append(self.and_())
        return parts[0] if len(parts) == 1 else (lambda m: any(p(m) for p in parts))

    def and_(self) -> Predicate:
        parts = [self.not_()]
        while True:
            tok = self.peek()
            if tok is None or tok[0] == "rp" or tok == ("w", "OR"):
                break
            if tok == ("w", "AND"):
                self.i += 1
            parts.append(self.not_())
        return parts[0] if len(parts) == 1 else (lambda m: all(p(m) for p in parts))

    def not_(self) -> Predicate:
        if self.peek() == ("w", "NOT"):
            self.i += 1
            inner = self.not_()
            return lambda m: not inner(m)
        return self.atom()

    def atom(self) -> Predicate:
        tok = self.peek()
        if tok is None:
            raise SearchSyntaxError("Incomplete search expression")
        self.i += 1
        if tok[0] == "lp":
            inner = self.or_()
            if self.peek() != ("rp", ")"):
                raise SearchSyntaxError("Missing ')' in search expression")
            self.i += 1
            return inner
        if tok[0] in ("w", "q"):
            if self.peek() == ("eq", "="):
                self.i += 1
                value = self.peek()
                if value is None:
                    raise SearchSyntaxError(f"Missing value after {tok[1]}=")
                self.i += 1
                if value[0] == "lp":  # Name=(a OR b)
                    options = []
                    while self.peek() is not None and self.peek()[0] != "rp":
                        v = self.t[self.i]
                        self.i += 1
                        if v != ("w", "OR"):
                            options.append(v[1])
                    self.i += 1
                    preds = [_exact(tok[1], o) for o in options]
                    return lambda m: any(p(m) for p in preds)
                return _exact(tok[1], value[1])
            return _partial(tok[1], tok[0] == "q")
        raise SearchSyntaxError(f"Unexpected {tok[1]!r} in search expression")


def compile_search(text: str) -> Predicate:
    """The predicate a search expression stands for."""
    schema: Predicate | None = None
    rest = text
    m = re.match(r"\s*\{([^}]*)\}", text)
    if m:
        parts = [p.strip().strip('"') for p in _split_commas(m.group(1))]
        if not parts or not parts[0]:
            raise SearchSyntaxError("A schema needs a namespace: {Namespace, DimensionName, ...}")
        ns, names = parts[0], set(parts[1:])

        def schema(metric: Metric, ns: str = ns, names: set[str] = names) -> bool:
            return metric[0] == ns and {k for k, _ in metric[2]} == names

        rest = text[m.end():]
    tokens = _tokens(rest)
    pred: Predicate = (lambda _m: True)
    if tokens:
        parser = _Parser(tokens)
        pred = parser.or_()
        if parser.i != len(tokens):
            raise SearchSyntaxError("Unbalanced ')' in search expression")
    if schema is None:
        return pred
    return lambda metric: schema(metric) and pred(metric)


def _split_commas(text: str) -> list[str]:
    out, cur, quoted = [], "", False
    for ch in text:
        if ch == '"':
            quoted = not quoted
        if ch == "," and not quoted:
            out.append(cur)
            cur = ""
        else:
            cur += ch
    out.append(cur)
    return out


def search_label(metric: Metric) -> str:
    """The label CloudWatch gives a SEARCH result: the dimension values, else the name."""
    values = [v for _, v in metric[2]]
    return " ".join(values) if values else metric[1]


def describe(metric: Metric) -> dict[str, Any]:
    return {"Namespace": metric[0], "MetricName": metric[1], "Dimensions": [{"Name": k, "Value": v} for k, v in metric[2]]}
