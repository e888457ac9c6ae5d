"""KMS key lifecycle operations (a mixin of KmsProvider):

    schedule_key_deletion / cancel_key_deletion   PendingDeletion for 7-30 days; the
                                                  scheduler deletes the key at DeletionDate
    enable/disable_key_rotation, get_key_rotation_status, rotate_key_on_demand,
    list_key_rotations                            rotation by the clock and on demand
    get_parameters_for_import, import_key_material, delete_imported_key_material
                                                  imported material with ValidTo expiry
    replicate_key, update_primary_region          multi-Region keys (same material)
    *_custom_key_store                            no CloudHSM: AWS's "cluster not found" answer
    get_key_last_usage                            the last cryptographic use

Facts: https://docs.aws.amazon.com/kms/latest/developerguide/deleting-keys.html
https://docs.aws.amazon.com/kms/latest/developerguide/rotate-keys.html
https://docs.aws.amazon.com/kms/latest/developerguide/importing-keys.html
https://docs.aws.amazon.com/kms/latest/developerguide/multi-region-keys-overview.html
"""

from __future__ import annotations

import json
import os
import uuid
from typing import Any

from mamori.services.kms import crypto
from mamori.services.kms import keys as K
from mamori.services.kms.keys import err

DAY = 86400.0
ON_DEMAND_LIMIT = 25  # https://docs.aws.amazon.com/kms/latest/APIReference/API_RotateKeyOnDemand.html
IMPORT_TOKEN_TTL = DAY
WRAPPING = {"RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256", "RSA_AES_KEY_WRAP_SHA_1", "RSA_AES_KEY_WRAP_SHA_256"}


def _b(data: dict[str, Any]) -> bytes:
    return json.dumps(data).encode()


