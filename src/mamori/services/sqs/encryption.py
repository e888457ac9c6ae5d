"""Messages at rest: plain, SSE-SQS or SSE-KMS.

A stored message blob starts with one byte that says how the rest is kept:
  P  plain JSON (SqsManagedSseEnabled false and no KmsMasterKeyId)
  S  SSE-SQS: AES-256-GCM under the data directory's root key (store/secrets.py)
  K  SSE-KMS: AES-256-GCM under a data key from KMS; the row keeps the data key's KMS
     ciphertext, so the message can be read only through KMS.
The associated data is the MessageId, so a blob copied to another message does not open.

SSE-KMS as AWS does it (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-key-management.html):
SendMessage asks KMS for a data key (kms:GenerateDataKey) and ReceiveMessage for its
plaintext (kms:Decrypt), both on behalf of the caller (a forward access session through
sqs.amazonaws.com, so the caller needs the KMS permissions, and a queue policy naming a
service principal has to be matched by a key policy allowing that service). A data key
is reused for KmsDataKeyReusePeriodSeconds per queue and per caller ("Amazon SQS
distinguishes between callers based on their AWS credentials"), and so is a decrypted
one: within the period KMS is not asked again, after it a revoked permission or a
disabled key fails the call. KMS failures become SQS's own KMS.* errors.
"""

from __future__ import annotations

import json
import os
from typing import Any

from mamori.errors import AwsError, error
from mamori.gateway.context import RequestContext

VIA = "sqs.amazonaws.com"

# KMS error code -> (SQS error shape, HTTP status). The wire codes are the KMS.*
# names AWS answers (model patch protocol/patches/sqs.json).
_KMS_ERRORS = {
    "DisabledException": "KmsDisabled",
    "KMSInvalidStateException": "KmsInvalidState",
    "NotFoundException": "KmsNotFound",
    "AccessDeniedException": "KmsAccessDenied",
    "AccessDenied": "KmsAccessDenied",
    "InvalidKeyUsageException": "KmsInvalidKeyUsage",
    "KMSOptInRequired": "KmsOptInRequired",
    "ThrottlingException": "KmsThrottled",
    "InvalidCiphertextException": "KmsInvalidState",
}


def _aead(key: bytes) -> Any:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    return AESGCM(key)


class Sealer:
    """Seals and opens message blobs for one provider (holds the data-key caches)."""

    def __init__(self, runtime: Any) -> None:
        self.runtime = runtime
        # (queue arn, principal arn) -> (plaintext, KMS ciphertext, expires at)
        self._send_keys: dict[tuple[str, str], tuple[bytes, bytes, float]] = {}
        # (principal arn, KMS ciphertext) -> (plaintext, expires at)
        self._open_keys: dict[tuple[str, bytes], tuple[bytes, float]] = {}

    def reset(self) -> None:
        self._send_keys.clear()
        self._open_keys.clear()

    # -- KMS ----------------------------------------------------------------------------

    def _kms(self, ctx: RequestContext, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        try:
            return self.runtime.invoke("kms", operation, params, parent=ctx, via=VIA)
        except AwsError as exc:
            shape = _KMS_ERRORS.get(exc.code)
            if shape is None:
                raise
            raise error(shape, exc.message, status=400) from None

    def _send_key(self, ctx: RequestContext, doc: dict[str, Any]) -> tuple[bytes, bytes]:
        now = ctx.time()
        key_id = doc["attributes"]["KmsMasterKeyId"]
        cache_key = (doc["arn"] + "|" + key_id, ctx.principal.arn)
        cached = self._send_keys.get(cache_key)
        if cached and cached[2] > now:
            return cached[0], cached[1]
        out = self._kms(ctx, "GenerateDataKey", {"KeyId": key_id, "KeySpec": "AES_256"})
        period = int(doc["attributes"].get("KmsDataKeyReusePeriodSeconds") or 300)
        if len(self._send_keys) > 10_000:
            self._send_keys.clear()
        self._send_keys[cache_key] = (out["Plaintext"], out["CiphertextBlob"], now + period)
        return out["Plaintext"], out["CiphertextBlob"]

    def _open_key(self, ctx: RequestContext, doc: dict[str, Any], blob: bytes) -> bytes:
        now = ctx.time()
        cache_key = (ctx.principal.arn, blob)
        cached = self._open_keys.get(cache_key)
        if cached and cached[1] > now:
            return cached[0]
        plaintext = self._kms(ctx, "Decrypt", {"CiphertextBlob": blob})["Plaintext"]
        period = int(doc["attributes"].get("KmsDataKeyReusePeriodSeconds") or 300)
        if len(self._open_keys) > 10_000:
            self._open_keys.clear()
        self._open_keys[cache_key] = (plaintext, now + period)
        return plaintext

    # -- blobs --------------------------------------------------------------------------

    def seal(self, ctx: RequestContext, doc: dict[str, Any], message_id: str,
             content: dict[str, Any]) -> tuple[bytes, bytes | None]:
        """(blob, KMS ciphertext of the data key or None) for a message of queue `doc`."""
        data = json.dumps(content, separators=(",", ":")).encode()
        attrs = doc["attributes"]
        if attrs.get("KmsMasterKeyId"):
            key, wrapped = self._send_key(ctx, doc)
            nonce = os.urandom(12)
            return b"K" + nonce + _aead(key).encrypt(nonce, data, message_id.encode()), wrapped
        if attrs.get("SqsManagedSseEnabled", "true") == "true":
            return b"S" + self.runtime.secrets.seal(data, message_id.encode()), None
        return b"P" + data, None

    def open(self, ctx: RequestContext, doc: dict[str, Any], message_id: str, blob: bytes,
             wrapped: bytes | None) -> dict[str, Any]:
        kind, rest = blob[:1], blob[1:]
        if kind == b"P":
            data = rest
        elif kind == b"S":
            data = self.runtime.secrets.open_sealed(rest, message_id.encode())
        else:
            key = self._open_key(ctx, doc, wrapped or b"")
            data = _aead(key).decrypt(rest[:12], rest[12:], message_id.encode())
        return json.loads(data)
