"""OpenID Connect and SAML identity providers: lifecycle, limits, tags, errors."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from iam_helpers import error_of

THUMB = "9e99a48a9960b14926bb7f3b02e22da2b0ab7280"

SAML_METADATA = (
    '<?xml version="1.0"?>'
    '<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://idp.example.com/saml">'
    '<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">'
    '<md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data>'
    "<ds:X509Certificate>" + "MIIC" + "A" * 900 + "</ds:X509Certificate>"
    "</ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"
    '<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example.com/sso"/>'
    "</md:IDPSSODescriptor></md:EntityDescriptor>"
)


def test_oidc_provider_lifecycle(iam, uid, mamori):
    url = f"https://oidc-{uid}.example.com/realm"
    created = iam.create_open_id_connect_provider(Url=url, ClientIDList=["sts.amazonaws.com"], ThumbprintList=[THUMB],
                                                  Tags=[{"Key": "env", "Value": "ci"}])
    arn = created["OpenIDConnectProviderArn"]
    assert arn == f"arn:aws:iam::{mamori.account_id}:oidc-provider/oidc-{uid}.example.com/realm"
    got = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    assert got["Url"] == f"oidc-{uid}.example.com/realm"
    assert got["ClientIDList"] == ["sts.amazonaws.com"] and got["ThumbprintList"] == [THUMB]
    assert got["Tags"] == [{"Key": "env", "Value": "ci"}]
    assert {"Arn": arn} in iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]

    with pytest.raises(ClientError) as exc:
        iam.create_open_id_connect_provider(Url=url, ThumbprintList=[THUMB])
    assert error_of(exc) == ("EntityAlreadyExists", 409)

    iam.add_client_id_to_open_id_connect_provider(OpenIDConnectProviderArn=arn, ClientID="my-app")
    iam.add_client_id_to_open_id_connect_provider(OpenIDConnectProviderArn=arn, ClientID="my-app")  # idempotent
    iam.remove_client_id_from_open_id_connect_provider(OpenIDConnectProviderArn=arn, ClientID="sts.amazonaws.com")
    new_thumb = "a" * 40
    iam.update_open_id_connect_provider_thumbprint(OpenIDConnectProviderArn=arn, ThumbprintList=[new_thumb])
    got = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    assert got["ClientIDList"] == ["my-app"] and got["ThumbprintList"] == [new_thumb]

    iam.tag_open_id_connect_provider(OpenIDConnectProviderArn=arn, Tags=[{"Key": "team", "Value": "sec"}])
    iam.untag_open_id_connect_provider(OpenIDConnectProviderArn=arn, TagKeys=["env"])
    tags = iam.list_open_id_connect_provider_tags(OpenIDConnectProviderArn=arn)["Tags"]
    assert tags == [{"Key": "team", "Value": "sec"}]

    iam.delete_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    with pytest.raises(ClientError) as exc:
        iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    assert error_of(exc) == ("NoSuchEntity", 404)
    assert exc.value.response["Error"]["Message"] == f"OpenIDConnect Provider not found for arn {arn}"


@pytest.mark.parametrize("url,thumbs,code", [
    ("http://insecure.example.com", [], "InvalidInput"),
    ("https://ok.example.com", ["not-hex"] , "ValidationError"),
    ("https://ok.example.com", ["a" * 40] * 6, "LimitExceeded"),
])
def test_oidc_provider_validation(iam_raw, url, thumbs, code):
    with pytest.raises(ClientError) as exc:
        iam_raw.create_open_id_connect_provider(Url=url, ThumbprintList=thumbs)
    assert exc.value.response["Error"]["Code"] == code


def test_saml_provider_lifecycle(iam, uid, mamori):
    name = f"corp-{uid}"
    arn = iam.create_saml_provider(Name=name, SAMLMetadataDocument=SAML_METADATA)["SAMLProviderArn"]
    assert arn == f"arn:aws:iam::{mamori.account_id}:saml-provider/{name}"
    got = iam.get_saml_provider(SAMLProviderArn=arn)
    assert got["SAMLMetadataDocument"] == SAML_METADATA
    assert got["ValidUntil"] > got["CreateDate"]
    listed = iam.list_saml_providers()["SAMLProviderList"]
    assert arn in [p["Arn"] for p in listed]

    with pytest.raises(ClientError) as exc:
        iam.create_saml_provider(Name=name, SAMLMetadataDocument=SAML_METADATA)
    assert error_of(exc) == ("EntityAlreadyExists", 409)
    with pytest.raises(ClientError) as exc:
        iam.create_saml_provider(Name=f"bad-{uid}", SAMLMetadataDocument="<not-metadata>" + " " * 1000)
    assert exc.value.response["Error"]["Code"] == "InvalidInput"

    updated = SAML_METADATA.replace("https://idp.example.com/sso", "https://idp2.example.com/sso")
    assert iam.update_saml_provider(SAMLProviderArn=arn, SAMLMetadataDocument=updated)["SAMLProviderArn"] == arn
    assert iam.get_saml_provider(SAMLProviderArn=arn)["SAMLMetadataDocument"] == updated

    iam.tag_saml_provider(SAMLProviderArn=arn, Tags=[{"Key": "idp", "Value": "okta"}, {"Key": "x", "Value": "y"}])
    iam.untag_saml_provider(SAMLProviderArn=arn, TagKeys=["x"])
    assert iam.list_saml_provider_tags(SAMLProviderArn=arn)["Tags"] == [{"Key": "idp", "Value": "okta"}]
    summary = iam.get_account_summary()["SummaryMap"]
    assert summary["Providers"] >= 1

    iam.delete_saml_provider(SAMLProviderArn=arn)
    with pytest.raises(ClientError) as exc:
        iam.get_saml_provider(SAMLProviderArn=arn)
    assert error_of(exc) == ("NoSuchEntity", 404)
