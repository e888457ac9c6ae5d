"""Identity providers: OpenID Connect and SAML providers, with their tags.

The documents are keyed by the provider's ARN (`oidc-provider/HOST/PATH`,
`saml-provider/NAME`). STS reads them for AssumeRoleWithWebIdentity / AssumeRoleWithSAML
(`oidc_provider_for_issuer`, `saml_provider`).

AWS behaviour worth knowing (id_roles_providers_create_oidc.html,
API_CreateOpenIDConnectProvider.html):
- the URL must begin with https://; the ARN and `Url` are the URL without the scheme;
- thumbprints are optional now, at most 5, each 40 hex characters;
- at most 100 client ids, each 1..255 characters; adding a present id changes nothing.
"""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

from defusedxml import ElementTree

from mamori.gateway.context import RequestContext
from mamori.services.iam.base import IamOperations, stamp, to_datetime
from mamori.services.iam.validation import (
    already_exists,
    check_tags,
    invalid_input,
    limit_exceeded,
    merge_tags,
    no_such_entity,
    paginate,
    remove_tags,
    resource_tag_conditions,
    tag_conditions,
    validation_error,
)

OIDC_KIND = "iam:oidc-provider"
SAML_KIND = "iam:saml-provider"
_THUMBPRINT = re.compile(r"^[0-9A-Fa-f]{40}$")
_SAML_NAME = re.compile(r"^[\w._-]{1,128}$")
_MD_NS = "urn:oasis:names:tc:SAML:2.0:metadata"


def oidc_arn(account: str, url: str) -> str:
    return f"arn:aws:iam::{account}:oidc-provider/{url}"


def oidc_provider_for_issuer(store: Any, account: str, issuer: str) -> dict[str, Any] | None:
    """The OIDC provider whose URL is this token issuer (`iss`, with or without https://)."""
    bare = issuer.removeprefix("https://").rstrip("/")
    return store.get(oidc_arn(account, bare))


def saml_provider(store: Any, arn: str) -> dict[str, Any] | None:
    doc = store.get(arn)
    return doc if doc is not None and doc.get("_kind") == "saml" else None


def _bare_url(url: str) -> str:
    if not url.lower().startswith("https://") or len(url) > 255:
        raise invalid_input("Invalid OIDC provider URL: it must begin with https:// and be at most 255 characters.")
    bare = url[len("https://"):].rstrip("/")
    if not bare or " " in bare or "?" in bare or "#" in bare:
        raise invalid_input(f"Invalid OIDC provider URL: {url}.")
    return bare


def _check_thumbprints(values: Any) -> list[str]:
    values = list(values or [])
    if len(values) > 5:
        raise limit_exceeded("Cannot exceed quota for ThumbprintsPerOpenIdConnectProvider: 5")
    for value in values:
        if not _THUMBPRINT.match(value):
            raise validation_error("thumbprintList", values, "Member must satisfy constraint: [Member must have length less than or equal to 40, Member must have length greater than or equal to 40]")
    return values


def _check_client_ids(values: Any) -> list[str]:
    out: list[str] = []
    for value in values or []:
        if not 1 <= len(value) <= 255:
            raise validation_error("clientIDList", values, "Member must satisfy constraint: [Member must have length less than or equal to 255, Member must have length greater than or equal to 1]")
        if value not in out:
            out.append(value)
    if len(out) > 100:
        raise limit_exceeded("Cannot exceed quota for ClientIdsPerOpenIdConnectProvider: 100")
    return out


def _check_metadata(document: str) -> str:
    """A SAML metadata document: XML whose root is an EntityDescriptor (or
    EntitiesDescriptor) of the SAML 2.0 metadata namespace."""
    if not 1000 <= len(document) <= 10_000_000:
        raise validation_error("sAMLMetadataDocument", "***", "Member must have length greater than or equal to 1000")
    try:
        root = ElementTree.fromstring(document)
    except Exception:  # noqa: BLE001 - any parse failure is AWS's InvalidInput
        raise invalid_input("Could not parse metadata") from None
    if root.tag not in (f"{{{_MD_NS}}}EntityDescriptor", f"{{{_MD_NS}}}EntitiesDescriptor"):
        raise invalid_input("Could not parse metadata")
    return document


