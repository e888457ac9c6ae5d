"""Wildcard matching for the policy language: `*` (any run, possibly empty) and `?`
(exactly one character), with no other metacharacters.

A pattern is compiled once into a `Glob`, never into a regex built from user text (a
`.` or `(` in an ARN is just a character here). The pattern is given as tokens so that
literal `*`, `?` produced by the policy-variable escapes `${*}` / `${?}` stay literal:

    Glob.parse("arn:aws:s3:::bucket/*")         # `*` is a wildcard
    Glob(["a", STAR, "b", QMARK])                 # explicit tokens

Matching algorithm: split the pattern at `*` into pieces; the first piece must match at
the start, the last at the end, and the middle pieces are found left to right at their
leftmost position. Leftmost placement is always safe for `*`-only separators, so there
is no backtracking and the cost is linear in practice.

`ArnGlob` implements ArnLike/ArnEquals: the six colon-separated ARN parts are compared
one by one so that a wildcard never crosses a `:` (doc: reference_policies_elements_
condition_operators.html#Conditions_ARN). `ResourceGlob` implements the `Resource`
element: segment-wise as well, except that a `*` that ends one of the first five
segments may run past later colons (doc: reference_policies_elements_resource.html).
"""

from __future__ import annotations

from typing import Iterable, Sequence


class _Wild:
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return self.name


STAR = _Wild("STAR")
QMARK = _Wild("QMARK")

Token = "str | _Wild"


def tokenize(text: str) -> list:
    """Pattern text with `*` and `?` as wildcards -> tokens."""
    out: list = []
    buf: list[str] = []
    for ch in text:
        if ch == "*" or ch == "?":
            if buf:
                out.append("".join(buf))
                buf = []
            out.append(STAR if ch == "*" else QMARK)
        else:
            buf.append(ch)
    if buf:
        out.append("".join(buf))
    return out


def _piece_matches_at(piece: Sequence, value: str, pos: int) -> bool:
    # piece: tuple of single characters or None for `?`
    if pos + len(piece) > len(value):
        return False
    for i, ch in enumerate(piece):
        if ch is not None and value[pos + i] != ch:
            return False
    return True


def _piece_find(piece: Sequence, value: str, start: int) -> int:
    last = len(value) - len(piece)
    # anchor on the first literal character to skip quickly
    first_lit = next((i for i, ch in enumerate(piece) if ch is not None), None)
    pos = start
    while pos <= last:
        if first_lit is not None:
            found = value.find(piece[first_lit], pos + first_lit)
            if found < 0:
                return -1
            pos = found - first_lit
            if pos > last:
                return -1
        if _piece_matches_at(piece, value, pos):
            return pos
        pos += 1
    return -1


class Glob:
    """A compiled `*`/`?` pattern. `ignore_case` lowercases pattern and value."""

    __slots__ = ("kind", "literal", "pieces", "ignore_case", "text")

    def __init__(self, tokens: Iterable, ignore_case: bool = False) -> None:
        tokens = list(tokens)
        self.ignore_case = ignore_case
        self.text = "".join(t if isinstance(t, str) else ("*" if t is STAR else "?") for t in tokens)
        # pieces between stars; each piece is either a plain str or a tuple with None for `?`
        pieces: list = []
        cur: list = []
        has_q = False
        stars = 0
        for t in tokens:
            if t is STAR:
                pieces.append(tuple(cur) if has_q else "".join(cur))
                cur, has_q = [], False
                stars += 1
            elif t is QMARK:
                cur.append(None)
                has_q = True
            else:
                cur.extend(t.lower() if ignore_case else t)
        pieces.append(tuple(cur) if has_q else "".join(cur))
        self.pieces = pieces
        if stars == 0 and not has_q:
            self.kind = "exact"
            self.literal = pieces[0]
        elif stars == 1 and pieces == ["", ""]:
            self.kind = "any"
            self.literal = ""
        elif stars == 1 and isinstance(pieces[0], str) and pieces[1] == "":
            self.kind = "prefix"
            self.literal = pieces[0]
        else:
            self.kind = "general"
            self.literal = ""

    @classmethod
    def parse(cls, text: str, ignore_case: bool = False) -> "Glob":
        return cls(tokenize(text), ignore_case)

    @property
    def has_wildcard(self) -> bool:
        return self.kind != "exact"

    def match(self, value: str) -> bool:
        if self.ignore_case:
            value = value.lower()
        kind = self.kind
        if kind == "exact":
            return value == self.literal
        if kind == "any":
            return True
        if kind == "prefix":
            return value.startswith(self.literal)
        return _match_pieces(self.pieces, value)

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"Glob({self.text!r})"


