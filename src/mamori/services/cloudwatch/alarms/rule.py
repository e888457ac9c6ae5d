"""The composite alarm AlarmRule grammar (API_PutCompositeAlarm.html):

    rule   := term (OR term)*          OR binds loosest
    term   := factor (AND factor)*
    factor := NOT factor | '(' rule ')' | TRUE | FALSE
            | (ALARM|OK|INSUFFICIENT_DATA) '(' name ')'   name: alarm name or ARN, quotes optional

parse(text) -> tree (tuples); children(tree) -> alarm names/ARNs; evaluate(tree, state_of)
with state_of(name) -> state or None (an unknown child is treated as not matching).
"""

from __future__ import annotations

import re
from typing import Callable

FUNCS = ("ALARM", "OK", "INSUFFICIENT_DATA")
_TOKEN = re.compile(r'\s*(?:(\()|(\))|("(?:[^"\\]|\\.)*")|([A-Za-z_]+)(?=\s*\()|(\S[^()\s]*))')


class RuleError(ValueError):
    pass


def _tokens(text: str) -> list[str]:
    out, pos = [], 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise RuleError("unexpected character")
        out.append(m.group(0).strip())
        pos = m.end()
    return out


def parse(text: str):
    toks = _tokens(text)
    pos = 0

    def peek() -> str | None:
        return toks[pos] if pos < len(toks) else None

    def take() -> str:
        nonlocal pos
        if pos >= len(toks):
            raise RuleError("unexpected end of rule")
        pos += 1
        return toks[pos - 1]

    def rule():
        node = term()
        while peek() == "OR":
            take()
            node = ("or", node, term())
        return node

    def term():
        node = factor()
        while peek() == "AND":
            take()
            node = ("and", node, factor())
        return node

    def factor():
        tok = take()
        if tok == "NOT":
            return ("not", factor())
        if tok == "(":
            node = rule()
            if take() != ")":
                raise RuleError("missing )")
            return node
        if tok in ("TRUE", "FALSE"):
            return ("const", tok == "TRUE")
        if tok in FUNCS:
            if take() != "(":
                raise RuleError(f"{tok} needs (")
            parts = []
            while peek() not in (")", None):
                parts.append(take())
            if take() != ")" or not parts:
                raise RuleError(f"{tok} needs an alarm name")
            name = " ".join(parts)
            if name.startswith('"') and name.endswith('"') and len(name) >= 2:
                name = name[1:-1].replace('\\"', '"')
            return ("state", tok, name)
        raise RuleError(f"unexpected {tok!r}")

    tree = rule()
    if pos != len(toks):
        raise RuleError(f"unexpected {toks[pos]!r}")
    return tree


def children(tree) -> list[str]:
    kind = tree[0]
    if kind == "state":
        return [tree[2]]
    if kind == "not":
        return children(tree[1])
    if kind in ("and", "or"):
        return children(tree[1]) + children(tree[2])
    return []


def evaluate(tree, state_of: Callable[[str], str | None]) -> bool:
    kind = tree[0]
    if kind == "const":
        return tree[1]
    if kind == "state":
        return state_of(tree[2]) == tree[1]
    if kind == "not":
        return not evaluate(tree[1], state_of)
    if kind == "and":
        return evaluate(tree[1], state_of) and evaluate(tree[2], state_of)
    return evaluate(tree[1], state_of) or evaluate(tree[2], state_of)
