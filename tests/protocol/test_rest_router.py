"""The REST router: request -> operation and labels, as data.

S3 keys with every awkward character, S3's templates that share a method and path and
differ only by query keys or headers, Lambda's optional trailing slash, virtual-host
buckets, and a synthetic model for literal-versus-label specificity.
"""

from __future__ import annotations

import pytest
from botocore.model import ServiceModel

from mamori.gateway.http import HttpRequest
from mamori.protocol import rest_json, rest_xml  # noqa: F401 - register the codecs
from mamori.protocol.base import codec_for
from mamori.protocol.model import service_model


def request(method: str, target: str, headers: dict[str, str] | None = None, body: bytes = b"") -> HttpRequest:
    path, _, query = target.partition("?")
    return HttpRequest(method, path, query, [(k.lower(), v) for k, v in (headers or {}).items()], body)


COPY = {"x-amz-copy-source": "/src/key"}

# (method, raw target, headers, operation, labels)
S3_CASES = [
    ("GET", "/", None, "ListBuckets", {}),
    ("GET", "/bucket", None, "ListObjects", {"Bucket": "bucket"}),
    ("GET", "/bucket/", None, "ListObjects", {"Bucket": "bucket"}),
    ("GET", "/bucket?list-type=2", None, "ListObjectsV2", {"Bucket": "bucket"}),
    ("GET", "/bucket?list-type=2&prefix=a%2Fb", None, "ListObjectsV2", {"Bucket": "bucket"}),
    ("GET", "/bucket?acl", None, "GetBucketAcl", {"Bucket": "bucket"}),
    ("GET", "/bucket?acl=", None, "GetBucketAcl", {"Bucket": "bucket"}),
    ("GET", "/bucket?uploads", None, "ListMultipartUploads", {"Bucket": "bucket"}),
    ("GET", "/bucket?versions", None, "ListObjectVersions", {"Bucket": "bucket"}),
    ("GET", "/bucket/key?acl", None, "GetObjectAcl", {"Bucket": "bucket", "Key": "key"}),
    ("GET", "/bucket/a/b/c.txt", None, "GetObject", {"Bucket": "bucket", "Key": "a/b/c.txt"}),
    ("GET", "/bucket/a%20b", None, "GetObject", {"Bucket": "bucket", "Key": "a b"}),
    ("GET", "/bucket/a+b", None, "GetObject", {"Bucket": "bucket", "Key": "a+b"}),
    ("GET", "/bucket/a%2Bb", None, "GetObject", {"Bucket": "bucket", "Key": "a+b"}),
    ("GET", "/bucket/100%25", None, "GetObject", {"Bucket": "bucket", "Key": "100%"}),
    ("GET", "/bucket/what%3F", None, "GetObject", {"Bucket": "bucket", "Key": "what?"}),
    ("GET", "/bucket/what%3F?acl", None, "GetObjectAcl", {"Bucket": "bucket", "Key": "what?"}),
    ("GET", "/bucket/%E2%9C%93/caf%C3%A9", None, "GetObject", {"Bucket": "bucket", "Key": "✓/café"}),
    ("GET", "/bucket/%F0%9F%98%80%20x", None, "GetObject", {"Bucket": "bucket", "Key": "😀 x"}),
    ("GET", "/bucket//leading", None, "GetObject", {"Bucket": "bucket", "Key": "/leading"}),
    ("GET", "/bucket/dir/", None, "GetObject", {"Bucket": "bucket", "Key": "dir/"}),
    ("GET", "/bucket/a%2Fb", None, "GetObject", {"Bucket": "bucket", "Key": "a/b"}),
    ("GET", "/bucket/%26%3D%23%3B", None, "GetObject", {"Bucket": "bucket", "Key": "&=#;"}),
    ("GET", "/bucket/key?uploadId=u1", None, "ListParts", {"Bucket": "bucket", "Key": "key"}),
    ("GET", "/bucket/key?x-id=GetObject", None, "GetObject", {"Bucket": "bucket", "Key": "key"}),
    ("GET", "/bucket/key?x-id=ListParts&uploadId=u", None, "ListParts", {"Bucket": "bucket", "Key": "key"}),
    ("GET", "/bucket/key?partNumber=1", None, "GetObject", {"Bucket": "bucket", "Key": "key"}),
    ("PUT", "/bucket", None, "CreateBucket", {"Bucket": "bucket"}),
    ("PUT", "/bucket/key", None, "PutObject", {"Bucket": "bucket", "Key": "key"}),
    ("PUT", "/bucket/key?partNumber=1&uploadId=u", None, "UploadPart", {"Bucket": "bucket", "Key": "key"}),
    ("PUT", "/bucket/key", COPY, "CopyObject", {"Bucket": "bucket", "Key": "key"}),
    ("PUT", "/bucket/key?partNumber=2&uploadId=u", COPY, "UploadPartCopy", {"Bucket": "bucket", "Key": "key"}),
    ("PUT", "/bucket/key?tagging", None, "PutObjectTagging", {"Bucket": "bucket", "Key": "key"}),
    ("PUT", "/bucket?tagging", None, "PutBucketTagging", {"Bucket": "bucket"}),
    ("PUT", "/bucket?lifecycle", None, "PutBucketLifecycleConfiguration", {"Bucket": "bucket"}),
    ("GET", "/bucket?notification", None, "GetBucketNotificationConfiguration", {"Bucket": "bucket"}),
    ("POST", "/bucket/key?uploads", None, "CreateMultipartUpload", {"Bucket": "bucket", "Key": "key"}),
    ("POST", "/bucket/key?uploadId=u", None, "CompleteMultipartUpload", {"Bucket": "bucket", "Key": "key"}),
    ("POST", "/bucket/key?restore", None, "RestoreObject", {"Bucket": "bucket", "Key": "key"}),
    ("POST", "/bucket/key?select&select-type=2", None, "SelectObjectContent", {"Bucket": "bucket", "Key": "key"}),
    ("POST", "/bucket?delete", None, "DeleteObjects", {"Bucket": "bucket"}),
    ("POST", "/WriteGetObjectResponse", None, "WriteGetObjectResponse", {}),
    ("DELETE", "/bucket", None, "DeleteBucket", {"Bucket": "bucket"}),
    ("DELETE", "/bucket?cors", None, "DeleteBucketCors", {"Bucket": "bucket"}),
    ("DELETE", "/bucket/key", None, "DeleteObject", {"Bucket": "bucket", "Key": "key"}),
    ("DELETE", "/bucket/key?uploadId=u", None, "AbortMultipartUpload", {"Bucket": "bucket", "Key": "key"}),
    ("HEAD", "/bucket", None, "HeadBucket", {"Bucket": "bucket"}),
    ("HEAD", "/bucket/", None, "HeadBucket", {"Bucket": "bucket"}),
    ("HEAD", "/bucket/k%20ey", None, "HeadObject", {"Bucket": "bucket", "Key": "k ey"}),
    # virtual-host addressing on local endpoints
    ("GET", "/key", {"Host": "mybucket.localhost:4566"}, "GetObject", {"Bucket": "mybucket", "Key": "key"}),
    ("GET", "/", {"Host": "mybucket.localhost:4566"}, "ListObjects", {"Bucket": "mybucket"}),
    ("GET", "/?list-type=2", {"Host": "my.bucket.s3.localhost.localstack.cloud"}, "ListObjectsV2", {"Bucket": "my.bucket"}),
    ("GET", "/", {"Host": "localhost:4566"}, "ListBuckets", {}),
    ("GET", "/", {"Host": "s3.localhost.localstack.cloud:4566"}, "ListBuckets", {}),
]


