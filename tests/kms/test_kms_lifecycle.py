"""KMS lifecycle by the clock: deletion, rotation, imported material and its expiry,
the state x operation table, multi-Region keys, custom key stores."""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone

import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.keywrap import aes_key_wrap_with_padding

DAY = 86400


def code(exc):
    return exc.value.response["Error"]["Code"]


def test_deletion_happens_when_the_window_passes(mamori, mamori_clock):
    kms = mamori.client("kms")
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName="alias/doomed", TargetKeyId=key_id)
    with pytest.raises(ClientError) as e:
        kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=6)
    assert code(e) == "ValidationException"
    out = kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    assert out["KeyState"] == "PendingDeletion"
    kms.cancel_key_deletion(KeyId=key_id)
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Disabled"
    kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    mamori_clock.advance(6 * DAY)
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "PendingDeletion"
    mamori_clock.advance(1 * DAY + 60)
    with pytest.raises(ClientError) as e:
        kms.describe_key(KeyId=key_id)
    assert code(e) == "NotFoundException"
    assert "alias/doomed" not in [a["AliasName"] for a in kms.list_aliases()["Aliases"]]


def test_rotation_by_the_clock_and_on_demand(mamori, mamori_clock):
    kms = mamori.client("kms")
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    old = kms.encrypt(KeyId=key_id, Plaintext=b"before")["CiphertextBlob"]
    kms.enable_key_rotation(KeyId=key_id, RotationPeriodInDays=90)
    status = kms.get_key_rotation_status(KeyId=key_id)
    assert status["KeyRotationEnabled"] and status["RotationPeriodInDays"] == 90
    assert kms.list_key_rotations(KeyId=key_id)["Rotations"] == []
    mamori_clock.advance(91 * DAY)
    rotations = kms.list_key_rotations(KeyId=key_id)["Rotations"]
    assert [r["RotationType"] for r in rotations] == ["AUTOMATIC"]
    kms.rotate_key_on_demand(KeyId=key_id)
    rotations = kms.list_key_rotations(KeyId=key_id)["Rotations"]
    assert [r["RotationType"] for r in rotations] == ["AUTOMATIC", "ON_DEMAND"]
    assert rotations[-1]["KeyMaterialState"] == "CURRENT"
    new = kms.encrypt(KeyId=key_id, Plaintext=b"after")
    assert new["CiphertextBlob"] != old
    assert kms.decrypt(CiphertextBlob=old)["Plaintext"] == b"before"
    assert kms.decrypt(CiphertextBlob=new["CiphertextBlob"])["Plaintext"] == b"after"
    kms.disable_key_rotation(KeyId=key_id)
    assert not kms.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"]
    rsa = kms.create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    with pytest.raises(ClientError) as e:
        kms.enable_key_rotation(KeyId=rsa)
    assert code(e) == "UnsupportedOperationException"


def _import(kms, key_id, material, algorithm="RSAES_OAEP_SHA_256", **kw):
    params = kms.get_parameters_for_import(KeyId=key_id, WrappingAlgorithm=algorithm, WrappingKeySpec="RSA_2048")
    public = serialization.load_der_public_key(params["PublicKey"])
    h = hashes.SHA1() if algorithm.endswith("SHA_1") else hashes.SHA256()
    oaep = padding.OAEP(mgf=padding.MGF1(h), algorithm=h, label=None)
    if algorithm.startswith("RSAES"):
        wrapped = public.encrypt(material, oaep)
    else:
        aes = os.urandom(32)
        wrapped = public.encrypt(aes, oaep) + aes_key_wrap_with_padding(aes, material)
    return kms.import_key_material(KeyId=key_id, ImportToken=params["ImportToken"], EncryptedKeyMaterial=wrapped, **kw)


@pytest.mark.parametrize("algorithm", ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256", "RSA_AES_KEY_WRAP_SHA_1",
                                       "RSA_AES_KEY_WRAP_SHA_256"])
