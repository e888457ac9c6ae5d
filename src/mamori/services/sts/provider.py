"""AWS Security Token Service.

    get_caller_identity            who am I (no permission needed, ever)
    assume_role                    trust policy through the engine, external id, MFA,
                                   duration and the 1-hour chaining cap, session
                                   policies, session tags (transitive along a chain),
                                   source identity
    get_session_token              MFA-authenticated sessions of users and root
    get_federation_token           federated-user sessions (no session policy: no permissions)
    get_access_key_info            the account of an access key id
    decode_authorization_message   the decision context behind an EC2-style denial

    sessions.py               session policies, packed size, session tags, source identity
    credentials.py            ASIA keys, secrets and session tokens in the store
    authorization_message.py  encoded denial messages (written by the authorizer)

    assume_role_with_web_identity  OIDC ID tokens verified with the issuer's keys (web_identity.py)
    assume_role_with_saml          signed SAML responses checked against the provider's
                                   metadata (saml.py; XML-DSig by signxml)

A session's principal (`Principal.session`) carries CloudTrail's `sessionContext`
(`sessionIssuer`, `attributes`, `sourceIdentity`) and what the authorizer needs:
`kind`, `roleArn` or `issuerArn`, `sessionPolicies`, `sessionTags`,
`transitiveTagKeys`, `tokenIssueTime`.

`setup()` installs the IAM authorizer as `runtime.authorizer`: from then on every
`ctx.authorize` is an IAM decision.

Facts: https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html
https://docs.aws.amazon.com/STS/latest/APIReference/API_GetSessionToken.html
https://docs.aws.amazon.com/STS/latest/APIReference/API_GetFederationToken.html
https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_terms-and-concepts.html (role chaining: 1 hour)
"""

from __future__ import annotations

import json
from typing import Any

from mamori.errors import AccessDenied, error
from mamori.gateway.context import (
    Decision,
    Principal,
    RequestContext,
    with_resource_policy,
)
from mamori.services.base import Provider
from mamori.services.iam import repository as repo
from mamori.services.sts import authorization_message
from mamori.services.sts.credentials import iso, issue
from mamori.services.sts.sessions import (
    packed_percent,
    session_policies,
    session_tags,
    source_identity,
    validation,
)

ONE_HOUR = 3600


def _access_denied(message: str) -> Exception:
    return error("AccessDenied", message, status=403)


