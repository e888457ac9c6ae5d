"""The CloudTrail record of one call, in AWS's record format (eventVersion 1.11).

https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html
https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-user-identity.html

`requestParameters` and `responseElements` are the operation's input and output with
CloudTrail's lowerCamelCase member names. Whatever the model marks `sensitive` (on the
member or on its target shape), and a few members that are secret whatever the model
says (secret keys, session tokens, passwords, key material, MFA seeds), are replaced by
`HIDDEN_DUE_TO_SECURITY_REASONS` before the record exists, so they are never stored.
Blobs are left out: CloudTrail doesn't log payload bytes (ciphertexts, plaintexts).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from mamori.errors import AwsError
from mamori.gateway.context import RequestContext
from mamori.protocol.model import OperationModel, Shape

HIDDEN = "HIDDEN_DUE_TO_SECURITY_REASONS"
EVENT_VERSION = "1.11"

# Secret whatever the model says (not every model marks them sensitive).
ALWAYS_SECRET = frozenset(
    {
        "SecretAccessKey", "SessionToken", "Password", "NewPassword", "OldPassword", "PrivateKey",
        "PrivateKeyPlaintext", "Plaintext", "KeyMaterial", "SecretString", "SecretBinary",
        "Base32StringSeed", "QRCodePNG", "AuthenticationCode1", "AuthenticationCode2", "TokenCode",
        "ClientSecret", "Token", "ServicePassword",
    }
)

_READ_ONLY_PREFIXES = (
    "Get", "List", "Describe", "Lookup", "Head", "Search", "Query", "Scan", "Filter", "Simulate",
    "Test", "Select", "BatchGet", "Check", "Validate", "Estimate", "Preview", "Decode",
)
# KMS's cryptographic operations change nothing and CloudTrail marks them read-only.
_READ_ONLY_NAMES = frozenset(
    {
        "Encrypt", "Decrypt", "ReEncrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext",
        "GenerateDataKeyPair", "GenerateDataKeyPairWithoutPlaintext", "GenerateRandom", "GenerateMac",
        "VerifyMac", "Sign", "Verify", "DeriveSharedSecret",
    }
)


# Read-only by name, yet their records show what they issued (the new access key id;
# the secret and token are hidden like everywhere else), as AssumeRole's do.
_ISSUES_CREDENTIALS = frozenset({"GetSessionToken", "GetFederationToken"})


def is_read_only(operation: str) -> bool:
    return operation in _READ_ONLY_NAMES or operation.startswith(_READ_ONLY_PREFIXES)


def is_data_event(service: str, operation: str) -> bool:
    """S3 object-level calls are data events: not management events, and not returned by
    LookupEvents. https://docs.aws.amazon.com/awscloudtrail/latest/userguide/logging-data-events-with-cloudtrail.html"""
    return service == "s3" and any(word in operation for word in ("Object", "Part", "Multipart"))


def camel(name: str) -> str:
    return name[:1].lower() + name[1:]


def _sensitive(shape: Shape | None) -> bool:
    return bool(shape is not None and shape.metadata.get("sensitive"))


def redact(shape: Shape | None, value: Any) -> Any:
    """The value as CloudTrail shows it: camelCase names, secrets hidden, blobs left out,
    timestamps as text."""
    if value is None:
        return None
    if _sensitive(shape):
        return HIDDEN
    type_name = shape.type_name if shape is not None else None
    if type_name == "structure" and isinstance(value, dict):
        out: dict[str, Any] = {}
        members = shape.members
        for name, item in value.items():
            member = members.get(name)
            if name in ALWAYS_SECRET or _sensitive(member):
                out[camel(name)] = HIDDEN
                continue
            if member is not None and member.type_name == "blob":
                continue
            rendered = redact(member, item)
            out[camel(name)] = rendered
        return out
    if type_name == "list" and isinstance(value, list):
        return [redact(shape.member, v) for v in value]
    if type_name == "map" and isinstance(value, dict):
        return {str(k): redact(shape.value, v) for k, v in value.items()}
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%b %d, %Y, %-I:%M:%S %p")
    if isinstance(value, (bytes, bytearray)):
        return None
    if shape is None and isinstance(value, dict):
        return {camel(str(k)): (HIDDEN if k in ALWAYS_SECRET else redact(None, v)) for k, v in value.items()}
    return value


def user_identity(ctx: RequestContext) -> dict[str, Any]:
    p = ctx.principal
    if p.type == "Anonymous":
        return {"type": "AWSAccount", "principalId": "", "accountId": "anonymous"}
    if p.type == "AWSService":
        return {"type": "AWSService", "invokedBy": p.arn}
    if p.type in ("WebIdentityUser", "SAMLUser"):
        return {"type": p.type, "principalId": p.principal_id, "userName": p.user_name,
                "identityProvider": (p.session or {}).get("identityProvider", "")}
    identity: dict[str, Any] = {"type": p.type, "principalId": p.principal_id, "arn": p.arn, "accountId": p.account_id}
    if p.access_key_id:
        identity["accessKeyId"] = p.access_key_id
    if p.type == "IAMUser" and p.user_name:
        identity["userName"] = p.user_name
    if p.session:
        context = {k: v for k, v in p.session.items() if k in ("sessionIssuer", "attributes", "sourceIdentity", "webIdFederationData", "ec2RoleDelivery")}
        if context:
            identity["sessionContext"] = context
    if ctx.called_via:
        identity["invokedBy"] = ctx.called_via[-1]
    return identity


def build_record(
    ctx: RequestContext,
    operation: OperationModel,
    params: dict[str, Any] | None,
    output: dict[str, Any] | None,
    error: AwsError | None,
    *,
    user_agent: str,
    event_time: float,
) -> dict[str, Any]:
    name = operation.name
    read_only = is_read_only(name)
    data_event = is_data_event(ctx.service, name)
    metadata = operation.service_model.metadata
    request_parameters = redact(operation.input_shape, params) if params else None
    response_elements = None
    if error is None and output and (not read_only or name in _ISSUES_CREDENTIALS):
        response_elements = redact(operation.output_shape, output)
    record: dict[str, Any] = {
        "eventVersion": EVENT_VERSION,
        "userIdentity": user_identity(ctx),
        "eventTime": datetime.fromtimestamp(event_time, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventSource": f"{metadata.get('endpointPrefix', ctx.service)}.amazonaws.com",
        "eventName": name,
        "awsRegion": ctx.region,
        "sourceIPAddress": ctx.source_ip,
        "userAgent": user_agent[:1024],
        "requestParameters": request_parameters or None,
        "responseElements": response_elements or None,
        "requestID": ctx.request_id,
        "eventID": str(uuid.uuid4()),
        "readOnly": read_only,
        "eventType": "AwsApiCall",
        "managementEvent": not data_event,
        "recipientAccountId": ctx.account_id,
        "eventCategory": "Data" if data_event else "Management",
        "_epoch": event_time,
    }
    if error is not None:
        record["errorCode"] = error.code[:1024]
        record["errorMessage"] = (error.message or "")[:1024]
    if ctx.resources:
        record["resources"] = list(ctx.resources)
    if ctx.called_via:
        # A call a service made (on a caller's behalf or as itself) comes "from" that service.
        record["sourceIPAddress"] = ctx.called_via[-1]
    if ctx.secure_transport:
        record["tlsDetails"] = {"clientProvidedHostHeader": ""}
    return record