def _labels(operation, params):
    shape = operation.input_shape
    return {n: params[n] for n, m in shape.members.items() if m.serialization.get("location") == "uri" and n in params}


@pytest.mark.parametrize("method,target,headers,expected,labels", S3_CASES)
def test_s3_routes(method, target, headers, expected, labels):
    codec = codec_for("rest-xml")
    model = service_model("s3")
    req = request(method, target, headers)
    found = codec.find_operation(model, req)
    assert found is not None and found.name == expected
    if labels:
        params = codec._bind_request(found, req)  # labels only: no validation of the rest
        assert _labels(found, params) == labels


S3_UNROUTED = [
    ("PATCH", "/bucket"),
    ("GET", "/bucket?x-id=NotAnOperation"),
    ("GET", "/bucket/key?x-id=PutObject"),
]


@pytest.mark.parametrize("method,target", S3_UNROUTED)
def test_s3_unrouted(method, target):
    assert codec_for("rest-xml").find_operation(service_model("s3"), request(method, target)) is None


LAMBDA_CASES = [
    ("GET", "/2015-03-31/functions/", "ListFunctions", {}),
    ("GET", "/2015-03-31/functions", "ListFunctions", {}),
    ("POST", "/2015-03-31/functions", "CreateFunction", {}),
    ("GET", "/2015-03-31/functions/f1", "GetFunction", {"FunctionName": "f1"}),
    ("GET", "/2015-03-31/functions/f1/configuration", "GetFunctionConfiguration", {"FunctionName": "f1"}),
    ("POST", "/2015-03-31/functions/my-fn/invocations", "Invoke", {"FunctionName": "my-fn"}),
    (
        "POST",
        "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Af/invocations",
        "Invoke",
        {"FunctionName": "arn:aws:lambda:us-east-1:123456789012:function:f"},
    ),
    ("GET", "/2015-03-31/functions/f1/policy", "GetPolicy", {"FunctionName": "f1"}),
    ("DELETE", "/2015-03-31/functions/f1/policy/sid%2F1", "RemovePermission", {"FunctionName": "f1", "StatementId": "sid/1"}),
]


