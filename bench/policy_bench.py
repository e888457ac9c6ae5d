"""Policy engine micro-benchmark: microseconds per `evaluate()` decision.

    python bench/policy_bench.py [--n 20000]

Cases (policies compiled once, as the gateway caches them):
- 10 identity policies x 10 statements, allowed by the last one (the issue's target:
  under 20 us per decision on average);
- same, implicit deny (no statement matches the action);
- same, plus a permissions boundary and a resource policy with a condition;
- same, with wildcard actions everywhere (no action index help);
- explain=True on the first case.
Not a test: numbers are printed, nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import time

from mamori.policy import PolicySet, Request, evaluate, parse_policy

ACCT = "111122223333"
USER = f"arn:aws:iam::{ACCT}:user/alice"


def _policy(i: int, wildcard: bool = False) -> str:
    stmts = []
    for j in range(10):
        action = f"svc{i}:Action{j}*" if wildcard else f"svc{i}:Action{j}"
        stmts.append(
            {
                "Sid": f"S{i}x{j}",
                "Effect": "Allow",
                "Action": [action, f"logs:Get{i}{j}"],
                "Resource": f"arn:aws:logs:us-east-1:{ACCT}:log-group:/app/{i}/{j}/*",
                **({"Condition": {"StringEquals": {"aws:RequestedRegion": "us-east-1"}}} if j % 3 == 0 else {}),
            }
        )
    return json.dumps({"Version": "2012-10-17", "Statement": stmts})


def _identity(wildcard: bool = False):
    return [(f"p{i}", parse_policy(_policy(i, wildcard), "identity")) for i in range(10)]


def bench(name: str, req: Request, policies: PolicySet, n: int, explain: bool = False) -> None:
    d = evaluate(req, policies, explain=explain)
    t0 = time.perf_counter()
    for _ in range(n):
        evaluate(req, policies, explain=explain)
    us = (time.perf_counter() - t0) / n * 1e6
    print(f"{name:<58} {d.effect:<13} {us:7.2f} us/decision")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=20000)
    n = ap.parse_args().n
    ctx = {"aws:RequestedRegion": "us-east-1", "aws:SecureTransport": True, "aws:username": "alice"}
    hit = Request(USER, ACCT, "IAMUser", "svc9:Action9", f"arn:aws:logs:us-east-1:{ACCT}:log-group:/app/9/9/x", context=ctx)
    cond_hit = Request(USER, ACCT, "IAMUser", "svc9:Action0", f"arn:aws:logs:us-east-1:{ACCT}:log-group:/app/9/0/x", context=ctx)
    miss = Request(USER, ACCT, "IAMUser", "kms:Decrypt", f"arn:aws:kms:us-east-1:{ACCT}:key/k", context=ctx)
    ident = PolicySet(identity=_identity())
    bench("10 policies x 10 statements, allow by last statement", hit, ident, n)
    bench("10 x 10, allow by a statement with a condition", cond_hit, ident, n)
    bench("10 x 10, implicit deny (no statement for the action)", miss, ident, n)
    boundary = parse_policy('{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}', "boundary")
    resource = parse_policy(
        json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Principal": "*", "Action": "*", "Resource": "*",
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}),
        "resource",
    )
    full = PolicySet(identity=ident.identity, boundary=("b", boundary), resource=("r", resource))
    bench("10 x 10 + boundary + resource policy with condition", hit, full, n)
    bench("10 x 10 wildcard actions (no index help), allow", hit, PolicySet(identity=_identity(True)), n)
    bench("10 x 10, explain=True", hit, ident, n, explain=True)


if __name__ == "__main__":
    main()
