"""The authenticate step: who signed this request, or nobody. Fail closed.

`signing_info` reads the credential scope without verifying anything (the router uses
the scope's service name). `authenticate` verifies the SigV4 signature of the
Authorization header or of a presigned query string, the payload hash, aws-chunked
chunk signatures, the request time against the real wall clock (15 minutes), session
tokens and credential expiry (mamori clock), and returns the principal. A request with
no authentication at all is anonymous (principal None): the pipeline decides whether
the operation allows that (S3, STS's web-identity calls) or answers
MissingAuthenticationToken.

Error codes by protocol family, as AWS answers them (S3 | query services | JSON
services | EC2):

    unknown or inactive key  InvalidAccessKeyId 403 | InvalidClientTokenId 403 |
                             UnrecognizedClientException 400 | AuthFailure 401
    wrong signature          SignatureDoesNotMatch 403 | SignatureDoesNotMatch 403 |
                             InvalidSignatureException 400 | AuthFailure 401
    malformed authorization  AuthorizationHeaderMalformed 400 | IncompleteSignature 403 |
                             IncompleteSignatureException 400 | AuthFailure 401
    no authentication        AccessDenied 403 | MissingAuthenticationToken 403 |
                             MissingAuthenticationTokenException 403 | AuthFailure 401
    session token expired    ExpiredToken 400 | ExpiredToken 403 |
                             ExpiredTokenException 400 | RequestExpired 400
    request time skewed      RequestTimeTooSkewed 403 | SignatureDoesNotMatch 403 |
                             InvalidSignatureException 400 | RequestExpired 400

Nothing secret (secret key, signing key, session token) ever goes into a message.
"""

from __future__ import annotations

import calendar
import hashlib
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Callable

from mamori.errors import AwsError
from mamori.gateway import sigv4
from mamori.gateway.context import Principal
from mamori.gateway.http import HttpRequest
from mamori.store.records import Credential

_AUTH_HEADER = re.compile(
    r"^AWS4-HMAC-SHA256\s+Credential=(?P<credential>[^,\s]+)\s*,\s*"
    r"SignedHeaders=(?P<signed>[^,\s]+)\s*,\s*Signature=(?P<signature>[0-9a-f]{64})\s*$"
)
_TIMESTAMP = "%Y%m%dT%H%M%SZ"
STREAMING_SIGNED = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
STREAMING_SIGNED_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
STREAMING_UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"

# (S3, query, json, ec2) -> (code, status, message)
_ERRORS: dict[str, tuple[tuple[str, int], tuple[str, int], tuple[str, int], tuple[str, int], str]] = {
    "unknown_key": (
        ("InvalidAccessKeyId", 403), ("InvalidClientTokenId", 403), ("UnrecognizedClientException", 400),
        ("AuthFailure", 401), "The security token included in the request is invalid.",
    ),
    "bad_signature": (
        ("SignatureDoesNotMatch", 403), ("SignatureDoesNotMatch", 403), ("InvalidSignatureException", 400),
        ("AuthFailure", 401),
        "The request signature we calculated does not match the signature you provided. "
        "Check your AWS Secret Access Key and signing method. Consult the service documentation for details.",
    ),
    "malformed": (
        ("AuthorizationHeaderMalformed", 400), ("IncompleteSignature", 403), ("IncompleteSignatureException", 400),
        ("AuthFailure", 401), "",
    ),
    "missing": (
        ("AccessDenied", 403), ("MissingAuthenticationToken", 403), ("MissingAuthenticationTokenException", 403),
        ("AuthFailure", 401), "Request is missing Authentication Token",
    ),
    "expired_token": (
        ("ExpiredToken", 400), ("ExpiredToken", 403), ("ExpiredTokenException", 400),
        ("RequestExpired", 400), "The security token included in the request is expired",
    ),
    "skew": (
        ("RequestTimeTooSkewed", 403), ("SignatureDoesNotMatch", 403), ("InvalidSignatureException", 400),
        ("RequestExpired", 400), "",
    ),
}
_S3_MESSAGES = {
    "unknown_key": "The AWS Access Key Id you provided does not exist in our records.",
    "bad_signature": "The request signature we calculated does not match the signature you provided. "
    "Check your key and signing method.",
    "skew": "The difference between the request time and the current time is too large.",
}