class LifecycleOps:
    # -- deletion -----------------------------------------------------------------------

    def schedule_key_deletion(self, ctx, request):
        doc, _ = self._resolve(ctx, request["KeyId"], aliases=False)
        self._auth(ctx, "ScheduleKeyDeletion", doc)
        days = request.get("PendingWindowInDays", 30)
        if not 7 <= days <= 30:
            raise err("ValidationException", "PendingWindowInDays must be between 7 and 30.")
        meta = doc["KeyMetadata"]
        K.require_state(meta, K.MANAGE)
        meta["Enabled"] = False
        meta["PendingDeletionWindowInDays"] = days
        cfg = meta.get("MultiRegionConfiguration") or {}
        if cfg.get("MultiRegionKeyType") == "PRIMARY" and cfg.get("ReplicaKeys"):
            # A primary with replicas waits for them; its window starts when the last goes.
            # https://docs.aws.amazon.com/kms/latest/developerguide/multi-region-keys-delete.html
            meta["KeyState"] = "PendingReplicaDeletion"
            self._save(doc)
            return {"KeyId": meta["Arn"], "KeyState": "PendingReplicaDeletion", "PendingWindowInDays": days}
        meta["KeyState"] = "PendingDeletion"
        meta["DeletionDate"] = ctx.time() + days * DAY
        self._save(doc)
        self._arm(doc)
        return {"KeyId": meta["Arn"], "DeletionDate": meta["DeletionDate"], "KeyState": "PendingDeletion",
                "PendingWindowInDays": days}

    def cancel_key_deletion(self, ctx, request):
        doc, _ = self._resolve(ctx, request["KeyId"], aliases=False)
        self._auth(ctx, "CancelKeyDeletion", doc)
        meta = doc["KeyMetadata"]
        if meta["KeyState"] not in ("PendingDeletion", "PendingReplicaDeletion"):
            raise err("KMSInvalidStateException", f"{meta['Arn']} is not pending deletion.")
        meta.pop("DeletionDate", None)
        meta.pop("PendingDeletionWindowInDays", None)
        has_material = bool(self._secret(doc).get("current"))
        meta["KeyState"] = "Disabled" if has_material or meta["Origin"] != "EXTERNAL" else "PendingImport"
        self._save(doc)
        return {"KeyId": meta["Arn"]}

    # -- rotation ------------------------------------------------------------------------

    def _rotatable(self, doc, op: str) -> dict[str, Any]:
        """Automatic rotation: symmetric keys with AWS_KMS material only; an EXTERNAL key
        is refused for its origin whatever its state (key-state.html)."""
        meta = doc["KeyMetadata"]
        if meta["Origin"] != "AWS_KMS" and op != "RotateKeyOnDemand":
            raise err("UnsupportedOperationException", f"{meta['Arn']} origin is {meta['Origin']} which is not "
                      "valid for this operation.")
        if meta["KeyState"] in ("PendingImport", "PendingDeletion"):
            raise K.state_error(meta)
        if meta["KeySpec"] != "SYMMETRIC_DEFAULT":
            raise err("UnsupportedOperationException", f"{meta['Arn']} key spec is {meta['KeySpec']} which is not "
                      "valid for this operation.")
        return meta

    def enable_key_rotation(self, ctx, request):
        doc, _ = self._resolve(ctx, request["KeyId"], aliases=False)
        period = request.get("RotationPeriodInDays", 365)
        self._auth(ctx, "EnableKeyRotation", doc, {"kms:RotationPeriodInDays": period})
        if not 90 <= period <= 2560:
            raise err("ValidationException", "RotationPeriodInDays must be between 90 and 2560.")
        meta = self._rotatable(doc, "EnableKeyRotation")
        K.require_state(meta, K.USE)
        doc["Rotation"] = {"Enabled": True, "PeriodDays": period, "Next": ctx.time() + period * DAY}
        self._save(doc)
        self._arm(doc)
        return {}

    def disable_key_rotation(self, ctx, request):
        doc, _ = self._resolve(ctx, request["KeyId"], aliases=False)
        self._auth(ctx, "DisableKeyRotation", doc)
        meta = self._rotatable(doc, "DisableKeyRotation")
        K.require_state(meta, K.USE)
        doc["Rotation"] = {"Enabled": False}
        self._save(doc)
        return {}

    def get_key_rotation_status(self, ctx, request):
        doc, _ = self._resolve(ctx, request["KeyId"], aliases=False)
        self._auth(ctx, "GetKeyRotationStatus", doc)
        meta = doc["KeyMetadata"]
        if meta["KeyState"] == "PendingImport":
            raise K.state_error(meta)
        rot = doc.get("Rotation") or {}
        enabled = bool(rot.get("Enabled")) and meta["KeyState"] != "PendingDeletion"
        out: dict[str, Any] = {"KeyRotationEnabled": enabled, "KeyId": meta["Arn"]}
        if rot.get("Enabled"):
            out["RotationPeriodInDays"] = rot["PeriodDays"]
            out["NextRotationDate"] = rot["Next"]
        return out

    def _rotate(self, doc: dict[str, Any], kind: str, now: float) -> None:
        sec = self._secret(doc)
        mid = os.urandom(32).hex()
        sec["materials"][mid] = crypto.new_material("SYMMETRIC_DEFAULT").hex()
        sec["current"] = mid
        doc["KeyMetadata"]["CurrentKeyMaterialId"] = mid
        doc.setdefault("Rotations", []).append({"KeyMaterialId": mid, "RotationDate": now, "RotationType": kind})
        self._save(doc, secret=_b(sec))
        # Multi-Region keys share their material: replicas rotate with the primary.
        for r in (doc["KeyMetadata"].get("MultiRegionConfiguration") or {}).get("ReplicaKeys", []):
            replica = self.runtime.store.get(r["Arn"])
            if replica is not None:
                replica["KeyMetadata"]["CurrentKeyMaterialId"] = mid
                replica["Rotations"] = list(doc["Rotations"])
                self._save(replica, secret=_b(sec))

    def rotate_key_on_demand(self, ctx, request):
        doc, _ = self._resolve(ctx, request["KeyId"], aliases=False)
        self._auth(ctx, "RotateKeyOnDemand", doc)
        meta = doc["KeyMetadata"]
        if meta["KeyState"] == "Disabled":
            raise K.state_error(meta)
        self._rotatable(doc, "RotateKeyOnDemand")
        if meta["Origin"] != "AWS_KMS":
            raise err("UnsupportedOperationException", f"{meta['Arn']} origin is {meta['Origin']} which is not valid "
                      "for this operation.")
        if doc.get("OnDemand", 0) >= ON_DEMAND_LIMIT:
            raise err("LimitExceededException", f"The on-demand rotations limit has been reached for the given "
                      f"key: {meta['Arn']}.")
        doc["OnDemand"] = doc.get("OnDemand", 0) + 1
        self._rotate(doc, "ON_DEMAND", ctx.time())
        self._publish(meta, "KMS CMK Rotation", {"key-id": meta["KeyId"]})
        return {"KeyId": meta["Arn"]}

    def list_key_rotations(self, ctx, request):
        doc, _ = self._resolve(ctx, request["KeyId"], aliases=False)
        self._auth(ctx, "ListKeyRotations", doc)
        meta = doc["KeyMetadata"]
        if meta["KeySpec"] != "SYMMETRIC_DEFAULT":
            raise err("UnsupportedOperationException", f"{meta['Arn']} key spec is {meta['KeySpec']} which is not "
                      "valid for this operation.")
        current = meta.get("CurrentKeyMaterialId")
        items = [{"KeyId": meta["Arn"], **r, "KeyMaterialState": "CURRENT" if r["KeyMaterialId"] == current
                  else "NON_CURRENT"} for r in doc.get("Rotations", [])]
        return self._page(items, request, "Rotations")

    # -- import ----------------------------------------------------------------------------

    def get_parameters_for_import(self, ctx, request):
        doc, _ = self._resolve(ctx, request["KeyId"], aliases=False)
        alg, spec = request["WrappingAlgorithm"], request["WrappingKeySpec"]
        self._auth(ctx, "GetParametersForImport", doc, {"kms:WrappingAlgorithm": alg, "kms:WrappingKeySpec": spec})
        meta = doc["KeyMetadata"]
        if meta["Origin"] != "EXTERNAL":
            raise err("UnsupportedOperationException", f"{meta['Arn']} origin is {meta['Origin']} which is not valid "
                      "for this operation.")
        if meta["KeyState"] == "PendingDeletion":
            raise K.state_error(meta)
        if alg not in WRAPPING or spec not in crypto.RSA_BITS:
            raise err("ValidationException", f"WrappingAlgorithm {alg} with WrappingKeySpec {spec} is not supported.")
        private = crypto.new_material(spec)
        token_id = uuid.uuid4().hex
        valid_to = ctx.time() + IMPORT_TOKEN_TTL
        token = f"{meta['KeyId']}:{token_id}".encode()
        arn = f"{meta['Arn']}/import/{token_id}"
        self.runtime.store.put(arn, {"KeyArn": meta["Arn"], "Algorithm": alg, "ValidTo": valid_to},
                               kind="kms-import-token", account_id=meta["AWSAccountId"], region=ctx.region,
                               secret=private)
        return {"KeyId": meta["Arn"], "ImportToken": token, "PublicKey": crypto.public_der(private),
                "ParametersValidTo": valid_to}

    def import_key_material(self, ctx, request):
        doc, _ = self._resolve(ctx, request["KeyId"], aliases=False)
        model = request.get("ExpirationModel", "KEY_MATERIAL_EXPIRES")
        self._auth(ctx, "ImportKeyMaterial", doc, {"kms:ExpirationModel": model})
        meta = doc["KeyMetadata"]
        if meta["Origin"] != "EXTERNAL":
            raise err("UnsupportedOperationException", f"{meta['Arn']} origin is {meta['Origin']} which is not valid "
                      "for this operation.")
        if meta["KeyState"] == "PendingDeletion":
            raise K.state_error(meta)
        valid_to = request.get("ValidTo")
        if model == "KEY_MATERIAL_EXPIRES" and valid_to is None:
            raise err("ValidationException", "A validTo date must be set if the ExpirationModel is "
                      "KEY_MATERIAL_EXPIRES")
        if model == "KEY_MATERIAL_DOES_NOT_EXPIRE" and valid_to is not None:
            raise err("ValidationException", "A validTo date must not be set if the ExpirationModel is "
                      "KEY_MATERIAL_DOES_NOT_EXPIRE")
        token = request["ImportToken"]
        try:
            key_id, token_id = token.decode().split(":", 1)
        except (UnicodeDecodeError, ValueError):
            raise err("InvalidImportTokenException", "Import token is invalid.") from None
        tarn = f"{meta['Arn']}/import/{token_id}"
        tdoc = self.runtime.store.get(tarn)
        if key_id != meta["KeyId"] or tdoc is None:
            raise err("InvalidImportTokenException", "Import token is invalid.")
        if tdoc["ValidTo"] <= ctx.time():
            raise err("ExpiredImportTokenException", "Import token has expired.")
        try:
            material = crypto.unwrap(self.runtime.store.get_secret(tarn), tdoc["Algorithm"],
                                     request["EncryptedKeyMaterial"])
        except crypto.CryptoError:
            raise err("InvalidCiphertextException", "") from None
        material = _check_material(meta["KeySpec"], material)
        mid = (doc.get("ImportedMaterialId") or "")
        if mid and doc.get("ImportedDigest") and doc["ImportedDigest"] != _digest(material):
            raise err("IncorrectKeyMaterialException", "The key material is not the same as the one previously "
                      "imported.")
        if not mid:
            mid = _digest(material)
            doc["ImportedMaterialId"], doc["ImportedDigest"] = mid, mid
        sec = {"current": mid, "materials": {mid: material.hex()}}
        if meta["KeyState"] == "PendingImport":
            meta["KeyState"], meta["Enabled"] = "Enabled", True
        meta["ExpirationModel"] = model
        if valid_to is not None:
            meta["ValidTo"] = valid_to.timestamp() if hasattr(valid_to, "timestamp") else float(valid_to)
        else:
            meta.pop("ValidTo", None)
        if meta["KeySpec"] == "SYMMETRIC_DEFAULT":
            meta["CurrentKeyMaterialId"] = mid
        self._save(doc, secret=_b(sec))
        self._arm(doc)
        return {"KeyId": meta["Arn"], "KeyMaterialId": mid}

    def delete_imported_key_material(self, ctx, request):
        doc, _ = self._resolve(ctx, request["KeyId"], aliases=False)
        self._auth(ctx, "DeleteImportedKeyMaterial", doc)
        meta = doc["KeyMetadata"]
        if meta["Origin"] != "EXTERNAL":
            raise err("UnsupportedOperationException", f"{meta['Arn']} origin is {meta['Origin']} which is not valid "
                      "for this operation.")
        self._drop_material(doc)
        return {"KeyId": meta["Arn"], "KeyMaterialId": doc.get("ImportedMaterialId")}

    # -- multi-Region -------------------------------------------------------------------------

    def replicate_key(self, ctx, request):
        doc, _ = self._resolve(ctx, request["KeyId"], aliases=False)
        region = request["ReplicaRegion"]
        self._auth(ctx, "ReplicateKey", doc, {"kms:ReplicaRegion": region})
        meta = doc["KeyMetadata"]
        if not meta.get("MultiRegion"):
            raise err("UnsupportedOperationException", f"{meta['Arn']} is not a multi-Region key.")
        if region == ctx.region:
            raise err("ValidationException", "The replica Region must differ from the primary key's Region.")
        arn = K.key_arn(region, ctx.account_id, meta["KeyId"])
        if self.runtime.store.get(arn) is not None:
            raise err("AlreadyExistsException", f"Key {arn} already exists")
        if request.get("Policy") is not None:
            self._check_policy(ctx, request["Policy"], request.get("BypassPolicyLockoutSafetyCheck", False))
        replica = json.loads(json.dumps(doc))
        rm = replica["KeyMetadata"]
        rm.update({"Arn": arn, "CreationDate": ctx.time(), "Description": request.get("Description", "")})
        rm["MultiRegionConfiguration"] = {"MultiRegionKeyType": "REPLICA", "PrimaryKey": {"Arn": meta["Arn"],
                                          "Region": ctx.region}, "ReplicaKeys": []}
        replica["Policy"] = request.get("Policy") or K.default_policy(ctx.account_id)
        replica["Tags"] = self._check_tags(request.get("Tags") or [])
        replica["Rotation"] = doc.get("Rotation", {"Enabled": False})
        cfg = meta["MultiRegionConfiguration"]
        cfg["ReplicaKeys"].append({"Arn": arn, "Region": region})
        self._save(doc)
        self.runtime.store.put(arn, replica, kind=K.KEY, account_id=ctx.account_id, region=region,
                               secret=self.runtime.store.get_secret(meta["Arn"]))
        self._sync_config(doc)
        return {"ReplicaKeyMetadata": self._out(rm), "ReplicaPolicy": replica["Policy"],
                "ReplicaTags": replica["Tags"]}

    def _sync_config(self, primary: dict[str, Any]) -> None:
        cfg = primary["KeyMetadata"]["MultiRegionConfiguration"]
        for r in cfg["ReplicaKeys"]:
            d = self.runtime.store.get(r["Arn"])
            if d is not None:
                d["KeyMetadata"]["MultiRegionConfiguration"] = {**cfg, "MultiRegionKeyType": "REPLICA"}
                self._save(d)

    def update_primary_region(self, ctx, request):
        doc, _ = self._resolve(ctx, request["KeyId"], aliases=False)
        region = request["PrimaryRegion"]
        self._auth(ctx, "UpdatePrimaryRegion", doc, {"kms:PrimaryRegion": region})
        meta = doc["KeyMetadata"]
        cfg = meta.get("MultiRegionConfiguration")
        if not cfg or cfg["MultiRegionKeyType"] != "PRIMARY":
            raise err("UnsupportedOperationException", f"{meta['Arn']} is not a multi-Region primary key.")
        target = next((r for r in cfg["ReplicaKeys"] if r["Region"] == region), None)
        if target is None:
            raise err("NotFoundException", f"No replica of {meta['KeyId']} in {region}.")
        members = [{"Arn": meta["Arn"], "Region": ctx.region}] + [r for r in cfg["ReplicaKeys"] if r is not target]
        new_cfg = {"MultiRegionKeyType": "PRIMARY", "PrimaryKey": target, "ReplicaKeys": members}
        new_primary = self.runtime.store.get(target["Arn"])
        new_primary["KeyMetadata"]["MultiRegionConfiguration"] = new_cfg
        self._save(new_primary)
        self._sync_config(new_primary)
        return {}

    # -- custom key stores: no CloudHSM cluster exists --------------------------------------

    def _no_cluster(self, ctx, op: str) -> None:
        self._plain_auth(ctx, op)

    def create_custom_key_store(self, ctx, request):
        self._no_cluster(ctx, "CreateCustomKeyStore")
        if request.get("CustomKeyStoreType", "AWS_CLOUDHSM") == "EXTERNAL_KEY_STORE":
            raise err("XksProxyUriUnreachableException", "KMS cannot reach the external key store proxy.")
        raise err("CloudHsmClusterNotFoundException",
                  f"AWS CloudHSM cluster {request.get('CloudHsmClusterId', '')} does not exist.")

    def _store_not_found(self, ctx, request, op):
        self._no_cluster(ctx, op)
        raise err("CustomKeyStoreNotFoundException",
                  f"Custom key store {request.get('CustomKeyStoreId', '')} does not exist.")

    def connect_custom_key_store(self, ctx, request):
        self._store_not_found(ctx, request, "ConnectCustomKeyStore")

    def disconnect_custom_key_store(self, ctx, request):
        self._store_not_found(ctx, request, "DisconnectCustomKeyStore")

    def delete_custom_key_store(self, ctx, request):
        self._store_not_found(ctx, request, "DeleteCustomKeyStore")

    def update_custom_key_store(self, ctx, request):
        self._store_not_found(ctx, request, "UpdateCustomKeyStore")

    def describe_custom_key_stores(self, ctx, request):
        self._no_cluster(ctx, "DescribeCustomKeyStores")
        if request.get("CustomKeyStoreId") or request.get("CustomKeyStoreName"):
            raise err("CustomKeyStoreNotFoundException", "Custom key store not found.")
        return {"CustomKeyStores": [], "Truncated": False}

    def get_key_last_usage(self, ctx, request):
        doc, _ = self._resolve(ctx, request["KeyId"], aliases=False)
        self._auth(ctx, "GetKeyLastUsage", doc)
        meta = doc["KeyMetadata"]
        out = {"KeyId": meta["Arn"], "KeyCreationDate": meta["CreationDate"], "TrackingStartDate": meta["CreationDate"]}
        last = self.runtime.store.get_meta(f"kms-last-usage:{meta['Arn']}")
        if last:
            out["KeyLastUsage"] = last
        return out


