"""AWS Key Management Service.

    keys.py     specs, algorithms, ARNs, default key policy, state checks, store kinds
    crypto.py   the cryptography (AES-256-GCM blobs, RSA OAEP, signatures, HMAC, ECDH, import unwrap)
    provider.py operations: keys, aliases, tags, policies, encryption, signing, MAC, data keys,
                grants, rotation, deletion, import, multi-Region keys, custom key stores

Authorization: every operation asks `ctx.authorize("kms:<Op>", key_arn, ...)` with the
key policy as a required resource policy (the default key policy delegates to IAM via
the account root). A grant for the caller allows the operations it names when the
policies don't (explicit denies still win); such a call gets an "allow" Decision naming
the grant.

Lifecycle by the clock: deletion, automatic rotation and imported-material expiry are
scheduler jobs at their dates, re-armed from the store in `setup()`.

Facts: https://docs.aws.amazon.com/kms/latest/APIReference/ and ../shared/docs/aws-semantics.md §3.
"""

from __future__ import annotations

import base64
import json
import os
import uuid
from typing import Any

from mamori.errors import AccessDenied, AwsError
from mamori.gateway.context import Decision, RequestContext, denial_message, with_resource_policy
from mamori.services.base import Provider
from mamori.services.kms import crypto
from mamori.services.kms import keys as K
from mamori.services.kms.grants import GrantOps
from mamori.services.kms.keys import err
from mamori.services.kms.lifecycle import LifecycleOps

DAY = 86400.0
GRANT_OPS_WITH_CONTEXT = {"Decrypt", "Encrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext",
                          "ReEncryptFrom", "ReEncryptTo", "GenerateDataKeyPair",
                          "GenerateDataKeyPairWithoutPlaintext", "CreateGrant", "RetireGrant"}


def _b(data: dict[str, Any]) -> bytes:
    return json.dumps(data).encode()


