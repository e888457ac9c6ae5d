"""SigV4 verification, data-driven, with botocore's signer as the oracle.

Each case is signed by botocore (header or presigned), turned into the HttpRequest the
server would see, and must authenticate; then every single-character change of method,
path, query, a signed header or the body must fail with the right code.
"""

from __future__ import annotations

import hashlib
import time
from urllib.parse import urlsplit

import pytest
from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth, SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from mamori.errors import AwsError
from mamori.gateway import sigv4
from mamori.gateway.authenticate import authenticate, signing_info
from mamori.gateway.context import Principal
from mamori.gateway.http import HttpRequest
from mamori.store.records import Credential

KEY_ID, SECRET = "AKIAEXAMPLEKEY000001", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
ACCOUNT = "123456789012"
CRED = Credential(KEY_ID, SECRET, ACCOUNT, Principal.root(ACCOUNT, KEY_ID).to_json())


def lookup(key):
    return CRED if key == KEY_ID else None


def to_http(prepared) -> HttpRequest:
    parts = urlsplit(prepared.url)
    headers = [(k.lower(), v if isinstance(v, str) else v.decode()) for k, v in prepared.headers.items()]
    if not any(k == "host" for k, _ in headers):
        headers.append(("host", parts.netloc))
    body = prepared.body or b""
    if isinstance(body, str):
        body = body.encode()
    return HttpRequest(prepared.method, parts.path or "/", parts.query, headers, body)


CASES = [
    # (name, service, method, url, body, headers, s3, presigned)
    ("sts form", "sts", "POST", "http://localhost:4566/", b"Action=GetCallerIdentity&Version=2011-06-15",
     {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}, False, False),
    ("kms json", "kms", "POST", "http://localhost:4566/", b'{"KeyId": "alias/x"}',
     {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "TrentService.DescribeKey"}, False, False),
    ("rest path with specials", "guardduty", "GET", "http://localhost:4566/detector/abc%20def/filter/a%2Bb", b"", {}, False, False),
    ("query repeated and blank", "ec2", "GET", "http://localhost:4566/?b=2&a=1&a=0&flag=&Action=DescribeRegions", b"", {}, False, False),
    ("header with runs of spaces", "logs", "POST", "http://localhost:4566/", b"{}",
     {"X-Amz-Target": "Logs_20140328.DescribeLogGroups", "X-Custom": "  a   b  c  ", "Content-Type": "application/x-amz-json-1.1"},
     False, False),
    ("dot segments normalized", "iam", "GET", "http://localhost:4566/a/./b/../c//d/", b"", {}, False, False),
    ("s3 key with slashes", "s3", "PUT", "http://localhost:4566/bucket/dir/sub/key%20name%2B1.txt", b"hello world", {}, True, False),
    ("s3 presigned get", "s3", "GET", "http://localhost:4566/bucket/k%C3%A9y", b"", {}, True, True),
    ("sts presigned", "sts", "GET", "http://localhost:4566/?Action=GetCallerIdentity&Version=2011-06-15", b"", {}, False, True),
]


def sign(service, method, url, body, headers, s3, presigned, *, token=None, expires=300):
    creds = Credentials(KEY_ID, SECRET, token)
    req = AWSRequest(method=method, url=url, data=body, headers=dict(headers))
    if presigned:
        signer = (S3SigV4QueryAuth if s3 else SigV4QueryAuth)(creds, service, "us-east-1", expires=expires)
    else:
        signer = (S3SigV4Auth if s3 else SigV4Auth)(creds, service, "us-east-1")
    signer.add_auth(req)
    return to_http(req.prepare())


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_signed_by_botocore_passes(case):
    _, service, method, url, body, headers, s3, presigned = case
    request = sign(service, method, url, body, headers, s3, presigned)
    result = authenticate(request, lookup, s3=s3, protocol="query")
    assert result.principal.arn == f"arn:aws:iam::{ACCOUNT}:root"
    assert (result.region, result.service, result.presigned) == ("us-east-1", service, presigned)
    info = signing_info(request)
    assert info is not None and info.service == service and info.access_key_id == KEY_ID