def test_import_flow(mamori, mamori_clock, algorithm):
    kms = mamori.client("kms")
    key = kms.create_key(Origin="EXTERNAL")["KeyMetadata"]
    assert key["KeyState"] == "PendingImport"
    material = os.urandom(32)
    _import(kms, key["KeyId"], material, algorithm, ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
    ct = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"imported")["CiphertextBlob"]
    kms.delete_imported_key_material(KeyId=key["KeyId"])
    assert kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["KeyState"] == "PendingImport"
    with pytest.raises(ClientError) as e:
        kms.decrypt(CiphertextBlob=ct)
    assert code(e) == "KMSInvalidStateException"
    with pytest.raises(ClientError) as e:
        _import(kms, key["KeyId"], os.urandom(32), algorithm, ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
    assert code(e) == "IncorrectKeyMaterialException"
    valid_to = datetime.fromtimestamp(mamori_clock.now(), timezone.utc) + timedelta(days=2)
    _import(kms, key["KeyId"], material, algorithm, ValidTo=valid_to)
    assert kms.decrypt(CiphertextBlob=ct)["Plaintext"] == b"imported"
    mamori_clock.advance(2 * DAY + 60)
    assert kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["KeyState"] == "PendingImport"


def test_expired_import_token(mamori, mamori_clock):
    kms = mamori.client("kms")
    key_id = kms.create_key(Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
    params = kms.get_parameters_for_import(KeyId=key_id, WrappingAlgorithm="RSAES_OAEP_SHA_256",
                                           WrappingKeySpec="RSA_3072")
    public = serialization.load_der_public_key(params["PublicKey"])
    h = hashes.SHA256()
    wrapped = public.encrypt(os.urandom(32), padding.OAEP(mgf=padding.MGF1(h), algorithm=h, label=None))
    mamori_clock.advance(DAY + 1)
    with pytest.raises(ClientError) as e:
        kms.import_key_material(KeyId=key_id, ImportToken=params["ImportToken"], EncryptedKeyMaterial=wrapped,
                                ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
    assert code(e) == "ExpiredImportTokenException"


# state -> the error code each operation gives (None: allowed)
TABLE = {
    "encrypt": {"Enabled": None, "Disabled": "DisabledException", "PendingDeletion": "KMSInvalidStateException",
                "PendingImport": "KMSInvalidStateException"},
    "generate_data_key": {"Enabled": None, "Disabled": "DisabledException",
                          "PendingDeletion": "KMSInvalidStateException", "PendingImport": "KMSInvalidStateException"},
    "create_grant": {"Enabled": None, "Disabled": "DisabledException", "PendingDeletion": "KMSInvalidStateException",
                     "PendingImport": "KMSInvalidStateException"},
    "enable_key": {"Enabled": None, "Disabled": None, "PendingDeletion": "KMSInvalidStateException",
                   "PendingImport": "KMSInvalidStateException"},
    "disable_key": {"Enabled": None, "Disabled": None, "PendingDeletion": "KMSInvalidStateException",
                    "PendingImport": "KMSInvalidStateException"},
    "tag_resource": {"Enabled": None, "Disabled": None, "PendingDeletion": "KMSInvalidStateException",
                     "PendingImport": None},
    "update_key_description": {"Enabled": None, "Disabled": None, "PendingDeletion": "KMSInvalidStateException",
                               "PendingImport": None},
    "schedule_key_deletion": {"Enabled": None, "Disabled": None, "PendingDeletion": "KMSInvalidStateException",
                              "PendingImport": None},
    "cancel_key_deletion": {"Enabled": "KMSInvalidStateException", "Disabled": "KMSInvalidStateException",
                            "PendingDeletion": None, "PendingImport": "KMSInvalidStateException"},
    "describe_key": {s: None for s in ("Enabled", "Disabled", "PendingDeletion", "PendingImport")},
    "get_key_policy": {s: None for s in ("Enabled", "Disabled", "PendingDeletion", "PendingImport")},
    "enable_key_rotation": {"Enabled": None, "Disabled": "DisabledException",
                            "PendingDeletion": "KMSInvalidStateException",
                            "PendingImport": "UnsupportedOperationException"},
    "delete_imported_key_material": {"PendingImport": None},
    "list_grants": {s: None for s in ("Enabled", "Disabled", "PendingDeletion", "PendingImport")},
    "list_resource_tags": {s: None for s in ("Enabled", "Disabled", "PendingDeletion", "PendingImport")},
    "untag_resource": {"Enabled": None, "Disabled": None, "PendingDeletion": "KMSInvalidStateException",
                       "PendingImport": None},
    "decrypt": {"Disabled": "DisabledException", "PendingDeletion": "KMSInvalidStateException"},
    "re_encrypt": {"Disabled": "DisabledException", "PendingDeletion": "KMSInvalidStateException"},
}
ARGS = {
    "encrypt": {"Plaintext": b"x"}, "generate_data_key": {"KeySpec": "AES_256"},
    "create_grant": {"GranteePrincipal": "arn:aws:iam::123456789012:root", "Operations": ["Decrypt"]},
    "tag_resource": {"Tags": [{"TagKey": "a", "TagValue": "b"}]}, "update_key_description": {"Description": "x"},
    "schedule_key_deletion": {"PendingWindowInDays": 7}, "untag_resource": {"TagKeys": ["a"]},
}


def _ciphertext_call(kms, op, state):
    """Decrypt / ReEncrypt of a ciphertext made while the key was Enabled."""
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"x")["CiphertextBlob"]
    if state == "Disabled":
        kms.disable_key(KeyId=key_id)
    else:
        kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    if op == "decrypt":
        return lambda KeyId, **kw: kms.decrypt(KeyId=key_id, CiphertextBlob=blob)
    other = kms.create_key()["KeyMetadata"]["KeyId"]
    return lambda KeyId, **kw: kms.re_encrypt(CiphertextBlob=blob, DestinationKeyId=other)


def _key_in(kms, state):
    if state == "PendingImport":
        return kms.create_key(Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    if state == "Disabled":
        kms.disable_key(KeyId=key_id)
    if state == "PendingDeletion":
        kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    return key_id


@pytest.mark.parametrize("op,state,expected", [(op, s, c) for op, row in TABLE.items() for s, c in row.items()])
def test_state_operation_table(mamori, op, state, expected):
    kms = mamori.client("kms")
    key_id = _key_in(kms, state)
    call = getattr(kms, op)
    if op in ("decrypt", "re_encrypt"):
        call = _ciphertext_call(kms, op, state)
    if expected is None:
        call(KeyId=key_id, **ARGS.get(op, {}))
    else:
        with pytest.raises(ClientError) as e:
            call(KeyId=key_id, **ARGS.get(op, {}))
        assert code(e) == expected
        message = e.value.response["Error"]["Message"]
        if expected == "UnsupportedOperationException":
            assert message.endswith("origin is EXTERNAL which is not valid for this operation.")
        else:
            suffix = "is not pending deletion." if op == "cancel_key_deletion" else {
                "Disabled": "is disabled.", "PendingDeletion": "is pending deletion.",
                "PendingImport": "is pending import."}[state]
            assert message.startswith("arn:aws:kms:") and message.endswith(suffix), message


def test_multi_region_key_replica_has_the_same_material(mamori, mamori_clock):
    kms = mamori.client("kms")
    key = kms.create_key(MultiRegion=True)["KeyMetadata"]
    assert key["KeyId"].startswith("mrk-")
    ct = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"everywhere")["CiphertextBlob"]
    replica = kms.replicate_key(KeyId=key["KeyId"], ReplicaRegion="eu-west-1")["ReplicaKeyMetadata"]
    assert replica["KeyId"] == key["KeyId"] and ":eu-west-1:" in replica["Arn"]
    west = mamori.client("kms", region_name="eu-west-1")
    assert west.decrypt(CiphertextBlob=ct)["Plaintext"] == b"everywhere"
    with pytest.raises(ClientError) as e:
        kms.replicate_key(KeyId=key["KeyId"], ReplicaRegion="eu-west-1")
    assert code(e) == "AlreadyExistsException"
    kms.rotate_key_on_demand(KeyId=key["KeyId"])
    rotated = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"after rotation")["CiphertextBlob"]
    assert west.decrypt(CiphertextBlob=rotated)["Plaintext"] == b"after rotation"
    kms.update_primary_region(KeyId=key["KeyId"], PrimaryRegion="eu-west-1")
    cfg = west.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["MultiRegionConfiguration"]
    assert cfg["MultiRegionKeyType"] == "PRIMARY" and cfg["PrimaryKey"]["Region"] == "eu-west-1"
    # The former primary is now a replica; when it is deleted, the primary forgets it.
    kms.schedule_key_deletion(KeyId=key["KeyId"], PendingWindowInDays=7)
    mamori_clock.advance(7 * DAY + 60)
    assert west.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["MultiRegionConfiguration"]["ReplicaKeys"] == []


def test_primary_waits_for_its_replicas(mamori, mamori_clock):
    kms = mamori.client("kms")
    west = mamori.client("kms", region_name="us-west-2")
    key_id = kms.create_key(MultiRegion=True)["KeyMetadata"]["KeyId"]
    kms.replicate_key(KeyId=key_id, ReplicaRegion="us-west-2")
    assert kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)["KeyState"] == "PendingReplicaDeletion"
    west.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    mamori_clock.advance(7 * DAY + 60)
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "PendingDeletion"
    mamori_clock.advance(7 * DAY + 60)
    with pytest.raises(ClientError) as e:
        kms.describe_key(KeyId=key_id)
    assert code(e) == "NotFoundException"


