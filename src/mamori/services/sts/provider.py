"""AWS Security Token Service.

GetCallerIdentity, AssumeRole, GetSessionToken, GetFederationToken, GetAccessKeyInfo. Temporary credentials are real:
`ASIA...` key ids, a secret, a random session token whose SHA-256 is all the store
keeps, and an expiry on the mamori clock (the authenticator answers `ExpiredToken`
after it). The session's principal carries what the authorizer needs: the role, the
session policies, whether MFA was used.

Facts: https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html
https://docs.aws.amazon.com/STS/latest/APIReference/API_GetSessionToken.html
https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_terms-and-concepts.html (role chaining: 1 hour)
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
from datetime import UTC, datetime
from typing import Any

from mamori.errors import AccessDenied, AwsError, error
from mamori.gateway.context import Decision, Principal, RequestContext
from mamori.policy import PolicyError, PolicyKind, parse_policy, policy_size
from mamori.services.base import Provider
from mamori.services.iam import repository as repo
from mamori.services.iam.ids import new_access_key_id, new_secret_access_key
from mamori.store.records import Credential

SESSION_NAME = re.compile(r"^[\w+=,.@-]{2,64}$")
# A session policy and the managed policy ARNs are packed together; AWS reports the
# packed size as a percentage of the limit and refuses past 100%.
PACKED_LIMIT = 2048


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def validation(message: str) -> AwsError:
    return error("ValidationError", message)


class StsProvider(Provider):
    service = "sts"

    def get_caller_identity(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        # "No permissions are required to perform this operation. If an administrator
        # attaches a policy to your identity that explicitly denies access to the
        # sts:GetCallerIdentity action, you can still perform this operation."
        # https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html
        ctx.no_authorization_required("sts:GetCallerIdentity", "GetCallerIdentity needs no permission")
        principal = ctx.principal
        return {"UserId": principal.principal_id, "Account": principal.account_id, "Arn": principal.arn}

    # -- AssumeRole ----------------------------------------------------------------------

    def assume_role(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        role_arn, session_name = request["RoleArn"], request["RoleSessionName"]
        caller = ctx.principal
        account = role_arn.split(":")[4] if role_arn.count(":") >= 5 else ""
        role = repo.role(ctx.store, account, role_arn.rsplit("/", 1)[-1]) if account else None
        conditions: dict[str, Any] = {"sts:RoleSessionName": session_name}
        if request.get("ExternalId") is not None:
            conditions["sts:ExternalId"] = request["ExternalId"]
        if request.get("SourceIdentity") is not None:
            conditions["sts:SourceIdentity"] = request["SourceIdentity"]
        mfa = False
        if request.get("SerialNumber") and request.get("TokenCode"):
            mfa = repo.check_mfa_code(ctx.store, request["SerialNumber"], request["TokenCode"], ctx.time())
        conditions["aws:MultiFactorAuthPresent"] = "true" if (mfa or caller.mfa_authenticated) else "false"
        if role is not None and role["Arn"] == role_arn:
            conditions["__trust_policy__"] = role["AssumeRolePolicyDocument"]
        else:
            conditions["__trust_policy__"] = None  # nothing trusts anybody on a missing role
        if caller.is_root:
            # Root can't assume roles: "You cannot use AWS account root user credentials
            # to call AssumeRole." (API_AssumeRole.html)
            decision = Decision("sts:AssumeRole", role_arn, False, "implicit_deny",
                                [{"reason": "the account root user cannot assume roles"}])
            ctx.decisions.append(decision)
            raise AccessDenied(f"User: {caller.arn} is not authorized to perform: sts:AssumeRole on resource: {role_arn}",
                               decision=decision)
        ctx.authorize("sts:AssumeRole", role_arn, conditions)
        assert role is not None  # a missing role can't have been allowed
        if not SESSION_NAME.match(session_name):
            raise validation(f"1 validation error detected: Value '{session_name}' at 'roleSessionName' failed to "
                             "satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*")
        chained = caller.type == "AssumedRole"
        duration = request.get("DurationSeconds", 3600)
        limit = 3600 if chained else int(role.get("MaxSessionDuration", 3600))
        if duration < 900 or duration > limit:
            if chained and duration > 3600:
                raise validation("The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.")
            raise validation("The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
        session_policies, packed = self._session_policies(ctx, request)
        now = ctx.time()
        session_arn = f"arn:aws:sts::{account}:assumed-role/{role['RoleName']}/{session_name}"
        principal = Principal(
            type="AssumedRole",
            account_id=account,
            arn=session_arn,
            principal_id=f"{role['RoleId']}:{session_name}",
            session={
                "sessionIssuer": {"type": "Role", "principalId": role["RoleId"], "arn": role["Arn"],
                                  "accountId": account, "userName": role["RoleName"]},
                "attributes": {"creationDate": _iso(now), "mfaAuthenticated": "true" if mfa else "false"},
                **({"sourceIdentity": request["SourceIdentity"]} if request.get("SourceIdentity") else {}),
                "roleArn": role["Arn"],
                "sessionPolicies": session_policies,
                "tokenIssueTime": now,
            },
            tags={t["Key"]: t["Value"] for t in request.get("Tags") or []},
            mfa_authenticated=mfa or caller.mfa_authenticated,
        )
        creds = self._issue(ctx, principal, now + duration)
        repo.record_role_use(ctx.store, account, role["RoleName"], _iso(now), ctx.region)
        out: dict[str, Any] = {
            "Credentials": creds,
            "AssumedRoleUser": {"AssumedRoleId": principal.principal_id, "Arn": session_arn},
        }
        if packed is not None:
            out["PackedPolicySize"] = packed
        if request.get("SourceIdentity"):
            out["SourceIdentity"] = request["SourceIdentity"]
        return out

    def _session_policies(self, ctx: RequestContext, request: dict[str, Any]) -> tuple[list[str], int | None]:
        texts: list[str] = []
        size = 0
        if request.get("Policy") is not None:
            try:
                parse_policy(json.loads(request["Policy"]), PolicyKind.SESSION)
            except (PolicyError, ValueError) as exc:
                raise error("MalformedPolicyDocument", str(exc) or "The policy is not in the valid JSON format.") from None
            texts.append(request["Policy"])
            size += policy_size(request["Policy"]) if callable(policy_size) else len(request["Policy"])
        for item in request.get("PolicyArns") or []:
            managed = repo.managed_policy(ctx.store, item["arn"])
            if managed is None:
                raise error("MalformedPolicyDocument", f"The policy {item['arn']} does not exist.")
            texts.append(managed["Document"])
            size += len(item["arn"])
        if not texts:
            return [], None
        packed = round(size * 100 / PACKED_LIMIT)
        if packed > 100:
            raise error("PackedPolicyTooLarge",
                        f"Packed policy consumes {packed}% of allotted space, please use smaller policy.")
        return texts, packed

    # -- GetSessionToken -----------------------------------------------------------------

    def get_session_token(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        caller = ctx.principal
        ctx.authorize("sts:GetSessionToken")
        if caller.type not in ("IAMUser", "Root"):
            raise error("AccessDenied", "Cannot call GetSessionToken with session credentials", status=403)
        duration = request.get("DurationSeconds", 43200)
        limit = 3600 if caller.is_root else 129600
        if not 900 <= duration <= limit:
            raise validation(f"1 validation error detected: Value '{duration}' at 'durationSeconds' failed to satisfy "
                             f"constraint: Member must have value less than or equal to {limit}")
        mfa = False
        if request.get("SerialNumber") or request.get("TokenCode"):
            if not (request.get("SerialNumber") and request.get("TokenCode")):
                raise validation("SerialNumber and TokenCode must be given together.")
            mfa = repo.check_mfa_code(ctx.store, request["SerialNumber"], request["TokenCode"], ctx.time())
            if not mfa:
                raise error("AccessDenied", "MultiFactorAuthentication failed with invalid MFA one time pass code. ",
                            status=403)
        now = ctx.time()
        principal = Principal(
            type=caller.type, account_id=caller.account_id, arn=caller.arn, principal_id=caller.principal_id,
            user_name=caller.user_name, tags=dict(caller.tags), mfa_authenticated=mfa,
            session={"attributes": {"creationDate": _iso(now), "mfaAuthenticated": "true" if mfa else "false"},
                     "tokenIssueTime": now, "sessionToken": True},
        )
        return {"Credentials": self._issue(ctx, principal, now + duration)}

    # -- GetFederationToken -------------------------------------------------------------

    def get_federation_token(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        caller = ctx.principal
        name = request["Name"]
        account = caller.account_id
        arn = f"arn:aws:sts::{account}:federated-user/{name}"
        ctx.authorize("sts:GetFederationToken", arn)
        if caller.type not in ("IAMUser", "Root") or (caller.session or {}).get("sessionToken"):
            raise error("AccessDenied", "Cannot call GetFederationToken with session credentials", status=403)
        if not re.fullmatch(r"[\w+=,.@-]{2,32}", name):
            raise validation(f"1 validation error detected: Value '{name}' at 'name' failed to satisfy constraint: "
                             "Member must satisfy regular expression pattern: [\\w+=,.@-]*")
        duration = request.get("DurationSeconds", 43200)
        limit = 3600 if caller.is_root else 129600
        if not 900 <= duration <= limit:
            raise validation(f"1 validation error detected: Value '{duration}' at 'durationSeconds' failed to satisfy "
                             f"constraint: Member must have value less than or equal to {limit}")
        session_policies, packed = self._session_policies(ctx, request)
        now = ctx.time()
        # A federated user has the intersection of its issuer's permissions and the
        # session policies; with no session policy it has none (API_GetFederationToken.html).
        principal = Principal(
            type="FederatedUser", account_id=account, arn=arn, principal_id=f"{account}:{name}",
            session={
                "sessionIssuer": {"type": "Root" if caller.is_root else "IAMUser", "principalId": caller.principal_id,
                                  "arn": caller.arn, "accountId": account,
                                  **({"userName": caller.user_name} if caller.user_name else {})},
                "attributes": {"creationDate": _iso(now), "mfaAuthenticated": "false"},
                "issuerArn": caller.arn,
                "sessionPolicies": session_policies,
                "tokenIssueTime": now,
            },
            tags={t["Key"]: t["Value"] for t in request.get("Tags") or []},
        )
        out: dict[str, Any] = {
            "Credentials": self._issue(ctx, principal, now + duration),
            "FederatedUser": {"FederatedUserId": principal.principal_id, "Arn": arn},
        }
        if packed is not None:
            out["PackedPolicySize"] = packed
        return out

    # -- GetAccessKeyInfo ---------------------------------------------------------------

    def get_access_key_info(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ctx.authorize("sts:GetAccessKeyInfo")
        credential = self.runtime.lookup_credential(request["AccessKeyId"])
        if credential is None:
            # AWS decodes the account from any key id; mamori knows only its own keys.
            raise error("InvalidParameterValue", f"The access key {request['AccessKeyId']} is not known to mamori.")
        return {"Account": credential.account_id}

    # -- helpers -------------------------------------------------------------------------

    def _issue(self, ctx: RequestContext, principal: Principal, expires: float) -> dict[str, Any]:
        key_id = new_access_key_id("ASIA")
        secret = new_secret_access_key()
        token = base64.b64encode(secrets.token_bytes(180)).decode()
        principal = Principal(**{**principal.__dict__, "access_key_id": key_id})
        ctx.store.put_credential(Credential(
            access_key_id=key_id, secret_access_key=secret, account_id=principal.account_id,
            principal=principal.to_json(), session_token_sha256=hashlib.sha256(token.encode()).hexdigest(),
            expires_at=expires, created_at=ctx.time(),
        ))
        return {"AccessKeyId": key_id, "SecretAccessKey": secret, "SessionToken": token,
                "Expiration": datetime.fromtimestamp(expires, UTC)}