def _match_pieces(pieces: list, value: str) -> bool:
    if len(pieces) == 1:  # no star: only `?`s
        piece = pieces[0]
        return len(piece) == len(value) and _piece_matches_at(piece, value, 0)
    first, last = pieces[0], pieces[-1]
    if len(first) + len(last) > len(value):
        return False
    if isinstance(first, str):
        if not value.startswith(first):
            return False
    elif not _piece_matches_at(first, value, 0):
        return False
    end = len(value) - len(last)
    if isinstance(last, str):
        if not value.endswith(last):
            return False
    elif not _piece_matches_at(last, value, end):
        return False
    pos = len(first)
    for piece in pieces[1:-1]:
        if not piece:
            continue
        if isinstance(piece, str):
            found = value.find(piece, pos, end)
        else:
            found = _piece_find(piece, value[:end], pos)
        if found < 0:
            return False
        pos = found + len(piece)
    return pos <= end


def _split_tokens(tokens: list, sep: str, maxsplit: int) -> list[list]:
    """Split a token list at literal `sep` characters (at most `maxsplit` times)."""
    parts: list[list] = [[]]
    for t in tokens:
        if isinstance(t, str) and sep in t and len(parts) <= maxsplit:
            chunks = t.split(sep, maxsplit - len(parts) + 1)
            for i, chunk in enumerate(chunks):
                if i:
                    parts.append([])
                if chunk:
                    parts[-1].append(chunk)
        else:
            parts[-1].append(t)
    return parts


class ArnGlob:
    """ArnLike / ArnEquals: six parts, each matched on its own, case-sensitive."""

    __slots__ = ("parts", "text")

    def __init__(self, tokens: Iterable) -> None:
        tokens = list(tokens)
        self.text = Glob(tokens).text
        split = _split_tokens(tokens, ":", 5)
        self.parts = [Glob(p) for p in split] if len(split) == 6 else None

    @classmethod
    def parse(cls, text: str) -> "ArnGlob":
        return cls(tokenize(text))

    def match(self, value: str) -> bool:
        if self.parts is None:
            return False
        vparts = value.split(":", 5)
        if len(vparts) != 6:
            return False
        for g, v in zip(self.parts, vparts):
            if not g.match(v):
                return False
        return True


class ResourceGlob:
    """The `Resource` / `NotResource` element matcher (case-sensitive)."""

    __slots__ = ("whole", "parts", "tail_from", "text")

    def __init__(self, tokens: Iterable) -> None:
        tokens = list(tokens)
        self.whole = Glob(tokens)
        self.text = self.whole.text
        split = _split_tokens(tokens, ":", 5)
        self.parts: list[Glob] | None = None
        self.tail_from = 6
        if self.whole.kind in ("exact", "any") or len(split) != 6:
            return  # "*" or a literal (or not ARN-shaped: plain glob)
        self.parts = []
        for i, p in enumerate(split):
            if i < 5 and p and p[-1] is STAR:
                # a trailing `*` in a leading segment may extend past later colons
                self.tail_from = i
                self.parts.append(Glob([t for part in split[i:] for t in (part + [":"])][:-1]))
                break
            self.parts.append(Glob(p))

    @classmethod
    def parse(cls, text: str) -> "ResourceGlob":
        return cls(tokenize(text))

    def match(self, value: str) -> bool:
        if self.parts is None:
            return self.whole.match(value)
        vparts = value.split(":", self.tail_from if self.tail_from < 6 else 5)
        if len(vparts) != len(self.parts):
            return False
        for g, v in zip(self.parts, vparts):
            if not g.match(v):
                return False
        return True
