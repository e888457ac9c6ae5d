"""AssumeRoleWithSAML with a SAML response signed here (signxml) by an IdP whose
certificate is in the IAM SAML provider's metadata."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from lxml import etree
from signxml import XMLSigner

ISSUER = "https://idp.mamori.test/saml"


def make_idp():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "idp.mamori.test")])
    now = datetime.now(timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=365)).sign(key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    return key_pem, cert_pem


def metadata(cert_pem: bytes) -> str:
    body = "".join(cert_pem.decode().strip().splitlines()[1:-1])
    return (f'<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="{ISSUER}">'
            '<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">'
            '<md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#">'
            f"<ds:X509Data><ds:X509Certificate>{body}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"
            '<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" '
            'Location="https://idp.mamori.test/sso"/></md:IDPSSODescriptor></md:EntityDescriptor>')


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def response(key_pem, cert_pem, role_arn, provider_arn, *, subject="alice@example.com", session="alice",
             audience="https://signin.aws.amazon.com/saml", lifetime=300, now=None) -> str:
    now = now or datetime.now(timezone.utc)
    later = iso(now + timedelta(seconds=lifetime))
    assertion_id = "_" + uuid.uuid4().hex
    xml = f"""<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_{uuid.uuid4().hex}" Version="2.0"
 IssueInstant="{iso(now)}" Destination="https://signin.aws.amazon.com/saml">
<saml:Issuer xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">{ISSUER}</saml:Issuer>
<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>
<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{assertion_id}" Version="2.0" IssueInstant="{iso(now)}">
<saml:Issuer>{ISSUER}</saml:Issuer>
<saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent">{subject}</saml:NameID>
<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">
<saml:SubjectConfirmationData NotOnOrAfter="{later}" Recipient="https://signin.aws.amazon.com/saml"/></saml:SubjectConfirmation>
</saml:Subject>
<saml:Conditions NotBefore="{iso(now)}" NotOnOrAfter="{later}"><saml:AudienceRestriction><saml:Audience>{audience}</saml:Audience>
</saml:AudienceRestriction></saml:Conditions>
<saml:AttributeStatement>
<saml:Attribute Name="https://aws.amazon.com/SAML/Attributes/Role"><saml:AttributeValue>{role_arn},{provider_arn}</saml:AttributeValue></saml:Attribute>
<saml:Attribute Name="https://aws.amazon.com/SAML/Attributes/RoleSessionName"><saml:AttributeValue>{session}</saml:AttributeValue></saml:Attribute>
</saml:AttributeStatement>
</saml:Assertion></samlp:Response>"""
    root = etree.fromstring(xml.encode())
    assertion = root.find("{urn:oasis:names:tc:SAML:2.0:assertion}Assertion")
    signed = XMLSigner(signature_algorithm="rsa-sha256", digest_algorithm="sha256").sign(
        assertion, key=key_pem, cert=cert_pem.decode(), reference_uri=assertion_id)
    root.replace(assertion, signed)
    return base64.b64encode(etree.tostring(root)).decode()


@pytest.fixture(scope="module")
def idp():
    return make_idp()


@pytest.fixture
def saml_role(mamori, idp):
    iam = mamori.client("iam")
    name = f"corp-{uuid.uuid4().hex[:8]}"
    provider_arn = iam.create_saml_provider(Name=name, SAMLMetadataDocument=metadata(idp[1]))["SAMLProviderArn"]
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Federated": provider_arn}, "Action": "sts:AssumeRoleWithSAML",
        "Condition": {"StringEquals": {"saml:aud": "https://signin.aws.amazon.com/saml"},
                      "StringLike": {"saml:sub": "*@example.com"}}}]}
    role = iam.create_role(RoleName=f"saml-{uuid.uuid4().hex[:8]}", AssumeRolePolicyDocument=json.dumps(trust))["Role"]
    return role, provider_arn


def sts(mamori):
    return mamori.client("sts", config=Config(signature_version=UNSIGNED))


def assume(mamori, role, provider_arn, assertion, **kw):
    return sts(mamori).assume_role_with_saml(RoleArn=role["Arn"], PrincipalArn=provider_arn, SAMLAssertion=assertion, **kw)


def test_a_signed_assertion_opens_a_role_session(mamori, idp, saml_role):
    role, provider_arn = saml_role
    answer = assume(mamori, role, provider_arn, response(*idp, role["Arn"], provider_arn))
    assert answer["Subject"] == "alice@example.com" and answer["SubjectType"] == "persistent"
    assert answer["Issuer"] == ISSUER and answer["Audience"] == "https://signin.aws.amazon.com/saml"
    session_arn = f"arn:aws:sts::{mamori.account_id}:assumed-role/{role['RoleName']}/alice"
    assert answer["AssumedRoleUser"]["Arn"] == session_arn
    creds = answer["Credentials"]
    who = mamori.client("sts", aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                        aws_session_token=creds["SessionToken"]).get_caller_identity()
    assert who["Arn"] == session_arn


def error_code(call):
    with pytest.raises(ClientError) as err:
        call()
    return err.value.response["Error"]["Code"]


def test_assertions_that_are_refused(mamori, idp, saml_role, mamori_clock):
    role, provider_arn = saml_role
    # the trust policy's saml:sub condition
    assert error_code(lambda: assume(mamori, role, provider_arn, response(
        *idp, role["Arn"], provider_arn, subject="mallory@evil.test"))) == "AccessDenied"
    # signed by another IdP's key
    other = make_idp()
    assert error_code(lambda: assume(mamori, role, provider_arn, response(*other, role["Arn"], provider_arn))) == "InvalidIdentityToken"
    # tampered after signing: the subject changed
    good = base64.b64decode(response(*idp, role["Arn"], provider_arn)).replace(b"alice@example.com", b"admin@example.com")
    assert error_code(lambda: assume(mamori, role, provider_arn, base64.b64encode(good).decode())) == "InvalidIdentityToken"
    # for another role than the one asked for
    assert error_code(lambda: assume(mamori, role, provider_arn, response(
        *idp, role["Arn"] + "-other", provider_arn))) == "IDPRejectedClaim"
    # expired by the mamori clock
    assertion = response(*idp, role["Arn"], provider_arn)
    mamori_clock.advance(600)
    assert error_code(lambda: assume(mamori, role, provider_arn, assertion)) == "ExpiredTokenException"
