"""Account-wide IAM: the account alias (Create/Delete/ListAccountAliases),
GetAccountSummary and GetAccountAuthorizationDetails.

An account has at most one alias, unique across accounts, 3..63 characters of
lowercase letters, digits and single hyphens (doc: API_CreateAccountAlias.html).
"""

from __future__ import annotations

import re
from typing import Any

from mamori.gateway.context import RequestContext
from mamori.services.iam import repository as repo
from mamori.services.iam.base import IamOperations, encoded, to_datetime
from mamori.services.iam.policies import policy_out, version_out
from mamori.services.iam.roles import role_out
from mamori.services.iam.users import user_out
from mamori.services.iam.validation import (
    already_exists,
    no_such_entity,
    paginate,
    validation_error,
)

ALIAS_RE = re.compile(r"^[a-z0-9]([a-z0-9]|-(?!-)){1,61}[a-z0-9]$")

QUOTAS = {
    "UsersQuota": 5000,
    "GroupsQuota": 300,
    "RolesQuota": 1000,
    "PoliciesQuota": 1500,
    "InstanceProfilesQuota": 1000,
    "ServerCertificatesQuota": 20,
    "UserPolicySizeQuota": 2048,
    "GroupPolicySizeQuota": 5120,
    "RolePolicySizeQuota": 10240,
    "PolicySizeQuota": 6144,
    "AssumeRolePolicySizeQuota": 2048,
    "GroupsPerUserQuota": 10,
    "SigningCertificatesPerUserQuota": 2,
    "AccessKeysPerUserQuota": 2,
    "AttachedPoliciesPerGroupQuota": 10,
    "AttachedPoliciesPerRoleQuota": 10,
    "AttachedPoliciesPerUserQuota": 10,
    "VersionsPerPolicyQuota": 5,
    "PolicyVersionsInUseQuota": 10000,
    "GlobalEndpointTokenVersion": 1,
}


