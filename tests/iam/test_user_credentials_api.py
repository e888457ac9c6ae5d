"""SSH public keys, signing certificates, service-specific credentials and server
certificates: made with `cryptography`, uploaded, read back, limited, deleted."""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime, timedelta, timezone

import pytest
from botocore.exceptions import ClientError
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from iam_helpers import error_of


def rsa_key(bits=2048):
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def ssh_body(key):
    return key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()


def certificate(key, name="mamori.test", days=365):
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(timezone.utc).replace(microsecond=0)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now).not_valid_after(now + timedelta(days=days))
            .sign(key, hashes.SHA256()))
    return cert, cert.public_bytes(serialization.Encoding.PEM).decode()


def pem_private(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


@pytest.fixture
def user(iam, uid):
    name = f"creds-{uid}"
    iam.create_user(UserName=name)
    return name


def test_ssh_public_keys(iam, user):
    key = rsa_key()
    body = ssh_body(key)
    uploaded = iam.upload_ssh_public_key(UserName=user, SSHPublicKeyBody=body)["SSHPublicKey"]
    assert uploaded["SSHPublicKeyId"].startswith("APKA") and uploaded["Status"] == "Active"
    blob = base64.b64decode(body.split()[1])
    digest = hashlib.md5(blob).hexdigest()  # noqa: S324 - the fingerprint IAM shows
    assert uploaded["Fingerprint"] == ":".join(digest[i:i + 2] for i in range(0, 32, 2))

    key_id = uploaded["SSHPublicKeyId"]
    got = iam.get_ssh_public_key(UserName=user, SSHPublicKeyId=key_id, Encoding="SSH")["SSHPublicKey"]
    assert got["SSHPublicKeyBody"] == body
    pem = iam.get_ssh_public_key(UserName=user, SSHPublicKeyId=key_id, Encoding="PEM")["SSHPublicKey"]["SSHPublicKeyBody"]
    loaded = serialization.load_pem_public_key(pem.encode())
    assert loaded.public_numbers() == key.public_key().public_numbers()

    with pytest.raises(ClientError) as exc:
        iam.upload_ssh_public_key(UserName=user, SSHPublicKeyBody=body)
    assert exc.value.response["Error"]["Code"] == "DuplicateSSHPublicKey"
    with pytest.raises(ClientError) as exc:
        iam.upload_ssh_public_key(UserName=user, SSHPublicKeyBody=ssh_body(rsa_key(1024)))
    assert exc.value.response["Error"]["Code"] == "InvalidPublicKey"
    with pytest.raises(ClientError) as exc:
        iam.upload_ssh_public_key(UserName=user, SSHPublicKeyBody="ssh-rsa not-base64")
    assert exc.value.response["Error"]["Code"] == "UnrecognizedPublicKeyEncoding"

    iam.update_ssh_public_key(UserName=user, SSHPublicKeyId=key_id, Status="Inactive")
    listed = iam.list_ssh_public_keys(UserName=user)["SSHPublicKeys"]
    assert [(k["SSHPublicKeyId"], k["Status"]) for k in listed] == [(key_id, "Inactive")]

    with pytest.raises(ClientError) as exc:  # a user with a key can't be deleted
        iam.delete_user(UserName=user)
    assert error_of(exc) == ("DeleteConflict", 409)
    iam.delete_ssh_public_key(UserName=user, SSHPublicKeyId=key_id)
    assert iam.list_ssh_public_keys(UserName=user)["SSHPublicKeys"] == []
    iam.delete_user(UserName=user)


def test_signing_certificates(iam, user):
    _, pem = certificate(rsa_key())
    cert = iam.upload_signing_certificate(UserName=user, CertificateBody=pem)["Certificate"]
    assert cert["UserName"] == user and cert["Status"] == "Active" and cert["CertificateBody"] == pem.strip()
    with pytest.raises(ClientError) as exc:
        iam.upload_signing_certificate(UserName=user, CertificateBody=pem)
    assert exc.value.response["Error"]["Code"] == "DuplicateCertificate"
    iam.upload_signing_certificate(UserName=user, CertificateBody=certificate(rsa_key())[1])
    with pytest.raises(ClientError) as exc:
        iam.upload_signing_certificate(UserName=user, CertificateBody=certificate(rsa_key())[1])
    assert error_of(exc) == ("LimitExceeded", 409)
    with pytest.raises(ClientError) as exc:
        iam.upload_signing_certificate(UserName=user, CertificateBody="-----BEGIN CERTIFICATE-----\nxx\n")
    assert exc.value.response["Error"]["Code"] == "MalformedCertificate"

    iam.update_signing_certificate(UserName=user, CertificateId=cert["CertificateId"], Status="Inactive")
    listed = {c["CertificateId"]: c["Status"] for c in iam.list_signing_certificates(UserName=user)["Certificates"]}
    assert listed[cert["CertificateId"]] == "Inactive" and len(listed) == 2
    for cert_id in listed:
        iam.delete_signing_certificate(UserName=user, CertificateId=cert_id)
    assert iam.list_signing_certificates(UserName=user)["Certificates"] == []


def test_service_specific_credentials(iam, user, mamori):
    made = iam.create_service_specific_credential(UserName=user, ServiceName="codecommit.amazonaws.com")
    cred = made["ServiceSpecificCredential"]
    assert cred["ServiceUserName"] == f"{user}-at-{mamori.account_id}"
    assert cred["ServiceSpecificCredentialId"].startswith("ACCA") and len(cred["ServicePassword"]) >= 40
    listed = iam.list_service_specific_credentials(UserName=user)["ServiceSpecificCredentials"]
    assert [c["ServiceSpecificCredentialId"] for c in listed] == [cred["ServiceSpecificCredentialId"]]
    assert "ServicePassword" not in listed[0]

    reset = iam.reset_service_specific_credential(UserName=user, ServiceSpecificCredentialId=cred["ServiceSpecificCredentialId"])
    assert reset["ServiceSpecificCredential"]["ServicePassword"] != cred["ServicePassword"]
    iam.update_service_specific_credential(UserName=user, ServiceSpecificCredentialId=cred["ServiceSpecificCredentialId"],
                                           Status="Inactive")
    assert iam.list_service_specific_credentials(UserName=user)["ServiceSpecificCredentials"][0]["Status"] == "Inactive"

    with pytest.raises(ClientError) as exc:
        iam.create_service_specific_credential(UserName=user, ServiceName="s3.amazonaws.com")
    assert exc.value.response["Error"]["Code"] == "NotSupportedService"
    iam.create_service_specific_credential(UserName=user, ServiceName="codecommit.amazonaws.com")
    with pytest.raises(ClientError) as exc:
        iam.create_service_specific_credential(UserName=user, ServiceName="codecommit.amazonaws.com")
    assert error_of(exc) == ("LimitExceeded", 409)
    for c in iam.list_service_specific_credentials(UserName=user)["ServiceSpecificCredentials"]:
        iam.delete_service_specific_credential(UserName=user, ServiceSpecificCredentialId=c["ServiceSpecificCredentialId"])
    assert iam.list_service_specific_credentials(UserName=user)["ServiceSpecificCredentials"] == []


def test_server_certificates(iam, uid, mamori):
    key = rsa_key()
    cert, pem = certificate(key, days=90)
    name = f"web-{uid}"
    meta = iam.upload_server_certificate(ServerCertificateName=name, Path="/cloudfront/", CertificateBody=pem,
                                         PrivateKey=pem_private(key), Tags=[{"Key": "site", "Value": "www"}])
    meta = meta["ServerCertificateMetadata"]
    assert meta["Arn"] == f"arn:aws:iam::{mamori.account_id}:server-certificate/cloudfront/{name}"
    assert meta["ServerCertificateId"].startswith("ASCA")
    assert meta["Expiration"] == cert.not_valid_after_utc

    got = iam.get_server_certificate(ServerCertificateName=name)["ServerCertificate"]
    assert got["CertificateBody"] == pem.strip() and "PrivateKey" not in str(got)
    assert name in [m["ServerCertificateName"] for m in iam.list_server_certificates(PathPrefix="/cloudfront/")["ServerCertificateMetadataList"]]

    with pytest.raises(ClientError) as exc:  # a key that isn't the certificate's
        iam.upload_server_certificate(ServerCertificateName=f"{name}-x", CertificateBody=pem, PrivateKey=pem_private(rsa_key()))
    assert exc.value.response["Error"]["Code"] == "MalformedCertificate"
    ec_key = ec.generate_private_key(ec.SECP256R1())
    with pytest.raises(ClientError) as exc:
        iam.upload_server_certificate(ServerCertificateName=name, CertificateBody=certificate(ec_key)[1],
                                      PrivateKey=pem_private(ec_key))
    assert error_of(exc) == ("EntityAlreadyExists", 409)

    iam.tag_server_certificate(ServerCertificateName=name, Tags=[{"Key": "owner", "Value": "web"}])
    iam.untag_server_certificate(ServerCertificateName=name, TagKeys=["site"])
    assert iam.list_server_certificate_tags(ServerCertificateName=name)["Tags"] == [{"Key": "owner", "Value": "web"}]

    iam.update_server_certificate(ServerCertificateName=name, NewServerCertificateName=f"{name}-2", NewPath="/elb/")
    moved = iam.get_server_certificate(ServerCertificateName=f"{name}-2")["ServerCertificate"]["ServerCertificateMetadata"]
    assert moved["Path"] == "/elb/" and moved["ServerCertificateId"] == meta["ServerCertificateId"]
    with pytest.raises(ClientError) as exc:
        iam.get_server_certificate(ServerCertificateName=name)
    assert error_of(exc) == ("NoSuchEntity", 404)
    assert iam.get_account_summary()["SummaryMap"]["ServerCertificates"] >= 1
    iam.delete_server_certificate(ServerCertificateName=f"{name}-2")
    assert f"{name}-2" not in [m["ServerCertificateName"] for m in iam.list_server_certificates()["ServerCertificateMetadataList"]]
