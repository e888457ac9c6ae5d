"""Tokens of a Logs Insights query, each with its offset for error messages."""

from __future__ import annotations

import re
from dataclasses import dataclass


class MalformedQuery(Exception):
    """A query that does not parse; the message names the position."""


@dataclass
class Token:
    kind: str  # ident, number, duration, string, regex, op, eof
    value: str
    pos: int


_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|sec|m|min|h|hr|d|w|mo|q|y)\b")
_NUMBER = re.compile(r"\d+(?:\.\d+)?(?:[eE][+-]?\d+)?")
_IDENT = re.compile(r"@?[A-Za-z_][A-Za-z0-9_.@$]*|@[A-Za-z0-9_.]*")
_BEFORE_REGEX = {"like", "filter", "and", "or", "not", "in", "by", "parse", "matches"}
_OPS = ("!=", "<=", ">=", "=~", "==", "=", "<", ">", "+", "-", "*", "/", "%", "^", ",", "(", ")", "|", "[", "]", ":")


def tokenize(text: str) -> list[Token]:
    out: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
            continue
        if c == "#":  # comment to end of line
            while i < n and text[i] != "\n":
                i += 1
            continue
        if c in "\"'":
            j, buf = i + 1, []
            while j < n and text[j] != c:
                if text[j] == "\\" and j + 1 < n:
                    buf.append(text[j + 1])
                    j += 2
                    continue
                buf.append(text[j])
                j += 1
            if j >= n:
                raise MalformedQuery(f"unterminated string starting at position {i}")
            out.append(Token("string", "".join(buf), i))
            i = j + 1
            continue
        if c == "`":
            j = text.find("`", i + 1)
            if j < 0:
                raise MalformedQuery(f"unterminated quoted field name starting at position {i}")
            out.append(Token("ident", text[i + 1:j], i))
            i = j + 1
            continue
        if c == "/" and _regex_here(out):
            j = i + 1
            while j < n and text[j] != "/":
                j += 2 if text[j] == "\\" else 1
            if j >= n:
                raise MalformedQuery(f"unterminated regular expression starting at position {i}")
            body = text[i + 1:j].replace("\\/", "/")
            k = j + 1
            while k < n and text[k].isalpha():
                k += 1
            out.append(Token("regex", body + "\0" + text[j + 1:k], i))
            i = k
            continue
        if c.isdigit():
            m = _DURATION.match(text, i)
            if m:
                out.append(Token("duration", m.group(0), i))
                i = m.end()
                continue
            m = _NUMBER.match(text, i)
            out.append(Token("number", m.group(0), i))
            i = m.end()
            continue
        m = _IDENT.match(text, i)
        if m and m.group(0):
            word = m.group(0)
            # a trailing '-' belongs to an operator, not to the name
            word = word.rstrip("-") or word
            out.append(Token("ident", word, i))
            i += len(word)
            continue
        for op in _OPS:
            if text.startswith(op, i):
                out.append(Token("op", op, i))
                i += len(op)
                break
        else:
            raise MalformedQuery(f"unexpected character '{c}' at position {i}")
    out.append(Token("eof", "", n))
    return out


def _regex_here(out: list[Token]) -> bool:
    """A '/' opens a regular expression unless it follows a value (then it divides)."""
    if not out:
        return True
    prev = out[-1]
    if prev.kind == "op":
        return prev.value not in (")", "]")
    if prev.kind == "ident" and prev.value.lower() in _BEFORE_REGEX:
        return True
    return len(out) >= 2 and out[-2].kind == "ident" and out[-2].value.lower() == "parse"
