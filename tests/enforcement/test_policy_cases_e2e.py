"""The engine's data cases (tests/policy/cases.json) run end to end: for every case
marked `e2e` whose principal is an IAM user of the account and whose action maps to a
real call of a service mamori has, the policies are put on a real user through the IAM
API, the call is made through boto3 with that user's keys, and the outcome (allowed, or
the access-denied error with the case's exact message) must be the case's."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from mamori.config import Config
from mamori.testing.plugin import MamoriServer

CASES = json.loads((Path(__file__).parent.parent / "policy" / "cases.json").read_text())
ACCOUNT = "111122223333"


def _call(action: str, resource: str):
    """(service, method, kwargs, setup) for an action on a resource, or None."""
    service, name = action.split(":")
    name = name.lower()
    tail = resource.rsplit("/", 1)[-1]
    if service == "iam":
        # IAM's list calls are authorized on the path prefix of what they list, as AWS
        # reports it ("... iam:ListUsers on resource: arn:aws:iam::ACCOUNT:user/ ...")
        if name == "listusers":
            return "iam", "list_users", {}, None
        if name == "listroles":
            return "iam", "list_roles", {}, None
        if name == "listgroups":
            return "iam", "list_groups", {}, None
        if name == "getuser" and resource.startswith(f"arn:aws:iam::{ACCOUNT}:user/"):
            return "iam", "get_user", {"UserName": tail}, ("user", tail)
        if name == "deleteuser" and resource.startswith(f"arn:aws:iam::{ACCOUNT}:user/"):
            return "iam", "delete_user", {"UserName": tail}, ("user", tail)
        if name == "createuser" and resource.startswith(f"arn:aws:iam::{ACCOUNT}:user/") and resource.count("/") == 1:
            return "iam", "create_user", {"UserName": tail}, None
    if service == "cloudtrail":
        if name == "lookupevents":
            return "cloudtrail", "lookup_events", {"MaxResults": 1}, None
        if name == "describetrails":
            return "cloudtrail", "describe_trails", {}, None
        if resource == f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/main":
            method = {"gettrailstatus": "get_trail_status", "gettrail": "get_trail", "deletetrail": "delete_trail"}.get(name)
            if method:
                return "cloudtrail", method, {"Name": "main"}, ("trail", "main")
    return None


_LIST_RESOURCE = {"listusers": "user/", "listroles": "role/", "listgroups": "group/"}


def _message_for_call(message: str, request: dict) -> str:
    """The case's message is for the resource the case names; IAM's list calls name
    their path prefix instead of "*", and AWS's text then says "on resource: ..."."""
    action = request["action"]
    suffix = _LIST_RESOURCE.get(action.split(":")[1].lower())
    if suffix and request.get("resource", "*") == "*":
        return message.replace(f"perform: {action}", f"perform: {action} on resource: arn:aws:iam::{ACCOUNT}:{suffix}", 1)
    return message


def _runnable(case):
    request = case["request"]
    principal = CASES["principals"].get(request.get("principal"), {})
    if not case.get("e2e") or principal.get("type") != "IAMUser" or principal.get("account") != ACCOUNT:
        return False
    if set(case["policies"]) - {"identity", "boundary"} or request.get("context"):
        return False
    if request.get("resource_account") not in (None, ACCOUNT):
        return False
    return _call(request["action"], request.get("resource", "*")) is not None


# Cases whose premise the real call does not share: the engine case asks about a
# request on "*", while IAM's ListUsers is authorized on arn:aws:iam::ACCOUNT:user/,
# which a policy on user/* does allow (as in AWS).
NOT_THE_SAME_REQUEST = {"resource-star-request-without-resource"}
RUNNABLE = [c for c in CASES["cases"] if _runnable(c) and c["id"] not in NOT_THE_SAME_REQUEST]


def test_enough_cases_run_end_to_end():
    assert len(RUNNABLE) >= 40, len(RUNNABLE)


@pytest.fixture(scope="module")
def server():
    s = MamoriServer.start(Config(ephemeral=True, strict=True, account_id=ACCOUNT))
    yield s
    s.stop()


@pytest.mark.parametrize("case", RUNNABLE, ids=[c["id"] for c in RUNNABLE])
def test_case_end_to_end(server, case):
    server.admin("POST", "reset", {})
    iam = server.client("iam")
    principal = CASES["principals"][case["request"]["principal"]]
    user = principal["arn"].rsplit("/", 1)[-1]
    iam.create_user(UserName=user)
    for name, document in case["policies"].get("identity", []):
        iam.put_user_policy(UserName=user, PolicyName=f"p-{uuid.uuid4().hex[:6]}", PolicyDocument=json.dumps(document))
    if "boundary" in case["policies"]:
        _, document = case["policies"]["boundary"]
        arn = iam.create_policy(PolicyName="boundary", PolicyDocument=json.dumps(document))["Policy"]["Arn"]
        iam.put_user_permissions_boundary(UserName=user, PermissionsBoundary=arn)
    key = iam.create_access_key(UserName=user)["AccessKey"]
    service, method, kwargs, setup = _call(case["request"]["action"], case["request"].get("resource", "*"))
    if setup == ("trail", "main"):
        server.client("cloudtrail").create_trail(Name="main", S3BucketName="b")
    elif setup and setup[0] == "user" and setup[1] != user:
        iam.create_user(UserName=setup[1])
    client = server.client(service, aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
    expect = case["expect"]
    if expect["effect"] == "Allow":
        getattr(client, method)(**kwargs)
    else:
        with pytest.raises(ClientError) as err:
            getattr(client, method)(**kwargs)
        error = err.value.response["Error"]
        assert error["Code"] in ("AccessDenied", "AccessDeniedException"), error
        if "message" in expect:
            assert error["Message"] == _message_for_call(expect["message"], case["request"])
