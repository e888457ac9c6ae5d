"""KMS keys, aliases, policies and cryptography through boto3; signatures, ECDH and RSA
checked locally with `cryptography`."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding

RSA_SIGN = [f"RSASSA_{p}_SHA_{n}" for p in ("PSS", "PKCS1_V1_5") for n in (256, 384, 512)]


def code(exc):
    return exc.value.response["Error"]["Code"]


def test_symmetric_round_trip_with_context_and_alias(mamori):
    kms = mamori.client("kms")
    key = kms.create_key(Description="d")["KeyMetadata"]
    assert key["KeyState"] == "Enabled" and key["KeySpec"] == "SYMMETRIC_DEFAULT"
    kms.create_alias(AliasName="alias/crypto-test", TargetKeyId=key["KeyId"])
    ct = kms.encrypt(KeyId="alias/crypto-test", Plaintext=b"secret", EncryptionContext={"a": "1"})
    assert ct["KeyId"] == key["Arn"]
    out = kms.decrypt(CiphertextBlob=ct["CiphertextBlob"], EncryptionContext={"a": "1"})
    assert out["Plaintext"] == b"secret" and out["KeyId"] == key["Arn"]
    with pytest.raises(ClientError) as e:
        kms.decrypt(CiphertextBlob=ct["CiphertextBlob"], EncryptionContext={"a": "2"})
    assert code(e) == "InvalidCiphertextException"
    assert any(a["AliasName"] == "alias/crypto-test" for a in kms.list_aliases()["Aliases"])
    assert key["KeyId"] in [k["KeyId"] for k in kms.list_keys()["Keys"]]
    policy = json.loads(kms.get_key_policy(KeyId=key["KeyId"], PolicyName="default")["Policy"])
    assert policy["Statement"][0]["Principal"]["AWS"].endswith(":root")
    dk = kms.generate_data_key(KeyId=key["KeyId"], KeySpec="AES_256")
    assert len(dk["Plaintext"]) == 32
    assert kms.decrypt(CiphertextBlob=dk["CiphertextBlob"])["Plaintext"] == dk["Plaintext"]
    nk = kms.generate_data_key_without_plaintext(KeyId=key["KeyId"], NumberOfBytes=64)
    assert len(kms.decrypt(CiphertextBlob=nk["CiphertextBlob"])["Plaintext"]) == 64
    other = kms.create_key()["KeyMetadata"]
    re = kms.re_encrypt(CiphertextBlob=ct["CiphertextBlob"], SourceEncryptionContext={"a": "1"},
                        DestinationKeyId=other["KeyId"])
    assert kms.decrypt(CiphertextBlob=re["CiphertextBlob"])["Plaintext"] == b"secret"
    with pytest.raises(ClientError) as e:
        kms.decrypt(CiphertextBlob=ct["CiphertextBlob"], KeyId=other["KeyId"], EncryptionContext={"a": "1"})
    assert code(e) == "IncorrectKeyException"
    assert len(kms.generate_random(NumberOfBytes=1024)["Plaintext"]) == 1024
    kms.disable_key(KeyId=key["KeyId"])
    with pytest.raises(ClientError) as e:
        kms.encrypt(KeyId=key["KeyId"], Plaintext=b"x")
    assert code(e) == "DisabledException"
    kms.enable_key(KeyId=key["KeyId"])
    kms.tag_resource(KeyId=key["KeyId"], Tags=[{"TagKey": "k", "TagValue": "v"}])
    assert kms.list_resource_tags(KeyId=key["KeyId"])["Tags"] == [{"TagKey": "k", "TagValue": "v"}]
    kms.untag_resource(KeyId=key["KeyId"], TagKeys=["k"])
    kms.update_key_description(KeyId=key["KeyId"], Description="new")
    assert kms.describe_key(KeyId=key["Arn"])["KeyMetadata"]["Description"] == "new"
    kms.update_alias(AliasName="alias/crypto-test", TargetKeyId=other["KeyId"])
    kms.delete_alias(AliasName="alias/crypto-test")
    assert kms.list_key_policies(KeyId=key["KeyId"])["PolicyNames"] == ["default"]


@pytest.mark.parametrize("spec,algs", [(f"RSA_{n}", RSA_SIGN) for n in (2048, 3072, 4096)] + [
    ("ECC_NIST_P256", ["ECDSA_SHA_256"]), ("ECC_NIST_P384", ["ECDSA_SHA_384"]),
    ("ECC_NIST_P521", ["ECDSA_SHA_512"]), ("ECC_SECG_P256K1", ["ECDSA_SHA_256"])])
def test_signatures_verify_locally(mamori, spec, algs):
    kms = mamori.client("kms")
    key_id = kms.create_key(KeySpec=spec, KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    public = serialization.load_der_public_key(kms.get_public_key(KeyId=key_id)["PublicKey"])
    for alg in algs:
        h = getattr(hashes, "SHA" + alg.rsplit("_", 1)[1])()
        for mtype in ("RAW", "DIGEST"):
            msg = b"hello" if mtype == "RAW" else hashes.Hash(h).__class__(h).finalize() if False else _digest(h, b"hello")
            sig = kms.sign(KeyId=key_id, Message=msg, MessageType=mtype, SigningAlgorithm=alg)["Signature"]
            if alg.startswith("ECDSA"):
                public.verify(sig, b"hello", ec.ECDSA(h))
            elif alg.startswith("RSASSA_PSS"):
                public.verify(sig, b"hello", padding.PSS(mgf=padding.MGF1(h), salt_length=h.digest_size), h)
            else:
                public.verify(sig, b"hello", padding.PKCS1v15(), h)
            assert kms.verify(KeyId=key_id, Message=b"hello", Signature=sig, SigningAlgorithm=alg)["SignatureValid"]
        with pytest.raises(ClientError) as e:
            kms.verify(KeyId=key_id, Message=b"other", Signature=sig, SigningAlgorithm=alg)
        assert code(e) == "KMSInvalidSignatureException"


def _digest(h, data):
    d = hashes.Hash(h)
    d.update(data)
    return d.finalize()


def test_rsa_encrypt_locally_decrypt_in_kms(mamori):
    kms = mamori.client("kms")
    key_id = kms.create_key(KeySpec="RSA_2048", KeyUsage="ENCRYPT_DECRYPT")["KeyMetadata"]["KeyId"]
    public = serialization.load_der_public_key(kms.get_public_key(KeyId=key_id)["PublicKey"])
    for alg, h in (("RSAES_OAEP_SHA_1", hashes.SHA1()), ("RSAES_OAEP_SHA_256", hashes.SHA256())):
        ct = public.encrypt(b"local", padding.OAEP(mgf=padding.MGF1(h), algorithm=h, label=None))
        assert kms.decrypt(KeyId=key_id, CiphertextBlob=ct, EncryptionAlgorithm=alg)["Plaintext"] == b"local"
        ct2 = kms.encrypt(KeyId=key_id, Plaintext=b"remote", EncryptionAlgorithm=alg)["CiphertextBlob"]
        assert kms.decrypt(KeyId=key_id, CiphertextBlob=ct2, EncryptionAlgorithm=alg)["Plaintext"] == b"remote"


def test_derive_shared_secret_agrees(mamori):
    kms = mamori.client("kms")
    key_id = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="KEY_AGREEMENT")["KeyMetadata"]["KeyId"]
    theirs = serialization.load_der_public_key(kms.get_public_key(KeyId=key_id)["PublicKey"])
    mine = ec.generate_private_key(ec.SECP256R1())
    der = mine.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    out = kms.derive_shared_secret(KeyId=key_id, KeyAgreementAlgorithm="ECDH", PublicKey=der)
    assert out["SharedSecret"] == mine.exchange(ec.ECDH(), theirs)


@pytest.mark.parametrize("n", [224, 256, 384, 512])
def test_hmac(mamori, n):
    kms = mamori.client("kms")
    key_id = kms.create_key(KeySpec=f"HMAC_{n}", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]["KeyId"]
    mac = kms.generate_mac(KeyId=key_id, Message=b"m", MacAlgorithm=f"HMAC_SHA_{n}")["Mac"]
    assert len(mac) == n // 8
    assert kms.verify_mac(KeyId=key_id, Message=b"m", Mac=mac, MacAlgorithm=f"HMAC_SHA_{n}")["MacValid"]
    with pytest.raises(ClientError) as e:
        kms.verify_mac(KeyId=key_id, Message=b"n", Mac=mac, MacAlgorithm=f"HMAC_SHA_{n}")
    assert code(e) == "KMSInvalidMacException"


def test_data_key_pairs(mamori):
    kms = mamori.client("kms")
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    pair = kms.generate_data_key_pair(KeyId=key_id, KeyPairSpec="ECC_NIST_P256")
    private = serialization.load_der_private_key(pair["PrivateKeyPlaintext"], None)
    assert private.public_key().public_bytes(serialization.Encoding.DER,
                                             serialization.PublicFormat.SubjectPublicKeyInfo) == pair["PublicKey"]
    assert kms.decrypt(CiphertextBlob=pair["PrivateKeyCiphertextBlob"])["Plaintext"] == pair["PrivateKeyPlaintext"]
    np = kms.generate_data_key_pair_without_plaintext(KeyId=key_id, KeyPairSpec="RSA_2048")
    assert "PrivateKeyPlaintext" not in np


def test_put_key_policy_lockout_check(mamori):
    kms = mamori.client("kms")
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    lockout = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:*", "Resource": "*"}]})
    with pytest.raises(ClientError) as e:
        kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=lockout)
    assert code(e) == "MalformedPolicyDocumentException"
    kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=lockout, BypassPolicyLockoutSafetyCheck=True)
    # With the check bypassed the account is locked out of its own key, as AWS warns.
    with pytest.raises(ClientError) as e:
        kms.get_key_policy(KeyId=key_id, PolicyName="default")
    assert code(e) == "AccessDeniedException"


def test_key_policy_principals_must_exist(mamori):
    kms = mamori.client("kms")
    ghost = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{mamori.account_id}:root"}, "Action": "kms:*",
         "Resource": "*"},
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{mamori.account_id}:user/nobody-here"},
         "Action": "kms:Decrypt", "Resource": "*"}]})
    with pytest.raises(ClientError) as e:
        kms.create_key(Policy=ghost)
    assert code(e) == "MalformedPolicyDocumentException"
    assert "invalid principals" in e.value.response["Error"]["Message"]


@pytest.mark.parametrize("spec,alg", [("ECC_NIST_EDWARDS25519", "ED25519_SHA_512"), ("ML_DSA_44", "ML_DSA_SHAKE_256"),
                                      ("ML_DSA_65", "ML_DSA_SHAKE_256"), ("ML_DSA_87", "ML_DSA_SHAKE_256")])
def test_pure_signatures_verify_locally(mamori, spec, alg):
    kms = mamori.client("kms")
    key = kms.create_key(KeySpec=spec, KeyUsage="SIGN_VERIFY")["KeyMetadata"]
    assert alg in key["SigningAlgorithms"]
    public = serialization.load_der_public_key(kms.get_public_key(KeyId=key["KeyId"])["PublicKey"])
    sig = kms.sign(KeyId=key["KeyId"], Message=b"post-quantum hello", MessageType="RAW", SigningAlgorithm=alg)
    public.verify(sig["Signature"], b"post-quantum hello")
    assert kms.verify(KeyId=key["KeyId"], Message=b"post-quantum hello", Signature=sig["Signature"],
                      SigningAlgorithm=alg)["SignatureValid"]
    with pytest.raises(ClientError) as e:
        kms.sign(KeyId=key["KeyId"], Message=b"x" * 64, MessageType="DIGEST", SigningAlgorithm=alg)
    assert code(e) == "ValidationException"


def test_ed25519_data_key_pair(mamori):
    kms = mamori.client("kms")
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    pair = kms.generate_data_key_pair(KeyId=key_id, KeyPairSpec="ECC_NIST_EDWARDS25519")
    private = serialization.load_der_private_key(pair["PrivateKeyPlaintext"], None)
    private.public_key().verify(private.sign(b"m"), b"m")
    assert serialization.load_der_public_key(pair["PublicKey"]).public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw) == private.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw)