def auth_error(kind: str, *, s3: bool, protocol: str, message: str | None = None) -> AwsError:
    s3_err, query_err, json_err, ec2_err, default_message = _ERRORS[kind]
    if s3:
        (code, status), default_message = s3_err, _S3_MESSAGES.get(kind, default_message)
    elif protocol == "ec2":
        code, status = ec2_err
    elif protocol == "query":
        code, status = query_err
    else:
        code, status = json_err
    return AwsError(message or default_message, code=code, status=status)


@dataclass(frozen=True)
class SigningInfo:
    access_key_id: str
    date: str
    region: str
    service: str
    presigned: bool


@dataclass
class AuthResult:
    principal: Principal | None
    credential: Credential | None
    region: str | None
    service: str | None
    body: bytes
    presigned: bool


def _split_credential(value: str) -> tuple[str, str, str, str] | None:
    parts = value.split("/")
    if len(parts) != 5 or parts[4] != "aws4_request" or not all(parts[:4]):
        return None
    return parts[0], parts[1], parts[2], parts[3]


def signing_info(request: HttpRequest) -> SigningInfo | None:
    """The credential scope of a signed request, unverified; None when unsigned or unparseable
    (authenticate then answers the precise error)."""
    header = request.headers.get("authorization")
    if header:
        match = _AUTH_HEADER.match(header.strip())
        if not match:
            return None
        parts = _split_credential(match.group("credential"))
        return SigningInfo(*parts, presigned=False) if parts else None
    credential = request.query_value("X-Amz-Credential")
    if credential:
        parts = _split_credential(credential)
        return SigningInfo(*parts, presigned=True) if parts else None
    return None


def _parse_time(value: str) -> float | None:
    """X-Amz-Date (ISO 8601 basic, 20261128T192854Z) or an RFC 1123 Date header."""
    if len(value) == 16 and value[8] == "T" and value[15] == "Z" and value[:8].isdigit() and value[9:15].isdigit():
        try:
            return calendar.timegm((int(value[0:4]), int(value[4:6]), int(value[6:8]),
                                    int(value[9:11]), int(value[11:13]), int(value[13:15]), 0, 0, 0)) \
                if _valid_date(value) else None
        except ValueError:
            return None
    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError):
        return None


