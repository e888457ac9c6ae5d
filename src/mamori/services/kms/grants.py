"""KMS grants (a mixin of KmsProvider): CreateGrant, ListGrants, ListRetirableGrants,
RetireGrant, RevokeGrant. A grant is stored as kind "kms-grant"; the provider's `_auth`
consults grants when the key policy and IAM do not allow (explicit denies still win).
A grant is effective at once (mamori has no propagation delay, so a grant token is
accepted but not needed).

Facts: https://docs.aws.amazon.com/kms/latest/developerguide/grants.html
https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateGrant.html
"""

from __future__ import annotations

import hashlib
import os
from typing import Any

from mamori.services.kms import keys as K
from mamori.services.kms.keys import err

GRANTABLE = {
    "ENCRYPT_DECRYPT": {"Decrypt", "Encrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext", "ReEncryptFrom",
                        "ReEncryptTo", "GenerateDataKeyPair", "GenerateDataKeyPairWithoutPlaintext"},
    "SIGN_VERIFY": {"Sign", "Verify", "GetPublicKey"},
    "GENERATE_VERIFY_MAC": {"GenerateMac", "VerifyMac"},
    "KEY_AGREEMENT": {"DeriveSharedSecret", "GetPublicKey"},
}
COMMON = {"CreateGrant", "DescribeKey", "RetireGrant"}


