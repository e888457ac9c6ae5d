"""What enforcement costs: the same calls as root and as an IAM user, one run.

    python bench/enforcement_bench.py [--calls 3000]

The user has 10 customer managed policies of 10 statements each attached, plus a group
with a policy; the allowing statement is the last one. Root's decision is the root
short-cut; the user's goes through policy gathering (cached per IAM version) and the
engine. Calls alternate one by one (see the comment on client bias in main).

Then, in process, the decision alone: `runtime.authorizer(ctx, ...)` for the same user
(warm cache), for a role session with a session policy, and for root, in microseconds.
GetCallerIdentity asks for no decision; it is timed as root and as the user to show the
authentication cost of a stored key against the configured root key.
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

        def measure(service: str, call: str) -> tuple[float, float]:
            """ops/s as root and as the user, ABBA-alternated."""
            def root_client():
                return client(endpoint, service)

            def user_client():
                return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1",
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
                        getattr(c, call)()
                for i in range(args.calls // rounds):
                    for name, c in (made if i % 2 == 0 else made[::-1]):
                        t0 = time.perf_counter()
                        getattr(c, call)()
                        spent[name] += time.perf_counter() - t0
            n = (args.calls // rounds) * rounds
            return n / spent["root"], n / spent["user"]

        results = {"DescribeTrails": measure("cloudtrail", "describe_trails")}
        kms = client(endpoint, "kms")
        for _ in range(5):
            kms.create_key()
        results["kms:ListKeys"] = measure("kms", "list_keys")
        n = (args.calls // 4) * 4
        identity = {"root": 0.0, "user": 0.0}
        sts_clients = [("root", client(endpoint, "sts")),
                       ("user", boto3.client("sts", endpoint_url=endpoint, region_name="us-east-1",
                                             aws_access_key_id=key["AccessKeyId"],
                                             aws_secret_access_key=key["SecretAccessKey"]))]
        for i in range(n // 2):
            for name, c in (sts_clients if i % 2 == 0 else sts_clients[::-1]):
                t0 = time.perf_counter()
                c.get_caller_identity()
                identity[name] += time.perf_counter() - t0
        print(f"# enforcement bench, {time.strftime('%Y-%m-%d')}")
        for label, (root, user) in results.items():
            print(f"- {label} as root: {root:.0f} ops/s; as an IAM user with 10x10 policies + group: {user:.0f} ops/s"
                  f" -> enforcement cost {(1 - user / root):.1%} of throughput (target < 10%)")
        print(f"- GetCallerIdentity (no decision) as root: {n / 2 / identity['root']:.0f} ops/s; "
              f"as the user: {n / 2 / identity['user']:.0f} ops/s")
        decision_micro()
    finally:
        proc.terminate()
        proc.wait(10)


def decision_micro(repeat: int = 20000) -> None:
    """The authorizer alone, in process, on a warm cache."""
    from mamori.config import Config
    from mamori.gateway.context import Principal, RequestContext
    from mamori.runtime import Runtime

    runtime = Runtime(Config(ephemeral=True))
    iam, sts = runtime.providers["iam"], runtime.providers["sts"]

    def ctx_for(principal: Principal, service: str = "iam") -> RequestContext:
        return RequestContext(runtime=runtime, request_id="bench", account_id=principal.account_id, region="us-east-1",
                              principal=principal, service=service, operation="Bench")

    root = ctx_for(Principal.root(runtime.config.account_id))
    iam.create_user(root, {"UserName": "bench"})
    for p in range(10):
        statements = [{"Effect": "Allow", "Action": f"svc{p}{s}:Get*", "Resource": "*"} for s in range(9)]
        statements.append({"Effect": "Allow", "Action": ["cloudtrail:DescribeTrails", "sts:AssumeRole"], "Resource": "*"})
        arn = iam.create_policy(root, {"PolicyName": f"p{p}", "PolicyDocument": json.dumps(
            {"Version": "2012-10-17", "Statement": statements})})["Policy"]["Arn"]
        iam.attach_user_policy(root, {"UserName": "bench", "PolicyArn": arn})
    user_doc = iam.get_user(root, {"UserName": "bench"})["User"]
    user = Principal(type="IAMUser", account_id=runtime.config.account_id, arn=user_doc["Arn"],
                     principal_id=user_doc["UserId"], user_name="bench", access_key_id="AKIABENCH")
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": user_doc["Arn"]}, "Action": "sts:AssumeRole"}]}
    role = iam.create_role(root, {"RoleName": "bench-role", "AssumeRolePolicyDocument": json.dumps(trust)})["Role"]
    iam.put_role_policy(root, {"RoleName": "bench-role", "PolicyName": "all", "PolicyDocument": json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "cloudtrail:*", "Resource": "*"}]})})
    out = sts.assume_role(ctx_for(user, "sts"), {"RoleArn": role["Arn"], "RoleSessionName": "bench", "Policy": json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "cloudtrail:Describe*", "Resource": "*"}]})})
    session = Principal.from_json(runtime.lookup_credential(out["Credentials"]["AccessKeyId"]).principal)
    authorize = runtime.authorizer
    print(f"- one decision, in process ({repeat} each):")
    for label, principal in (("root", root.principal), ("IAM user, 10x10 policies", user),
                             ("role session + session policy", session)):
        ctx = ctx_for(principal, "cloudtrail")
        assert authorize(ctx, "cloudtrail:DescribeTrails", "*", {}).allowed
        t0 = time.perf_counter()
        for _ in range(repeat):
            authorize(ctx, "cloudtrail:DescribeTrails", "*", {})
        print(f"  - {label}: {(time.perf_counter() - t0) / repeat * 1e6:.1f} us")
    runtime.close()


if __name__ == "__main__":
    main()