class KmsProvider(LifecycleOps, GrantOps, Provider):
    service = "kms"

    # -- lifecycle wiring --------------------------------------------------------------

    def setup(self) -> None:
        # Opened key material by key ARN (the store stays the truth: every write of a
        # secret goes through _save, which drops the entry) and the last recorded use.
        self._materials: dict[str, dict[str, Any]] = {}
        self._last_used: dict[str, tuple[str, int]] = {}
        for doc in self.runtime.store.list(K.KEY):
            self._arm(doc)

    def reset(self) -> None:
        self._materials.clear()
        self._last_used.clear()

    def _arm(self, doc: dict[str, Any]) -> None:
        meta = doc["KeyMetadata"]
        arn = meta["Arn"]
        sched = self.runtime.scheduler
        if meta["KeyState"] == "PendingDeletion" and meta.get("DeletionDate"):
            sched.at(float(meta["DeletionDate"]), lambda _t, a=arn: self._delete_due(a), f"kms-delete:{arn}")
        rot = doc.get("Rotation") or {}
        if rot.get("Enabled") and rot.get("Next"):
            sched.at(float(rot["Next"]), lambda _t, a=arn: self._rotate_due(a), f"kms-rotate:{arn}")
        if meta.get("ValidTo") and meta["KeyState"] != "PendingImport":
            sched.at(float(meta["ValidTo"]), lambda _t, a=arn: self._expire_due(a), f"kms-expire:{arn}")

    def _publish(self, meta: dict[str, Any], detail_type: str, detail: dict[str, Any]) -> None:
        from datetime import datetime, timezone

        self.runtime.bus.publish({
            "version": "0", "id": str(uuid.uuid4()), "detail-type": detail_type, "source": "aws.kms",
            "account": meta["AWSAccountId"],
            "time": datetime.fromtimestamp(self.runtime.clock.time(), timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": meta["Arn"].split(":")[3], "resources": [meta["Arn"]], "detail": detail})

    def _delete_due(self, arn: str) -> None:
        store = self.runtime.store
        doc = store.get(arn)
        if doc is None or doc["KeyMetadata"]["KeyState"] != "PendingDeletion":
            return
        if float(doc["KeyMetadata"]["DeletionDate"]) > self.runtime.clock.time() + 1e-6:
            return
        meta = doc["KeyMetadata"]
        with store.transaction():
            for a in store.list(K.ALIAS, account_id=meta["AWSAccountId"]):
                if a["TargetKeyId"] == meta["KeyId"] and a["AliasArn"].split(":")[3] == arn.split(":")[3]:
                    store.delete(a["AliasArn"])
            for g in store.list(K.GRANT, account_id=meta["AWSAccountId"]):
                if g["KeyArn"] == arn:
                    store.delete(g["GrantArn"])
            store.delete(arn)
            self._materials.pop(arn, None)
            cfg = meta.get("MultiRegionConfiguration") or {}
            if cfg.get("MultiRegionKeyType") == "REPLICA":
                primary = store.get(cfg["PrimaryKey"]["Arn"])
                if primary is not None:
                    pcfg = primary["KeyMetadata"]["MultiRegionConfiguration"]
                    pcfg["ReplicaKeys"] = [r for r in pcfg["ReplicaKeys"] if r["Arn"] != arn]
                    pm = primary["KeyMetadata"]
                    if pm["KeyState"] == "PendingReplicaDeletion" and not pcfg["ReplicaKeys"]:
                        pm["KeyState"] = "PendingDeletion"
                        pm["DeletionDate"] = self.runtime.clock.time() + pm["PendingDeletionWindowInDays"] * DAY
                    self._save(primary)
                    self._arm(primary)
        self._publish(meta, "KMS CMK Deletion", {"key-id": meta["KeyId"]})

    def _rotate_due(self, arn: str) -> None:
        doc = self.runtime.store.get(arn)
        rot = (doc or {}).get("Rotation") or {}
        now = self.runtime.clock.time()
        if not doc or not rot.get("Enabled") or float(rot.get("Next", 0)) > now + 1e-6:
            return
        if doc["KeyMetadata"]["KeyState"] != "Enabled":
            return
        self._rotate(doc, "AUTOMATIC", now)
        rot["Next"] = now + rot["PeriodDays"] * DAY
        self.runtime.store.put(arn, doc, kind=K.KEY, account_id=doc["KeyMetadata"]["AWSAccountId"],
                               region=arn.split(":")[3])
        self._arm(doc)
        self._publish(doc["KeyMetadata"], "KMS CMK Rotation", {"key-id": doc["KeyMetadata"]["KeyId"]})

    def _expire_due(self, arn: str) -> None:
        store = self.runtime.store
        doc = store.get(arn)
        if not doc:
            return
        meta = doc["KeyMetadata"]
        if not meta.get("ValidTo") or float(meta["ValidTo"]) > self.runtime.clock.time() + 1e-6:
            return
        self._drop_material(doc)
        self._publish(meta, "KMS Imported Key Material Expiration", {"key-id": meta["KeyId"]})

    def _drop_material(self, doc: dict[str, Any]) -> None:
        meta = doc["KeyMetadata"]
        if meta["KeyState"] != "PendingDeletion":
            meta["KeyState"], meta["Enabled"] = "PendingImport", False
        meta.pop("ValidTo", None)
        meta.pop("ExpirationModel", None)
        self._save(doc, secret=_b({"current": None, "materials": {}}))

    # -- store helpers -------------------------------------------------------------------

    def _save(self, doc: dict[str, Any], secret: bytes | None = None) -> None:
        meta = doc["KeyMetadata"]
        self._materials.pop(meta["Arn"], None)
        self.runtime.store.put(meta["Arn"], doc, kind=K.KEY, account_id=meta["AWSAccountId"],
                               region=meta["Arn"].split(":")[3], secret=secret)

    def _opened(self, doc: dict[str, Any]) -> dict[str, Any]:
        """The key's material (read-only: shared with later calls)."""
        arn = doc["KeyMetadata"]["Arn"]
        cached = self._materials.get(arn)
        if cached is None:
            raw = self.runtime.store.get_secret(arn)
            cached = json.loads(raw) if raw else {"current": None, "materials": {}}
            self._materials[arn] = cached
        return cached

    def _secret(self, doc: dict[str, Any]) -> dict[str, Any]:
        """A copy of the key's material to change and save."""
        sec = self._opened(doc)
        return {"current": sec.get("current"), "materials": dict(sec.get("materials", {}))}

    def _material(self, doc: dict[str, Any], material_id: str | None = None) -> tuple[str, bytes]:
        sec = self._opened(doc)
        mid = material_id or sec.get("current")
        if not mid or mid not in sec["materials"]:
            raise err("InvalidCiphertextException", "")
        return mid, bytes.fromhex(sec["materials"][mid])

    def _resolve(self, ctx: RequestContext, key_id: str, *, aliases: bool = True) -> tuple[dict[str, Any], str | None]:
        """The key doc (and the alias used) for a key id, key ARN, alias name or alias ARN."""
        if not isinstance(key_id, str) or not key_id:
            raise err("ValidationException", "KeyId is required")
        region, account, alias = ctx.region, ctx.account_id, None
        if key_id.startswith("arn:"):
            parts = key_id.split(":", 5)
            if len(parts) != 6 or parts[2] != "kms" or not (parts[5].startswith("key/") or parts[5].startswith("alias/")):
                raise err("InvalidArnException", f"ARN {key_id} is not a valid KMS ARN")
            region, account, rest = parts[3], parts[4], parts[5]
        else:
            rest = key_id if key_id.startswith("alias/") else f"key/{key_id}"
        if rest.startswith("alias/"):
            if not aliases:
                # e.g. CreateGrant with an alias (seen in AWS's answers quoted by client tools)
                raise err("InvalidArnException", "Key Aliases are not supported for this operation.")
            alias = rest
            a = self.runtime.store.get(K.alias_arn(region, account, rest))
            if a is None and self._may_create_managed(ctx, rest, account):
                a = self._create_managed(ctx, region, account, rest)
            if a is None:
                raise err("NotFoundException", f"Alias {K.alias_arn(region, account, rest)} is not found.")
            rest = f"key/{a['TargetKeyId']}"
        arn = f"arn:aws:kms:{region}:{account}:{rest}"
        doc = self.runtime.store.get(arn)
        if doc is None:
            raise err("NotFoundException", f"Key '{arn}' does not exist")
        return doc, alias

    @staticmethod
    def _may_create_managed(ctx: RequestContext, alias: str, account: str) -> bool:
        """An AWS managed key comes into being when its service first uses it, or when
        someone of the account describes its predefined alias."""
        service = K.managed_service(alias)
        if service is None or account != ctx.account_id:
            return False
        via = f"{K.managed_via(service)}.amazonaws.com"
        return ctx.operation == "DescribeKey" or via in ctx.called_via

    def _create_managed(self, ctx: RequestContext, region: str, account: str, alias: str) -> dict[str, Any]:
        service = K.managed_service(alias) or ""
        key_id = str(uuid.uuid4())
        now = ctx.time()
        meta, secret = _new_key(account, region, key_id, now, spec="SYMMETRIC_DEFAULT", usage="ENCRYPT_DECRYPT",
                                origin="AWS_KMS", manager="AWS", multi=False,
                                description=f"Default key that protects my {service} data when no other key is defined")
        # AWS managed keys rotate every year, and nobody can change that.
        doc = {"KeyMetadata": meta, "Policy": K.managed_policy(account, region, service), "Tags": [],
               "Rotation": {"Enabled": True, "PeriodDays": 365, "Next": now + 365 * 86_400}, "Rotations": [],
               "OnDemand": 0}
        alias_doc = {"AliasName": alias, "AliasArn": K.alias_arn(region, account, alias), "TargetKeyId": key_id,
                     "CreationDate": now, "LastUpdatedDate": now}
        with self.runtime.store.transaction():
            self._save(doc, secret=_b(secret))
            self.runtime.store.put(alias_doc["AliasArn"], alias_doc, kind=K.ALIAS, account_id=account, region=region)
        self._arm(doc)
        return alias_doc

    def _used(self, ctx: RequestContext, doc: dict[str, Any], op: str) -> None:
        """Remember the key's last cryptographic use for GetKeyLastUsage (small runtime
        state, not a change of the key: no change-log entry). Written at most once per
        clock second for the same key and operation."""
        arn, now = doc["KeyMetadata"]["Arn"], ctx.time()
        if self._last_used.get(arn) == (op, int(now)):
            return
        self._last_used[arn] = (op, int(now))
        self.runtime.store.set_meta(f"kms-last-usage:{doc['KeyMetadata']['Arn']}",
                                    {"Operation": op, "Timestamp": ctx.time(), "KmsRequestId": ctx.request_id})

    # -- authorization -------------------------------------------------------------------

    def _auth(self, ctx: RequestContext, op: str, doc: dict[str, Any], extra: dict[str, Any] | None = None, *,
              context: dict[str, str] | None = None, alias: str | None = None,
              grant_tokens: list[str] | None = None) -> None:
        meta = doc["KeyMetadata"]
        conds: dict[str, Any] = {
            "kms:CallerAccount": ctx.principal.account_id, "kms:KeySpec": meta["KeySpec"],
            "kms:KeyUsage": meta["KeyUsage"], "kms:KeyOrigin": meta["Origin"],
            "kms:MultiRegion": "true" if meta.get("MultiRegion") else "false",
        }
        if context is not None:
            conds["kms:EncryptionContextKeys"] = sorted(context)
            for k, v in context.items():
                conds[f"kms:EncryptionContext:{k}"] = v
        if alias:
            conds["kms:RequestAlias"] = alias
        if ctx.called_via:
            # "SERVICE.REGION.amazonaws.com": the service that called KMS on the caller's behalf.
            # https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-via-service
            via = ctx.called_via[-1]
            name = via.removesuffix(".amazonaws.com")
            conds["kms:ViaService"] = f"{name}.{ctx.region}.amazonaws.com" if "." not in name else via
        conds.update(extra or {})
        for token in grant_tokens or []:
            if len(token) != 128 or any(c not in "0123456789abcdef" for c in token):
                raise err("InvalidGrantTokenException", "Grant token is invalid.")
        action = f"kms:{op}"
        owner = meta["AWSAccountId"] if meta["AWSAccountId"] != ctx.account_id else None
        decision = self.runtime.authorizer(ctx, action, meta["Arn"],
                                           with_resource_policy(conds, doc.get("Policy"), required=True, account=owner))
        if not decision.allowed and decision.kind != "explicit_deny":
            grant = self._grant_for(ctx, meta["Arn"], op, context, grant_tokens)
            if grant is not None:
                ctx.decisions.append(Decision(action, meta["Arn"], True, "allow",
                                              [{"reason": "allowed by a KMS grant", "grantId": grant["GrantId"]}]))
                return
        ctx.decisions.append(decision)
        if not decision.allowed:
            raise AccessDenied(denial_message(ctx.principal, decision), decision=decision)

    def _caller_arns(self, ctx: RequestContext) -> set[str]:
        arns = {ctx.principal.arn}
        issuer = (ctx.principal.session or {}).get("sessionIssuer") or {}
        if issuer.get("arn"):
            arns.add(issuer["arn"])
        return arns

    def _grant_for(self, ctx, key_arn, op, context, tokens) -> dict[str, Any] | None:
        callers = self._caller_arns(ctx)
        for g in self.runtime.store.list(K.GRANT, account_id=key_arn.split(":")[4]):
            if g["KeyArn"] != key_arn or g["GranteePrincipal"] not in callers or op not in g["Operations"]:
                continue
            c = g.get("Constraints") or {}
            if op in GRANT_OPS_WITH_CONTEXT and op not in ("RetireGrant", "CreateGrant") and c:
                ec = context or {}
                if "EncryptionContextEquals" in c and ec != c["EncryptionContextEquals"]:
                    continue
                if "EncryptionContextSubset" in c and any(ec.get(k) != v for k, v in c["EncryptionContextSubset"].items()):
                    continue
            return g
        return None

    def _plain_auth(self, ctx: RequestContext, op: str, resource: str = "*") -> None:
        ctx.authorize(f"kms:{op}", resource, {"kms:CallerAccount": ctx.principal.account_id})

    # -- keys ----------------------------------------------------------------------------

    def create_key(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        spec = request.get("KeySpec") or request.get("CustomerMasterKeySpec") or "SYMMETRIC_DEFAULT"
        if spec not in K.USAGES:
            raise err("UnsupportedOperationException", f"KeySpec {spec} is not supported in this region.")
        usage = request.get("KeyUsage") or ("ENCRYPT_DECRYPT" if spec == "SYMMETRIC_DEFAULT" else None)
        if usage is None and spec.startswith("HMAC"):
            usage = None
        if usage not in K.USAGES[spec]:
            raise err("ValidationException", f"KeyUsage {usage} is not compatible with KeySpec {spec}")
        origin = request.get("Origin", "AWS_KMS")
        if origin in ("AWS_CLOUDHSM", "EXTERNAL_KEY_STORE") or request.get("CustomKeyStoreId"):
            raise err("CustomKeyStoreNotFoundException", "Custom key store not found.")
        if origin == "EXTERNAL" and spec != "SYMMETRIC_DEFAULT" and not spec.startswith("HMAC"):
            pass
        multi = bool(request.get("MultiRegion"))
        desc = request.get("Description", "")
        if len(desc) > 8192:
            raise err("ValidationException", "Description exceeds 8192 characters")
        self._plain_auth(ctx, "CreateKey")
        policy = request.get("Policy")
        if policy is not None:
            self._check_policy(ctx, policy, request.get("BypassPolicyLockoutSafetyCheck", False))
        key_id = ("mrk-" + uuid.uuid4().hex) if multi else str(uuid.uuid4())
        arn = K.key_arn(ctx.region, ctx.account_id, key_id)
        tags = self._check_tags(request.get("Tags") or [])
        meta, secret = _new_key(ctx.account_id, ctx.region, key_id, ctx.time(), spec=spec, usage=usage, origin=origin,
                                manager="CUSTOMER", description=desc, multi=multi)
        if multi:
            meta["MultiRegionConfiguration"] = {"MultiRegionKeyType": "PRIMARY",
                                                "PrimaryKey": {"Arn": arn, "Region": ctx.region},
                                                "ReplicaKeys": []}
        doc = {"KeyMetadata": meta, "Policy": policy or K.default_policy(ctx.account_id), "Tags": tags,
               "Rotation": {"Enabled": False}, "Rotations": [], "OnDemand": 0}
        ctx.resources.append({"ARN": arn, "type": "AWS::KMS::Key"})
        self._save(doc, secret=_b(secret))
        return {"KeyMetadata": self._out(meta)}

    @staticmethod
    def _out(meta: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in meta.items() if v is not None}

    def _check_tags(self, tags: list[dict[str, str]]) -> list[dict[str, str]]:
        for t in tags:
            if t.get("TagKey", "").startswith("aws:"):
                raise err("TagException", "Tags beginning with aws: are reserved")
        seen: dict[str, str] = {}
        for t in tags:
            seen[t["TagKey"]] = t["TagValue"]
        return [{"TagKey": k, "TagValue": v} for k, v in seen.items()]

    def _check_policy(self, ctx: RequestContext, policy: str, bypass: bool) -> None:
        if len(policy.encode()) > 32768:
            raise err("LimitExceededException", "Policy exceeds the maximum size of 32768 bytes")
        try:
            doc = json.loads(policy)
        except ValueError:
            raise err("MalformedPolicyDocumentException", "The new key policy will not allow you to update the key "
                      "policy in the future.") from None
        statements = doc.get("Statement") if isinstance(doc, dict) else None
        if not isinstance(statements, (list, dict)):
            raise err("MalformedPolicyDocumentException", "Policy contains a statement with no principal.")
        for s in statements if isinstance(statements, list) else [statements]:
            if not isinstance(s, dict) or ("Principal" not in s and "NotPrincipal" not in s):
                raise err("MalformedPolicyDocumentException", "Policy contains a statement with no principal.")
        self._check_principals(ctx, statements if isinstance(statements, list) else [statements])
        if bypass:
            return
        # Lockout safety check: the caller must be able to PutKeyPolicy under the new policy.
        # https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-bypass
        probe = K.key_arn(ctx.region, ctx.account_id, "00000000-0000-0000-0000-000000000000")
        decision = self.runtime.authorizer(ctx, "kms:PutKeyPolicy", probe,
                                           with_resource_policy({}, policy, required=True))
        if not decision.allowed:
            raise err("MalformedPolicyDocumentException",
                      "The new key policy will not allow you to update the key policy in the future.")

    def _check_principals(self, ctx: RequestContext, statements: list[dict[str, Any]]) -> None:
        """IAM users and roles of this account named by the policy must exist (AWS resolves
        them to unique ids when it stores a key policy)."""
        from mamori.services.iam import repository as iam

        for statement in statements:
            principal = statement.get("Principal")
            values = principal.get("AWS", []) if isinstance(principal, dict) else []
            for value in [values] if isinstance(values, str) else values:
                parts = value.split(":", 5) if isinstance(value, str) else []
                if len(parts) != 6 or parts[2] != "iam" or parts[4] != ctx.account_id:
                    continue
                family, _, rest = parts[5].partition("/")
                name = rest.rsplit("/", 1)[-1]
                lookup = {"user": iam.user, "role": iam.role}.get(family)
                if lookup is not None and lookup(self.runtime.store, ctx.account_id, name) is None:
                    raise err("MalformedPolicyDocumentException",
                              "Policy contains a statement with one or more invalid principals.")

    def describe_key(self, ctx, request):
        doc, alias = self._resolve(ctx, request["KeyId"])
        self._auth(ctx, "DescribeKey", doc, alias=alias, grant_tokens=request.get("GrantTokens"))
        return {"KeyMetadata": self._out(doc["KeyMetadata"])}

    def list_keys(self, ctx, request):
        self._plain_auth(ctx, "ListKeys")
        docs = self.runtime.store.list(K.KEY, account_id=ctx.account_id, region=ctx.region)
        items = [{"KeyId": d["KeyMetadata"]["KeyId"], "KeyArn": d["KeyMetadata"]["Arn"]} for d in docs]
        return self._page(items, request, "Keys")

    @staticmethod
    def _page(items: list[Any], request: dict[str, Any], name: str, limit_default: int = 100) -> dict[str, Any]:
        start = 0
        if request.get("Marker"):
            try:
                start = int(base64.urlsafe_b64decode(request["Marker"].encode()).decode())
            except ValueError:
                raise err("InvalidMarkerException", "Invalid marker") from None
        limit = request.get("Limit") or limit_default
        chunk = items[start:start + limit]
        out: dict[str, Any] = {name: chunk, "Truncated": start + limit < len(items)}
        if out["Truncated"]:
            out["NextMarker"] = base64.urlsafe_b64encode(str(start + limit).encode()).decode()
        return out

    def _set_state(self, ctx, request, op: str, allowed: tuple[str, ...], state: str) -> dict[str, Any]:
        doc, _ = self._resolve(ctx, request["KeyId"])
        self._auth(ctx, op, doc)
        K.require_state(doc["KeyMetadata"], allowed)
        meta = doc["KeyMetadata"]
        meta["KeyState"], meta["Enabled"] = state, state == "Enabled"
        self._save(doc)
        if state == "Enabled":
            rot = doc.get("Rotation") or {}
            if rot.get("Enabled") and float(rot.get("Next", 0)) <= ctx.time():
                self._rotate_due(meta["Arn"])
        return {}

    def enable_key(self, ctx, request):
        return self._set_state(ctx, request, "EnableKey", K.TOGGLE, "Enabled")

    def disable_key(self, ctx, request):
        return self._set_state(ctx, request, "DisableKey", K.TOGGLE, "Disabled")

    def update_key_description(self, ctx, request):
        doc, _ = self._resolve(ctx, request["KeyId"])
        self._auth(ctx, "UpdateKeyDescription", doc)
        K.require_state(doc["KeyMetadata"], K.MANAGE)
        doc["KeyMetadata"]["Description"] = request["Description"]
        self._save(doc)
        return {}

    # -- policies ------------------------------------------------------------------------

    def get_key_policy(self, ctx, request):
        doc, _ = self._resolve(ctx, request["KeyId"], aliases=False)
        self._auth(ctx, "GetKeyPolicy", doc)
        name = request.get("PolicyName", "default")
        if name != "default":
            raise err("NotFoundException", f"Policy {name} is not found.")
        return {"Policy": doc["Policy"], "PolicyName": "default"}

    def put_key_policy(self, ctx, request):
        doc, _ = self._resolve(ctx, request["KeyId"], aliases=False)
        self._auth(ctx, "PutKeyPolicy", doc)
        if request.get("PolicyName", "default") != "default":
            raise err("NotFoundException", f"Policy {request['PolicyName']} is not found.")
        self._check_policy(ctx, request["Policy"], request.get("BypassPolicyLockoutSafetyCheck", False))
        doc["Policy"] = request["Policy"]
        self._save(doc)
        return {}

    def list_key_policies(self, ctx, request):
        doc, _ = self._resolve(ctx, request["KeyId"], aliases=False)
        self._auth(ctx, "ListKeyPolicies", doc)
        return {"PolicyNames": ["default"], "Truncated": False}

    # -- tags ------------------------------------------------------------------------------

    def tag_resource(self, ctx, request):
        doc, _ = self._resolve(ctx, request["KeyId"], aliases=False)
        self._auth(ctx, "TagResource", doc)
        K.require_state(doc["KeyMetadata"], K.MANAGE)
        doc["Tags"] = self._check_tags(doc.get("Tags", []) + request["Tags"])
        if len(doc["Tags"]) > 50:
            raise err("TagException", "Cannot exceed 50 tags per key")
        self._save(doc)
        return {}

    def untag_resource(self, ctx, request):
        doc, _ = self._resolve(ctx, request["KeyId"], aliases=False)
        self._auth(ctx, "UntagResource", doc)
        K.require_state(doc["KeyMetadata"], K.MANAGE)
        doc["Tags"] = [t for t in doc.get("Tags", []) if t["TagKey"] not in set(request["TagKeys"])]
        self._save(doc)
        return {}

    def list_resource_tags(self, ctx, request):
        doc, _ = self._resolve(ctx, request["KeyId"], aliases=False)
        self._auth(ctx, "ListResourceTags", doc)
        return {k: v for k, v in self._page(doc.get("Tags", []), request, "Tags", 50).items()}

    # -- aliases -----------------------------------------------------------------------------

    @staticmethod
    def _check_alias_name(name: str) -> None:
        import re

        if not name.startswith("alias/") or not re.fullmatch(r"[a-zA-Z0-9:/_-]+", name) or len(name) > 256:
            raise err("ValidationException", "Alias must start with the prefix \"alias/\". Please see "
                      "https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html")
        if name.startswith("alias/aws/"):
            raise err("NotAuthorizedException", "Cannot create or update an alias that begins with alias/aws/.")

    def create_alias(self, ctx, request):
        name = request["AliasName"]
        self._check_alias_name(name)
        doc, _ = self._resolve(ctx, request["TargetKeyId"], aliases=False)
        arn = K.alias_arn(ctx.region, ctx.account_id, name)
        ctx.authorize("kms:CreateAlias", arn, {"kms:CallerAccount": ctx.principal.account_id})
        self._auth(ctx, "CreateAlias", doc)
        K.require_state(doc["KeyMetadata"], K.MANAGE)
        if self.runtime.store.get(arn) is not None:
            raise err("AlreadyExistsException", f"An alias with the name {arn} already exists")
        # 50 aliases per key: https://docs.aws.amazon.com/kms/latest/developerguide/resource-limits.html
        key_id = doc["KeyMetadata"]["KeyId"]
        if sum(a["TargetKeyId"] == key_id for a in self.runtime.store.list(K.ALIAS, account_id=ctx.account_id,
                                                                           region=ctx.region)) >= 50:
            raise err("LimitExceededException", f"Cannot exceed quota for AliasesPerCMK: 50. Key: {doc['KeyMetadata']['Arn']}")
        now = ctx.time()
        self.runtime.store.put(arn, {"AliasName": name, "AliasArn": arn, "TargetKeyId": doc["KeyMetadata"]["KeyId"],
                                     "CreationDate": now, "LastUpdatedDate": now},
                               kind=K.ALIAS, account_id=ctx.account_id, region=ctx.region)
        return {}

    def update_alias(self, ctx, request):
        name = request["AliasName"]
        arn = K.alias_arn(ctx.region, ctx.account_id, name)
        alias = self.runtime.store.get(arn)
        if alias is None:
            raise err("NotFoundException", f"Alias {arn} is not found.")
        doc, _ = self._resolve(ctx, request["TargetKeyId"], aliases=False)
        old = self.runtime.store.get(K.key_arn(ctx.region, ctx.account_id, alias["TargetKeyId"]))
        ctx.authorize("kms:UpdateAlias", arn, {"kms:CallerAccount": ctx.principal.account_id})
        self._auth(ctx, "UpdateAlias", doc)
        if old is not None:
            self._auth(ctx, "UpdateAlias", old)
            om, nm = old["KeyMetadata"], doc["KeyMetadata"]
            if om["KeyUsage"] != nm["KeyUsage"] or (om["KeySpec"] == "SYMMETRIC_DEFAULT") != (nm["KeySpec"] == "SYMMETRIC_DEFAULT"):
                raise err("ValidationException", "The new target key must have the same key type and key usage "
                          "as the current target key.")
        K.require_state(doc["KeyMetadata"], K.MANAGE)
        alias["TargetKeyId"], alias["LastUpdatedDate"] = doc["KeyMetadata"]["KeyId"], ctx.time()
        self.runtime.store.put(arn, alias, kind=K.ALIAS, account_id=ctx.account_id, region=ctx.region)
        return {}

    def delete_alias(self, ctx, request):
        name = request["AliasName"]
        arn = K.alias_arn(ctx.region, ctx.account_id, name)
        alias = self.runtime.store.get(arn)
        if alias is None:
            raise err("NotFoundException", f"Alias {arn} is not found.")
        ctx.authorize("kms:DeleteAlias", arn, {"kms:CallerAccount": ctx.principal.account_id})
        target = self.runtime.store.get(K.key_arn(ctx.region, ctx.account_id, alias["TargetKeyId"]))
        if target is not None:
            self._auth(ctx, "DeleteAlias", target)
        self.runtime.store.delete(arn)
        return {}

    def list_aliases(self, ctx, request):
        self._plain_auth(ctx, "ListAliases")
        items = self.runtime.store.list(K.ALIAS, account_id=ctx.account_id, region=ctx.region)
        if request.get("KeyId"):
            doc, _ = self._resolve(ctx, request["KeyId"], aliases=False)
            items = [a for a in items if a["TargetKeyId"] == doc["KeyMetadata"]["KeyId"]]
        return self._page(items, request, "Aliases")

    # -- symmetric and RSA encryption ----------------------------------------------------------

    @staticmethod
    def _check_context(context: dict[str, str] | None) -> dict[str, str] | None:
        return context

    def _encrypt(self, doc, plaintext: bytes, context, algorithm: str) -> bytes:
        meta = doc["KeyMetadata"]
        if meta["KeyUsage"] != "ENCRYPT_DECRYPT":
            raise err("InvalidKeyUsageException", f"{meta['Arn']} key usage is {meta['KeyUsage']} which is not "
                      "valid for Encrypt.")
        if algorithm not in meta.get("EncryptionAlgorithms", []):
            raise err("InvalidKeyUsageException", f"Algorithm {algorithm} is incompatible with key spec "
                      f"{meta['KeySpec']}.")
        if meta["KeySpec"] == "SYMMETRIC_DEFAULT":
            mid, material = self._material(doc)
            return crypto.seal(meta["KeyId"], mid, material, plaintext, context)
        if context:
            raise err("ValidationException", "EncryptionContext is not supported for asymmetric keys")
        if len(plaintext) > crypto.rsa_max_plaintext(meta["KeySpec"], algorithm):
            raise err("ValidationException", f"Plaintext length is too long for {algorithm} with {meta['KeySpec']}")
        _, private = self._material(doc)
        return crypto.rsa_encrypt(private, algorithm, plaintext)

    def encrypt(self, ctx, request):
        doc, alias = self._resolve(ctx, request["KeyId"])
        algorithm = request.get("EncryptionAlgorithm", "SYMMETRIC_DEFAULT")
        context = request.get("EncryptionContext")
        self._auth(ctx, "Encrypt", doc, {"kms:EncryptionAlgorithm": algorithm}, context=context, alias=alias,
                   grant_tokens=request.get("GrantTokens"))
        K.require_state(doc["KeyMetadata"], K.USE)
        blob = self._encrypt(doc, request["Plaintext"], context, algorithm)
        self._dry(request)
        self._used(ctx, doc, "Encrypt")
        return {"CiphertextBlob": blob, "KeyId": doc["KeyMetadata"]["Arn"], "EncryptionAlgorithm": algorithm}

    @staticmethod
    def _dry(request):
        if request.get("DryRun"):
            raise err("DryRunOperationException", "The request would have succeeded, but the DryRun option is set.")

    def _decrypt(self, ctx, op, blob: bytes, key_id: str | None, context, algorithm: str, tokens, extra=None):
        """(doc, plaintext, material id) for a ciphertext, after authorizing `op` on its key."""
        algorithm = algorithm or "SYMMETRIC_DEFAULT"
        if algorithm == "SYMMETRIC_DEFAULT":
            try:
                blob_kid, mid, *_ = crypto.parse_blob(blob)
            except crypto.CryptoError:
                raise err("InvalidCiphertextException", "") from None
            alias, given = None, None
            if key_id:  # another account's key is named by its ARN here
                given, alias = self._resolve(ctx, key_id)
            if given is not None and given["KeyMetadata"]["KeyId"] == blob_kid:
                doc = given
            else:
                try:
                    doc, _ = self._resolve(ctx, blob_kid)
                except AwsError:
                    raise err("InvalidCiphertextException", "") from None
            if given is not None:
                if given["KeyMetadata"]["Arn"] != doc["KeyMetadata"]["Arn"]:
                    raise err("IncorrectKeyException", "The key ID in the request does not identify a CMK that can "
                              "perform this operation.")
            self._auth(ctx, op, doc, {"kms:EncryptionAlgorithm": algorithm, **(extra or {})}, context=context,
                       alias=alias, grant_tokens=tokens)
            K.require_state(doc["KeyMetadata"], K.USE)
            try:
                _, material = self._material(doc, mid)
                return doc, crypto.open_blob(blob, material, context), mid
            except crypto.CryptoError:
                raise err("InvalidCiphertextException", "") from None
        if not key_id:
            raise err("ValidationException", "KeyId is required for asymmetric decryption")
        doc, alias = self._resolve(ctx, key_id)
        self._auth(ctx, op, doc, {"kms:EncryptionAlgorithm": algorithm, **(extra or {})}, alias=alias,
                   grant_tokens=tokens)
        K.require_state(doc["KeyMetadata"], K.USE)
        meta = doc["KeyMetadata"]
        if meta["KeyUsage"] != "ENCRYPT_DECRYPT" or algorithm not in meta.get("EncryptionAlgorithms", []):
            raise err("InvalidKeyUsageException", f"{meta['Arn']} key usage is {meta['KeyUsage']} which is not "
                      "valid for Decrypt.")
        _, private = self._material(doc)
        try:
            return doc, crypto.rsa_decrypt(private, algorithm, blob), None
        except crypto.CryptoError:
            raise err("InvalidCiphertextException", "") from None

    def decrypt(self, ctx, request):
        doc, plaintext, mid = self._decrypt(ctx, "Decrypt", _ciphertext(request), request.get("KeyId"),
                                            request.get("EncryptionContext"), request.get("EncryptionAlgorithm"),
                                            request.get("GrantTokens"))
        self._dry(request)
        self._used(ctx, doc, "Decrypt")
        out = {"KeyId": doc["KeyMetadata"]["Arn"], "Plaintext": plaintext,
               "EncryptionAlgorithm": request.get("EncryptionAlgorithm", "SYMMETRIC_DEFAULT")}
        if mid:
            out["KeyMaterialId"] = mid
        recipient = request.get("Recipient")
        if recipient:
            out.pop("Plaintext")
            out["CiphertextForRecipient"] = self._for_recipient(recipient, plaintext)
        return out

    @staticmethod
    def _for_recipient(recipient: dict[str, Any], plaintext: bytes) -> bytes:
        raise err("ValidationException", "Recipient attestation documents are only accepted from Nitro Enclaves.")

    def re_encrypt(self, ctx, request):
        src, plaintext, _ = self._decrypt(ctx, "ReEncryptFrom", _ciphertext(request), request.get("SourceKeyId"),
                                          request.get("SourceEncryptionContext"),
                                          request.get("SourceEncryptionAlgorithm"), request.get("GrantTokens"))
        dest, alias = self._resolve(ctx, request["DestinationKeyId"])
        algorithm = request.get("DestinationEncryptionAlgorithm", "SYMMETRIC_DEFAULT")
        context = request.get("DestinationEncryptionContext")
        self._auth(ctx, "ReEncryptTo", dest, {"kms:EncryptionAlgorithm": algorithm}, context=context, alias=alias,
                   grant_tokens=request.get("GrantTokens"))
        K.require_state(dest["KeyMetadata"], K.USE)
        blob = self._encrypt(dest, plaintext, context, algorithm)
        self._dry(request)
        self._used(ctx, src, "ReEncrypt")
        self._used(ctx, dest, "ReEncrypt")
        return {"CiphertextBlob": blob, "SourceKeyId": src["KeyMetadata"]["Arn"], "KeyId": dest["KeyMetadata"]["Arn"],
                "SourceEncryptionAlgorithm": request.get("SourceEncryptionAlgorithm", "SYMMETRIC_DEFAULT"),
                "DestinationEncryptionAlgorithm": algorithm}

    # -- data keys ---------------------------------------------------------------------------

    def _data_key(self, ctx, request, op: str) -> dict[str, Any]:
        doc, alias = self._resolve(ctx, request["KeyId"])
        spec, n = request.get("KeySpec"), request.get("NumberOfBytes")
        if (spec is None) == (n is None):
            raise err("ValidationException", "Please specify either number of bytes or key spec.")
        size = {"AES_128": 16, "AES_256": 32}.get(spec, n) if spec else n
        if not 1 <= size <= 1024:
            raise err("ValidationException", "NumberOfBytes must be between 1 and 1024")
        context = request.get("EncryptionContext")
        self._auth(ctx, op, doc, {}, context=context, alias=alias, grant_tokens=request.get("GrantTokens"))
        K.require_state(doc["KeyMetadata"], K.USE)
        if doc["KeyMetadata"]["KeySpec"] != "SYMMETRIC_DEFAULT":
            raise err("InvalidKeyUsageException", f"{doc['KeyMetadata']['Arn']} key usage is not valid for {op}.")
        plaintext = os.urandom(size)
        blob = self._encrypt(doc, plaintext, context, "SYMMETRIC_DEFAULT")
        self._dry(request)
        self._used(ctx, doc, op)
        return {"CiphertextBlob": blob, "Plaintext": plaintext, "KeyId": doc["KeyMetadata"]["Arn"],
                "KeyMaterialId": crypto.parse_blob(blob)[1]}

    def generate_data_key(self, ctx, request):
        return self._data_key(ctx, request, "GenerateDataKey")

    def generate_data_key_without_plaintext(self, ctx, request):
        out = self._data_key(ctx, request, "GenerateDataKeyWithoutPlaintext")
        out.pop("Plaintext")
        return out

    def _data_key_pair(self, ctx, request, op: str) -> dict[str, Any]:
        doc, alias = self._resolve(ctx, request["KeyId"])
        pair_spec = request["KeyPairSpec"]
        if pair_spec not in crypto.RSA_BITS and pair_spec not in crypto.CURVES and pair_spec != "ECC_NIST_EDWARDS25519":
            raise err("UnsupportedOperationException", f"KeyPairSpec {pair_spec} is not supported in this region.")
        context = request.get("EncryptionContext")
        self._auth(ctx, op, doc, {"kms:DataKeyPairSpec": pair_spec}, context=context, alias=alias,
                   grant_tokens=request.get("GrantTokens"))
        K.require_state(doc["KeyMetadata"], K.USE)
        if doc["KeyMetadata"]["KeySpec"] != "SYMMETRIC_DEFAULT":
            raise err("InvalidKeyUsageException", f"{doc['KeyMetadata']['Arn']} key usage is not valid for {op}.")
        public, private = crypto.data_key_pair(pair_spec)
        blob = self._encrypt(doc, private, context, "SYMMETRIC_DEFAULT")
        self._dry(request)
        self._used(ctx, doc, op)
        return {"PrivateKeyCiphertextBlob": blob, "PrivateKeyPlaintext": private, "PublicKey": public,
                "KeyId": doc["KeyMetadata"]["Arn"], "KeyPairSpec": pair_spec,
                "KeyMaterialId": crypto.parse_blob(blob)[1]}

    def generate_data_key_pair(self, ctx, request):
        return self._data_key_pair(ctx, request, "GenerateDataKeyPair")

    def generate_data_key_pair_without_plaintext(self, ctx, request):
        out = self._data_key_pair(ctx, request, "GenerateDataKeyPairWithoutPlaintext")
        out.pop("PrivateKeyPlaintext")
        return out

    def generate_random(self, ctx, request):
        n = request.get("NumberOfBytes")
        if n is None or not 1 <= n <= 1024:
            raise err("ValidationException", "1 validation error detected: Value at 'numberOfBytes' failed to "
                      "satisfy constraint: Member must have value between 1 and 1024")
        if request.get("CustomKeyStoreId"):
            raise err("CustomKeyStoreNotFoundException", "Custom key store not found.")
        self._plain_auth(ctx, "GenerateRandom")
        return {"Plaintext": os.urandom(n)}

    # -- asymmetric: public key, sign, verify, ECDH ---------------------------------------------

    def get_public_key(self, ctx, request):
        doc, alias = self._resolve(ctx, request["KeyId"])
        self._auth(ctx, "GetPublicKey", doc, alias=alias, grant_tokens=request.get("GrantTokens"))
        K.require_state(doc["KeyMetadata"], K.USE)
        meta = doc["KeyMetadata"]
        if meta["KeySpec"] == "SYMMETRIC_DEFAULT" or meta["KeySpec"].startswith("HMAC"):
            raise err("UnsupportedOperationException", f"{meta['Arn']} key usage is {meta['KeyUsage']} which is not "
                      "valid for GetPublicKey.")
        _, private = self._material(doc)
        out = {"KeyId": meta["Arn"], "PublicKey": crypto.public_der(private), "KeySpec": meta["KeySpec"],
               "CustomerMasterKeySpec": meta["KeySpec"], "KeyUsage": meta["KeyUsage"]}
        for k in ("EncryptionAlgorithms", "SigningAlgorithms", "KeyAgreementAlgorithms"):
            if k in meta:
                out[k] = meta[k]
        return out

    def _signing(self, ctx, request, op: str) -> tuple[dict[str, Any], bytes]:
        doc, alias = self._resolve(ctx, request["KeyId"])
        algorithm = request["SigningAlgorithm"]
        mtype = request.get("MessageType", "RAW")
        self._auth(ctx, op, doc, {"kms:SigningAlgorithm": algorithm, "kms:MessageType": mtype}, alias=alias,
                   grant_tokens=request.get("GrantTokens"))
        K.require_state(doc["KeyMetadata"], K.USE)
        meta = doc["KeyMetadata"]
        if meta["KeyUsage"] != "SIGN_VERIFY":
            raise err("InvalidKeyUsageException", f"{meta['Arn']} key usage is {meta['KeyUsage']} which is not "
                      f"valid for {op}.")
        if algorithm not in meta["SigningAlgorithms"]:
            raise err("InvalidKeyUsageException", f"Algorithm {algorithm} is incompatible with key spec "
                      f"{meta['KeySpec']}.")
        message = request["Message"]
        if mtype == "EXTERNAL_MU" and algorithm != "ML_DSA_SHAKE_256":
            raise err("ValidationException", "MessageType EXTERNAL_MU is only valid with ML_DSA_SHAKE_256.")
        if algorithm == "ED25519_PH_SHA_512" or mtype == "EXTERNAL_MU":
            raise err("UnsupportedOperationException", f"mamori does not compute {algorithm} with MessageType "
                      f"{mtype}.")
        if algorithm in crypto.PURE:
            if mtype != "RAW":
                raise err("ValidationException", f"{algorithm} requires MessageType RAW.")
        elif mtype == "DIGEST" and len(message) != crypto.digest_size(algorithm):
            raise err("ValidationException", f"Digest is invalid length for algorithm {algorithm}.")
        _, private = self._material(doc)
        self._used(ctx, doc, op)
        return doc, private

    def sign(self, ctx, request):
        doc, private = self._signing(ctx, request, "Sign")
        sig = crypto.sign(private, request["SigningAlgorithm"], request["Message"], request.get("MessageType", "RAW"))
        self._dry(request)
        return {"KeyId": doc["KeyMetadata"]["Arn"], "Signature": sig, "SigningAlgorithm": request["SigningAlgorithm"]}

    def verify(self, ctx, request):
        doc, private = self._signing(ctx, request, "Verify")
        ok = crypto.verify(private, request["SigningAlgorithm"], request["Message"], request.get("MessageType", "RAW"),
                           request["Signature"])
        self._dry(request)
        if not ok:
            raise err("KMSInvalidSignatureException", "")
        return {"KeyId": doc["KeyMetadata"]["Arn"], "SignatureValid": True,
                "SigningAlgorithm": request["SigningAlgorithm"]}

    def derive_shared_secret(self, ctx, request):
        doc, alias = self._resolve(ctx, request["KeyId"])
        algorithm = request["KeyAgreementAlgorithm"]
        self._auth(ctx, "DeriveSharedSecret", doc, {"kms:KeyAgreementAlgorithm": algorithm}, alias=alias,
                   grant_tokens=request.get("GrantTokens"))
        K.require_state(doc["KeyMetadata"], K.USE)
        meta = doc["KeyMetadata"]
        if meta["KeyUsage"] != "KEY_AGREEMENT":
            raise err("InvalidKeyUsageException", f"{meta['Arn']} key usage is {meta['KeyUsage']} which is not "
                      "valid for DeriveSharedSecret.")
        if algorithm != "ECDH":
            raise err("ValidationException", f"KeyAgreementAlgorithm {algorithm} is not supported")
        _, private = self._material(doc)
        try:
            secret = crypto.derive_shared_secret(private, request["PublicKey"])
        except crypto.CryptoError:
            raise err("ValidationException", "The public key is not valid for this key's curve.") from None
        self._dry(request)
        self._used(ctx, doc, "DeriveSharedSecret")
        return {"KeyId": meta["Arn"], "SharedSecret": secret, "KeyAgreementAlgorithm": "ECDH",
                "KeyOrigin": meta["Origin"]}

    # -- MAC ---------------------------------------------------------------------------------

    def _mac(self, ctx, request, op: str) -> tuple[dict[str, Any], bytes]:
        doc, alias = self._resolve(ctx, request["KeyId"])
        algorithm = request["MacAlgorithm"]
        self._auth(ctx, op, doc, {"kms:MacAlgorithm": algorithm}, alias=alias, grant_tokens=request.get("GrantTokens"))
        K.require_state(doc["KeyMetadata"], K.USE)
        meta = doc["KeyMetadata"]
        if meta["KeyUsage"] != "GENERATE_VERIFY_MAC" or algorithm not in meta["MacAlgorithms"]:
            raise err("InvalidKeyUsageException", f"{meta['Arn']} key usage is {meta['KeyUsage']} which is not "
                      f"valid for {op}.")
        _, material = self._material(doc)
        self._used(ctx, doc, op)
        return doc, crypto.mac(material, algorithm, request["Message"])

    def generate_mac(self, ctx, request):
        doc, tag = self._mac(ctx, request, "GenerateMac")
        self._dry(request)
        return {"Mac": tag, "MacAlgorithm": request["MacAlgorithm"], "KeyId": doc["KeyMetadata"]["Arn"]}

    def verify_mac(self, ctx, request):
        import hmac

        doc, tag = self._mac(ctx, request, "VerifyMac")
        self._dry(request)
        if not hmac.compare_digest(tag, request["Mac"]):
            raise err("KMSInvalidMacException", "")
        return {"KeyId": doc["KeyMetadata"]["Arn"], "MacValid": True, "MacAlgorithm": request["MacAlgorithm"]}


def _new_key(account: str, region: str, key_id: str, now: float, *, spec: str, usage: str, origin: str,
             manager: str, description: str, multi: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    """A new key's KeyMetadata and its sealed part (fresh material unless imported later)."""
    meta: dict[str, Any] = {
        "AWSAccountId": account, "KeyId": key_id, "Arn": K.key_arn(region, account, key_id), "CreationDate": now,
        "Enabled": origin != "EXTERNAL", "Description": description, "KeyUsage": usage,
        "KeyState": "PendingImport" if origin == "EXTERNAL" else "Enabled", "Origin": origin,
        "KeyManager": manager, "CustomerMasterKeySpec": spec, "KeySpec": spec,
        **K.algorithms(spec, usage), "MultiRegion": multi,
    }
    secret: dict[str, Any] = {"current": None, "materials": {}}
    if origin != "EXTERNAL":
        mid = os.urandom(32).hex()
        secret = {"current": mid, "materials": {mid: crypto.new_material(spec).hex()}}
        if spec == "SYMMETRIC_DEFAULT":
            meta["CurrentKeyMaterialId"] = mid
    return meta, secret


def _ciphertext(request: dict[str, Any]) -> bytes:
    """CiphertextBlob, which the current model no longer marks required (Decrypt may take a
    Recipient) but which KMS cannot do without."""
    blob = request.get("CiphertextBlob")
    if blob is None:
        raise err("ValidationException", "1 validation error detected: Value null at 'ciphertextBlob' failed to "
                                         "satisfy constraint: Member must not be null")
    return blob