def mutations(request: HttpRequest):
    """Every single-character change of method, path, query, each signed header and body."""
    def swap(text: str, i: int) -> str:
        c = text[i]
        return text[:i] + ("B" if c == "A" else "A") + text[i + 1:]

    for i in range(len(request.method)):
        yield "method", HttpRequest(swap(request.method, i), request.raw_path, request.raw_query, request.header_list, request.body)
    for i in range(len(request.raw_path)):
        if request.raw_path[i] in "/%":
            continue  # changing structure characters is covered by others; keep paths well-formed
        yield "path", HttpRequest(request.method, swap(request.raw_path, i), request.raw_query, request.header_list, request.body)
    for i in range(len(request.raw_query)):
        if request.raw_query[i] in "&=%":
            continue
        mutated = swap(request.raw_query, i)
        if "X-Amz-Signature=" in request.raw_query and mutated.split("X-Amz-Signature=")[0] == request.raw_query.split("X-Amz-Signature=")[0]:
            continue  # the signature itself is checked by the signature cases
        yield "query", HttpRequest(request.method, request.raw_path, mutated, request.header_list, request.body)
    auth = dict(request.header_list).get("authorization", "")
    signed = auth.split("SignedHeaders=")[1].split(",")[0].split(";") if auth else []
    for n, (name, value) in enumerate(request.header_list):
        if name not in signed or name == "x-amz-date":
            continue
        for i in range(len(value)):
            if value[i] == " ":
                continue
            headers = list(request.header_list)
            headers[n] = (name, swap(value, i))
            yield f"header {name}", HttpRequest(request.method, request.raw_path, request.raw_query, headers, request.body)
    for i in range(len(request.body)):
        body = bytearray(request.body)
        body[i] = ord("B") if body[i] == ord("A") else ord("A")
        yield "body", HttpRequest(request.method, request.raw_path, request.raw_query, request.header_list, bytes(body))


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_every_single_character_change_fails(case):
    _, service, method, url, body, headers, s3, presigned = case
    request = sign(service, method, url, body, headers, s3, presigned)
    count = 0
    for where, mutated in mutations(request):
        if where == "path" and sigv4.canonical_uri(mutated.raw_path, s3=s3) == sigv4.canonical_uri(request.raw_path, s3=s3):
            continue  # e.g. '/b/../' -> '/A/../': normalization makes it the same signed path
        count += 1
        with pytest.raises(AwsError) as err:
            authenticate(mutated, lookup, s3=s3, protocol="query")
        # most changes break the signature; a changed key id is an unknown key, a changed
        # date or expiry a time error - every one of them is refused
        assert err.value.code in ("SignatureDoesNotMatch", "XAmzContentSHA256Mismatch", "IncompleteSignature",
                                  "AuthorizationHeaderMalformed", "InvalidClientTokenId", "InvalidAccessKeyId",
                                  "AccessDenied", "RequestTimeTooSkewed", "InvalidArgument"), (where, err.value.code)
        assert err.value.status in (400, 403)
    assert count > 5


@pytest.mark.parametrize("protocol,s3,code,status", [
    ("query", False, "SignatureDoesNotMatch", 403),
    ("json", False, "InvalidSignatureException", 400),
    ("rest-xml", True, "SignatureDoesNotMatch", 403),
])
def test_wrong_secret_codes(protocol, s3, code, status):
    other = Credential(KEY_ID, "not-the-secret", ACCOUNT, CRED.principal)
    request = sign("sts", "POST", "http://localhost:4566/", b"Action=GetCallerIdentity", {}, s3, False)
    with pytest.raises(AwsError) as err:
        authenticate(request, lambda k: other, s3=s3, protocol=protocol)
    assert (err.value.code, err.value.status) == (code, status)
    assert "not-the-secret" not in err.value.message


@pytest.mark.parametrize("protocol,s3,code", [
    ("query", False, "InvalidClientTokenId"), ("json", False, "UnrecognizedClientException"),
    ("rest-xml", True, "InvalidAccessKeyId"), ("ec2", False, "AuthFailure"),
])
def test_unknown_key_codes(protocol, s3, code):
    request = sign("sts", "POST", "http://localhost:4566/", b"x=1", {}, s3, False)
    with pytest.raises(AwsError) as err:
        authenticate(request, lambda k: None, s3=s3, protocol=protocol)
    assert err.value.code == code


def test_inactive_key_is_refused():
    inactive = Credential(KEY_ID, SECRET, ACCOUNT, CRED.principal, status="Inactive")
    request = sign("sts", "POST", "http://localhost:4566/", b"x=1", {}, False, False)
    with pytest.raises(AwsError) as err:
        authenticate(request, lambda k: inactive, protocol="query")
    assert err.value.code == "InvalidClientTokenId"


@pytest.mark.parametrize("s3,code", [(False, "SignatureDoesNotMatch"), (True, "RequestTimeTooSkewed")])
def test_request_time_skew_uses_the_real_clock(s3, code):
    request = sign("sts", "POST", "http://localhost:4566/", b"x=1", {}, s3, False)
    assert authenticate(request, lookup, s3=s3, protocol="query", now=time.time() + 800).principal
    with pytest.raises(AwsError) as err:
        authenticate(request, lookup, s3=s3, protocol="query", now=time.time() + 1000)
    assert err.value.code == code
    if not s3:
        assert err.value.message.startswith("Signature expired:")


def test_presigned_url_expires():
    request = sign("s3", "GET", "http://localhost:4566/bucket/key", b"", {}, True, True, expires=60)
    assert authenticate(request, lookup, s3=True, protocol="rest-xml", now=time.time() + 30).principal
    with pytest.raises(AwsError) as err:
        authenticate(request, lookup, s3=True, protocol="rest-xml", now=time.time() + 61)
    assert (err.value.code, err.value.status, err.value.message) == ("AccessDenied", 403, "Request has expired")


