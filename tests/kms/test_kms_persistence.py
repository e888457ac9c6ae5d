"""Keys are never lost: keys of every spec survive `kill -9` and a restart on the same
data directory; their material is sealed at rest."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

pytestmark = pytest.mark.slow

SIGN = {"RSA_2048": "RSASSA_PSS_SHA_256", "ECC_NIST_P256": "ECDSA_SHA_256", "ECC_NIST_P384": "ECDSA_SHA_384",
        "ECC_NIST_P521": "ECDSA_SHA_512", "ECC_SECG_P256K1": "ECDSA_SHA_256"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(data_dir, port):
    proc = subprocess.Popen(
        [sys.executable, "-m", "mamori", "serve", "--port", str(port), "--data-dir", str(data_dir)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/_mamori/health", timeout=1).ok:
                return proc
        except requests.ConnectionError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError(proc.stderr.read().decode())


def kms_client(port):
    return boto3.client("kms", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                        aws_access_key_id="test", aws_secret_access_key="test",
                        config=Config(retries={"max_attempts": 1}))


def advance_clock(port, seconds):
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    url = f"http://127.0.0.1:{port}/_mamori/clock"
    body = json.dumps({"action": "advance", "duration": seconds}).encode()
    req = AWSRequest(method="POST", url=url, data=body, headers={"Content-Type": "application/json"})
    SigV4Auth(Credentials("test", "test"), "mamori", "us-east-1").add_auth(req)
    requests.post(url, data=body, headers=dict(req.prepare().headers), timeout=10).raise_for_status()


def test_keys_survive_kill_9(tmp_path):
    port = free_port()
    proc = start(tmp_path, port)
    made = {}
    try:
        kms = kms_client(port)
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
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    blob = b"".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())
    assert dk["Plaintext"] not in blob
    port = free_port()
    proc = start(tmp_path, port)
    try:
        kms = kms_client(port)
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
        advance_clock(port, 7 * 86400 + 60)
        with pytest.raises(ClientError) as e:
            kms.describe_key(KeyId=doomed)
        assert e.value.response["Error"]["Code"] == "NotFoundException"
    finally:
        proc.terminate()
        proc.wait(10)
