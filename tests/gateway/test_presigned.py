"""Presigned URLs used with a plain HTTP client (requests)."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

import boto3
import pytest
import requests
from botocore.config import Config

from mamori.errors import AwsError
from mamori.gateway.authenticate import authenticate
from mamori.gateway.context import Principal
from mamori.gateway.http import HttpRequest
from mamori.store.records import Credential


def test_presigned_sts_url_works_with_requests(mamori):
    # botocore presigns STS calls with their modeled method, POST.
    url = mamori.client("sts").generate_presigned_url("get_caller_identity", ExpiresIn=60)
    resp = requests.post(url, timeout=10)
    assert resp.status_code == 200
    assert f"<Account>{mamori.account_id}</Account>" in resp.text
    tampered = url.replace("X-Amz-Expires=60", "X-Amz-Expires=61")
    resp = requests.post(tampered, timeout=10)
    assert resp.status_code == 403 and "SignatureDoesNotMatch" in resp.text


@pytest.mark.parametrize("key", ["a.txt", "dir/sub/a key+1.txt", "ünï/çødé?.bin"])
def test_presigned_s3_urls_from_boto3_authenticate(key):
    """S3 itself comes later; its presigned URLs already authenticate, exactly as sent
    by requests (the URL's own encoding is what is verified)."""
    s3 = boto3.client("s3", endpoint_url="http://localhost:4566", region_name="us-east-1",
                      aws_access_key_id="test", aws_secret_access_key="test",
                      config=Config(signature_version="s3v4", s3={"addressing_style": "path"}))
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "bucket", "Key": key}, ExpiresIn=60)
    prepared = requests.Request("GET", url).prepare()
    parts = urlsplit(prepared.url)
    request = HttpRequest("GET", parts.path, parts.query, [("host", parts.netloc)])
    cred = Credential("test", "test", "000000000000", Principal.root("000000000000").to_json())
    assert authenticate(request, lambda k: cred, s3=True, protocol="rest-xml").principal.is_root
    with pytest.raises(AwsError) as err:
        authenticate(request, lambda k: cred, s3=True, protocol="rest-xml", now=time.time() + 61)
    assert err.value.message == "Request has expired"
