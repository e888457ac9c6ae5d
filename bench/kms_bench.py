"""KMS benchmark (not a test): Encrypt+Decrypt of 1 KiB and GenerateDataKey throughput,
mamori beside moto's server in one run, through boto3 on one connection each.

    python bench/kms_bench.py [-n 2000]
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from run import client, compare_with_moto, measure, server  # noqa: E402


def run_one(kind: str, n: int) -> dict[str, dict[str, float]]:
    with server(kind) as (endpoint, _startup, _proc):
        kms = client(endpoint, "kms")
        key_id = kms.create_key()["KeyMetadata"]["KeyId"]
        payload = os.urandom(1024)

        def round_trip() -> None:
            blob = kms.encrypt(KeyId=key_id, Plaintext=payload)["CiphertextBlob"]
            assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == payload

        return {
            "Encrypt+Decrypt 1 KiB": measure(round_trip, n),
            "GenerateDataKey": measure(lambda: kms.generate_data_key(KeyId=key_id, KeySpec="AES_256"), n),
        }


if __name__ == "__main__":
    compare_with_moto("KMS bench", run_one, 2000)