class Account(IamOperations):
    def _save_settings(self, store: Any, ctx: RequestContext, settings: dict[str, Any]) -> None:
        store.put(repo.account_key(ctx.account_id), settings, kind="iam:account", account_id=ctx.account_id, region="")

    def create_account_alias(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        alias = request["AccountAlias"]
        ctx.authorize("iam:CreateAccountAlias", "*")
        if not ALIAS_RE.match(alias):
            raise validation_error(
                "accountAlias", alias, "Member must satisfy regular expression pattern: ^[a-z0-9]([a-z0-9]|-(?!-)){1,61}[a-z0-9]$"
            )
        for other in ctx.store.list("iam:account"):
            if alias in other.get("AccountAliases", []) and other.get("AccountId") != ctx.account_id:
                raise already_exists(f"The account alias {alias} already exists.")
        settings = repo.account_settings(ctx.store, ctx.account_id)
        settings["AccountId"] = ctx.account_id
        settings["AccountAliases"] = [alias]  # creating another replaces it, as in AWS
        with self.writing(ctx) as store:
            self._save_settings(store, ctx, settings)
        return {}

    def delete_account_alias(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        alias = request["AccountAlias"]
        ctx.authorize("iam:DeleteAccountAlias", "*")
        settings = repo.account_settings(ctx.store, ctx.account_id)
        if alias not in settings.get("AccountAliases", []):
            raise no_such_entity(f"The account alias {alias} cannot be found.")
        settings["AccountAliases"] = []
        with self.writing(ctx) as store:
            self._save_settings(store, ctx, settings)
        return {}

    def list_account_aliases(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ctx.authorize("iam:ListAccountAliases", "*")
        return paginate(repo.account_settings(ctx.store, ctx.account_id).get("AccountAliases", []), request, "AccountAliases")

    def get_account_summary(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ctx.authorize("iam:GetAccountSummary", "*")
        store, account = ctx.store, ctx.account_id
        users = repo.list_family(store, account, "user")
        policies = repo.list_family(store, account, "policy")
        devices = store.list("iam:mfa", account_id=account)
        summary = dict(QUOTAS)
        summary.update(
            Users=len(users),
            Groups=len(repo.list_family(store, account, "group")),
            Roles=len(repo.list_family(store, account, "role")),
            Policies=len(policies),
            InstanceProfiles=len(repo.list_family(store, account, "instance-profile")),
            ServerCertificates=len(repo.list_family(store, account, "server-certificate")),
            Providers=len(store.list("iam:oidc-provider", account_id=account)) + len(store.list("iam:saml-provider", account_id=account)),
            MFADevices=len(devices),
            MFADevicesInUse=sum(1 for d in devices if d.get("EnableDate")),
            PolicyVersionsInUse=sum(len(p.get("Versions", {})) for p in policies),
            # The root user's own MFA, keys and password are not IAM resources in mamori.
            AccountMFAEnabled=0,
            AccountAccessKeysPresent=0,
            AccountPasswordPresent=0,
            AccountSigningCertificatesPresent=0,
        )
        summary["GlobalEndpointTokenVersion"] = repo.account_settings(store, account).get("GlobalEndpointTokenVersion", 1)
        return {"SummaryMap": summary}

    def set_security_token_service_preferences(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        """v1Token: valid only in Regions enabled by default; v2Token: valid in all Regions
        (id_credentials_temp_enable-regions.html). Shown in GetAccountSummary."""
        ctx.authorize("iam:SetSecurityTokenServicePreferences", "*")
        version = request["GlobalEndpointTokenVersion"]
        if version not in ("v1Token", "v2Token"):
            raise validation_error("globalEndpointTokenVersion", version, "Member must satisfy enum value set: [v1Token, v2Token]")
        with self.writing(ctx) as store:
            settings = repo.account_settings(store, ctx.account_id)
            settings["GlobalEndpointTokenVersion"] = 2 if version == "v2Token" else 1
            self._save_settings(store, ctx, settings)
        return {}

    def get_account_authorization_details(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ctx.authorize("iam:GetAccountAuthorizationDetails", "*")
        wanted = set(request.get("Filter") or ["User", "Role", "Group", "LocalManagedPolicy", "AWSManagedPolicy"])
        store, account = ctx.store, ctx.account_id
        items: list[tuple[str, dict[str, Any]]] = []
        for family, filt in (("user", "User"), ("group", "Group"), ("role", "Role")):
            if filt in wanted:
                docs = sorted(repo.list_family(store, account, family), key=lambda d: d["Arn"])
                items += [(family, d) for d in docs]
        used: set[str] = set()
        for _, entity in repo.iter_attached(store, account):
            used.update(entity.get("AttachedPolicies", []))
            b = (entity.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn")
            if b:
                used.add(b)
        if "LocalManagedPolicy" in wanted:
            items += [("policy", d) for d in sorted(repo.list_family(store, account, "policy"), key=lambda d: d["Arn"])]
        if "AWSManagedPolicy" in wanted:
            # Like AWS, only the AWS managed policies the account uses.
            aws = [d for d in repo.aws_managed_policies() if d["Arn"] in used]
            items += [("policy", d) for d in aws]
        page = paginate(items, request, "Items")
        out: dict[str, Any] = {"UserDetailList": [], "GroupDetailList": [], "RoleDetailList": [], "Policies": []}
        profiles = repo.list_family(store, account, "instance-profile")
        for family, doc in page["Items"]:
            if family == "user":
                detail = user_out(doc)
                detail["UserPolicyList"] = self._inline(doc)
                detail["GroupList"] = list(doc.get("Groups", []))
                detail["AttachedManagedPolicies"] = self._attached(doc)
                out["UserDetailList"].append(detail)
            elif family == "group":
                out["GroupDetailList"].append(
                    {
                        "Path": doc["Path"],
                        "GroupName": doc["GroupName"],
                        "GroupId": doc["GroupId"],
                        "Arn": doc["Arn"],
                        "CreateDate": to_datetime(doc["CreateDate"]),
                        "GroupPolicyList": self._inline(doc),
                        "AttachedManagedPolicies": self._attached(doc),
                    }
                )
            elif family == "role":
                detail = role_out(doc)
                detail.pop("MaxSessionDuration", None)
                detail.pop("Description", None)
                detail["RolePolicyList"] = self._inline(doc)
                detail["AttachedManagedPolicies"] = self._attached(doc)
                detail["InstanceProfileList"] = [
                    self._ip_out(ctx, p)  # InstanceProfiles mixin, beside this one in IamProvider
                    for p in profiles
                    if doc["RoleName"] in p.get("Roles", [])
                ]
                out["RoleDetailList"].append(detail)
            else:
                detail = policy_out(doc)
                detail.pop("Tags", None)
                detail["PolicyVersionList"] = [version_out(doc, v) for v in sorted(doc["Versions"], key=lambda v: -int(v[1:]))]
                out["Policies"].append(detail)
        out["IsTruncated"] = page["IsTruncated"]
        if "Marker" in page:
            out["Marker"] = page["Marker"]
        return out

    def _inline(self, doc: dict[str, Any]) -> list[dict[str, str]]:
        return [{"PolicyName": n, "PolicyDocument": encoded(t)} for n, t in sorted(doc.get("InlinePolicies", {}).items())]

    def _attached(self, doc: dict[str, Any]) -> list[dict[str, str]]:
        return [{"PolicyName": a.rsplit("/", 1)[1], "PolicyArn": a} for a in doc.get("AttachedPolicies", [])]
