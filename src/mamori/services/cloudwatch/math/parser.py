"""The metric math language: tokens and a recursive-descent parser to a small AST.

Grammar (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-metric-math.html#metric-math-syntax):

    expr    := or
    or      := and (('OR' | '||') and)*
    and     := cmp (('AND' | '&&') cmp)*
    cmp     := add (('==' | '!=' | '<=' | '>=' | '<' | '>') add)?
    add     := mul (('+' | '-') mul)*
    mul     := unary (('*' | '/') unary)*
    unary   := '-' unary | power
    power   := primary ('^' unary)?
    primary := NUMBER | STRING | ID | NAME '(' [expr (',' expr)*] ')' | '(' expr ')'
             | '[' expr (',' expr)* ']'

Function names are upper case; ids start with a lower-case letter. Keywords used as
arguments (REPEAT, LINEAR, ASC, DESC, SUM, AVG, MIN, MAX) parse as `Name` nodes.
AST nodes are tuples: ('num', x) ('str', s) ('id', name) ('name', NAME)
('call', NAME, [args]) ('neg', e) ('bin', op, a, b) ('array', [items]).
"""

from __future__ import annotations

import re
from typing import Any

Node = tuple[Any, ...]


class MathSyntaxError(ValueError):
    pass


_TOKEN = re.compile(
    r"\s*(?:"
    r"(?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)"
    r"|(?P<str>\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*')"
    r"|(?P<word>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<op>==|!=|<=|>=|&&|\|\||[-+*/^<>(),\[\]])"
    r")"
)


def tokenize(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise MathSyntaxError(f"Unexpected character at position {pos + 1}: {text[pos:pos + 10]!r}")
        kind = m.lastgroup or ""
        value = m.group(kind)
        if kind == "str":
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        out.append((kind, value))
        pos = m.end()
    out.append(("end", ""))
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.i = 0

    def peek(self) -> tuple[str, str]:
        return self.tokens[self.i]

    def take(self) -> tuple[str, str]:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def expect(self, op: str) -> None:
        kind, value = self.take()
        if kind != "op" or value != op:
            raise MathSyntaxError(f"Expected '{op}' but found '{value or 'end of expression'}'")

    def at(self, *ops: str) -> str | None:
        kind, value = self.peek()
        if (kind == "op" and value in ops) or (kind == "word" and value in ops):
            return value
        return None

    def parse(self) -> Node:
        node = self.or_()
        kind, value = self.peek()
        if kind != "end":
            raise MathSyntaxError(f"Unexpected '{value}' after the end of the expression")
        return node

    def or_(self) -> Node:
        node = self.and_()
        while self.at("OR", "||"):
            self.take()
            node = ("bin", "OR", node, self.and_())
        return node

    def and_(self) -> Node:
        node = self.cmp()
        while self.at("AND", "&&"):
            self.take()
            node = ("bin", "AND", node, self.cmp())
        return node

    def cmp(self) -> Node:
        node = self.add()
        op = self.at("==", "!=", "<=", ">=", "<", ">")
        if op:
            self.take()
            node = ("bin", op, node, self.add())
        return node

    def add(self) -> Node:
        node = self.mul()
        while (op := self.at("+", "-")):
            self.take()
            node = ("bin", op, node, self.mul())
        return node

    def mul(self) -> Node:
        node = self.unary()
        while (op := self.at("*", "/")):
            self.take()
            node = ("bin", op, node, self.unary())
        return node

    def unary(self) -> Node:
        if self.at("-"):
            self.take()
            return ("neg", self.unary())
        if self.at("+"):
            self.take()
            return self.unary()
        return self.power()

    def power(self) -> Node:
        node = self.primary()
        if self.at("^"):
            self.take()
            node = ("bin", "^", node, self.unary())
        return node

    def primary(self) -> Node:
        kind, value = self.take()
        if kind == "num":
            return ("num", float(value))
        if kind == "str":
            return ("str", value)
        if kind == "word":
            if self.at("("):
                self.take()
                args: list[Node] = []
                if not self.at(")"):
                    args.append(self.or_())
                    while self.at(","):
                        self.take()
                        args.append(self.or_())
                self.expect(")")
                return ("call", value, args)
            if value[0].islower():
                return ("id", value)
            return ("name", value)
        if kind == "op" and value == "(":
            node = self.or_()
            self.expect(")")
            return node
        if kind == "op" and value == "[":
            items = [self.or_()]
            while self.at(","):
                self.take()
                items.append(self.or_())
            self.expect("]")
            return ("array", items)
        raise MathSyntaxError(f"Unexpected '{value or 'end of expression'}'")


def parse(text: str) -> Node:
    if not text or not text.strip():
        raise MathSyntaxError("The expression is empty")
    return _Parser(text).parse()


def references(node: Node) -> set[str]:
    """Ids an expression refers to."""
    if node[0] == "id":
        return {node[1]}
    out: set[str] = set()
    for part in node[1:]:
        if isinstance(part, tuple):
            out |= references(part)
        elif isinstance(part, list):
            for item in part:
                out |= references(item)
    return out


def calls(node: Node) -> set[str]:
    out: set[str] = set()
    if node[0] == "call":
        out.add(node[1])
    for part in node[1:]:
        if isinstance(part, tuple):
            out |= calls(part)
        elif isinstance(part, list):
            for item in part:
                out |= calls(item)
    return out
