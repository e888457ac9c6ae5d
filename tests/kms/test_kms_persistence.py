"""Keys are never lost: keys of every spec survive `kill -9` and a restart on the same
data directory; their material is sealed at rest."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from mamori.testing.plugin import ServerProcess

pytestmark = pytest.mark.slow

SIGN = {"RSA_2048": "RSASSA_PSS_SHA_256", "ECC_NIST_P256": "ECDSA_SHA_256", "ECC_NIST_P384": "ECDSA_SHA_384",
        "ECC_NIST_P521": "ECDSA_SHA_512", "ECC_SECG_P256K1": "ECDSA_SHA_256"}


def test_keys_survive_kill_9(tmp_path):
    server = ServerProcess.start(tmp_path)
    made = {}
    try:
        kms = server.client("kms")
        sym = kms.create_key()["KeyMetadata"]["KeyId"]
        made["sym"] = (sym, kms.encrypt(KeyId=sym, Plaintext=b"durable", EncryptionContext={"k": "v"})["CiphertextBlob"])
        dk = kms.generate_data_key(KeyId=sym, KeySpec="AES_256")
        rsa = kms.create_key(KeySpec="RSA_3072", KeyUsage="ENCRYPT_DECRYPT")["KeyMetadata"]["KeyId"]
        made["rsa"] = (rsa, kms.encrypt(KeyId=rsa, Plaintext=b"rsa", EncryptionAlgorithm="RSAES_OAEP_SHA_256")
                       ["CiphertextBlob"])
        sigs = {}
        for spec, alg in SIGN.items():
            key_id = kms.create_key(KeySpec=spec, KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
            sigs[key_id] = (alg, kms.sign(KeyId=key_id, Message=b"m", SigningAlgorithm=alg)["Signature"])
        hmac = kms.create_key(KeySpec="HMAC_384", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]["KeyId"]
        mac = kms.generate_mac(KeyId=hmac, Message=b"m", MacAlgorithm="HMAC_SHA_384")["Mac"]
        doomed = kms.create_key()["KeyMetadata"]["KeyId"]
        kms.schedule_key_deletion(KeyId=doomed, PendingWindowInDays=7)
    finally:
        server.kill()
    blob = b"".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())
    assert dk["Plaintext"] not in blob
    server = ServerProcess.start(tmp_path)
    try:
        kms = server.client("kms")
        sym, ct = made["sym"]
        assert kms.decrypt(CiphertextBlob=ct, EncryptionContext={"k": "v"})["Plaintext"] == b"durable"
        assert kms.decrypt(CiphertextBlob=dk["CiphertextBlob"])["Plaintext"] == dk["Plaintext"]
        rsa, ct = made["rsa"]
        assert kms.decrypt(KeyId=rsa, CiphertextBlob=ct, EncryptionAlgorithm="RSAES_OAEP_SHA_256")["Plaintext"] == b"rsa"
        for key_id, (alg, sig) in sigs.items():
            assert kms.verify(KeyId=key_id, Message=b"m", Signature=sig, SigningAlgorithm=alg)["SignatureValid"]
        assert kms.verify_mac(KeyId=hmac, Message=b"m", Mac=mac, MacAlgorithm="HMAC_SHA_384")["MacValid"]
        # The deletion scheduled before the crash is re-armed from the store at start.
        assert kms.describe_key(KeyId=doomed)["KeyMetadata"]["KeyState"] == "PendingDeletion"
        server.admin("POST", "clock", {"action": "advance", "duration": 7 * 86400 + 60})
        with pytest.raises(ClientError) as e:
            kms.describe_key(KeyId=doomed)
        assert e.value.response["Error"]["Code"] == "NotFoundException"
    finally:
        server.stop()
