"""KMS encryption at rest for log groups with a KMS key (CreateLogGroup kmsKeyId,
AssociateKmsKey, DisassociateKmsKey).

CloudWatch Logs uses the key as the service principal `logs.<region>.amazonaws.com`,
with the encryption context `aws:logs:arn` = the log group ARN, so the key policy has
to allow that principal (usually with a `kms:EncryptionContext:aws:logs:arn` condition).
https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html

mamori does it the same way: associating a key asks KMS (through runtime.invoke, as the
service principal) for a data key; its KMS ciphertext is kept in the group's document
(`_dataKeys`: name -> {keyId, blob}, `_dataKey`: the name new events use). Every
PutLogEvents and every read of sealed events asks KMS to decrypt the data key again,
so a disabled key, a key pending deletion or a key policy that stops allowing Logs
fails ingestion and reads at once (AWS: "CloudWatch Logs must have permissions for the
KMS key whenever encrypted data is requested"). Events stay sealed with the key they
were written under after DisassociateKmsKey, as in AWS.

Errors: AWS answers `AccessDeniedException: The specified KMS key does not exist or is
not allowed to be used with Arn '<log group ARN>'` when the key policy does not let Logs
use the key (seen from CreateLogGroup / AssociateKmsKey), and the AssociateKmsKey
reference documents InvalidParameterException for a key that does not exist or is
disabled. mamori answers the same for every operation that needs the key.
"""

from __future__ import annotations

import base64
import uuid
from typing import Any

from mamori.errors import AwsError, error
from mamori.gateway.context import Principal, RequestContext
from mamori.services.logs.common import GROUP, group_arn

ENCRYPTION_CONTEXT = "aws:logs:arn"
_DENIED = ("AccessDeniedException", "AccessDenied")


def logs_principal(ctx: RequestContext) -> Principal:
    return Principal.service(f"logs.{ctx.region}.amazonaws.com", ctx.account_id)


def aad(ctx_or_region: Any, account: str | None, group: str) -> bytes:
    """Associated data every sealed event of `group` is bound to: the group's ARN."""
    return group_arn(ctx_or_region, account, group).encode()


def _kms(runtime: Any, ctx: RequestContext, operation: str, params: dict[str, Any], group: str) -> dict[str, Any]:
    arn = group_arn(ctx, name=group)
    try:
        return runtime.invoke("kms", operation, params, principal=logs_principal(ctx), account_id=ctx.account_id,
                              region=ctx.region, source_arn=arn, source_account=ctx.account_id)
    except AwsError as exc:
        message = f"The specified KMS key does not exist or is not allowed to be used with Arn '{arn}'"
        if exc.code in _DENIED:
            raise error("AccessDeniedException", message) from None
        raise error("InvalidParameterException", message) from None


def new_data_key(runtime: Any, ctx: RequestContext, doc: dict[str, Any], key_id: str) -> bytes:
    """Ask KMS for a data key under `key_id` for the group in `doc`; record its
    ciphertext in `doc` as the key new events are sealed with. Returns the plaintext."""
    group = doc["logGroupName"]
    out = _kms(runtime, ctx, "GenerateDataKey",
               {"KeyId": key_id, "KeySpec": "AES_256",
                "EncryptionContext": {ENCRYPTION_CONTEXT: group_arn(ctx, name=group)}}, group)
    name = uuid.uuid4().hex[:16]
    keys = dict(doc.get("_dataKeys") or {})
    keys[name] = {"keyId": out["KeyId"], "blob": base64.b64encode(out["CiphertextBlob"]).decode()}
    doc["_dataKeys"] = keys
    doc["_dataKey"] = name
    return out["Plaintext"]


def data_key(runtime: Any, ctx: RequestContext, doc: dict[str, Any], name: str) -> bytes:
    """The plaintext of the group's data key `name`, from KMS (fails as KMS fails)."""
    entry = (doc.get("_dataKeys") or {}).get(name)
    if entry is None:  # a group deleted and created again: its old events are unreadable
        raise error("InvalidParameterException", "The data key of these log events is no longer available.")
    group = doc["logGroupName"]
    out = _kms(runtime, ctx, "Decrypt",
               {"CiphertextBlob": base64.b64decode(entry["blob"]), "KeyId": entry["keyId"],
                "EncryptionContext": {ENCRYPTION_CONTEXT: group_arn(ctx, name=group)}}, group)
    return out["Plaintext"]


def sealing_key(runtime: Any, ctx: RequestContext, doc: dict[str, Any]) -> tuple[str, bytes, bytes] | None:
    """For PutLogEvents: (data key name, plaintext, associated data) when the group has a
    KMS key, else None. A group whose key was set without a data key gets one now
    (the caller saves `doc` when `_dataKey` changed)."""
    key_id = doc.get("kmsKeyId")
    if not key_id:
        return None
    name = doc.get("_dataKey")
    entry = (doc.get("_dataKeys") or {}).get(name) if name else None
    if entry is None or entry["keyId"] != key_id and not _same_key(entry["keyId"], key_id):
        plaintext = new_data_key(runtime, ctx, doc, key_id)
        ctx.store.put(doc["logGroupArn"], doc, kind=GROUP, account_id=ctx.account_id, region=ctx.region)
        return doc["_dataKey"], plaintext, aad(ctx, None, doc["logGroupName"])
    return name, data_key(runtime, ctx, doc, name), aad(ctx, None, doc["logGroupName"])


def _same_key(arn: str, key_id: str) -> bool:
    return arn.rsplit("/", 1)[-1] == key_id.rsplit("/", 1)[-1]


def opener(runtime: Any, ctx: RequestContext, doc: dict[str, Any]) -> Any:
    """For reads: a function names -> {name: plaintext data key} (asks KMS once per key
    per request)."""
    cache: dict[str, bytes] = {}

    def keys(names: set[str]) -> dict[str, bytes]:
        for name in names - cache.keys():
            cache[name] = data_key(runtime, ctx, doc, name)
        return cache

    return keys