def authenticate(
    request: HttpRequest,
    lookup: Callable[[str], Credential | None],
    *,
    now: float | None = None,
    clock_now: float | None = None,
    s3: bool = False,
    protocol: str = "json",
    max_skew: float = 900.0,
) -> AuthResult:
    now = time.time() if now is None else now
    clock_now = now if clock_now is None else clock_now

    def fail(kind: str, message: str | None = None) -> AwsError:
        return auth_error(kind, s3=s3, protocol=protocol, message=message)

    header = request.headers.get("authorization")
    presigned = header is None and "X-Amz-Credential" in request.query
    if header is None and not presigned:
        if "X-Amz-Signature" in request.query or "X-Amz-Algorithm" in request.query:
            raise fail("malformed", "Query-string authentication requires the X-Amz-Credential parameter.")
        return AuthResult(None, None, None, None, request.body, False)

    # -- 1. read what was signed ----------------------------------------------------------
    if presigned:
        q = request.query_value
        if q("X-Amz-Algorithm") != sigv4.ALGORITHM:
            raise fail("malformed", "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"")
        credential_text, signed_text, given = q("X-Amz-Credential") or "", q("X-Amz-SignedHeaders"), q("X-Amz-Signature")
        timestamp = q("X-Amz-Date") or ""
        token = q("X-Amz-Security-Token")
        if not signed_text or not given or not timestamp:
            raise fail("malformed", "Query-string authentication version 4 requires the X-Amz-Algorithm, "
                       "X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.")
    else:
        match = _AUTH_HEADER.match(header.strip())
        if not match:
            if not header.startswith(sigv4.ALGORITHM):
                raise fail("malformed", "Unsupported authorization type; mamori accepts only AWS4-HMAC-SHA256.")
            raise fail("malformed", f"Authorization header requires 'Credential', 'Signature' and "
                       f"'SignedHeaders' parameters. Authorization={header.split(' ', 1)[0]}")
        credential_text, signed_text, given = match.group("credential", "signed", "signature")
        timestamp = request.headers.get("x-amz-date") or request.headers.get("date") or ""
        token = request.headers.get("x-amz-security-token")
        if not timestamp:
            raise fail("malformed", "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")

    parts = _split_credential(credential_text)
    if parts is None:
        raise fail("malformed", f"Credential should be scoped to a valid region, service and terminator. "
                   f"Credential={credential_text.split('/')[0]}/...")
    key_id, date, region, service = parts
    signed = signed_text.split(";")
    if "host" not in signed or signed != sorted(signed):
        raise fail("malformed", "Signed headers must include 'host' and be sorted.")

    # -- 2. time: the real wall clock, as AWS does -------------------------------------------
    request_time = _parse_time(timestamp)
    if request_time is None:
        raise fail("malformed", f"Date must be in ISO-8601 'basic format'. Got '{timestamp}'.")
    if not timestamp.startswith(date) and len(timestamp) == 16:
        raise fail("malformed", f"Credential date {date} does not match the request date {timestamp[:8]}.")
    if presigned:
        try:
            expires = int(request.query_value("X-Amz-Expires") or "")
        except ValueError:
            raise fail("malformed", "X-Amz-Expires should be a number") from None
        if not 1 <= expires <= 604800:
            raise fail("malformed", "X-Amz-Expires must be between 1 and 604800 seconds")
        if now > request_time + expires:
            if s3:
                raise AwsError("Request has expired", code="AccessDenied", status=403)
            raise fail("skew", "Signature expired: the presigned request has expired")
        if request_time - now > max_skew:
            raise fail("skew", _skew_message(timestamp, now))
    elif abs(now - request_time) > max_skew:
        raise fail("skew", _skew_message(timestamp, now))

    # -- 3. the credential --------------------------------------------------------------------
    credential = lookup(key_id)
    if credential is None or credential.status != "Active":
        raise fail("unknown_key")
    if credential.session_token_sha256 is not None:
        presented = hashlib.sha256((token or "").encode("utf-8")).hexdigest()
        if not token or not sigv4.same(presented, credential.session_token_sha256):
            raise fail("unknown_key")
    elif token:
        raise fail("unknown_key")

    # -- 4. the payload hash ----------------------------------------------------------------
    declared = request.headers.get("x-amz-content-sha256")
    body = request.body
    if declared is None:
        payload_hash = sigv4.UNSIGNED_PAYLOAD if presigned and s3 else sigv4.sha256_hex(body)
    else:
        payload_hash = declared
        if len(declared) == 64 and re.fullmatch(r"[0-9a-f]{64}", declared):
            if not sigv4.same(declared, sigv4.sha256_hex(body)):
                if s3:
                    raise AwsError("The provided 'x-amz-content-sha256' header does not match what was computed.",
                                   code="XAmzContentSHA256Mismatch", status=400)
                raise fail("bad_signature")
        elif declared not in (sigv4.UNSIGNED_PAYLOAD, STREAMING_SIGNED, STREAMING_SIGNED_TRAILER,
                              STREAMING_UNSIGNED_TRAILER):
            raise AwsError("x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, "
                           "or a valid sha256 value.", code="InvalidArgument", status=400)

    # -- 5. the signature ---------------------------------------------------------------------
    scope = f"{date}/{region}/{service}/aws4_request"
    canonical = sigv4.canonical_request(
        request.method,
        sigv4.canonical_uri(request.raw_path, s3=service == "s3" or s3),
        sigv4.canonical_query(request.raw_query, exclude="X-Amz-Signature" if presigned else None),
        sigv4.canonical_headers(request.header_list, signed),
        signed_text,
        payload_hash,
    )
    key = sigv4.signing_key(credential.secret_access_key, date, region, service)
    expected = sigv4.signature(key, sigv4.string_to_sign(timestamp, scope, canonical))
    if not sigv4.same(expected, given):
        raise fail("bad_signature")

    # -- 6. after the signature: expiry, streaming bodies ----------------------------------------
    if credential.expires_at is not None and credential.expires_at <= clock_now:
        raise fail("expired_token")
    if declared in (STREAMING_SIGNED, STREAMING_SIGNED_TRAILER, STREAMING_UNSIGNED_TRAILER):
        body = decode_chunked(
            body, key=key, timestamp=timestamp, scope=scope, seed=given,
            signed=declared != STREAMING_UNSIGNED_TRAILER, trailer=declared != STREAMING_SIGNED,
            fail=lambda: fail("bad_signature"),
        )
        expected_length = request.headers.get("x-amz-decoded-content-length")
        if expected_length is not None and expected_length.isdigit() and int(expected_length) != len(body):
            raise AwsError("The decoded content length does not match x-amz-decoded-content-length.",
                           code="IncompleteBody", status=400)

    principal = Principal.from_json(credential.principal)
    return AuthResult(principal, credential, region, service, body, presigned)


def _valid_date(value: str) -> bool:
    try:
        datetime(int(value[0:4]), int(value[4:6]), int(value[6:8]), int(value[9:11]), int(value[11:13]), int(value[13:15]))
    except ValueError:
        return False
    return True


def _skew_message(timestamp: str, now: float) -> str:
    now_text = datetime.fromtimestamp(now, UTC).strftime(_TIMESTAMP)
    earliest = datetime.fromtimestamp(now - 900, UTC).strftime(_TIMESTAMP)
    return f"Signature expired: {timestamp} is now earlier than {earliest} ({now_text} - 15 min.)"


def decode_chunked(
    body: bytes,
    *,
    key: bytes,
    timestamp: str,
    scope: str,
    seed: str,
    signed: bool,
    trailer: bool,
    fail: Callable[[], AwsError],
) -> bytes:
    """Strip aws-chunked framing, verifying each chunk's signature in turn (each signs
    the previous one, starting from the request's own signature) and, when present, the
    trailing headers' signature.
    https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html"""
    out = bytearray()
    previous = seed
    pos = 0
    while True:
        line_end = body.find(b"\r\n", pos)
        if line_end < 0:
            raise fail()
        header = body[pos:line_end].decode("ascii", "replace")
        size_text, _, extension = header.partition(";")
        try:
            size = int(size_text, 16)
        except ValueError:
            raise fail() from None
        start = line_end + 2
        chunk = body[start : start + size]
        if len(chunk) != size:
            raise fail()
        if signed:
            if not extension.startswith("chunk-signature="):
                raise fail()
            given = extension[len("chunk-signature="):]
            expected = sigv4.signature(key, sigv4.chunk_string_to_sign(timestamp, scope, previous, chunk))
            if not sigv4.same(expected, given):
                raise fail()
            previous = given
        out += chunk
        pos = start + size
        if size == 0:
            break
        if body[pos : pos + 2] != b"\r\n":
            raise fail()
        pos += 2
    if trailer:
        rest = body[pos:]
        trailer_lines = [line for line in rest.split(b"\r\n") if line]
        trailer_sig = None
        headers = []
        for line in trailer_lines:
            if line.startswith(b"x-amz-trailer-signature:"):
                trailer_sig = line.split(b":", 1)[1].strip().decode("ascii", "replace")
            else:
                headers.append(line)
        if signed:
            if trailer_sig is None:
                raise fail()
            canonical_trailer = b"".join(h + b"\n" for h in headers)
            expected = sigv4.signature(key, sigv4.trailer_string_to_sign(timestamp, scope, previous, canonical_trailer))
            if not sigv4.same(expected, trailer_sig):
                raise fail()
    return bytes(out)