SESSION = "FwoGZXIvYXdzEXAMPLEsessionTOKEN" * 4


@pytest.mark.parametrize("presented,expires_in,code", [
    (SESSION, 3600, None),
    ("wrong" + SESSION, 3600, "InvalidClientTokenId"),
    (None, 3600, "InvalidClientTokenId"),
    (SESSION, -1, "ExpiredToken"),
])
def test_session_tokens(presented, expires_in, code):
    now = time.time()
    temp = Credential("ASIAEXAMPLEKEY000001", SECRET, ACCOUNT, CRED.principal,
                      session_token_sha256=hashlib.sha256(SESSION.encode()).hexdigest(), expires_at=now + expires_in)
    creds = Credentials(temp.access_key_id, SECRET, presented)
    req = AWSRequest(method="POST", url="http://localhost:4566/", data=b"Action=GetCallerIdentity")
    SigV4Auth(creds, "sts", "us-east-1").add_auth(req)
    request = to_http(req.prepare())
    if code is None:
        assert authenticate(request, lambda k: temp, protocol="query", clock_now=now).credential is temp
    else:
        with pytest.raises(AwsError) as err:
            authenticate(request, lambda k: temp, protocol="query", clock_now=now)
        assert err.value.code == code
        assert SESSION not in err.value.message


def test_unsigned_request_is_anonymous():
    result = authenticate(HttpRequest("GET", "/bucket/key", "", [("host", "localhost")]), lookup, s3=True)
    assert result.principal is None


@pytest.mark.parametrize("header", [
    "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/sts/aws4_request, SignedHeaders=host",
    "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/aws4_request, SignedHeaders=host, Signature=" + "0" * 64,
    "AWS AKID:signature",
    "AWS4-HMAC-SHA256 garbage",
])
def test_malformed_authorization(header):
    request = HttpRequest("POST", "/", "", [("host", "localhost"), ("authorization", header), ("x-amz-date", "20260101T000000Z")])
    with pytest.raises(AwsError) as err:
        authenticate(request, lookup, protocol="query", now=1767225600.0)
    assert err.value.code == "IncompleteSignature"


# -- aws-chunked streaming uploads ------------------------------------------------------


def chunked_body(chunks, key, timestamp, scope, seed):
    out, previous = b"", seed
    for chunk in list(chunks) + [b""]:
        sig = sigv4.signature(key, sigv4.chunk_string_to_sign(timestamp, scope, previous, chunk))
        out += f"{len(chunk):x};chunk-signature={sig}\r\n".encode() + chunk + b"\r\n"
        previous = sig
    return out


def streaming_request(chunks, tamper=None):
    """Sign a PUT the way SDKs do for STREAMING-AWS4-HMAC-SHA256-PAYLOAD (the seed
    signature covers the headers), then frame the chunks with their signatures."""
    payload = b"".join(chunks)
    req = AWSRequest(method="PUT", url="http://localhost:4566/bucket/big.bin", data=b"", headers={
        "X-Amz-Content-SHA256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
        "Content-Encoding": "aws-chunked",
        "X-Amz-Decoded-Content-Length": str(len(payload)),
    })

    class _Seed(S3SigV4Auth):
        def _modify_request_before_signing(self, request):
            SigV4Auth._modify_request_before_signing(self, request)

    _Seed(Credentials(KEY_ID, SECRET), "s3", "us-east-1").add_auth(req)
    request = to_http(req.prepare())
    headers = dict(request.header_list)
    seed = headers["authorization"].rsplit("Signature=", 1)[1]
    timestamp = headers["x-amz-date"]
    scope = f"{timestamp[:8]}/us-east-1/s3/aws4_request"
    key = sigv4.signing_key(SECRET, timestamp[:8], "us-east-1", "s3")
    body = chunked_body(chunks, key, timestamp, scope, seed)
    if tamper is not None:
        body = tamper(body)
    return request.with_body(body), payload


def test_streaming_chunks_are_verified_and_decoded():
    chunks = [b"a" * 65536, b"b" * 1000, b"tail"]
    request, payload = streaming_request(chunks)
    result = authenticate(request, lookup, s3=True, protocol="rest-xml")
    assert result.body == payload


def test_tampered_chunk_fails():
    request, _ = streaming_request([b"hello " * 100, b"world"], tamper=lambda b: b.replace(b"world", b"World"))
    with pytest.raises(AwsError) as err:
        authenticate(request, lookup, s3=True, protocol="rest-xml")
    assert err.value.code == "SignatureDoesNotMatch"


def test_reordered_chunks_fail():
    def swap(body):
        parts = body.split(b"\r\n")
        # header0, data0, header1, data1, ... : swap the first two chunks whole
        return b"\r\n".join(parts[2:4] + parts[0:2] + parts[4:])

    request, _ = streaming_request([b"one" * 10, b"two" * 10], tamper=swap)
    with pytest.raises(AwsError):
        authenticate(request, lookup, s3=True, protocol="rest-xml")