class Federation(IamOperations):
    # -- OpenID Connect ---------------------------------------------------------------------

    def _oidc(self, ctx: RequestContext, arn: str) -> dict[str, Any]:
        doc = ctx.store.get(arn) if arn.startswith("arn:") else None
        if doc is None or doc.get("_kind") != "oidc":
            raise no_such_entity(f"OpenIDConnect Provider not found for arn {arn}")
        return doc

    def _save_provider(self, ctx: RequestContext, arn: str, doc: dict[str, Any], kind: str) -> None:
        with self.writing(ctx) as store:
            store.put(arn, doc, kind=kind, account_id=ctx.account_id, region="")

    def create_open_id_connect_provider(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        bare = _bare_url(request["Url"])
        tags = check_tags(request.get("Tags"))
        arn = oidc_arn(ctx.account_id, bare)
        ctx.authorize("iam:CreateOpenIDConnectProvider", arn, tag_conditions(tags))
        client_ids = _check_client_ids(request.get("ClientIDList"))
        thumbprints = _check_thumbprints(request.get("ThumbprintList"))
        if ctx.store.get(arn) is not None:
            raise already_exists(f"Provider with url https://{bare} already exists.")
        if len(ctx.store.list(OIDC_KIND, account_id=ctx.account_id)) >= 100:
            raise limit_exceeded("Cannot exceed quota for OpenIdConnectProvidersPerAccount: 100")
        doc = {"_kind": "oidc", "Arn": arn, "Url": bare, "ClientIDList": client_ids, "ThumbprintList": thumbprints,
               "CreateDate": stamp(ctx), "Tags": tags}
        self._save_provider(ctx, arn, doc, OIDC_KIND)
        out: dict[str, Any] = {"OpenIDConnectProviderArn": arn}
        if tags:
            out["Tags"] = tags
        return out

    def get_open_id_connect_provider(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        arn = request["OpenIDConnectProviderArn"]
        ctx.authorize("iam:GetOpenIDConnectProvider", arn)
        doc = self._oidc(ctx, arn)
        out = {"Url": doc["Url"], "ClientIDList": doc["ClientIDList"], "ThumbprintList": doc["ThumbprintList"],
               "CreateDate": to_datetime(doc["CreateDate"])}
        if doc.get("Tags"):
            out["Tags"] = doc["Tags"]
        return out

    def list_open_id_connect_providers(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ctx.authorize("iam:ListOpenIDConnectProviders", "*")
        return {"OpenIDConnectProviderList": [{"Arn": d["Arn"]} for d in ctx.store.list(OIDC_KIND, account_id=ctx.account_id)]}

    def delete_open_id_connect_provider(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        arn = request["OpenIDConnectProviderArn"]
        ctx.authorize("iam:DeleteOpenIDConnectProvider", arn)
        self._oidc(ctx, arn)
        with self.writing(ctx) as store:
            store.delete(arn)
        return {}

    def _update_oidc(self, ctx: RequestContext, action: str, arn: str, change: Any) -> dict[str, Any]:
        ctx.authorize(action, arn)
        doc = self._oidc(ctx, arn)
        change(doc)
        self._save_provider(ctx, arn, doc, OIDC_KIND)
        return {}

    def add_client_id_to_open_id_connect_provider(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        def add(doc: dict[str, Any]) -> None:
            doc["ClientIDList"] = _check_client_ids(doc["ClientIDList"] + [request["ClientID"]])

        return self._update_oidc(ctx, "iam:AddClientIDToOpenIDConnectProvider", request["OpenIDConnectProviderArn"], add)

    def remove_client_id_from_open_id_connect_provider(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        def remove(doc: dict[str, Any]) -> None:  # removing an absent id is not an error
            doc["ClientIDList"] = [c for c in doc["ClientIDList"] if c != request["ClientID"]]

        return self._update_oidc(ctx, "iam:RemoveClientIDFromOpenIDConnectProvider", request["OpenIDConnectProviderArn"], remove)

    def update_open_id_connect_provider_thumbprint(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        def replace(doc: dict[str, Any]) -> None:
            doc["ThumbprintList"] = _check_thumbprints(request["ThumbprintList"])

        return self._update_oidc(ctx, "iam:UpdateOpenIDConnectProviderThumbprint", request["OpenIDConnectProviderArn"], replace)

    def tag_open_id_connect_provider(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        return self._tag(ctx, "iam:TagOpenIDConnectProvider", request["OpenIDConnectProviderArn"], request["Tags"], self._oidc, OIDC_KIND)

    def untag_open_id_connect_provider(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        return self._untag(ctx, "iam:UntagOpenIDConnectProvider", request["OpenIDConnectProviderArn"], request["TagKeys"], self._oidc, OIDC_KIND)

    def list_open_id_connect_provider_tags(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        arn = request["OpenIDConnectProviderArn"]
        ctx.authorize("iam:ListOpenIDConnectProviderTags", arn)
        return self._tags_page(self._oidc(ctx, arn), request)

    # -- SAML --------------------------------------------------------------------------------

    def _saml(self, ctx: RequestContext, arn: str) -> dict[str, Any]:
        doc = saml_provider(ctx.store, arn) if arn.startswith("arn:") else None
        if doc is None:
            raise no_such_entity(f"Manifest not found for arn {arn}")
        return doc

    def create_saml_provider(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request["Name"]
        if not _SAML_NAME.match(name):
            raise validation_error("name", name, r"Member must satisfy regular expression pattern: [\w._-]+")
        tags = check_tags(request.get("Tags"))
        arn = f"arn:aws:iam::{ctx.account_id}:saml-provider/{name}"
        ctx.authorize("iam:CreateSAMLProvider", arn, tag_conditions(tags))
        document = _check_metadata(request["SAMLMetadataDocument"])
        if ctx.store.get(arn) is not None:
            raise already_exists(f"SAMLProvider {name} already exists")
        if len(ctx.store.list(SAML_KIND, account_id=ctx.account_id)) >= 100:
            raise limit_exceeded("Cannot exceed quota for SAMLProvidersPerAccount: 100")
        created = ctx.now()
        doc = {"_kind": "saml", "Arn": arn, "Name": name, "SAMLMetadataDocument": document,
               "CreateDate": stamp(ctx), "SAMLProviderUUID": str(uuid.uuid4()),
               # A provider is valid for 100 years unless its metadata says otherwise.
               "ValidUntil": (created + timedelta(days=36500)).strftime("%Y-%m-%dT%H:%M:%SZ"),
               "AssertionEncryptionMode": request.get("AssertionEncryptionMode") or "Allowed",
               "Tags": tags}
        self._save_provider(ctx, arn, doc, SAML_KIND)
        out: dict[str, Any] = {"SAMLProviderArn": arn}
        if tags:
            out["Tags"] = tags
        return out

    def get_saml_provider(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        arn = request["SAMLProviderArn"]
        ctx.authorize("iam:GetSAMLProvider", arn)
        doc = self._saml(ctx, arn)
        out = {"SAMLProviderUUID": doc["SAMLProviderUUID"], "SAMLMetadataDocument": doc["SAMLMetadataDocument"],
               "CreateDate": to_datetime(doc["CreateDate"]), "ValidUntil": to_datetime(doc["ValidUntil"]),
               "AssertionEncryptionMode": doc["AssertionEncryptionMode"], "PrivateKeyList": []}
        if doc.get("Tags"):
            out["Tags"] = doc["Tags"]
        return out

    def list_saml_providers(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ctx.authorize("iam:ListSAMLProviders", "*")
        return {"SAMLProviderList": [
            {"Arn": d["Arn"], "ValidUntil": to_datetime(d["ValidUntil"]), "CreateDate": to_datetime(d["CreateDate"])}
            for d in ctx.store.list(SAML_KIND, account_id=ctx.account_id)]}

    def update_saml_provider(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        arn = request["SAMLProviderArn"]
        ctx.authorize("iam:UpdateSAMLProvider", arn)
        doc = self._saml(ctx, arn)
        if request.get("SAMLMetadataDocument"):
            doc["SAMLMetadataDocument"] = _check_metadata(request["SAMLMetadataDocument"])
        if request.get("AssertionEncryptionMode"):
            doc["AssertionEncryptionMode"] = request["AssertionEncryptionMode"]
        self._save_provider(ctx, arn, doc, SAML_KIND)
        return {"SAMLProviderArn": arn}

    def delete_saml_provider(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        arn = request["SAMLProviderArn"]
        ctx.authorize("iam:DeleteSAMLProvider", arn)
        self._saml(ctx, arn)
        with self.writing(ctx) as store:
            store.delete(arn)
        return {}

    def tag_saml_provider(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        return self._tag(ctx, "iam:TagSAMLProvider", request["SAMLProviderArn"], request["Tags"], self._saml, SAML_KIND)

    def untag_saml_provider(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        return self._untag(ctx, "iam:UntagSAMLProvider", request["SAMLProviderArn"], request["TagKeys"], self._saml, SAML_KIND)

    def list_saml_provider_tags(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        arn = request["SAMLProviderArn"]
        ctx.authorize("iam:ListSAMLProviderTags", arn)
        return self._tags_page(self._saml(ctx, arn), request)

    # -- tags of ARN-keyed entities ------------------------------------------------------------

    def _tag(self, ctx: RequestContext, action: str, arn: str, tags: Any, load: Any, kind: str) -> dict[str, Any]:
        tags = check_tags(tags)
        existing = ctx.store.get(arn) if arn.startswith("arn:") else None
        ctx.authorize(action, arn, {**tag_conditions(tags), **resource_tag_conditions(existing)})
        doc = load(ctx, arn)
        doc["Tags"] = merge_tags(doc.get("Tags", []), tags)
        self._save_provider(ctx, arn, doc, kind)
        return {}

    def _untag(self, ctx: RequestContext, action: str, arn: str, keys: Any, load: Any, kind: str) -> dict[str, Any]:
        keys = list(keys)
        existing = ctx.store.get(arn) if arn.startswith("arn:") else None
        ctx.authorize(action, arn, {"aws:TagKeys": keys, **resource_tag_conditions(existing)})
        doc = load(ctx, arn)
        doc["Tags"] = remove_tags(doc.get("Tags", []), keys)
        self._save_provider(ctx, arn, doc, kind)
        return {}

    @staticmethod
    def _tags_page(doc: dict[str, Any], request: dict[str, Any]) -> dict[str, Any]:
        return paginate(doc.get("Tags", []), request, "Tags")