def test_fifty_aliases_per_key(mamori):
    kms = mamori.client("kms")
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    for i in range(50):
        kms.create_alias(AliasName=f"alias/many-{key_id[:8]}-{i}", TargetKeyId=key_id)
    with pytest.raises(ClientError) as e:
        kms.create_alias(AliasName=f"alias/many-{key_id[:8]}-50", TargetKeyId=key_id)
    assert code(e) == "LimitExceededException"


def test_custom_key_stores_answer_cluster_not_found(mamori):
    kms = mamori.client("kms")
    with pytest.raises(ClientError) as e:
        kms.create_custom_key_store(CustomKeyStoreName="s", CloudHsmClusterId="cluster-234567abcdefg",
                                    TrustAnchorCertificate="x", KeyStorePassword="password1")
    assert code(e) == "CloudHsmClusterNotFoundException"
    assert kms.describe_custom_key_stores()["CustomKeyStores"] == []
    with pytest.raises(ClientError) as e:
        kms.connect_custom_key_store(CustomKeyStoreId="cks-1234567890abcdef0")
    assert code(e) == "CustomKeyStoreNotFoundException"
    with pytest.raises(ClientError) as e:
        kms.disconnect_custom_key_store(CustomKeyStoreId="cks-1234567890abcdef0")
    assert code(e) == "CustomKeyStoreNotFoundException"
    with pytest.raises(ClientError) as e:
        kms.delete_custom_key_store(CustomKeyStoreId="cks-1234567890abcdef0")
    assert code(e) == "CustomKeyStoreNotFoundException"
    with pytest.raises(ClientError) as e:
        kms.update_custom_key_store(CustomKeyStoreId="cks-1234567890abcdef0", NewCustomKeyStoreName="n")
    assert code(e) == "CustomKeyStoreNotFoundException"
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    assert "KeyLastUsage" not in kms.get_key_last_usage(KeyId=key_id)
    kms.generate_data_key(KeyId=key_id, KeySpec="AES_128")
    usage = kms.get_key_last_usage(KeyId=key_id)
    assert usage["KeyId"].endswith(key_id) and usage["KeyLastUsage"]["Operation"] == "GenerateDataKey"


