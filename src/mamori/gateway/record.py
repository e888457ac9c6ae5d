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
MAX_FIELD_BYTES = 100 * 1024

# Secret whatever the model says (not every model marks them sensitive).
ALWAYS_SECRET = frozenset(
    {
        "SecretAccessKey", "SessionToken", "Password", "NewPassword", "OldPassword", "PrivateKey",
        "PrivateKeyPlaintext", "Plaintext", "KeyMaterial", "SecretString", "SecretBinary",
        "Base32StringSeed", "QRCodePNG", "AuthenticationCode1", "AuthenticationCode2", "TokenCode",
        "ClientSecret", "Token", "ServicePassword",
        # Message contents: CloudTrail's SendMessage records show "messageBody":
        # "HIDDEN_DUE_TO_SECURITY_REASONS"; SNS messages and received bodies likewise.
        "MessageBody", "Message", "Body",
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


# Data-plane calls CloudTrail logs as data events: not management events, so neither in
# LookupEvents (event history) nor sent to EventBridge without a trail that selects them.
# https://docs.aws.amazon.com/awscloudtrail/latest/userguide/logging-data-events-with-cloudtrail.html
# https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/logging-using-cloudtrail.html
_DATA_EVENTS = {
    "sqs": frozenset({"SendMessage", "SendMessageBatch", "ReceiveMessage", "DeleteMessage", "DeleteMessageBatch",
                      "ChangeMessageVisibility", "ChangeMessageVisibilityBatch"}),
    "sns": frozenset({"Publish", "PublishBatch"}),
}


def is_data_event(service: str, operation: str) -> bool:
    if service == "s3":  # object-level calls
        return any(word in operation for word in ("Object", "Part", "Multipart"))
    return operation in _DATA_EVENTS.get(service, ())


def camel(name: str) -> str:
    return name[:1].lower() + name[1:]


def _sensitive(shape: Shape | None) -> bool:
    return bool(shape is not None and shape.metadata.get("sensitive"))


def _format_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%b %d, %Y, %-I:%M:%S %p")


def _loose(value: Any) -> Any:
    """A value with no shape to go by: camelCase keys, the always-secret names hidden."""
    if isinstance(value, dict):
        return {camel(str(k)): (HIDDEN if k in ALWAYS_SECRET else _loose(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_loose(v) for v in value]
    if isinstance(value, datetime):
        return _format_time(value)
    if isinstance(value, (bytes, bytearray)):
        return None
    return value


def _scalar(value: Any) -> Any:
    if isinstance(value, datetime):
        return _format_time(value)
    if isinstance(value, (bytes, bytearray)):
        return None
    return value


_SCALARS = frozenset({"string", "integer", "long", "double", "float", "boolean", "timestamp"})
# One redactor per shape, built on first use: a record is made for every call, and
# walking the model generically for each value of a 1,000-event batch costs more than
# the call itself. Keyed by id(); the shape is kept alive next to its redactor.
_redactors: dict[int, tuple[Shape, Any]] = {}


def _redactor(shape: Shape | None) -> Any:
    if shape is None:
        return _loose
    found = _redactors.get(id(shape))
    if found is not None and found[0] is shape:
        return found[1]
    fn = _build_redactor(shape)
    _redactors[id(shape)] = (shape, fn)
    return fn


def _hide(value: Any) -> Any:
    return HIDDEN


def _same(value: Any) -> Any:
    return value


def _leave_out(value: Any) -> Any:
    return None


def _build_redactor(shape: Shape) -> Any:
    if _sensitive(shape):
        return _hide
    type_name = shape.type_name
    if type_name == "timestamp":
        return _scalar
    if type_name in _SCALARS:
        # Parsed input of a string, number or boolean shape is already what CloudTrail shows.
        return _same
    if type_name == "blob":
        return _leave_out
    if type_name == "structure":
        # name -> [camelCase name, redactor]: `_hide` for secrets, `_leave_out` for blobs.
        # Member redactors are looked up on first use (shapes may be recursive).
        members = shape.members
        plan: dict[str, list[Any]] = {}

        def step(name: str) -> list[Any] | None:
            member = members.get(name)
            if member is None:
                return None
            if name in ALWAYS_SECRET or _sensitive(member):
                found = [camel(name), _hide]
            elif member.type_name == "blob":
                found = ["", _leave_out]
            else:
                found = [camel(name), _redactor(member)]
            plan[name] = found
            return found

        def structure(value: Any) -> Any:
            if value is None:
                return None
            if not isinstance(value, dict):
                return _scalar(value)
            out: dict[str, Any] = {}
            for name, item in value.items():
                found = plan.get(name) or step(name)
                if found is None:
                    out[camel(name)] = HIDDEN if name in ALWAYS_SECRET else _loose(item)
                    continue
                fn = found[1]
                if fn is _same:
                    out[found[0]] = item
                elif fn is not _leave_out:
                    out[found[0]] = fn(item) if item is not None or fn is _hide else None
            return out

        return structure
    if type_name == "list":
        member = shape.member

        def listing(value: Any) -> Any:
            if value is None:
                return None
            if not isinstance(value, list):
                return _scalar(value)
            each = _redactor(member)
            if each is _same:
                return list(value)
            return [None if v is None else each(v) for v in value]

        return listing
    if type_name == "map":
        value_shape = shape.value

        def mapping(value: Any) -> Any:
            if value is None:
                return None
            if not isinstance(value, dict):
                return _scalar(value)
            each = _redactor(value_shape)
            return {str(k): (None if v is None else each(v)) for k, v in value.items()}

        return mapping
    return _scalar


def redact(shape: Shape | None, value: Any) -> Any:
    """The value as CloudTrail shows it: camelCase names, secrets hidden, blobs left out,
    timestamps as text."""
    if value is None:
        return None
    return _redactor(shape)(value)


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
    request_size: int = 0,
) -> dict[str, Any]:
    name = operation.name
    read_only = is_read_only(name)
    data_event = is_data_event(ctx.service, name)
    metadata = operation.service_model.metadata
    # "CloudTrail truncates a field if the field's contents exceeds the maximum field
    # size. If a field is truncated, omitted is present with a value of true."
    # requestParameters may hold 100 KB; the request body measures it (a 1,000-event
    # PutLogEvents batch is past it), so such parameters are never built at all.
    # https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html
    omitted = request_size > MAX_FIELD_BYTES
    request_parameters = redact(operation.input_shape, params) if params and not omitted else None
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
    if omitted:
        record["omitted"] = True
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
