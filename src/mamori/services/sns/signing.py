"""Message signatures of SNS: one RSA key pair and self-signed certificate per account
and region, made on first use and kept in the resource store (kind "sns-signing-key",
the private key sealed as the resource's secret, the certificate in the doc), so a
restart keeps the key and old signatures stay verifiable.

    Signer.for_region(runtime, account, region) -> Signer (cached per runtime by the provider)
    Signer.sign(message, version)      -> adds SignatureVersion, Signature, SigningCertURL
    string_to_sign(message)            -> the text AWS signs, per message Type
    certificate_pem(runtime, name)     -> the PEM served at /_mamori/sns/<name>.pem

String to sign: for each field in order, its name, a newline, its value, a newline.
Notification: Message, MessageId, Subject (only if present), Timestamp, TopicArn, Type.
SubscriptionConfirmation / UnsubscribeConfirmation: Message, MessageId, SubscribeURL,
Timestamp, Token, TopicArn, Type. SignatureVersion 1 is SHA1withRSA, 2 SHA256withRSA
(PKCS#1 v1.5), base64-encoded.
https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html
https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message-verify-message-signature.html
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from typing import Any

KIND = "sns-signing-key"
_NAME = re.compile(r"^SimpleNotificationService-[0-9a-f]{32}$")

NOTIFICATION_FIELDS = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
CONFIRMATION_FIELDS = ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type")


def string_to_sign(message: dict[str, Any]) -> str:
    fields = NOTIFICATION_FIELDS if message.get("Type") == "Notification" else CONFIRMATION_FIELDS
    out = []
    for name in fields:
        if name in message and message[name] is not None:
            out.append(f"{name}\n{message[name]}\n")
    return "".join(out)


def _key_arn(account: str, region: str) -> str:
    return f"mamori:sns-signing:{account}:{region}"


@dataclass
class Signer:
    name: str  # SimpleNotificationService-<hex>, the certificate's file name
    key: Any  # cryptography RSAPrivateKey
    cert_url: str

    @classmethod
    def for_region(cls, runtime: Any, account: str, region: str) -> "Signer":
        from cryptography.hazmat.primitives import serialization

        arn = _key_arn(account, region)
        store = runtime.store
        with store.transaction():
            doc = store.get(arn)
            if doc is None:
                doc, pem = _generate(account, region)
                store.put(arn, doc, kind=KIND, account_id=account, region=region, secret=pem)
            else:
                pem = store.get_secret(arn) or b""
        key = serialization.load_pem_private_key(pem, password=None)
        return cls(doc["name"], key, f"{runtime.config.endpoint}/_mamori/sns/{doc['name']}.pem")

    def sign(self, message: dict[str, Any], version: str = "1") -> dict[str, Any]:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        digest = hashes.SHA256() if version == "2" else hashes.SHA1()
        signature = self.key.sign(string_to_sign(message).encode(), padding.PKCS1v15(), digest)
        message["SignatureVersion"] = "2" if version == "2" else "1"
        message["Signature"] = base64.b64encode(signature).decode()
        message["SigningCertURL"] = self.cert_url
        return message


def _generate(account: str, region: str) -> tuple[dict[str, Any], bytes]:
    import datetime
    import uuid

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = f"SimpleNotificationService-{uuid.uuid4().hex}"
    subject = x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "mamori (local Amazon SNS)"),
        x509.NameAttribute(NameOID.COMMON_NAME, f"sns.{region}.amazonaws.com"),
    ])
    # Validity from the real clock: certificate checks by clients use wall time.
    start = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=1)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(start + datetime.timedelta(days=3650))
            .sign(key, hashes.SHA256()))
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    doc = {"name": name, "account": account, "region": region,
           "certificate": cert.public_bytes(serialization.Encoding.PEM).decode()}
    return doc, pem


def certificate_pem(runtime: Any, name: str) -> bytes | None:
    """The signing certificate called `name` (any account or region), or None."""
    if not _NAME.match(name):
        return None
    for doc in runtime.store.list(KIND):
        if doc.get("name") == name:
            return doc["certificate"].encode()
    return None
