"""Mobile push (mixed into the provider): platform applications, their endpoints, and
push messages written to the local outbox (kind "sns-outbox", protocol "application").

    create/delete_platform_application, get/set_platform_application_attributes,
    list_platform_applications          arn:aws:sns:<region>:<account>:app/<PLATFORM>/<name>;
                                        PlatformCredential is sealed as the resource's
                                        secret and never returned, as in AWS
    create_platform_endpoint, delete_endpoint, get/set_endpoint_attributes,
    list_endpoints_by_platform_application
                                        arn:aws:sns:<region>:<account>:endpoint/<PLATFORM>/<app>/<id>;
                                        one endpoint per token (same attributes: the
                                        same endpoint; other attributes: an error)

Publishing to a disabled endpoint answers EndpointDisabled; to an endpoint of a
disabled application, PlatformApplicationDisabled. With MessageStructure=json the
platform's own key (APNS, GCM, ...) is used, else "default".
https://docs.aws.amazon.com/sns/latest/dg/sns-mobile-application-as-subscriber.html
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from mamori.errors import error
from mamori.gateway.context import RequestContext
from mamori.services.sns.paging import page

APP = "sns-platform-application"
ENDPOINT = "sns-platform-endpoint"
PLATFORMS = {"ADM", "APNS", "APNS_SANDBOX", "APNS_VOIP", "APNS_VOIP_SANDBOX", "BAIDU", "GCM", "MACOS",
             "MACOS_SANDBOX", "MPNS", "WNS"}
APP_ATTRIBUTES = {"PlatformCredential", "PlatformPrincipal", "EventEndpointCreated", "EventEndpointDeleted",
                  "EventEndpointUpdated", "EventDeliveryFailure", "SuccessFeedbackRoleArn", "FailureFeedbackRoleArn",
                  "SuccessFeedbackSampleRate", "ApplePlatformTeamID", "ApplePlatformBundleID", "Enabled",
                  "AppleCertificateExpirationDate", "AuthenticationMethod"}
ENDPOINT_ATTRIBUTES = {"CustomUserData", "Enabled", "Token"}
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,256}$")


def _invalid(message: str) -> Exception:
    return error("InvalidParameter", message, status=400)


class PlatformMixin:
    runtime: Any

    # -- applications ----------------------------------------------------------------

    def _app(self, ctx: RequestContext, arn: str | None) -> dict[str, Any]:
        doc = ctx.store.get(arn or "")
        if doc is None or doc.get("kind") != "platform-application":
            raise error("NotFound", "PlatformApplication does not exist", status=404)
        return doc

    def _save_app(self, ctx: RequestContext, doc: dict[str, Any], credential: str | None = None) -> None:
        ctx.store.put(doc["arn"], doc, kind=APP, account_id=doc["account"], region=doc["region"],
                      secret=credential.encode() if credential is not None else None)

    def _check_app_attributes(self, attrs: dict[str, str]) -> None:
        for name, value in attrs.items():
            if name not in APP_ATTRIBUTES:
                raise _invalid(f"Invalid parameter: Attributes Reason: Invalid attribute name: {name}")
            if name == "Enabled" and value not in ("true", "false"):
                raise _invalid("Invalid parameter: Attributes Reason: Enabled must be true or false")

    def create_platform_application(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ctx.authorize("sns:CreatePlatformApplication", "*", {})
        name, platform = request.get("Name") or "", request.get("Platform") or ""
        if not _NAME.match(name):
            raise _invalid("Invalid parameter: Name")
        if platform not in PLATFORMS:
            raise _invalid("Invalid parameter: Platform")
        attrs = dict(request.get("Attributes") or {})
        self._check_app_attributes(attrs)
        credential = attrs.pop("PlatformCredential", None)
        if not credential:
            raise _invalid("Invalid parameter: Attributes Reason: PlatformCredential attribute is required")
        if platform.startswith(("APNS", "MACOS")) and not attrs.get("PlatformPrincipal"):
            raise _invalid("Invalid parameter: Attributes Reason: PlatformPrincipal attribute is required")
        arn = f"arn:aws:sns:{ctx.region}:{ctx.account_id}:app/{platform}/{name}"
        attrs.setdefault("Enabled", "true")
        doc = {"kind": "platform-application", "arn": arn, "account": ctx.account_id, "region": ctx.region,
               "Platform": platform, "Name": name, "Attributes": attrs}
        self._save_app(ctx, doc, credential)
        return {"PlatformApplicationArn": arn}

    def get_platform_application_attributes(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ctx.authorize("sns:GetPlatformApplicationAttributes", "*", {})
        doc = self._app(ctx, request.get("PlatformApplicationArn"))
        return {"Attributes": dict(doc["Attributes"])}

    def set_platform_application_attributes(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ctx.authorize("sns:SetPlatformApplicationAttributes", "*", {})
        doc = self._app(ctx, request.get("PlatformApplicationArn"))
        attrs = dict(request.get("Attributes") or {})
        self._check_app_attributes(attrs)
        credential = attrs.pop("PlatformCredential", None)
        doc["Attributes"].update(attrs)
        self._save_app(ctx, doc, credential)
        return {}

    def delete_platform_application(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ctx.authorize("sns:DeletePlatformApplication", "*", {})
        arn = request.get("PlatformApplicationArn") or ""
        with ctx.store.transaction():
            for endpoint in self._endpoints(ctx, arn):
                ctx.store.delete(endpoint["arn"])
            ctx.store.delete(arn)
        return {}

    def list_platform_applications(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ctx.authorize("sns:ListPlatformApplications", "*", {})
        apps = ctx.store.list(APP, account_id=ctx.account_id, region=ctx.region)
        return page([{"PlatformApplicationArn": a["arn"], "Attributes": a["Attributes"]} for a in apps], request,
                    "PlatformApplications")

    # -- endpoints -------------------------------------------------------------------

    def _endpoints(self, ctx: RequestContext, app_arn: str) -> list[dict[str, Any]]:
        parts = app_arn.split(":")
        account, region = (parts[4], parts[3]) if len(parts) > 5 else (ctx.account_id, ctx.region)
        return [e for e in ctx.store.list(ENDPOINT, account_id=account, region=region) if e["app"] == app_arn]

    def _endpoint_doc(self, ctx: RequestContext, arn: str | None) -> dict[str, Any]:
        doc = ctx.store.get(arn or "")
        if doc is None or doc.get("kind") != "platform-endpoint":
            raise error("NotFound", "Endpoint does not exist", status=404)
        return doc

    def create_platform_endpoint(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ctx.authorize("sns:CreatePlatformEndpoint", "*", {})
        app = self._app(ctx, request.get("PlatformApplicationArn"))
        token = request.get("Token") or ""
        if not token:
            raise _invalid("Invalid parameter: Token")
        attrs = dict(request.get("Attributes") or {})
        for name in attrs:
            if name not in ENDPOINT_ATTRIBUTES:
                raise _invalid(f"Invalid parameter: Attributes Reason: Invalid attribute name: {name}")
        if request.get("CustomUserData") is not None:
            attrs["CustomUserData"] = request["CustomUserData"]
        attrs["Token"] = token
        attrs.setdefault("Enabled", "true")
        for existing in self._endpoints(ctx, app["arn"]):
            if existing["Attributes"]["Token"] == token:
                if existing["Attributes"] == attrs:
                    return {"EndpointArn": existing["arn"]}
                raise _invalid(f"Invalid parameter: Token Reason: Endpoint {existing['arn']} already exists with "
                               "the same Token, but different attributes.")
        arn = f"arn:aws:sns:{app['region']}:{app['account']}:endpoint/{app['Platform']}/{app['Name']}/{uuid.uuid4()}"
        doc = {"kind": "platform-endpoint", "arn": arn, "app": app["arn"], "account": app["account"],
               "region": app["region"], "Attributes": attrs}
        ctx.store.put(arn, doc, kind=ENDPOINT, account_id=app["account"], region=app["region"])
        return {"EndpointArn": arn}

    def get_endpoint_attributes(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ctx.authorize("sns:GetEndpointAttributes", "*", {})
        return {"Attributes": dict(self._endpoint_doc(ctx, request.get("EndpointArn"))["Attributes"])}

    def set_endpoint_attributes(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ctx.authorize("sns:SetEndpointAttributes", "*", {})
        doc = self._endpoint_doc(ctx, request.get("EndpointArn"))
        attrs = dict(request.get("Attributes") or {})
        for name, value in attrs.items():
            if name not in ENDPOINT_ATTRIBUTES:
                raise _invalid(f"Invalid parameter: Attributes Reason: Invalid attribute name: {name}")
            if name == "Enabled" and value not in ("true", "false"):
                raise _invalid("Invalid parameter: Attributes Reason: Enabled must be true or false")
        doc["Attributes"].update(attrs)
        ctx.store.put(doc["arn"], doc, kind=ENDPOINT, account_id=doc["account"], region=doc["region"])
        return {}

    def delete_endpoint(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ctx.authorize("sns:DeleteEndpoint", "*", {})
        arn = request.get("EndpointArn") or ""
        doc = ctx.store.get(arn)
        if doc is not None and doc.get("kind") == "platform-endpoint":
            ctx.store.delete(arn)
        return {}

    def list_endpoints_by_platform_application(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ctx.authorize("sns:ListEndpointsByPlatformApplication", "*", {})
        app = self._app(ctx, request.get("PlatformApplicationArn"))
        endpoints = [{"EndpointArn": e["arn"], "Attributes": e["Attributes"]} for e in self._endpoints(ctx, app["arn"])]
        return page(endpoints, request, "Endpoints")

    # -- sending ---------------------------------------------------------------------

    def _check_pushable(self, ctx: RequestContext, endpoint_arn: str) -> tuple[dict[str, Any], dict[str, Any]]:
        endpoint = self._endpoint_doc(ctx, endpoint_arn)
        if endpoint["Attributes"].get("Enabled") == "false":
            raise error("EndpointDisabled", "Endpoint is disabled", status=400)
        app = ctx.store.get(endpoint["app"]) or {"Attributes": {}, "Platform": ""}
        if app["Attributes"].get("Enabled") == "false":
            raise error("PlatformApplicationDisabled", "Platform application is disabled", status=400)
        return endpoint, app

    def _push_out(self, ctx: RequestContext, endpoint_arn: str, request: dict[str, Any], message_id: str,
                  sub_arn: str | None) -> bool:
        endpoint = ctx.store.get(endpoint_arn)
        if endpoint is None:
            self._outbox(ctx.store, ctx.account_id, ctx.region, sub_arn, "application", endpoint_arn,
                         {"MessageId": message_id}, "failed", "Endpoint does not exist")
            return False
        app = ctx.store.get(endpoint["app"]) or {"Attributes": {}, "Platform": ""}
        status, reason = "delivered", ""
        if endpoint["Attributes"].get("Enabled") == "false":
            status, reason = "failed", "Endpoint is disabled"
        elif app["Attributes"].get("Enabled") == "false":
            status, reason = "failed", "Platform application is disabled"
        text = self._text_for("application", request, app.get("Platform") or None)
        self._outbox(ctx.store, endpoint["account"], endpoint["region"], sub_arn, "application", endpoint_arn,
                     {"MessageId": message_id, "Message": text, "Token": endpoint["Attributes"].get("Token"),
                      "Platform": app.get("Platform")}, status, reason)
        return status == "delivered"
