"""Policy variables: `${aws:username}`, `${aws:PrincipalTag/team, 'default'}` and the
escapes `${*}`, `${?}`, `${$}`.

(doc: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html)

`parse_template(text)` turns policy text into a `Template`: a token list of literal
strings, wildcard tokens (`STAR`/`QMARK` from wildcards.py) and `Var`s. `Template.render`
substitutes request-context values and returns tokens ready for a `Glob`, or None when a
variable has no value and no default: the doc says such an entry then "matches nothing"
(Resource) / makes the condition false (StringEquals) / true (StringNotEquals), which
callers get by treating None as a value that matches no request value.

Only single-valued keys substitute; a list-valued key is unresolved (doc: "you can't use
multivalued keys as policy variables"). In policies without `"Version": "2012-10-17"`
`${...}` is literal text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from mamori.policy.wildcards import QMARK, STAR, tokenize

_ESCAPES = {"*": "*", "?": "?", "$": "$"}


@dataclass(frozen=True)
class Var:
    key: str  # lowercased context key
    default: str | None = None


@dataclass(frozen=True)
class Template:
    tokens: tuple  # str | STAR | QMARK | Var
    has_vars: bool

    def render(self, lookup: Callable[[str], Any]) -> list | None:
        """Substitute variables; None when one has no value and no default."""
        if not self.has_vars:
            return list(self.tokens)
        out: list = []
        for t in self.tokens:
            if isinstance(t, Var):
                value = lookup(t.key)
                if isinstance(value, bool):
                    value = "true" if value else "false"
                elif isinstance(value, (int, float)):
                    value = str(value)
                if value is None or value == "" or not isinstance(value, str):
                    if t.default is None:
                        return None
                    value = t.default
                # a substituted value is literal text: a `*` in a user name is not a wildcard
                out.append(value)
            else:
                out.append(t)
        return out

    def render_text(self, lookup: Callable[[str], Any]) -> str | None:
        tokens = self.render(lookup)
        if tokens is None:
            return None
        return "".join(t if isinstance(t, str) else ("*" if t is STAR else "?") for t in tokens)


def _parse_var(body: str) -> Any:
    """The inside of `${...}` -> literal str (escapes), Var, or None (not a variable)."""
    body = body.strip()
    if body in _ESCAPES:
        return _ESCAPES[body]
    default = None
    if "," in body:
        key, _, rest = body.partition(",")
        rest = rest.strip()
        if len(rest) >= 2 and rest[0] == "'" and rest[-1] == "'":
            default = rest[1:-1]
        else:
            return None
        body = key.strip()
    if not body or any(c in body for c in "${}'"):
        return None
    return Var(body.lower(), default)


def parse_template(text: str, *, variables: bool = True, wildcards: bool = True) -> Template:
    """Policy string -> Template. `wildcards=False` keeps `*`/`?` literal (Equals
    operators), `variables=False` keeps `${...}` literal (2008-10-17 policies and
    operators that take no variables)."""
    tokens: list = []

    def add_text(s: str) -> None:
        if not s:
            return
        if wildcards:
            tokens.extend(tokenize(s))
        else:
            tokens.append(s)

    if not variables or "${" not in text:
        add_text(text)
        return Template(tuple(_merge(tokens)), False)
    pos = 0
    has_vars = False
    while True:
        start = text.find("${", pos)
        if start < 0:
            add_text(text[pos:])
            break
        end = text.find("}", start + 2)
        if end < 0:
            add_text(text[pos:])
            break
        add_text(text[pos:start])
        parsed = _parse_var(text[start + 2 : end])
        if parsed is None:
            add_text(text[start : end + 1])
        elif isinstance(parsed, str):
            tokens.append(parsed)  # escaped character: always literal
        else:
            tokens.append(parsed)
            has_vars = True
        pos = end + 1
    return Template(tuple(_merge(tokens)), has_vars)


def _merge(tokens: list) -> list:
    out: list = []
    for t in tokens:
        if isinstance(t, str) and out and isinstance(out[-1], str):
            out[-1] = out[-1] + t
        else:
            out.append(t)
    return out


def template_text(tokens: list) -> str:
    return "".join(t if isinstance(t, str) else ("*" if t is STAR else "?") for t in tokens)


__all__ = ["Template", "Var", "parse_template", "template_text", "STAR", "QMARK"]
