"""SAML 2.0 responses for AssumeRoleWithSAML: verify the XML signature with the
certificates of the IAM SAML provider's metadata, then read the assertion.

What AWS requires of the assertion (id_roles_providers_create_saml_assertions.html):
- signed by a key of the IdP metadata (the response or the assertion; signxml checks
  the enveloped XML-DSig signature and returns only what it covers, so nothing
  unsigned is read);
- an `AudienceRestriction` naming https://signin.aws.amazon.com/saml (or
  urn:amazon:webservices), and `SubjectConfirmationData` whose `NotOnOrAfter` (and
  the Conditions' `NotOnOrAfter`) lie in the future - the mamori clock decides;
- the attribute https://aws.amazon.com/SAML/Attributes/Role with a value
  "ROLE_ARN,PROVIDER_ARN" (either order) for the role and provider asked for;
- the attribute .../RoleSessionName (2-64 characters of [\\w+=,.@-]);
- optional .../SessionDuration (seconds) and .../SourceIdentity.

`NameQualifier` in the answer (and `saml:namequalifier`) is
base64(sha1(issuer + account id + "/" + provider name)), as the STS reference defines.
"""

from __future__ import annotations

import base64
import hashlib
import re
from datetime import datetime, timezone
from typing import Any

from mamori.errors import AwsError

_SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
_MD = "urn:oasis:names:tc:SAML:2.0:metadata"
_DS = "http://www.w3.org/2000/09/xmldsig#"
ROLE_ATTRIBUTE = "https://aws.amazon.com/SAML/Attributes/Role"
SESSION_NAME_ATTRIBUTE = "https://aws.amazon.com/SAML/Attributes/RoleSessionName"
DURATION_ATTRIBUTE = "https://aws.amazon.com/SAML/Attributes/SessionDuration"
SOURCE_IDENTITY_ATTRIBUTE = "https://aws.amazon.com/SAML/Attributes/SourceIdentity"
AUDIENCES = ("https://signin.aws.amazon.com/saml", "urn:amazon:webservices")
_SESSION_NAME = re.compile(r"^[\w+=,.@-]{2,64}$")


def invalid(message: str) -> AwsError:
    return AwsError(message, code="InvalidIdentityToken", status=400)


def rejected(message: str) -> AwsError:
    return AwsError(message, code="IDPRejectedClaim", status=403)


def metadata_certificates(metadata: str) -> list[str]:
    """PEM certificates of the IdP's signing keys in its metadata."""
    from defusedxml import ElementTree

    root = ElementTree.fromstring(metadata)
    pems = []
    for descriptor in root.iter(f"{{{_MD}}}KeyDescriptor"):
        if descriptor.get("use") not in (None, "signing"):
            continue
        for cert in descriptor.iter(f"{{{_DS}}}X509Certificate"):
            body = "".join((cert.text or "").split())
            if body:
                lines = "\n".join(body[i:i + 64] for i in range(0, len(body), 64))
                pems.append(f"-----BEGIN CERTIFICATE-----\n{lines}\n-----END CERTIFICATE-----\n")
    return pems


def _time(text: str | None) -> float | None:
    if not text:
        return None
    text = text.strip().replace("Z", "+00:00")
    if "." in text:  # fractional seconds of any length
        head, _, tail = text.partition(".")
        frac = re.match(r"\d*", tail).group(0)
        text = head + tail[len(frac):]
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise invalid("Invalid SAML response: bad timestamp.") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def verified_assertion(encoded: str, certificates: list[str]) -> Any:
    """The signed Assertion element (lxml), or InvalidIdentityToken."""
    from lxml import etree
    from signxml import XMLVerifier
    from signxml.exceptions import InvalidInput, InvalidSignature

    try:
        document = base64.b64decode(encoded, validate=False)
    except ValueError:
        raise invalid("Invalid base64 SAMLResponse (position 0): the assertion must be base64.") from None
    if not certificates:
        raise invalid("The SAML provider's metadata has no signing certificate.")
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    try:
        etree.fromstring(document, parser)
    except etree.XMLSyntaxError:
        raise invalid("Invalid SAML response: the document is not well-formed XML.") from None
    last_error = "no signature"
    for pem in certificates:
        try:
            results = XMLVerifier().verify(document, x509_cert=pem, expect_references=1, ignore_ambiguous_key_info=True)
        except (InvalidSignature, InvalidInput) as exc:
            last_error = str(exc)
            continue
        except Exception as exc:  # noqa: BLE001 - malformed signatures raise assorted errors
            last_error = type(exc).__name__
            continue
        signed = results[0].signed_xml if isinstance(results, list) else results.signed_xml
        if signed.tag == f"{{{_SAML}}}Assertion":
            return signed
        found = signed.find(f"{{{_SAML}}}Assertion")
        if found is not None:
            return found
        raise invalid("Invalid SAML response: the signed element holds no assertion.")
    raise invalid(f"Invalid SAML response: the signature doesn't verify with the provider's certificates ({last_error[:120]}).")


