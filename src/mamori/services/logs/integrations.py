"""Integrations of CloudWatch Logs with OpenSearch Service (PutIntegration,
GetIntegration, ListIntegrations, DeleteIntegration): stored and validated. mamori has
no OpenSearch Service, so no collection or dashboards exist behind an integration; its
details name the resources AWS would create for it, all ACTIVE.

AWS rules kept: one integration per account and Region, created once and never
modified ("You can use this operation only to create a new integration. You can't
modify an existing integration."), type OPENSEARCH only.
https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutIntegration.html
No resource-level permissions: every action is authorized on "*" (Service Authorization
Reference, Amazon CloudWatch Logs).
"""

from __future__ import annotations

from typing import Any

from mamori.errors import error
from mamori.gateway.context import RequestContext
from mamori.services.logs.common import invalid

INTEGRATION = "logs:integration"


def _key(ctx: RequestContext, name: str) -> str:
    return f"arn:aws:logs:{ctx.region}:{ctx.account_id}:integration:{name}"


class IntegrationOperations:
    def put_integration(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ctx.authorize("logs:PutIntegration", "*")
        name = request["integrationName"]
        config = (request.get("resourceConfig") or {}).get("openSearchResourceConfig")
        if request["integrationType"] != "OPENSEARCH" or not config:
            raise invalid("resourceConfig must contain openSearchResourceConfig for an OPENSEARCH integration.")
        ctx.authorize_pass_role(config["dataSourceRoleArn"], "logs.amazonaws.com")
        if ctx.store.list(INTEGRATION, account_id=ctx.account_id, region=ctx.region):
            raise error("LimitExceededException", "You have reached the maximum number of integrations (1) for "
                        "this account. An existing integration can't be modified.")
        ident = name.replace("/", "-").lower()[:28]
        base = f"arn:aws:aoss:{ctx.region}:{ctx.account_id}"
        active = {"status": "ACTIVE"}
        details = {"openSearchIntegrationDetails": {
            "dataSource": {"dataSourceName": f"logs_{ident}", "status": active},
            "collection": {"collectionEndpoint": f"https://{ident}.{ctx.region}.aoss.amazonaws.com",
                           "collectionArn": f"{base}:collection/{ident}", "status": active},
            "encryptionPolicy": {"policyName": f"logs-{ident}-enc", "status": active},
            "networkPolicy": {"policyName": f"logs-{ident}-net", "status": active},
            "accessPolicy": {"policyName": f"logs-{ident}-access", "status": active},
            "lifecyclePolicy": {"policyName": f"logs-{ident}-lifecycle", "status": active},
        }}
        if config.get("applicationArn"):
            details["openSearchIntegrationDetails"]["application"] = {
                "applicationArn": config["applicationArn"], "applicationId": config["applicationArn"].rsplit("/", 1)[-1],
                "status": active}
        doc = {"integrationName": name, "integrationType": "OPENSEARCH", "integrationStatus": "ACTIVE",
               "integrationDetails": details, "_config": config, "_created": int(ctx.time() * 1000)}
        ctx.store.put(_key(ctx, name), doc, kind=INTEGRATION, account_id=ctx.account_id, region=ctx.region)
        return {"integrationName": name, "integrationStatus": "ACTIVE"}

    def _integration(self, ctx: RequestContext, name: str) -> dict[str, Any]:
        doc = ctx.store.get(_key(ctx, name))
        if doc is None:
            raise error("ResourceNotFoundException", f"Integration {name} does not exist.")
        return doc

    def get_integration(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ctx.authorize("logs:GetIntegration", "*")
        doc = self._integration(ctx, request["integrationName"])
        return {k: v for k, v in doc.items() if not k.startswith("_")}

    def list_integrations(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ctx.authorize("logs:ListIntegrations", "*")
        prefix = request.get("integrationNamePrefix") or ""
        out = [{"integrationName": d["integrationName"], "integrationType": d["integrationType"],
                "integrationStatus": d["integrationStatus"]}
               for d in ctx.store.list(INTEGRATION, account_id=ctx.account_id, region=ctx.region)
               if d["integrationName"].startswith(prefix)
               and request.get("integrationType") in (None, d["integrationType"])
               and request.get("integrationStatus") in (None, d["integrationStatus"])]
        return {"integrationSummaries": sorted(out, key=lambda d: d["integrationName"])}

    def delete_integration(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        # `force` matters when vended-log dashboards use the integration; mamori has none.
        ctx.authorize("logs:DeleteIntegration", "*")
        self._integration(ctx, request["integrationName"])
        ctx.store.delete(_key(ctx, request["integrationName"]))
        return {}
