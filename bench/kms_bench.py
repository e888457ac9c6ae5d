"""KMS benchmark (not a test): Encrypt+Decrypt of 1 KiB and GenerateDataKey throughput,
mamori beside moto's server in one run, through boto3 on one connection each.

    python bench/kms_bench.py [-n 2000]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from run import client, measure, server  # noqa: E402


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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=2000)
    args = parser.parse_args()
    results = {kind: run_one(kind, args.n) for kind in ("moto", "mamori")}
    print(f"KMS bench, n={args.n}, Python {platform.python_version()}, {os.cpu_count()} cores")
    print("| operation | mamori ops/s | moto ops/s | mamori/moto | mamori p50 ms | moto p50 ms |")
    print("|---|---|---|---|---|---|")
    for op in results["mamori"]:
        m, o = results["mamori"][op], results["moto"][op]
        print(f"| {op} | {m['ops']:.0f} | {o['ops']:.0f} | {m['ops'] / o['ops']:.2f}x | {m['p50_ms']:.2f} | "
              f"{o['p50_ms']:.2f} |")


if __name__ == "__main__":
    main()