def read(assertion: Any, *, now: float, role_arn: str, provider_arn: str) -> dict[str, Any]:
    """Subject, issuer, session name and duration from a verified assertion, checked."""
    def text(path: str) -> str | None:
        node = assertion.find(path, {"a": _SAML})
        return node.text.strip() if node is not None and node.text else None

    issuer = text("a:Issuer") or ""
    name_id = assertion.find("a:Subject/a:NameID", {"a": _SAML})
    subject = (name_id.text or "").strip() if name_id is not None else ""
    subject_format = name_id.get("Format", "") if name_id is not None else ""
    conditions = assertion.find("a:Conditions", {"a": _SAML})
    if conditions is not None:
        not_before = _time(conditions.get("NotBefore"))
        not_after = _time(conditions.get("NotOnOrAfter"))
        if not_before is not None and now < not_before - 300:  # AWS allows some clock skew
            raise invalid("Invalid SAML response: the assertion is not valid yet.")
        if not_after is not None and now >= not_after:
            raise AwsError("Token must be redeemed within 5 minutes of issuance", code="ExpiredTokenException", status=400)
        audiences = [a.text.strip() for a in conditions.iter(f"{{{_SAML}}}Audience") if a.text]
        if audiences and not any(a in AUDIENCES for a in audiences):
            raise rejected("Invalid audience: the assertion is not for AWS (https://signin.aws.amazon.com/saml).")
    recipient = None
    for data in assertion.iter(f"{{{_SAML}}}SubjectConfirmationData"):
        expires = _time(data.get("NotOnOrAfter"))
        if expires is not None and now >= expires:
            raise AwsError("Token must be redeemed within 5 minutes of issuance", code="ExpiredTokenException", status=400)
        recipient = data.get("Recipient") or recipient
    attributes: dict[str, list[str]] = {}
    for attribute in assertion.iter(f"{{{_SAML}}}Attribute"):
        values = [(v.text or "").strip() for v in attribute.iter(f"{{{_SAML}}}AttributeValue")]
        attributes.setdefault(attribute.get("Name", ""), []).extend(values)
    pairs = [{part.strip() for part in value.split(",")} for value in attributes.get(ROLE_ATTRIBUTE, [])]
    if {role_arn, provider_arn} not in pairs:
        raise rejected(f"The SAML assertion doesn't contain the role {role_arn} with the provider {provider_arn} "
                       f"in the {ROLE_ATTRIBUTE} attribute.")
    session_names = attributes.get(SESSION_NAME_ATTRIBUTE) or []
    if not session_names or not _SESSION_NAME.match(session_names[0]):
        raise invalid("Invalid SAML response: RoleSessionName is missing or not 2-64 characters of [\\w+=,.@-].")
    duration = None
    if attributes.get(DURATION_ATTRIBUTE):
        try:
            duration = int(attributes[DURATION_ATTRIBUTE][0])
        except ValueError:
            raise invalid("Invalid SAML response: SessionDuration is not a number of seconds.") from None
    short_format = subject_format.rsplit(":", 1)[-1] if subject_format.startswith("urn:oasis:names:tc:SAML:2.0:nameid-format:") else subject_format
    return {
        "issuer": issuer,
        "subject": subject,
        "subject_type": short_format or "unspecified",
        "session_name": session_names[0],
        "duration": duration,
        "recipient": recipient or AUDIENCES[0],
        "source_identity": (attributes.get(SOURCE_IDENTITY_ATTRIBUTE) or [None])[0],
        "attributes": attributes,
    }


def name_qualifier(issuer: str, account: str, provider_name: str) -> str:
    return base64.b64encode(hashlib.sha1(f"{issuer}{account}/{provider_name}".encode()).digest()).decode()  # noqa: S324
