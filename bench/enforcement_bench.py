"""What enforcement costs: the same calls as root and as an IAM user, one run.

    python bench/enforcement_bench.py [--calls 3000]

The user has 10 customer managed policies of 10 statements each attached, plus a group
with a policy; the allowing statement is the last one. Root's decision is the root
short-cut; the user's goes through policy gathering (cached per IAM version) and the
engine. Calls alternate one by one (see the comment on client bias in main).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from run import client, free_port  # noqa: E402

import subprocess  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=3000)
    args = parser.parse_args()
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "mamori", "serve", "--ephemeral", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        sts = client(endpoint, "sts")
        for _ in range(300):
            try:
                sts.get_caller_identity()
                break
            except Exception:  # noqa: BLE001 - not up yet
                time.sleep(0.02)
        iam = client(endpoint, "iam")
        iam.create_user(UserName="bench")
        iam.create_group(GroupName="bench-group")
        iam.add_user_to_group(GroupName="bench-group", UserName="bench")
        iam.put_group_policy(GroupName="bench-group", PolicyName="g", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "iam:DeleteUser", "Resource": "*"}]}))
        for p in range(10):
            statements = [
                {"Effect": "Allow", "Action": f"svc{p}{s}:Get*", "Resource": "*"} for s in range(9)
            ] + [{"Effect": "Allow", "Action": ["cloudtrail:DescribeTrails", "kms:ListKeys"], "Resource": "*"}]
            arn = iam.create_policy(PolicyName=f"p{p}", PolicyDocument=json.dumps(
                {"Version": "2012-10-17", "Statement": statements}))["Policy"]["Arn"]
            iam.attach_user_policy(UserName="bench", PolicyArn=arn)
        key = iam.create_access_key(UserName="bench")["AccessKey"]
        import boto3
        from botocore.config import Config

        def root_client():
            return client(endpoint, "cloudtrail")

        def user_client():
            return boto3.client("cloudtrail", endpoint_url=endpoint, region_name="us-east-1",
                                aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"],
                                config=Config(retries={"max_attempts": 1}))

        # Two clients alternating call by call show a bias of their own (two root
        # clients differ by ~10% depending on which was made first and which calls
        # first), so every round makes fresh clients in both orders and alternates
        # ABBA; the bias cancels in the sum.
        spent = {"root": 0.0, "user": 0.0}
        rounds = 4
        for r in range(rounds):
            made = [("root", root_client()), ("user", user_client())]
            if r % 2:
                made = [("user", user_client()), ("root", root_client())]
            for _ in range(100):
                for _, c in made:
                    c.describe_trails()
            for i in range(args.calls // rounds):
                for name, c in (made if i % 2 == 0 else made[::-1]):
                    t0 = time.perf_counter()
                    c.describe_trails()
                    spent[name] += time.perf_counter() - t0
        n = (args.calls // rounds) * rounds
        root, user = n / spent["root"], n / spent["user"]
        print(f"# enforcement bench, {time.strftime('%Y-%m-%d')}")
        print(f"- DescribeTrails as root: {root:.0f} ops/s; as an IAM user with 10x10 policies + group: {user:.0f} ops/s")
        print(f"- enforcement cost: {(1 - user / root):.1%} of throughput (target < 10%)")
    finally:
        proc.terminate()
        proc.wait(10)


if __name__ == "__main__":
    main()
