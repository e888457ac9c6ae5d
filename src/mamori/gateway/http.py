"""The HTTP request and response as the pipeline sees them.

Built once from the ASGI scope; nothing below the gateway sees ASGI. Header names are
kept lower-case (HTTP/1.1 names are case-insensitive; the ASGI server already lowers
them). Repeated headers are kept in `header_list` and joined with "," in `headers`,
which is how SigV4 canonicalizes them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import unquote


def parse_query(raw_query: str) -> dict[str, list[str]]:
    """Query string -> {name: [values]}, keeping blank values (`?acl` -> {'acl': ['']}).

    `+` is a space in form encoding but not in a URL query per RFC 3986; AWS SDKs encode
    spaces as %20 in queries, and form bodies are parsed with `parse_form`."""
    out: dict[str, list[str]] = {}
    if not raw_query:
        return out
    for part in raw_query.split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        out.setdefault(unquote(name), []).append(unquote(value))
    return out


def parse_form(body: bytes) -> dict[str, str]:
    """application/x-www-form-urlencoded body -> {name: value} (last one wins)."""
    out: dict[str, str] = {}
    if not body:
        return out
    text = body.decode("utf-8", errors="replace")
    for part in text.split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        out[unquote(name.replace("+", " "))] = unquote(value.replace("+", " "))
    return out


@dataclass
class HttpRequest:
    method: str
    raw_path: str  # as sent, percent-encoded, without the query string
    raw_query: str  # as sent, without '?'
    header_list: list[tuple[str, str]]  # lower-case names, in order
    body: bytes = b""
    source_ip: str = "127.0.0.1"
    scheme: str = "http"
    headers: dict[str, str] = field(init=False)
    _query: dict[str, list[str]] | None = field(default=None, init=False, repr=False)
    _form: dict[str, str] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        headers: dict[str, str] = {}
        for name, value in self.header_list:
            if name in headers:
                headers[name] = headers[name] + "," + value
            else:
                headers[name] = value
        self.headers = headers

    @property
    def path(self) -> str:
        """The decoded path."""
        return unquote(self.raw_path)

    @property
    def query(self) -> dict[str, list[str]]:
        if self._query is None:
            self._query = parse_query(self.raw_query)
        return self._query

    def query_value(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";", 1)[0].strip().lower()

    @property
    def form(self) -> dict[str, str]:
        """The form body if the request has one (query / ec2 protocols), else {}.

        Query-protocol requests may also carry their parameters in the query string
        (GET, or the AWS CLI's presigned-style calls); those are merged, body wins."""
        if self._form is None:
            form: dict[str, str] = {}
            if self.method in ("GET", "DELETE") or not self.body:
                for k, v in self.query.items():
                    form[k] = v[0] if v else ""
            if self.content_type == "application/x-www-form-urlencoded":
                form.update(parse_form(self.body))
            self._form = form
        return self._form

    def with_body(self, body: bytes) -> "HttpRequest":
        """A copy with another body (after SigV4 strips aws-chunked framing)."""
        clone = HttpRequest(
            self.method, self.raw_path, self.raw_query, self.header_list, body,
            self.source_ip, self.scheme,
        )
        return clone


@dataclass
class HttpResponse:
    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return None

    def set_header(self, name: str, value: str) -> None:
        lname = name.lower()
        self.headers = [(k, v) for k, v in self.headers if k.lower() != lname]
        self.headers.append((name, value))
