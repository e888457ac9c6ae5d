"""Logs Insights parser: tokens -> a list of commands (AST dataclasses).

Grammar (informal):
  query    := [SOURCE logGroups(key: value, ...) '|'] command ('|' command)*
  command  := fields item,* | display name,* | filter expr | stats agg,* [by item,*]
            | sort expr [asc|desc],* | limit N | parse expr (glob-string | /regex/) [as name,*]
            | dedup name,* | unnest expr into name | unmask [name] | pattern expr
            | diff [previousDay|previousWeek|previousMonth] | anomaly
            | filterIndex name (= value | in [v,*])
  item     := expr [as name]
  expr     := or-expression with not, comparisons (= != < <= > >= like =~ in), + - * / % ^
Commands AWS has that this engine does not run are refused by name (REFUSED), with the
reason, so that a query never silently returns different rows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from mamori.services.logs.insights.lexer import MalformedQuery, Token, tokenize

# Commands of the current Logs Insights language that mamori refuses, and why.
# https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_QuerySyntax.html
REFUSED = {
    "addtotals": "it is not implemented yet",
    "lookup": "lookup tables are not implemented yet",
    "join": "it is not implemented yet",
    "logcompare": "it is not implemented yet",
}
COMMANDS = {"fields", "display", "filter", "stats", "sort", "limit", "parse", "dedup", "unnest", "unmask",
            "pattern", "diff", "anomaly", "filterindex", "source"} | set(REFUSED)
MAX_LIMIT = 100_000  # StartQuery's limit and the limit command (EventsLimitStartQuery: 1..100,000)
DIFF_PERIODS = {"previousday": "previousDay", "previousweek": "previousWeek", "previousmonth": "previousMonth"}
SOURCE_KEYS = {"nameprefix": "namePrefix", "accountidentifier": "accountIdentifiers",
               "accountidentifiers": "accountIdentifiers", "class": "class", "loggroupclass": "class"}
_UNITS_MS = {"ms": 1, "s": 1000, "sec": 1000, "m": 60_000, "min": 60_000, "h": 3_600_000, "hr": 3_600_000,
             "d": 86_400_000, "w": 604_800_000}


@dataclass
class Field:
    name: str


@dataclass
class Lit:
    value: Any  # str or float


@dataclass
class Regex:
    pattern: str
    flags: str


@dataclass
class Duration:
    ms: int
    text: str


@dataclass
class Call:
    name: str
    args: list
    star: bool = False


@dataclass
class Unary:
    op: str
    operand: Any


@dataclass
class Binary:
    op: str
    left: Any
    right: Any


@dataclass
class InList:
    operand: Any
    items: list
    negated: bool


@dataclass
class Item:
    expr: Any
    alias: str | None
    text: str

    @property
    def name(self) -> str:
        return self.alias or self.text


@dataclass
class Command:
    kind: str
    items: list = field(default_factory=list)   # fields/display/stats aggs/dedup
    by: list = field(default_factory=list)      # stats groups
    expr: Any = None                            # filter condition, parse source
    keys: list = field(default_factory=list)    # sort: (expr, descending)
    number: int = 0                             # limit
    pattern: Any = None                         # parse: Lit (glob) or Regex
    names: list = field(default_factory=list)   # parse: names after `as`; unnest: [into]
    period: str = ""                            # diff: "" (previous period) or previousDay/Week/Month
    source: dict = field(default_factory=dict)  # SOURCE: namePrefix / accountIdentifiers / class
    pos: int = 0


class Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0

    # -- token helpers -----------------------------------------------------------------
    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def fail(self, what: str, tok: Token | None = None) -> MalformedQuery:
        tok = tok or self.tok
        found = "end of query" if tok.kind == "eof" else f"'{tok.value.split(chr(0))[0]}'"
        return MalformedQuery(f"{what} at position {tok.pos}, found {found}")

    def next(self) -> Token:
        tok = self.tok
        self.i += 1
        return tok

    def is_op(self, *ops: str) -> bool:
        return self.tok.kind == "op" and self.tok.value in ops

    def is_word(self, *words: str) -> bool:
        return self.tok.kind == "ident" and self.tok.value.lower() in words

    def expect_op(self, op: str) -> Token:
        if not self.is_op(op):
            raise self.fail(f"expected '{op}'")
        return self.next()

    def name(self) -> str:
        if self.tok.kind != "ident":
            raise self.fail("expected a field name")
        return self.next().value

    # -- query -------------------------------------------------------------------------
    def parse(self) -> list[Command]:
        if self.tok.kind == "eof":
            raise MalformedQuery("the query is empty at position 0")
        commands = [self.command()]
        while self.is_op("|"):
            self.next()
            if self.is_word("source"):
                raise MalformedQuery(f"SOURCE at position {self.tok.pos} must be the first command of the query")
            commands.append(self.command())
        if self.tok.kind != "eof":
            raise self.fail("expected '|' or end of query")
        return commands

    def command(self) -> Command:
        tok = self.tok
        if tok.kind != "ident" or tok.value.lower() not in COMMANDS:
            raise self.fail("expected a command (fields, display, filter, stats, sort, limit, parse, dedup, "
                            "unnest, unmask, pattern, diff, anomaly, filterIndex)")
        kind = tok.value.lower()
        if kind in REFUSED:
            raise MalformedQuery(f"the command '{tok.value}' at position {tok.pos} is not supported by mamori: "
                                 f"{REFUSED[kind]}")
        self.next()
        cmd = Command(kind, pos=tok.pos)
        if kind == "source":
            cmd.source = self.source(tok)
        elif kind == "unnest":
            cmd.expr = self.additive()
            if not self.is_word("into"):
                raise self.fail("expected 'into' after the field of unnest")
            self.next()
            cmd.names = [self.name()]
        elif kind == "unmask":
            cmd.names = [self.name()] if self.tok.kind == "ident" else ["@message"]
        elif kind == "pattern":
            cmd.expr = self.additive()
        elif kind == "diff":
            if self.tok.kind == "ident" and self.tok.value.lower() in DIFF_PERIODS:
                cmd.period = DIFF_PERIODS[self.next().value.lower()]
            elif self.tok.kind == "ident":
                raise self.fail("expected previousDay, previousWeek or previousMonth after diff")
        elif kind == "filterindex":
            at = self.tok
            cmd.expr = self.comparison()
            e = cmd.expr
            ok = (isinstance(e, Binary) and e.op == "=" and isinstance(e.left, Field) and isinstance(e.right, Lit)) \
                or (isinstance(e, InList) and not e.negated and isinstance(e.operand, Field)
                    and all(isinstance(i, Lit) for i in e.items))
            if not ok:
                raise MalformedQuery(f"filterIndex at position {at.pos} takes 'field = value' or "
                                     "'field in [value, ...]'")
        if kind == "fields":
            cmd.items = self.items()
        elif kind in ("display", "dedup"):
            cmd.items = [self.name()]
            while self.is_op(","):
                self.next()
                cmd.items.append(self.name())
        elif kind == "filter":
            cmd.expr = self.expr()
        elif kind == "stats":
            cmd.items = self.items()
            if self.is_word("by"):
                self.next()
                cmd.by = self.items()
        elif kind == "sort":
            cmd.keys = [self.sort_key()]
            while self.is_op(","):
                self.next()
                cmd.keys.append(self.sort_key())
        elif kind == "limit":
            if self.tok.kind != "number" or "." in self.tok.value:
                raise self.fail("expected a whole number after limit")
            cmd.number = int(self.next().value)
            if not 1 <= cmd.number <= MAX_LIMIT:
                raise MalformedQuery(f"limit at position {tok.pos} must be between 1 and {MAX_LIMIT}")
        elif kind == "parse":
            cmd.expr = self.primary()
            if self.tok.kind == "string":
                cmd.pattern = Lit(self.next().value)
                if not self.is_word("as"):
                    raise self.fail("expected 'as' after the glob pattern of parse")
            elif self.tok.kind == "regex":
                body, flags = self.next().value.split("\0")
                cmd.pattern = Regex(body, flags)
            else:
                raise self.fail("expected a glob string or /regex/ in parse")
            if self.is_word("as"):
                self.next()
                cmd.names = [self.name()]
                while self.is_op(","):
                    self.next()
                    cmd.names.append(self.name())
        return cmd

    def source(self, tok: Token) -> dict:
        """SOURCE logGroups(namePrefix: [...], accountIdentifier: [...], class: [...]).
        https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_QuerySyntax-Source.html"""
        if tok.pos != self.tokens[0].pos:
            raise MalformedQuery(f"SOURCE at position {tok.pos} must be the first command of the query")
        if not self.is_word("loggroups"):
            raise self.fail("expected logGroups(...) after SOURCE")
        self.next()
        self.expect_op("(")
        out: dict = {}
        while not self.is_op(")"):
            if out:
                self.expect_op(",")
            key_tok = self.tok
            if key_tok.kind != "ident" or key_tok.value.lower() not in SOURCE_KEYS:
                raise self.fail("expected namePrefix, accountIdentifier or class in logGroups()")
            self.next()
            key = SOURCE_KEYS[key_tok.value.lower()]
            if key in out:
                raise MalformedQuery(f"'{key_tok.value}' at position {key_tok.pos} is given twice")
            self.expect_op(":")
            values = []
            if self.is_op("["):
                self.next()
                while not self.is_op("]"):
                    if values:
                        self.expect_op(",")
                    values.append(self.source_value())
                self.next()
            else:
                values.append(self.source_value())
            out[key] = values
        self.next()
        limits = {"namePrefix": 5, "accountIdentifiers": 20, "class": 1}
        for key, values in out.items():
            if not values or len(values) > limits[key]:
                raise MalformedQuery(f"SOURCE at position {tok.pos}: {key} takes 1 to {limits[key]} values")
        for cls in out.get("class", []):
            if cls.upper() not in ("STANDARD", "INFREQUENT_ACCESS"):
                raise MalformedQuery(f"SOURCE at position {tok.pos}: unknown log group class '{cls}' "
                                     "(STANDARD or INFREQUENT_ACCESS)")
        return out

    def source_value(self) -> str:
        if self.tok.kind not in ("string", "ident", "number"):
            raise self.fail("expected a quoted value")
        return self.next().value

    def items(self) -> list[Item]:
        out = [self.item()]
        while self.is_op(","):
            self.next()
            out.append(self.item())
        return out

    def item(self) -> Item:
        start = self.tok.pos
        expr = self.expr()
        end = self.tok.pos
        text = " ".join(self.text[start:end].split())
        alias = None
        if self.is_word("as"):
            self.next()
            alias = self.name()
        return Item(expr, alias, text)

    def sort_key(self) -> tuple[Any, bool]:
        expr = self.expr()
        desc = False
        if self.is_word("asc", "desc"):
            desc = self.next().value.lower() == "desc"
        return expr, desc

    # -- expressions -------------------------------------------------------------------
    def expr(self) -> Any:
        left = self.and_expr()
        while self.is_word("or"):
            self.next()
            left = Binary("or", left, self.and_expr())
        return left

    def and_expr(self) -> Any:
        left = self.not_expr()
        while self.is_word("and"):
            self.next()
            left = Binary("and", left, self.not_expr())
        return left

    def not_expr(self) -> Any:
        if self.is_word("not"):
            self.next()
            return Unary("not", self.not_expr())
        return self.comparison()

    def comparison(self) -> Any:
        left = self.additive()
        if self.is_op("=", "==", "!=", "<", "<=", ">", ">=", "=~"):
            op = self.next().value
            return Binary("=" if op == "==" else op, left, self.additive())
        negated = False
        if self.is_word("not"):
            save = self.i
            self.next()
            if not self.is_word("like", "in"):
                self.i = save
                return left
            negated = True
        if self.is_word("like"):
            self.next()
            right = self.additive()
            node = Binary("like", left, right)
            return Unary("not", node) if negated else node
        if self.is_word("in"):
            self.next()
            self.expect_op("[")
            items = [self.additive()]
            while self.is_op(","):
                self.next()
                items.append(self.additive())
            self.expect_op("]")
            return InList(left, items, negated)
        return left

    def additive(self) -> Any:
        left = self.multiplicative()
        while self.is_op("+", "-"):
            op = self.next().value
            left = Binary(op, left, self.multiplicative())
        return left

    def multiplicative(self) -> Any:
        left = self.power()
        while self.is_op("*", "/", "%"):
            op = self.next().value
            left = Binary(op, left, self.power())
        return left

    def power(self) -> Any:
        left = self.unary()
        if self.is_op("^"):
            self.next()
            return Binary("^", left, self.power())
        return left

    def unary(self) -> Any:
        if self.is_op("-"):
            self.next()
            return Unary("-", self.unary())
        return self.primary()

    def primary(self) -> Any:
        tok = self.tok
        if tok.kind == "number":
            self.next()
            return Lit(float(tok.value))
        if tok.kind == "string":
            self.next()
            return Lit(tok.value)
        if tok.kind == "regex":
            self.next()
            body, flags = tok.value.split("\0")
            bad = set(flags) - {"i"}
            if bad:
                raise MalformedQuery(f"unsupported regular expression flag '{sorted(bad)[0]}' at position {tok.pos}")
            try:
                re.compile(body.replace("(?<", "(?P<").replace("(?P<=", "(?<=").replace("(?P<!", "(?<!"))
            except re.error as exc:
                raise MalformedQuery(f"invalid regular expression at position {tok.pos}: {exc}") from None
            return Regex(body, flags)
        if tok.kind == "duration":
            self.next()
            m = re.fullmatch(r"(\d+(?:\.\d+)?)([a-z]+)", tok.value)
            unit = m.group(2)
            if unit not in _UNITS_MS:
                raise MalformedQuery(f"the time unit '{unit}' at position {tok.pos} is not supported by mamori yet")
            return Duration(int(float(m.group(1)) * _UNITS_MS[unit]), tok.value)
        if self.is_op("("):
            self.next()
            inner = self.expr()
            self.expect_op(")")
            return inner
        if tok.kind == "ident":
            self.next()
            if self.is_op("("):
                self.next()
                if self.is_op("*"):
                    self.next()
                    self.expect_op(")")
                    return Call(tok.value, [], star=True)
                args = []
                if not self.is_op(")"):
                    args.append(self.expr())
                    while self.is_op(","):
                        self.next()
                        args.append(self.expr())
                self.expect_op(")")
                return Call(tok.value, args)
            return Field(tok.value)
        raise self.fail("expected a value, field or function")


def parse(text: str) -> list[Command]:
    return Parser(text).parse()
