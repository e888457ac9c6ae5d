"""Server certificates (for load balancers and CloudFront before ACM): upload, get, list,
update (rename or move), delete, tags.

The private key is checked against the certificate and sealed at rest; no operation
ever returns it (API_UploadServerCertificate.html: "the private key ... is not returned").
`Expiration` is the certificate's notAfter. 20 certificates per account
(reference_iam-quotas.html).
"""

from __future__ import annotations

from datetime import timezone
from typing import Any

from mamori.errors import AwsError
from mamori.gateway.context import RequestContext
from mamori.services.iam import ids
from mamori.services.iam import repository as repo
from mamori.services.iam.base import IamOperations, stamp, to_datetime
from mamori.services.iam.validation import (
    already_exists,
    check_name,
    check_path,
    check_path_prefix,
    check_tags,
    limit_exceeded,
    paginate,
    tag_conditions,
)

FAMILY = "server-certificate"


def _malformed(message: str) -> AwsError:
    return AwsError(message, code="MalformedCertificate", status=400)


def _check(body: str, private_key: str, chain: str | None) -> Any:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    try:
        cert = x509.load_pem_x509_certificate(body.strip().encode())
    except (ValueError, TypeError):
        raise _malformed("Unable to parse certificate. Please ensure the certificate is in PEM format.") from None
    try:
        key = serialization.load_pem_private_key(private_key.strip().encode(), password=None)
    except (ValueError, TypeError):
        raise _malformed("Unable to parse private key.") from None
    if key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo) != \
            cert.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo):
        raise _malformed("The private key does not match the certificate.")
    if chain:
        try:
            x509.load_pem_x509_certificates(chain.strip().encode())
        except (ValueError, TypeError):
            raise _malformed("Unable to parse certificate chain. Please ensure the chain is in PEM format.") from None
    return cert


def _metadata(doc: dict[str, Any]) -> dict[str, Any]:
    return {
        "Path": doc["Path"],
        "ServerCertificateName": doc["ServerCertificateName"],
        "ServerCertificateId": doc["ServerCertificateId"],
        "Arn": doc["Arn"],
        "UploadDate": to_datetime(doc["UploadDate"]),
        "Expiration": to_datetime(doc["Expiration"]),
    }


class ServerCertificates(IamOperations):
    def upload_server_certificate(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = check_name(request["ServerCertificateName"], "serverCertificateName", 128)
        path = check_path(request.get("Path"))
        tags = check_tags(request.get("Tags"))
        arn = repo.entity_arn(ctx.account_id, FAMILY, path, name)
        ctx.authorize("iam:UploadServerCertificate", arn, tag_conditions(tags))
        cert = _check(request["CertificateBody"], request["PrivateKey"], request.get("CertificateChain"))
        if repo.arn_by_name(ctx.store, ctx.account_id, FAMILY, name):
            raise already_exists(f"The Server Certificate with name {name} already exists.")
        if len(repo.list_family(ctx.store, ctx.account_id, FAMILY)) >= 20:
            raise limit_exceeded("Cannot exceed quota for ServerCertificatesPerAccount: 20")
        doc = {
            "Path": path,
            "ServerCertificateName": name,
            "ServerCertificateId": ids.new_unique_id("ASCA"),
            "Arn": arn,
            "UploadDate": stamp(ctx),
            "Expiration": cert.not_valid_after_utc.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "CertificateBody": request["CertificateBody"].strip(),
            "CertificateChain": (request.get("CertificateChain") or "").strip() or None,
            "Tags": tags,
        }
        with self.writing(ctx) as store:
            repo.save(store, FAMILY, ctx.account_id, doc, secret=request["PrivateKey"].encode())
            repo.index(store, ctx.account_id, FAMILY, name, arn, doc["ServerCertificateId"])
        out: dict[str, Any] = {"ServerCertificateMetadata": _metadata(doc)}
        if tags:
            out["Tags"] = tags
        return out

    def get_server_certificate(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request["ServerCertificateName"]
        ctx.authorize("iam:GetServerCertificate", self.arn_for(ctx, FAMILY, name))
        doc = self.require(ctx, FAMILY, name)
        cert: dict[str, Any] = {"ServerCertificateMetadata": _metadata(doc), "CertificateBody": doc["CertificateBody"],
                                "Tags": doc.get("Tags", [])}
        if doc.get("CertificateChain"):
            cert["CertificateChain"] = doc["CertificateChain"]
        return {"ServerCertificate": cert}

    def list_server_certificates(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ctx.authorize("iam:ListServerCertificates", "*")
        prefix = check_path_prefix(request.get("PathPrefix"))
        found = [d for d in repo.list_family(ctx.store, ctx.account_id, FAMILY) if d["Path"].startswith(prefix)]
        return paginate(found, request, "ServerCertificateMetadataList", _metadata)

    def update_server_certificate(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request["ServerCertificateName"]
        ctx.authorize("iam:UpdateServerCertificate", self.arn_for(ctx, FAMILY, name))
        doc = self.require(ctx, FAMILY, name)
        new_name = check_name(request.get("NewServerCertificateName") or doc["ServerCertificateName"],
                              "newServerCertificateName", 128)
        new_path = check_path(request.get("NewPath") or doc["Path"], "newPath")
        if new_name.lower() != doc["ServerCertificateName"].lower() and repo.arn_by_name(ctx.store, ctx.account_id, FAMILY, new_name):
            raise already_exists(f"The Server Certificate with name {new_name} already exists.")
        new_arn = repo.entity_arn(ctx.account_id, FAMILY, new_path, new_name)
        if new_arn != doc["Arn"]:
            # Renaming needs the permission on the new name too (API_UpdateServerCertificate.html).
            ctx.authorize("iam:UpdateServerCertificate", new_arn)
        secret = ctx.store.get_secret(doc["Arn"])
        with self.writing(ctx) as store:
            store.delete(doc["Arn"])
            repo.unindex(store, ctx.account_id, FAMILY, doc["ServerCertificateName"], doc["ServerCertificateId"])
            doc.update({"ServerCertificateName": new_name, "Path": new_path, "Arn": new_arn})
            repo.save(store, FAMILY, ctx.account_id, doc, secret=secret)
            repo.index(store, ctx.account_id, FAMILY, new_name, new_arn, doc["ServerCertificateId"])
        return {}

    def delete_server_certificate(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request["ServerCertificateName"]
        ctx.authorize("iam:DeleteServerCertificate", self.arn_for(ctx, FAMILY, name))
        doc = self.require(ctx, FAMILY, name)
        with self.writing(ctx) as store:
            store.delete(doc["Arn"])
            repo.unindex(store, ctx.account_id, FAMILY, doc["ServerCertificateName"], doc["ServerCertificateId"])
        return {}

    def tag_server_certificate(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        return self.tag_named(ctx, FAMILY, "iam:TagServerCertificate", request["ServerCertificateName"], request["Tags"])

    def untag_server_certificate(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        return self.untag_named(ctx, FAMILY, "iam:UntagServerCertificate", request["ServerCertificateName"], request["TagKeys"])

    def list_server_certificate_tags(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        return self.list_named_tags(ctx, FAMILY, "iam:ListServerCertificateTags", request["ServerCertificateName"], request)
