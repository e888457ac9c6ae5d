"""A user's other credentials: SSH public keys (CodeCommit), X.509 signing certificates
and service-specific credentials (CodeCommit Git, Keyspaces, Bedrock).

Each is a document of its own keyed under the user (`mamori/ssh-key/USER/ID`,
`mamori/signing-cert/USER/ID`, `mamori/service-cred/USER/ID`); a service-specific
password is sealed at rest like every secret and shown once, at creation or reset.
DeleteUser refuses while any of them exists (`user_credentials_of`).

Quotas (reference_iam-quotas.html): 5 SSH public keys and 2 signing certificates per
user, 2 service-specific credentials per user and service.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import string
from typing import Any

from mamori.errors import AwsError
from mamori.gateway.context import RequestContext
from mamori.services.iam import ids
from mamori.services.iam.base import IamOperations, stamp, to_datetime
from mamori.services.iam.validation import limit_exceeded, no_such_entity, paginate

SSH_KIND = "iam:ssh-key"
CERT_KIND = "iam:signing-cert"
CRED_KIND = "iam:service-cred"
KINDS = (SSH_KIND, CERT_KIND, CRED_KIND)
# What CreateServiceSpecificCredential accepts (API_CreateServiceSpecificCredential.html).
SERVICES = frozenset({"codecommit.amazonaws.com", "cassandra.amazonaws.com", "bedrock.amazonaws.com"})
_PASSWORD = string.ascii_letters + string.digits + "+/="


def user_credentials_of(store: Any, account: str, user_name: str) -> list[str]:
    """Kinds of credential the user still has (for DeleteUser's DeleteConflict)."""
    found = []
    for kind in KINDS:
        if any(d["UserName"] == user_name for d in store.list(kind, account_id=account)):
            found.append(kind)
    return found


def _key(account: str, what: str, user: str, ident: str) -> str:
    return f"arn:aws:iam::{account}:mamori/{what}/{user.lower()}/{ident}"


def _error(code: str, message: str) -> AwsError:
    return AwsError(message, code=code, status=400)


def _ssh_key(body: str) -> tuple[bytes, str]:
    """The key blob and its MD5 fingerprint. IAM takes ssh-rsa keys of at least 2048 bits,
    in OpenSSH or PEM form (API_UploadSSHPublicKey.html)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    text = body.strip()
    try:
        if text.startswith("-----BEGIN"):
            key = serialization.load_pem_public_key(text.encode())
        else:
            key = serialization.load_ssh_public_key(text.encode())
    except (ValueError, TypeError):
        raise _error("UnrecognizedPublicKeyEncoding", "The public key encoding format is unsupported or unrecognized.") from None
    except Exception:  # noqa: BLE001 - cryptography's UnsupportedAlgorithm and friends
        raise _error("UnrecognizedPublicKeyEncoding", "The public key encoding format is unsupported or unrecognized.") from None
    if not isinstance(key, rsa.RSAPublicKey) or key.key_size < 2048:
        raise _error("InvalidPublicKey", "The public key is not valid: it must be an ssh-rsa key of at least 2048 bits.")
    blob = key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    raw = base64.b64decode(blob.split()[1])
    digest = hashlib.md5(raw).hexdigest()  # noqa: S324 - the fingerprint format, not security
    return blob, ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


def _certificate(body: str) -> Any:
    from cryptography import x509

    try:
        return x509.load_pem_x509_certificate(body.strip().encode())
    except (ValueError, TypeError):
        raise _error("MalformedCertificate", "Unable to parse certificate. Please ensure the certificate is in PEM format.") from None


class UserCredentials(IamOperations):
    def _user_for(self, ctx: RequestContext, name: str | None, action: str) -> str:
        """The user the call is about. With no name, the calling IAM user; for the root
        user, "" (the account's own signing certificates)."""
        if name:
            ctx.authorize(action, self.arn_for(ctx, "user", name))
            return self.require(ctx, "user", name)["UserName"]
        principal = ctx.principal
        ctx.authorize(action, principal.arn)
        return principal.user_name or "" if principal.type == "IAMUser" else ""

    def _mine(self, ctx: RequestContext, kind: str, user: str) -> list[dict[str, Any]]:
        return [d for d in ctx.store.list(kind, account_id=ctx.account_id) if d["UserName"] == user]

    def _one(self, ctx: RequestContext, kind: str, what: str, user: str, ident: str, missing: str) -> dict[str, Any]:
        doc = ctx.store.get(_key(ctx.account_id, what, user, ident))
        if doc is None:
            raise no_such_entity(missing)
        return doc

    def _put(self, ctx: RequestContext, kind: str, what: str, ident: str, doc: dict[str, Any], secret: bytes | None = None) -> None:
        with self.writing(ctx) as store:
            store.put(_key(ctx.account_id, what, doc["UserName"], ident), doc, kind=kind, account_id=ctx.account_id,
                      region="", secret=secret)

    def _drop(self, ctx: RequestContext, what: str, user: str, ident: str) -> None:
        with self.writing(ctx) as store:
            store.delete(_key(ctx.account_id, what, user, ident))

    @staticmethod
    def _status(value: str) -> str:
        if value not in ("Active", "Inactive"):
            raise AwsError(f"1 validation error detected: Value '{value}' at 'status' failed to satisfy constraint: "
                           "Member must satisfy enum value set: [Active, Inactive]", code="ValidationError", status=400)
        return value

    # -- SSH public keys ------------------------------------------------------------------------

    def upload_ssh_public_key(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        user = self._user_for(ctx, request["UserName"], "iam:UploadSSHPublicKey")
        blob, fingerprint = _ssh_key(request["SSHPublicKeyBody"])
        existing = self._mine(ctx, SSH_KIND, user)
        if any(d["Fingerprint"] == fingerprint for d in existing):
            raise _error("DuplicateSSHPublicKey", "The SSH public key is already associated with the specified IAM user.")
        if len(existing) >= 5:
            raise limit_exceeded("Cannot exceed quota for PublicKeysPerUser: 5")
        key_id = ids.new_unique_id("APKA")
        doc = {"UserName": user, "SSHPublicKeyId": key_id, "Fingerprint": fingerprint,
               "SSHPublicKeyBody": blob.decode(), "Status": "Active", "UploadDate": stamp(ctx)}
        self._put(ctx, SSH_KIND, "ssh-key", key_id, doc)
        return {"SSHPublicKey": _ssh_out(doc)}

    def get_ssh_public_key(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        user = self._user_for(ctx, request["UserName"], "iam:GetSSHPublicKey")
        doc = self._one(ctx, SSH_KIND, "ssh-key", user, request["SSHPublicKeyId"],
                        f"The Public Key with id {request['SSHPublicKeyId']} cannot be found.")
        out = _ssh_out(doc)
        if request["Encoding"] == "PEM":
            from cryptography.hazmat.primitives import serialization

            key = serialization.load_ssh_public_key(doc["SSHPublicKeyBody"].encode())
            out["SSHPublicKeyBody"] = key.public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.PKCS1).decode()
        return {"SSHPublicKey": out}

    def list_ssh_public_keys(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        user = self._user_for(ctx, request.get("UserName"), "iam:ListSSHPublicKeys")
        return paginate(self._mine(ctx, SSH_KIND, user), request, "SSHPublicKeys", lambda d: {
            "UserName": d["UserName"], "SSHPublicKeyId": d["SSHPublicKeyId"], "Status": d["Status"],
            "UploadDate": to_datetime(d["UploadDate"])})

    def update_ssh_public_key(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        user = self._user_for(ctx, request["UserName"], "iam:UpdateSSHPublicKey")
        doc = self._one(ctx, SSH_KIND, "ssh-key", user, request["SSHPublicKeyId"],
                        f"The Public Key with id {request['SSHPublicKeyId']} cannot be found.")
        doc["Status"] = self._status(request["Status"])
        self._put(ctx, SSH_KIND, "ssh-key", doc["SSHPublicKeyId"], doc)
        return {}

    def delete_ssh_public_key(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        user = self._user_for(ctx, request["UserName"], "iam:DeleteSSHPublicKey")
        self._one(ctx, SSH_KIND, "ssh-key", user, request["SSHPublicKeyId"],
                  f"The Public Key with id {request['SSHPublicKeyId']} cannot be found.")
        self._drop(ctx, "ssh-key", user, request["SSHPublicKeyId"])
        return {}

    # -- signing certificates -------------------------------------------------------------------

    def upload_signing_certificate(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        user = self._user_for(ctx, request.get("UserName"), "iam:UploadSigningCertificate")
        cert = _certificate(request["CertificateBody"])
        from cryptography.hazmat.primitives import hashes

        # The id IAM gives a certificate: 32 characters, upper-case (from its fingerprint here).
        cert_id = cert.fingerprint(hashes.SHA256()).hex().upper()[:32]
        existing = self._mine(ctx, CERT_KIND, user)
        if any(d["CertificateId"] == cert_id for d in existing):
            raise _error("DuplicateCertificate", "The request was rejected because the same certificate is associated with an IAM user in the account.")
        if len(existing) >= 2:
            raise limit_exceeded("Cannot exceed quota for SigningCertificatesPerUser: 2")
        doc = {"UserName": user, "CertificateId": cert_id, "CertificateBody": request["CertificateBody"].strip(),
               "Status": "Active", "UploadDate": stamp(ctx)}
        self._put(ctx, CERT_KIND, "signing-cert", cert_id, doc)
        return {"Certificate": _cert_out(doc)}

    def list_signing_certificates(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        user = self._user_for(ctx, request.get("UserName"), "iam:ListSigningCertificates")
        return paginate(self._mine(ctx, CERT_KIND, user), request, "Certificates", _cert_out)

    def update_signing_certificate(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        user = self._user_for(ctx, request.get("UserName"), "iam:UpdateSigningCertificate")
        doc = self._one(ctx, CERT_KIND, "signing-cert", user, request["CertificateId"],
                        f"The Certificate with id {request['CertificateId']} cannot be found.")
        doc["Status"] = self._status(request["Status"])
        self._put(ctx, CERT_KIND, "signing-cert", doc["CertificateId"], doc)
        return {}

    def delete_signing_certificate(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        user = self._user_for(ctx, request.get("UserName"), "iam:DeleteSigningCertificate")
        self._one(ctx, CERT_KIND, "signing-cert", user, request["CertificateId"],
                  f"The Certificate with id {request['CertificateId']} cannot be found.")
        self._drop(ctx, "signing-cert", user, request["CertificateId"])
        return {}

    # -- service-specific credentials -----------------------------------------------------------

    def create_service_specific_credential(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        user = self._user_for(ctx, request["UserName"], "iam:CreateServiceSpecificCredential")
        service = request["ServiceName"]
        if service not in SERVICES:
            raise _error("NotSupportedService", f"Service {service} is not supported for service-specific credentials.")
        existing = [d for d in self._mine(ctx, CRED_KIND, user) if d["ServiceName"] == service]
        if len(existing) >= 2:
            raise limit_exceeded("Cannot exceed quota for ServiceSpecificCredentialsPerUserPerService: 2")
        cred_id = ids.new_unique_id("ACCA")
        password = "".join(secrets.choice(_PASSWORD) for _ in range(44))
        doc = {"UserName": user, "ServiceName": service, "ServiceSpecificCredentialId": cred_id,
               "ServiceUserName": f"{user}-at-{ctx.account_id}", "Status": "Active", "CreateDate": stamp(ctx)}
        self._put(ctx, CRED_KIND, "service-cred", cred_id, doc, secret=password.encode())
        return {"ServiceSpecificCredential": {**_cred_out(doc), "ServicePassword": password}}

    def list_service_specific_credentials(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        user = self._user_for(ctx, request.get("UserName"), "iam:ListServiceSpecificCredentials")
        service = request.get("ServiceName")
        found = [d for d in self._mine(ctx, CRED_KIND, user) if not service or d["ServiceName"] == service]
        return {"ServiceSpecificCredentials": [_cred_out(d) for d in found]}

    def update_service_specific_credential(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        user = self._user_for(ctx, request.get("UserName"), "iam:UpdateServiceSpecificCredential")
        doc = self._cred(ctx, user, request["ServiceSpecificCredentialId"])
        doc["Status"] = self._status(request["Status"])
        self._put(ctx, CRED_KIND, "service-cred", doc["ServiceSpecificCredentialId"], doc)
        return {}

    def reset_service_specific_credential(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        user = self._user_for(ctx, request.get("UserName"), "iam:ResetServiceSpecificCredential")
        doc = self._cred(ctx, user, request["ServiceSpecificCredentialId"])
        password = "".join(secrets.choice(_PASSWORD) for _ in range(44))
        self._put(ctx, CRED_KIND, "service-cred", doc["ServiceSpecificCredentialId"], doc, secret=password.encode())
        return {"ServiceSpecificCredential": {**_cred_out(doc), "ServicePassword": password}}

    def delete_service_specific_credential(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        user = self._user_for(ctx, request.get("UserName"), "iam:DeleteServiceSpecificCredential")
        self._cred(ctx, user, request["ServiceSpecificCredentialId"])
        self._drop(ctx, "service-cred", user, request["ServiceSpecificCredentialId"])
        return {}

    def _cred(self, ctx: RequestContext, user: str, cred_id: str) -> dict[str, Any]:
        return self._one(ctx, CRED_KIND, "service-cred", user, cred_id,
                         f"No such credential {cred_id} exists for user {user}.")


def _ssh_out(doc: dict[str, Any]) -> dict[str, Any]:
    return {**{k: v for k, v in doc.items() if k != "UploadDate"}, "UploadDate": to_datetime(doc["UploadDate"])}


def _cert_out(doc: dict[str, Any]) -> dict[str, Any]:
    out = {**doc, "UploadDate": to_datetime(doc["UploadDate"])}
    if not out["UserName"]:
        out.pop("UserName")
    return out


def _cred_out(doc: dict[str, Any]) -> dict[str, Any]:
    return {**doc, "CreateDate": to_datetime(doc["CreateDate"])}