def _check_material(spec: str, material: bytes) -> bytes:
    """Imported material must fit the key spec: 256 bits for symmetric keys, at least the
    digest size for HMAC keys, a PKCS#8 private key of the spec's type otherwise.
    https://docs.aws.amazon.com/kms/latest/developerguide/importing-keys-conceptual.html"""
    bad = err("IncorrectKeyMaterialException", f"The key material is not valid for key spec {spec}.")
    if spec == "SYMMETRIC_DEFAULT":
        if len(material) != 32:
            raise bad
        return material
    if spec in crypto.HMAC_SIZES:
        if not crypto.HMAC_SIZES[spec] <= len(material) <= 128:
            raise bad
        return material
    try:
        key = crypto.load_private(material)
    except (ValueError, TypeError):
        raise bad from None
    size = getattr(key, "key_size", None)
    curve = getattr(getattr(key, "curve", None), "name", None)
    if spec in crypto.RSA_BITS and size != crypto.RSA_BITS[spec] or curve and spec in crypto.CURVES and \
            curve.upper() != crypto.CURVES[spec] or spec in crypto.CURVES and curve is None:
        raise bad
    return crypto._private_der(key)


def _digest(material: bytes) -> str:
    import hashlib

    return hashlib.sha256(b"mamori-kms-material" + material).hexdigest()