class GrantOps:
    def create_grant(self, ctx, request):
        doc, _ = self._resolve(ctx, request["KeyId"], aliases=False)
        meta = doc["KeyMetadata"]
        ops = list(dict.fromkeys(request["Operations"]))
        allowed = GRANTABLE[meta["KeyUsage"]] | COMMON
        if meta["KeySpec"].startswith("RSA") and meta["KeyUsage"] == "ENCRYPT_DECRYPT":
            allowed = allowed | {"GetPublicKey"}
        constraints = request.get("Constraints") or {}
        self._auth(ctx, "CreateGrant", doc, {
            "kms:GranteePrincipal": request["GranteePrincipal"], "kms:GrantOperations": ops,
            "kms:GrantIsForAWSResource": "true" if ctx.called_via else "false",
            **({"kms:RetiringPrincipal": request["RetiringPrincipal"]} if request.get("RetiringPrincipal") else {}),
            **({"kms:GrantConstraintType": next(iter(constraints))} if constraints else {}),
        }, grant_tokens=request.get("GrantTokens"))
        K.require_state(meta, K.USE)
        self._within_parent_grant(ctx, ops, constraints)
        bad = [o for o in ops if o not in allowed]
        if bad:
            raise err("ValidationException", f"Grant operations {bad} are not valid for a key with key usage "
                      f"{meta['KeyUsage']}.")
        if constraints and (meta["KeySpec"] != "SYMMETRIC_DEFAULT"):
            raise err("ValidationException", "Grant constraints are only supported for symmetric encryption keys.")
        for pairs in constraints.values():
            if len(pairs) > 8:
                raise err("ValidationException", "A grant constraint can have at most 8 encryption context pairs.")
        grants = [g for g in self.runtime.store.list(K.GRANT, account_id=meta["AWSAccountId"]) if g["KeyArn"] == meta["Arn"]]
        name = request.get("Name")
        if name:
            for g in grants:
                if (g.get("Name") == name and g["GranteePrincipal"] == request["GranteePrincipal"]
                        and g["Operations"] == ops and (g.get("Constraints") or {}) == constraints
                        and g.get("RetiringPrincipal") == request.get("RetiringPrincipal")):
                    return {"GrantId": g["GrantId"], "GrantToken": self._token(g["GrantId"])}
        if len(grants) >= 50000:
            raise err("LimitExceededException", "The grants limit for the key has been reached.")
        self._dry(request)
        grant_id = os.urandom(32).hex()
        g: dict[str, Any] = {"KeyId": meta["Arn"], "KeyArn": meta["Arn"], "GrantId": grant_id,
                             "GrantArn": f"{meta['Arn']}/grant/{grant_id}", "CreationDate": ctx.time(),
                             "GranteePrincipal": request["GranteePrincipal"],
                             "IssuingAccount": f"arn:aws:iam::{ctx.principal.account_id}:root", "Operations": ops}
        for k in ("Name", "RetiringPrincipal"):
            if request.get(k):
                g[k] = request[k]
        if constraints:
            g["Constraints"] = constraints
        self.runtime.store.put(g["GrantArn"], g, kind=K.GRANT, account_id=meta["AWSAccountId"], region=ctx.region)
        return {"GrantId": grant_id, "GrantToken": self._token(grant_id)}

    def _within_parent_grant(self, ctx, ops: list[str], constraints: dict[str, Any]) -> None:
        """A grant that allowed CreateGrant lets its grantee create only grants that are
        no wider: a subset of its operations, constraints at least as strict.
        https://docs.aws.amazon.com/kms/latest/developerguide/grants.html (grant constraints)"""
        decision = ctx.decisions[-1] if ctx.decisions else None
        reasons = decision.reasons if decision is not None else []
        grant_id = next((r["grantId"] for r in reasons if isinstance(r, dict) and "grantId" in r), None)
        if grant_id is None:
            return
        parent = next((g for g in self.runtime.store.list(K.GRANT) if g["GrantId"] == grant_id), None)
        if parent is None:
            return
        pc = parent.get("Constraints") or {}
        wider = any(o not in parent["Operations"] for o in ops)
        if "EncryptionContextEquals" in pc:
            wider |= constraints.get("EncryptionContextEquals") != pc["EncryptionContextEquals"]
        if "EncryptionContextSubset" in pc:
            required = pc["EncryptionContextSubset"]
            mine = constraints.get("EncryptionContextEquals") or constraints.get("EncryptionContextSubset") or {}
            wider |= not constraints or any(mine.get(k) != v for k, v in required.items())
        if wider:
            raise err("AccessDeniedException", f"{ctx.principal.arn} is not authorized to create a grant wider "
                      "than the grant that allows it to create grants.", status=400)

    @staticmethod
    def _token(grant_id: str) -> str:
        return grant_id + hashlib.sha256(os.urandom(16)).hexdigest()

    @staticmethod
    def _public(g: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in g.items() if k not in ("KeyArn", "GrantArn")}

    def list_grants(self, ctx, request):
        doc, _ = self._resolve(ctx, request["KeyId"], aliases=False)
        self._auth(ctx, "ListGrants", doc)
        items = [self._public(g) for g in self.runtime.store.list(K.GRANT, account_id=doc["KeyMetadata"]["AWSAccountId"])
                 if g["KeyArn"] == doc["KeyMetadata"]["Arn"]
                 and (not request.get("GrantId") or g["GrantId"] == request["GrantId"])
                 and (not request.get("GranteePrincipal") or g["GranteePrincipal"] == request["GranteePrincipal"])]
        return self._page(items, request, "Grants", 50)

    def list_retirable_grants(self, ctx, request):
        principal = request["RetiringPrincipal"]
        self._plain_auth(ctx, "ListRetirableGrants")
        items = [self._public(g) for g in self.runtime.store.list(K.GRANT) if g.get("RetiringPrincipal") == principal]
        return self._page(items, request, "Grants", 50)

    def _find_grant(self, ctx, key_doc, grant_id) -> dict[str, Any]:
        g = self.runtime.store.get(f"{key_doc['KeyMetadata']['Arn']}/grant/{grant_id}")
        if g is None:
            raise err("NotFoundException", f"Grant ID {grant_id} not found")
        return g

    def retire_grant(self, ctx, request):
        if request.get("GrantToken"):
            grant_id = request["GrantToken"][:64]
            found = [g for g in self.runtime.store.list(K.GRANT) if g["GrantId"] == grant_id]
            if not found:
                raise err("InvalidGrantTokenException", "Grant token is invalid.")
            g = found[0]
            doc = self.runtime.store.get(g["KeyArn"])
        else:
            if not request.get("KeyId") or not request.get("GrantId"):
                raise err("ValidationException", "Either GrantToken or KeyId and GrantId must be given.")
            doc, _ = self._resolve(ctx, request["KeyId"], aliases=False)
            g = self._find_grant(ctx, doc, request["GrantId"])
        callers = self._caller_arns(ctx)
        retirer = g.get("RetiringPrincipal") in callers or (
            g["GranteePrincipal"] in callers and "RetireGrant" in g["Operations"])
        if retirer:
            ctx.no_authorization_required("kms:RetireGrant", "the caller is the grant's retiring principal or a "
                                          "grantee allowed to retire it")
        else:
            self._auth(ctx, "RetireGrant", doc)
        self._dry(request)
        self.runtime.store.delete(g["GrantArn"])
        return {}

    def revoke_grant(self, ctx, request):
        doc, _ = self._resolve(ctx, request["KeyId"], aliases=False)
        self._auth(ctx, "RevokeGrant", doc)
        g = self._find_grant(ctx, doc, request["GrantId"])
        self._dry(request)
        self.runtime.store.delete(g["GrantArn"])
        return {}