def test_import_ecc_signing_key(mamori):
    from cryptography.hazmat.primitives.asymmetric import ec

    kms = mamori.client("kms")
    key_id = kms.create_key(Origin="EXTERNAL", KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    private = ec.generate_private_key(ec.SECP256R1())
    der = private.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    _import(kms, key_id, der, "RSA_AES_KEY_WRAP_SHA_256", ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
    sig = kms.sign(KeyId=key_id, Message=b"imported", SigningAlgorithm="ECDSA_SHA_256")["Signature"]
    private.public_key().verify(sig, b"imported", ec.ECDSA(hashes.SHA256()))
    other = kms.create_key(Origin="EXTERNAL", KeySpec="ECC_NIST_P384", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    with pytest.raises(ClientError) as e:
        _import(kms, other, der, "RSA_AES_KEY_WRAP_SHA_256", ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
    assert code(e) == "IncorrectKeyMaterialException"


def test_on_demand_rotation_limit_and_alias_rules(mamori):
    kms = mamori.client("kms")
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"old")["CiphertextBlob"]
    for _ in range(25):
        kms.rotate_key_on_demand(KeyId=key_id)
    with pytest.raises(ClientError) as e:
        kms.rotate_key_on_demand(KeyId=key_id)
    assert code(e) == "LimitExceededException"
    assert len(kms.list_key_rotations(KeyId=key_id, Limit=10)["Rotations"]) == 10
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"old"
    kms.create_alias(AliasName=f"alias/rules-{key_id[:8]}", TargetKeyId=key_id)
    with pytest.raises(ClientError) as e:
        kms.create_alias(AliasName=f"alias/rules-{key_id[:8]}", TargetKeyId=key_id)
    assert code(e) == "AlreadyExistsException"
    with pytest.raises(ClientError) as e:
        kms.create_alias(AliasName="no-prefix", TargetKeyId=key_id)
    assert code(e) == "ValidationException"
    with pytest.raises(ClientError) as e:
        kms.create_grant(KeyId=f"alias/rules-{key_id[:8]}", GranteePrincipal="arn:aws:iam::123456789012:root",
                         Operations=["Decrypt"])
    assert code(e) == "InvalidArnException"
