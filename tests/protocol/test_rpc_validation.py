"""Validation messages, data-driven: request (as botocore sends it, unvalidated) -> the
AWS error code and message text mamori answers."""

from __future__ import annotations

import pytest

from mamori.errors import AwsError
from oracle import client_request, codec, model_for

# (service, protocol, operation, params, code, message)
CASES = [
    (
        "kms", "json", "Encrypt", {},
        "ValidationException",
        "2 validation errors detected: "
        "Value null at 'keyId' failed to satisfy constraint: Member must not be null; "
        "Value null at 'plaintext' failed to satisfy constraint: Member must not be null",
    ),
    (
        "kms", "json", "CreateKey", {"KeySpec": "RSA_1"},
        "ValidationException",
        "1 validation error detected: Value 'RSA_1' at 'keySpec' failed to satisfy constraint: "
        "Member must satisfy enum value set: [RSA_2048, RSA_3072, RSA_4096, ECC_NIST_P256, "
        "ECC_NIST_P384, ECC_NIST_P521, ECC_SECG_P256K1, SYMMETRIC_DEFAULT, HMAC_224, HMAC_256, "
        "HMAC_384, HMAC_512, SM2, ML_DSA_44, ML_DSA_65, ML_DSA_87, ECC_NIST_EDWARDS25519]",
    ),
    (
        "logs", "json", "CreateLogGroup", {"logGroupName": "bad name!"},
        "ValidationException",
        "1 validation error detected: Value 'bad name!' at 'logGroupName' failed to satisfy "
        "constraint: Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+",
    ),
    (
        "logs", "json", "DescribeLogGroups", {"limit": 0},
        "ValidationException",
        "1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: "
        "Member must have value greater than or equal to 1",
    ),
    (
        "events", "json", "PutEvents", {"Entries": []},
        "ValidationException",
        "1 validation error detected: Value '[]' at 'entries' failed to satisfy constraint: "
        "Member must have length greater than or equal to 1",
    ),
    (
        "iam", "query", "CreateUser", {},
        "ValidationError",
        "1 validation error detected: Value null at 'userName' failed to satisfy constraint: "
        "Member must not be null",
    ),
    (
        "iam", "query", "CreateUser", {"UserName": "u" * 65},
        "ValidationError",
        f"1 validation error detected: Value '{'u' * 65}' at 'userName' failed to satisfy "
        "constraint: Member must have length less than or equal to 64",
    ),
    (
        "iam", "query", "ChangePassword", {"OldPassword": "", "NewPassword": "x"},
        "ValidationError",
        "2 validation errors detected: Value at 'oldPassword' failed to satisfy constraint: "
        "Member must have length greater than or equal to 1; Value at 'oldPassword' failed "
        "to satisfy constraint: Member must satisfy regular expression pattern: "
        "[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+",
    ),
    (
        "sts", "query", "AssumeRole",
        {"RoleArn": "arn:aws:iam::123456789012:role/r", "RoleSessionName": "s", "DurationSeconds": 1},
        "ValidationError",
        "2 validation errors detected: Value 's' at 'roleSessionName' failed to satisfy "
        "constraint: Member must have length greater than or equal to 2; Value '1' at "
        "'durationSeconds' failed to satisfy constraint: Member must have value greater than "
        "or equal to 900",
    ),
    (
        "sns", "query", "Publish", {},
        "ValidationError",
        "1 validation error detected: Value null at 'message' failed to satisfy constraint: "
        "Member must not be null",
    ),
    (
        "ec2", "ec2", "RunInstances", {"MinCount": 1},
        "MissingParameter",
        "The request must contain the parameter MaxCount",
    ),
    (
        "cloudwatch", "smithy-rpc-v2-cbor", "ListMetrics", {"Namespace": ""},
        # CloudWatch left the query protocol (awsQueryCompatible) and kept its code.
        "ValidationError",
        # Every broken constraint is its own error, as AWS reports them.
        "2 validation errors detected: Value '' at 'namespace' failed to satisfy constraint: "
        "Member must have length greater than or equal to 1; Value '' at 'namespace' failed "
        "to satisfy constraint: Member must satisfy regular expression pattern: [^:].*",
    ),
    (
        "cloudwatch", "json", "DeleteAlarms", {},
        "ValidationError",
        "1 validation error detected: Value null at 'alarmNames' failed to satisfy "
        "constraint: Member must not be null",
    ),
    (
        "cloudwatch", "query", "GetMetricStatistics",
        {
            "Namespace": "ns", "MetricName": "m", "Period": 0,
            "StartTime": "2024-01-01T00:00:00Z", "EndTime": "2024-01-01T01:00:00Z",
            "Dimensions": [{"Name": "n"}],
        },
        "ValidationError",
        "2 validation errors detected: Value null at 'dimensions.1.member.value' failed to "
        "satisfy constraint: Member must not be null; Value '0' at 'period' failed to "
        "satisfy constraint: Member must have value greater than or equal to 1",
    ),
]


@pytest.mark.parametrize(
    "service,protocol,operation,params,code,message",
    CASES,
    ids=[f"{c[0]}-{c[1]}-{c[2]}-{i}" for i, c in enumerate(CASES)],
)
def test_validation_message(service, protocol, operation, params, code, message) -> None:
    model = model_for(service, protocol)
    op = model.operation_model(operation)
    request = client_request(op, params, protocol)
    with pytest.raises(AwsError) as raised:
        codec(protocol).parse_request(op, request)
    assert raised.value.code == code
    assert raised.value.status == 400
    assert raised.value.message == message
