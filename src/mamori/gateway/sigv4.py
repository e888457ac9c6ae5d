"""AWS Signature Version 4, the server side, named after the steps of the spec.

https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html

    canonical_request -> string_to_sign -> signing_key -> signature

Pure functions of their inputs; no I/O, no clock, no credential lookup (that is
`authenticate`). Derived signing keys are cached per (secret, date, region, service):
they change once a day per credential, and the four HMACs are most of the cost.
"""

from __future__ import annotations

import hashlib
import hmac
from functools import lru_cache
from urllib.parse import quote, unquote

ALGORITHM = "AWS4-HMAC-SHA256"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()


@lru_cache(maxsize=4096)
def signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    k_date = _hmac(("AWS4" + secret).encode("utf-8"), date)
    k_region = _hmac(k_date, region)
    k_service = _hmac(k_region, service)
    return _hmac(k_service, "aws4_request")


def signature(key: bytes, string_to_sign: str) -> str:
    return hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def canonical_uri(raw_path: str, *, s3: bool) -> str:
    """S3 signs the path as sent. Every other service signs the normalized path (RFC
    3986 dot segments removed, and - as AWS requires - empty segments too), URI-encoded
    once more: the already-encoded path is encoded again ("double encoding")."""
    path = raw_path or "/"
    if s3:
        return path
    segments: list[str] = []
    for segment in path.split("/"):
        if segment == "..":
            if segments:
                segments.pop()
        elif segment and segment != ".":
            segments.append(segment)
    normalized = "/" + "/".join(segments)
    if path.endswith("/") and segments:
        normalized += "/"
    return quote(normalized, safe="/~")


def _encode(value: str) -> str:
    return quote(value, safe="-_.~")


def canonical_query(raw_query: str, *, exclude: str | None = None) -> str:
    """Each name and value decoded and re-encoded the SigV4 way, sorted by name then value."""
    if not raw_query:
        return ""
    pairs = []
    for part in raw_query.split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        name = unquote(name)
        if exclude is not None and name == exclude:
            continue
        pairs.append((_encode(name), _encode(unquote(value))))
    pairs.sort()
    return "&".join(f"{n}={v}" for n, v in pairs)


def canonical_headers(header_list: list[tuple[str, str]], signed: list[str]) -> str:
    """`name:value\\n` for each signed header, values trimmed with inner runs of spaces
    collapsed, repeated headers joined with ','."""
    values: dict[str, list[str]] = {}
    wanted = set(signed)
    for name, value in header_list:
        if name in wanted:
            values.setdefault(name, []).append(" ".join(value.split()))
    return "".join(f"{name}:{','.join(values.get(name, []))}\n" for name in signed)


def canonical_request(
    method: str,
    uri: str,
    query: str,
    headers: str,
    signed_headers: str,
    payload_hash: str,
) -> str:
    return "\n".join((method.upper(), uri, query, headers, signed_headers, payload_hash))


def string_to_sign(timestamp: str, scope: str, canonical: str) -> str:
    return "\n".join((ALGORITHM, timestamp, scope, sha256_hex(canonical.encode("utf-8"))))


def chunk_string_to_sign(timestamp: str, scope: str, previous_signature: str, chunk: bytes) -> str:
    """String to sign of one aws-chunked chunk (STREAMING-AWS4-HMAC-SHA256-PAYLOAD).
    https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html"""
    return "\n".join(
        (ALGORITHM + "-PAYLOAD", timestamp, scope, previous_signature, EMPTY_SHA256, sha256_hex(chunk))
    )


def trailer_string_to_sign(timestamp: str, scope: str, previous_signature: str, trailer: bytes) -> str:
    """String to sign of the trailing headers (…-PAYLOAD-TRAILER).
    https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming-trailers.html"""
    return "\n".join((ALGORITHM + "-TRAILER", timestamp, scope, previous_signature, sha256_hex(trailer)))


def same(a: str, b: str) -> bool:
    """Constant-time comparison of two signatures."""
    return hmac.compare_digest(a.encode("ascii", "replace"), b.encode("ascii", "replace"))