class StsProvider(Provider):
    service = "sts"

    def setup(self) -> None:
        from mamori.services.iam.authorizer import IamAuthorizer
        from mamori.services.sts.web_identity import KeyCache

        self._oidc_keys = KeyCache()

        if not isinstance(self.runtime.authorizer, IamAuthorizer):
            self.runtime.authorizer = IamAuthorizer(self.runtime)

    # -- GetCallerIdentity ---------------------------------------------------------------

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
        caller_session = caller.session or {}
        if caller.is_root:
            decision = Decision("sts:AssumeRole", role_arn, False, "implicit_deny",
                                [{"reason": "the account root user cannot assume roles",
                                  "denialMessage": "Roles may not be assumed by root accounts."}])
            ctx.decisions.append(decision)
            raise AccessDenied("Roles may not be assumed by root accounts.", decision=decision)
        account, role = self._role(ctx, role_arn)
        mfa = self._mfa(ctx, request)
        trust = role["AssumeRolePolicyDocument"] if role is not None else None  # missing role: nothing trusts
        conditions: dict[str, Any] = {"sts:RoleSessionName": session_name}
        if request.get("ExternalId") is not None:
            conditions["sts:ExternalId"] = request["ExternalId"]
        if mfa:
            conditions["aws:MultiFactorAuthPresent"] = "true"
            conditions["aws:MultiFactorAuthAge"] = "0"
        identity = source_identity(request, caller_session)
        if identity is not None:
            conditions["sts:SourceIdentity"] = identity
        tags = session_tags(request, caller_session)

        def decide(action: str, extra: dict[str, Any] | None = None) -> None:
            ctx.authorize(action, role_arn, with_resource_policy(
                {**conditions, **(extra or {})}, trust, kind="trust", required=True, account=account or None))

        decide("sts:AssumeRole")
        # Tags and a source identity each need their own permission in the trust
        # policy (and the caller's policies), inherited ones along a chain included.
        if tags.any:
            decide("sts:TagSession", tags.conditions())
        if identity is not None:
            decide("sts:SetSourceIdentity")
        assert role is not None  # a missing role can't have been allowed

        chained = caller.type == "AssumedRole"
        duration = request.get("DurationSeconds", ONE_HOUR)
        if chained and duration > ONE_HOUR:
            raise validation("The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by "
                             "role chaining.")
        if duration > int(role.get("MaxSessionDuration", ONE_HOUR)):
            raise validation("The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
        policies, policy_bytes = session_policies(ctx.store, request)
        packed = packed_percent(policy_bytes, tags)

        principal, creds = self._open_session(
            ctx, role, session_name, duration, kind="AssumeRole", policies=policies, tags=tags,
            identity=identity, mfa=mfa or caller.mfa_authenticated, chained=chained)
        out: dict[str, Any] = {
            "Credentials": creds,
            "AssumedRoleUser": {"AssumedRoleId": principal.principal_id, "Arn": principal.arn},
        }
        if policies or tags.any:
            out["PackedPolicySize"] = packed
        if identity is not None:
            out["SourceIdentity"] = identity
        return out

    # -- AssumeRoleWithWebIdentity ---------------------------------------------------------

    async def assume_role_with_web_identity(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        """An OIDC ID token for a role session: the token's issuer must be an IAM OIDC
        provider of the role's account, its signature must verify with the issuer's keys,
        its audience must be a client id of the provider, and the role's trust policy
        must allow the provider (with `<provider>:aud` / `:sub` / `:amr` conditions).
        https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoleWithWebIdentity.html"""
        import asyncio

        from mamori.services.iam.federation import oidc_provider_for_issuer
        from mamori.services.sts import web_identity as oidc

        role_arn, session_name = request["RoleArn"], request["RoleSessionName"]
        header, claims, signing_input, signature = oidc.parse(request["WebIdentityToken"])
        issuer = claims.get("iss")
        if not isinstance(issuer, str) or not issuer:
            raise oidc.invalid_token("The ID Token provided is missing the issuer (iss) claim.")
        account, role = self._role(ctx, role_arn)
        provider = oidc_provider_for_issuer(ctx.store, account, issuer) if account else None
        if provider is None:
            raise oidc.invalid_token(f"No OpenIDConnect provider found in your account for {issuer}")
        ctx.account_id = account  # the call happens in the role's account (and is recorded there)
        keys = await asyncio.to_thread(self._oidc_keys.keys, issuer, header.get("kid"))
        oidc.verify(header, signing_input, signature, keys)
        now = ctx.time()
        exp = claims.get("exp")
        if not isinstance(exp, (int, float)) or exp <= now:
            raise error("ExpiredTokenException", f"Token expired: current date/time {int(now)} must be before the "
                        f"expiration date/time {exp}", status=400)
        audience = claims.get("azp") if isinstance(claims.get("azp"), str) else None
        token_audiences = oidc.audiences(claims)
        audience = audience or (token_audiences[0] if token_audiences else None)
        if not any(a in provider["ClientIDList"] for a in ([audience] if audience else []) + token_audiences):
            raise error("IDPRejectedClaim", "Incorrect token audience", status=403)
        subject = str(claims.get("sub", ""))
        url = provider["Url"]
        # Who CloudTrail says called, and whom the trust policy must name.
        ctx.principal = Principal(type="WebIdentityUser", account_id=account, arn=provider["Arn"],
                                  principal_id=f"{url}:{audience}:{subject}", user_name=subject,
                                  session={"identityProvider": url})
        conditions: dict[str, Any] = {"sts:RoleSessionName": session_name, f"{url}:aud": audience, f"{url}:sub": subject}
        if isinstance(claims.get("amr"), list):
            conditions[f"{url}:amr"] = [str(v) for v in claims["amr"]]
        ctx.authorize("sts:AssumeRoleWithWebIdentity", role_arn, with_resource_policy(
            conditions, role["AssumeRolePolicyDocument"] if role else None, kind="trust", required=True,
            account=account or None))
        assert role is not None  # a missing role trusts nobody
        duration = request.get("DurationSeconds", ONE_HOUR)
        if duration > int(role.get("MaxSessionDuration", ONE_HOUR)):
            raise validation("The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
        policies, policy_bytes = session_policies(ctx.store, request)
        tags = session_tags({}, None)
        principal, creds = self._open_session(
            ctx, role, session_name, duration, kind="AssumeRoleWithWebIdentity", policies=policies, tags=tags,
            identity=None, mfa=False, chained=False,
            extra={"webIdFederationData": {"federatedProvider": provider["Arn"], "attributes": {}}})
        out: dict[str, Any] = {
            "Credentials": creds,
            "SubjectFromWebIdentityToken": subject,
            "AssumedRoleUser": {"AssumedRoleId": principal.principal_id, "Arn": principal.arn},
            "Provider": issuer,
            "Audience": audience,
        }
        if policies:
            out["PackedPolicySize"] = packed_percent(policy_bytes, tags)
        return out

    # -- AssumeRoleWithSAML ------------------------------------------------------------------

    def assume_role_with_saml(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        """A signed SAML response for a role session (saml.py has the checks): the trust
        policy must allow the SAML provider, usually with `saml:aud`.
        https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoleWithSAML.html"""
        from mamori.services.iam.federation import saml_provider
        from mamori.services.sts import saml

        role_arn, provider_arn = request["RoleArn"], request["PrincipalArn"]
        account, role = self._role(ctx, role_arn)
        provider = saml_provider(ctx.store, provider_arn) if account and repo.account_of(provider_arn) == account else None
        if provider is None:
            raise saml.invalid(f"SAML provider {provider_arn} doesn't exist in the role's account.")
        ctx.account_id = account
        assertion = saml.verified_assertion(request["SAMLAssertion"], saml.metadata_certificates(provider["SAMLMetadataDocument"]))
        claims = saml.read(assertion, now=ctx.time(), role_arn=role_arn, provider_arn=provider_arn)
        qualifier = saml.name_qualifier(claims["issuer"], account, provider["Name"])
        ctx.principal = Principal(type="SAMLUser", account_id=account, arn=provider_arn,
                                  principal_id=f"{qualifier}:{claims['subject']}", user_name=claims["subject"],
                                  session={"identityProvider": provider_arn})
        conditions: dict[str, Any] = {
            "saml:aud": claims["recipient"], "saml:iss": claims["issuer"], "saml:sub": claims["subject"],
            "saml:sub_type": claims["subject_type"], "saml:namequalifier": qualifier,
            "saml:doc": f"{account}/{provider['Name']}", "sts:RoleSessionName": claims["session_name"],
        }
        ctx.authorize("sts:AssumeRoleWithSAML", role_arn, with_resource_policy(
            conditions, role["AssumeRolePolicyDocument"] if role else None, kind="trust", required=True, account=account))
        assert role is not None  # a missing role trusts nobody
        duration = request.get("DurationSeconds", ONE_HOUR)
        if duration > int(role.get("MaxSessionDuration", ONE_HOUR)):
            raise validation("The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
        if claims["duration"]:
            duration = min(duration, claims["duration"])  # the shorter of the two (API reference)
        policies, policy_bytes = session_policies(ctx.store, request)
        tags = session_tags({}, None)
        principal, creds = self._open_session(
            ctx, role, claims["session_name"], duration, kind="AssumeRoleWithSAML", policies=policies, tags=tags,
            identity=claims["source_identity"], mfa=False, chained=False)
        out: dict[str, Any] = {
            "Credentials": creds,
            "AssumedRoleUser": {"AssumedRoleId": principal.principal_id, "Arn": principal.arn},
            "Subject": claims["subject"], "SubjectType": claims["subject_type"], "Issuer": claims["issuer"],
            "Audience": claims["recipient"], "NameQualifier": qualifier,
        }
        if claims["source_identity"]:
            out["SourceIdentity"] = claims["source_identity"]
        if policies:
            out["PackedPolicySize"] = packed_percent(policy_bytes, tags)
        return out

    def _role(self, ctx: RequestContext, role_arn: str) -> tuple[str, dict[str, Any] | None]:
        """(account of the ARN, the role it names or None)."""
        parts = role_arn.split(":", 5)
        account = parts[4] if len(parts) == 6 and parts[2] == "iam" else ""
        role = repo.role(ctx.store, account, role_arn.rsplit("/", 1)[-1]) if account else None
        if role is not None and role["Arn"] != role_arn:
            role = None  # same name, other path: not this role
        return account, role

    def _open_session(self, ctx: RequestContext, role: dict[str, Any], session_name: str, duration: int, *,
                      kind: str, policies: list[str], tags: Any, identity: str | None, mfa: bool, chained: bool,
                      extra: dict[str, Any] | None = None) -> tuple[Principal, dict[str, Any]]:
        """A role session: its principal and its credentials (stored), the role's last use."""
        account = repo.account_of(role["Arn"])
        now = ctx.time()
        session_arn = f"arn:aws:sts::{account}:assumed-role/{role['RoleName']}/{session_name}"
        session: dict[str, Any] = {
            "sessionIssuer": {"type": "Role", "principalId": role["RoleId"], "arn": role["Arn"],
                              "accountId": account, "userName": role["RoleName"]},
            "attributes": {"creationDate": iso(now), "mfaAuthenticated": "true" if mfa else "false"},
            "kind": kind,
            "roleArn": role["Arn"],
            "sessionPolicies": policies,
            "sessionTags": tags.tags,
            "transitiveTagKeys": tags.transitive,
            "tokenIssueTime": now,
            "chained": chained,
            **(extra or {}),
        }
        if identity is not None:
            session["sourceIdentity"] = identity
        principal = Principal(
            type="AssumedRole", account_id=account, arn=session_arn, principal_id=f"{role['RoleId']}:{session_name}",
            session=session, tags=dict(tags.tags), mfa_authenticated=mfa,
        )
        creds = issue(ctx.store, principal, now=now, expires=now + duration)
        repo.record_role_use(ctx.store, account, role["RoleName"], iso(now), ctx.region)
        ctx.resources.append({"ARN": role["Arn"], "accountId": account, "type": "AWS::IAM::Role"})
        return principal, creds

    def _mfa(self, ctx: RequestContext, request: dict[str, Any]) -> bool:
        """`SerialNumber` + `TokenCode`: both or neither; a wrong code is refused."""
        serial, code = request.get("SerialNumber"), request.get("TokenCode")
        if not serial and not code:
            return False
        if not (serial and code):
            raise _access_denied("MultiFactorAuthentication failed, must provide both MFA serial number and one "
                                 "time pass code.")
        if not repo.check_mfa_code(ctx.store, serial, code, ctx.time()):
            raise _access_denied("MultiFactorAuthentication failed with invalid MFA one time pass code.")
        return True

    # -- GetSessionToken -----------------------------------------------------------------

    def get_session_token(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        # "No permissions are required for users to perform this operation. The purpose
        # of the sts:GetSessionToken operation is to authenticate the user using MFA.
        # You cannot use policies to control authentication operations."
        # https://docs.aws.amazon.com/STS/latest/APIReference/API_GetSessionToken.html
        ctx.no_authorization_required("sts:GetSessionToken", "GetSessionToken is authentication, not authorization")
        caller = ctx.principal
        if caller.type not in ("IAMUser", "Root") or caller.session:
            raise _access_denied("Cannot call GetSessionToken with session credentials")
        duration = request.get("DurationSeconds", 43200)
        if caller.is_root:
            duration = min(duration, ONE_HOUR)  # root sessions: one hour, silently
        mfa = self._mfa(ctx, request)
        now = ctx.time()
        principal = Principal(
            type=caller.type, account_id=caller.account_id, arn=caller.arn, principal_id=caller.principal_id,
            user_name=caller.user_name, tags=dict(caller.tags), mfa_authenticated=mfa,
            session={"attributes": {"creationDate": iso(now), "mfaAuthenticated": "true" if mfa else "false"},
                     "kind": "GetSessionToken", "tokenIssueTime": now, "sessionToken": True},
        )
        return {"Credentials": issue(ctx.store, principal, now=now, expires=now + duration)}

    # -- GetFederationToken -------------------------------------------------------------

    def get_federation_token(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        caller = ctx.principal
        name = request["Name"]
        account = caller.account_id
        arn = f"arn:aws:sts::{account}:federated-user/{name}"
        tags = session_tags(request, None, allow_transitive=False)
        ctx.authorize("sts:GetFederationToken", arn)
        if tags.any:
            ctx.authorize("sts:TagSession", arn, tags.conditions())
        if caller.type not in ("IAMUser", "Root") or caller.session:
            raise _access_denied("Cannot call GetFederationToken with session credentials")
        duration = request.get("DurationSeconds", 43200)
        if caller.is_root:
            duration = min(duration, ONE_HOUR)
        policies, policy_bytes = session_policies(ctx.store, request)
        packed = packed_percent(policy_bytes, tags)
        now = ctx.time()
        # A federated user has the intersection of its issuer's permissions and the
        # session policies; with no session policy it has none (API_GetFederationToken.html).
        principal = Principal(
            type="FederatedUser", account_id=account, arn=arn, principal_id=f"{account}:{name}",
            session={
                "sessionIssuer": {"type": "Root" if caller.is_root else "IAMUser", "principalId": caller.principal_id,
                                  "arn": caller.arn, "accountId": account,
                                  **({"userName": caller.user_name} if caller.user_name else {})},
                "attributes": {"creationDate": iso(now), "mfaAuthenticated": "false"},
                "kind": "GetFederationToken",
                "issuerArn": caller.arn,
                "sessionPolicies": policies,
                "sessionTags": tags.tags,
                "tokenIssueTime": now,
            },
            tags=dict(tags.tags),
        )
        out: dict[str, Any] = {
            "Credentials": issue(ctx.store, principal, now=now, expires=now + duration),
            "FederatedUser": {"FederatedUserId": principal.principal_id, "Arn": arn},
        }
        if policies or tags.any:
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

    # -- DecodeAuthorizationMessage -------------------------------------------------------

    def decode_authorization_message(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        ctx.authorize("sts:DecodeAuthorizationMessage")
        doc = authorization_message.decode(self.runtime.secrets, request["EncodedMessage"])
        return {"DecodedMessage": json.dumps(doc, separators=(",", ":"))}