@pytest.mark.parametrize("method,target,expected,labels", LAMBDA_CASES)
def test_lambda_routes(method, target, expected, labels):
    codec = codec_for("rest-json")
    req = request(method, target)
    found = codec.find_operation(service_model("lambda"), req)
    assert found is not None and found.name == expected
    if labels:
        assert _labels(found, codec._bind_request(found, req)) == labels


GUARDDUTY_CASES = [
    ("POST", "/detector", "CreateDetector"),
    ("GET", "/detector", "ListDetectors"),
    ("GET", "/detector/d1", "GetDetector"),
    ("POST", "/detector/d1", "UpdateDetector"),
    ("POST", "/detector/d1/findings", "ListFindings"),
    ("POST", "/detector/d1/findings/get", "GetFindings"),
    ("POST", "/detector/d1/findings/statistics", "GetFindingsStatistics"),
]


@pytest.mark.parametrize("method,target,expected", GUARDDUTY_CASES)
def test_guardduty_routes(method, target, expected):
    found = codec_for("rest-json").find_operation(service_model("guardduty"), request(method, target))
    assert found is not None and found.name == expected


# A synthetic model where only specificity tells templates apart.
SYNTHETIC = ServiceModel(
    {
        "metadata": {
            "protocol": "rest-json", "apiVersion": "2020-01-01", "endpointPrefix": "synthetic",
            "serviceId": "Synthetic", "signatureVersion": "v4",
        },
        "operations": {
            "GetThing": {"name": "GetThing", "http": {"method": "GET", "requestUri": "/things/{Id}"}, "input": {"shape": "IdInput"}},
            "GetSpecial": {"name": "GetSpecial", "http": {"method": "GET", "requestUri": "/things/special"}},
            "GetPart": {"name": "GetPart", "http": {"method": "GET", "requestUri": "/things/{Id}/{Rest+}"}, "input": {"shape": "RestInput"}},
            "GetPartMeta": {"name": "GetPartMeta", "http": {"method": "GET", "requestUri": "/things/{Id}/meta"}, "input": {"shape": "IdInput"}},
            "GetVersioned": {"name": "GetVersioned", "http": {"method": "GET", "requestUri": "/things/{Id}?version"}, "input": {"shape": "IdInput"}},
            "GetByQuery": {"name": "GetByQuery", "http": {"method": "GET", "requestUri": "/things/{Id}"}, "input": {"shape": "QueryInput"}},
        },
        "shapes": {
            "S": {"type": "string"},
            "IdInput": {"type": "structure", "required": ["Id"], "members": {"Id": {"shape": "S", "location": "uri", "locationName": "Id"}}},
            "RestInput": {
                "type": "structure", "required": ["Id", "Rest"],
                "members": {
                    "Id": {"shape": "S", "location": "uri", "locationName": "Id"},
                    "Rest": {"shape": "S", "location": "uri", "locationName": "Rest"},
                },
            },
            "QueryInput": {
                "type": "structure", "required": ["Id", "Token"],
                "members": {
                    "Id": {"shape": "S", "location": "uri", "locationName": "Id"},
                    "Token": {"shape": "S", "location": "querystring", "locationName": "token"},
                },
            },
        },
    },
    service_name="synthetic",
)

SYNTHETIC_CASES = [
    ("/things/abc", "GetThing"),
    ("/things/special", "GetSpecial"),  # a literal segment beats a label
    ("/things/abc/meta", "GetPartMeta"),  # a literal beats a greedy label
    ("/things/abc/x/y", "GetPart"),
    ("/things/abc/meta/more", "GetPart"),
    ("/things/abc?version", "GetVersioned"),  # a required query literal adds specificity
    ("/things/abc?token=t", "GetByQuery"),  # a present required query member too
    ("/things", None),
    ("/other", None),
]


@pytest.mark.parametrize("target,expected", SYNTHETIC_CASES)
def test_specificity(target, expected):
    found = codec_for("rest-json").find_operation(SYNTHETIC, request("GET", target))
    assert (found.name if found else None) == expected
